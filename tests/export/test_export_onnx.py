"""ONNX export: parity with torch, the file contract, metadata, dynamic batch, noise input."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from gexgen.data.preprocess import LogStandardScaler, inverse_log2p1
from gexgen.errors import GexgenError
from gexgen.export import ExportReport, GeneratorGraph, export_generator, export_graph
from gexgen.export.metadata import generator_metadata
from gexgen.generator_format import FORMAT_NAME, FORMAT_VERSION, METADATA_KEY
from gexgen.train import decoder_from_checkpoint, load_checkpoint, one_hot_conditions


def _session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _feed(ckpt: dict, n: int, seed: int = 0, eps: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feed = {"z": rng.standard_normal((n, ckpt["model_config"]["n_latent"]), dtype=np.float32)}
    for label in ckpt["labels"]:
        feed[f"{label['name']}_code"] = rng.integers(0, len(label["values"]), n, dtype=np.int64)
    if eps:
        feed["eps"] = rng.standard_normal((n, len(ckpt["genes"]["symbols"])), dtype=np.float32)
    return feed


def _metadata(path) -> dict:
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return json.loads(props[METADATA_KEY])


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory) -> tuple[ExportReport, dict]:
    out = tmp_path_factory.mktemp("onnx") / "generator.onnx"
    return export_generator(tiny_run, out), load_checkpoint(tiny_run)


@pytest.fixture(scope="module")
def exported_noisy(noisy_run, tmp_path_factory) -> tuple[ExportReport, dict]:
    out = tmp_path_factory.mktemp("onnx") / "generator_lv.onnx"
    return export_generator(noisy_run / "checkpoint.pt", out), load_checkpoint(noisy_run)


def test_parity_with_torch_is_reported(exported):
    report, _ = exported
    print(
        f"export parity: max abs diff {report.max_abs_diff:.3g} (log2), "
        f"max rel diff {report.max_rel_diff:.3g} (expression)"
    )
    assert report.path.is_file()
    assert report.exporter == "dynamo" and report.note == ""
    assert 0.0 <= report.max_abs_diff < 1e-4 and 0.0 <= report.max_rel_diff < 1e-4


def test_graph_contract_names_dtypes_opset(exported):
    report, ckpt = exported
    onnx.checker.check_model(str(report.path), full_check=True)
    model = onnx.load(str(report.path))
    assert {o.domain: o.version for o in model.opset_import}[""] == 18
    # dynamo folds BatchNorm into the Gemms (PERFORMANCE.md)
    assert "BatchNormalization" not in {node.op_type for node in model.graph.node}
    session = _session(report.path)
    inputs = {i.name: i.type for i in session.get_inputs()}
    assert list(inputs) == ["z", "tissue_code", "status_code"]
    assert inputs == {
        "z": "tensor(float)",
        "tissue_code": "tensor(int64)",
        "status_code": "tensor(int64)",
    }
    assert [o.name for o in session.get_outputs()] == ["log_expression", "expression"]
    assert all(o.type == "tensor(float)" for o in session.get_outputs())


def test_outputs_match_numpy_reference_and_batch_is_dynamic(exported):
    report, ckpt = exported
    session = _session(report.path)
    decoder = decoder_from_checkpoint(ckpt)
    scaler = LogStandardScaler.from_dict(ckpt["scaler"])
    sizes = ckpt["model_config"]["label_sizes"]
    for n in (1, 5, 300):
        feed = _feed(ckpt, n, seed=n)
        log_expr, expr = session.run(["log_expression", "expression"], feed)
        assert log_expr.shape == expr.shape == (n, 24)
        codes = torch.from_numpy(np.stack([feed["tissue_code"], feed["status_code"]], axis=1))
        with torch.no_grad():
            mean = decoder(torch.from_numpy(feed["z"]), one_hot_conditions(codes, sizes)).numpy()
        want_log = scaler.inverse_transform(mean, space="log2")
        np.testing.assert_allclose(log_expr, want_log, atol=1e-4)
        np.testing.assert_allclose(expr, inverse_log2p1(log_expr), rtol=1e-5, atol=1e-5)
        assert (expr >= 0).all()


def test_metadata_round_trip(exported):
    report, ckpt = exported
    meta = _metadata(report.path)
    assert meta["format"] == FORMAT_NAME and meta["format_version"] == FORMAT_VERSION
    assert meta["model_type"] == "cvae" and meta["noise_input"] is False
    assert meta["n_latent"] == ckpt["model_config"]["n_latent"] == 4
    assert meta["genes"] == ckpt["genes"]
    assert [
        (lab["name"], lab["input"], lab["values"], lab["counts"]) for lab in meta["labels"]
    ] == [
        (lab["name"], f"{lab['name']}_code", lab["values"], lab["counts"]) for lab in ckpt["labels"]
    ]
    assert meta["combinations"] == ckpt["combinations"]
    # float32 values survive JSON exactly; the metadata adds the knot count (no table)
    assert {k: v for k, v in meta["scaler"].items() if k != "n_knots"} == ckpt["scaler"]
    assert meta["scaler"]["n_knots"] is None and meta["scaler"]["floor"] == 0.0
    assert meta["model_config"] == ckpt["model_config"]
    training = meta["training"]
    for key in ("data_sha256", "n_train", "epochs", "best_epoch", "val_loss"):
        assert training[key] == ckpt["training"][key], key
    assert training["config"] == ckpt["config"]
    assert meta["export"] == {"exporter": "dynamo", "opset": 18, "precision": "fp32"}
    assert meta["noise_stream"] == 2
    assert meta["created"].endswith("Z")
    # the runtime's view: onnxruntime exposes the same JSON
    custom = _session(report.path).get_modelmeta().custom_metadata_map
    assert json.loads(custom[METADATA_KEY]) == meta


def test_learned_variance_export_takes_eps(exported_noisy):
    report, ckpt = exported_noisy
    assert report.max_abs_diff < 1e-4
    meta = _metadata(report.path)
    assert meta["noise_input"] is True
    session = _session(report.path)
    assert [i.name for i in session.get_inputs()] == ["z", "tissue_code", "status_code", "eps"]
    decoder = decoder_from_checkpoint(ckpt)
    std = np.asarray(ckpt["scaler"]["std"], dtype=np.float32)
    noise_sd = torch.exp(0.5 * decoder.logvar).detach().numpy() * std
    feed = _feed(ckpt, 50, seed=3, eps=True)
    noisy, _ = session.run(["log_expression", "expression"], feed)
    again, _ = session.run(["log_expression", "expression"], feed)
    assert np.array_equal(noisy, again)  # deterministic for fixed inputs
    mean, _ = session.run(["log_expression", "expression"], {**feed, "eps": 0 * feed["eps"]})
    # log2 values are floored at 0 (a non-negative cohort): compare where neither is
    above = (noisy > 0) & (mean > 0)
    assert above.mean() > 0.3 and noisy.min() >= 0.0
    np.testing.assert_allclose((noisy - mean)[above], (feed["eps"] * noise_sd)[above], atol=1e-4)
    # the conditional prior is inside the graph: z = 0 differs between combinations
    z0 = {**feed, "z": 0 * feed["z"], "eps": 0 * feed["eps"]}
    z0["tissue_code"][:] = 0
    z0["status_code"][:] = np.arange(50) % 2
    out, _ = session.run(["log_expression", "expression"], z0)
    assert not np.allclose(out[0], out[1])


class _LinearGenerator(nn.Module):
    """Any module with the decoder interface goes through the same export path."""

    def __init__(self, n_latent: int, n_condition: int, n_genes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_latent + n_condition, n_genes)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(torch.cat([z, c], dim=1)))


def test_generic_decoder_path(exported, tmp_path):
    _, ckpt = exported
    torch.manual_seed(0)
    generator = _LinearGenerator(4, 5, 24)
    graph = GeneratorGraph(
        generator, [3, 2], np.full(24, 2.0, np.float32), np.full(24, 0.5, np.float32)
    )
    meta = generator_metadata(
        {**ckpt, "model_type": "wgan-gp"}, noise_input=False, exporter="", opset=18
    )
    report = export_graph(graph, tmp_path / "g.onnx", meta)
    assert report.max_abs_diff < 1e-4
    assert _metadata(report.path)["model_type"] == "wgan-gp"
    feed = _feed(ckpt, 7)
    log_expr, _ = _session(report.path).run(["log_expression", "expression"], feed)
    codes = torch.from_numpy(np.stack([feed["tissue_code"], feed["status_code"]], axis=1))
    with torch.no_grad():
        want = generator(torch.from_numpy(feed["z"]), one_hot_conditions(codes, [3, 2])).numpy()
    np.testing.assert_allclose(log_expr, want * 0.5 + 2.0, atol=1e-5)


def test_fallback_exporter_when_onnxscript_is_missing(tiny_run, tmp_path, monkeypatch):
    real = importlib.util.find_spec

    def no_onnxscript(name, *args):
        return None if name == "onnxscript" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", no_onnxscript)
    report = export_generator(tiny_run, tmp_path / "old.onnx")
    assert report.exporter == "torchscript"
    assert "onnxscript is not installed" in report.note
    assert report.max_abs_diff < 1e-4
    assert _metadata(report.path)["export"]["exporter"] == "torchscript"
    assert [i.name for i in _session(report.path).get_inputs()] == [
        "z",
        "tissue_code",
        "status_code",
    ]


def test_above_tolerance_fails_and_leaves_no_file(tiny_run, tmp_path):
    with pytest.raises(GexgenError, match="above the tolerance"):
        export_generator(tiny_run, tmp_path / "g.onnx", tolerance=1e-30)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out_path": "g.txt"}, "must end in .onnx"),
        ({"opset": 16}, "opset must be >= 17"),
        ({"tolerance": 0.0}, "tolerance must be > 0"),
    ],
)
def test_bad_arguments(tiny_run, tmp_path, kwargs, message):
    kwargs = {"out_path": "g.onnx", **kwargs}
    kwargs["out_path"] = tmp_path / kwargs["out_path"]
    with pytest.raises(GexgenError, match=message):
        export_generator(tiny_run, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_missing_or_corrupt_checkpoint(tmp_path):
    with pytest.raises(GexgenError, match="not found"):
        export_generator(tmp_path / "nothing", tmp_path / "g.onnx")
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GexgenError, match="corrupt or not a gexgen file"):
        export_generator(tmp_path, tmp_path / "g.onnx")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(GexgenError, match="not a gexgen-checkpoint file"):
        export_generator(tmp_path / "other.pt", tmp_path / "g.onnx")
    assert not (tmp_path / "g.onnx").exists()
