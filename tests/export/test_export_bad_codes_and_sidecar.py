"""Out-of-vocabulary label codes give NaN rows in the raw graph; the metadata sidecar."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.export import export_generator
from gexgen.generator_format import METADATA_KEY, metadata_sidecar, sidecar_text
from gexgen.train import load_checkpoint


@pytest.fixture(scope="module", params=["tiny_run", "noisy_run"])
def exported(request, tmp_path_factory):
    run = request.getfixturevalue(request.param)
    out = tmp_path_factory.mktemp("onnx") / "generator.onnx"
    export_generator(run, out)
    return out, load_checkpoint(run)


def _feeds(ckpt, codes: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    n = len(next(iter(codes.values())))
    rng = np.random.default_rng(seed)
    feeds = {"z": rng.standard_normal((n, ckpt["model_config"]["n_latent"]), dtype=np.float32)}
    feeds.update({f"{name}_code": np.asarray(c, np.int64) for name, c in codes.items()})
    if ckpt["model_config"].get("learned_variance"):
        feeds["eps"] = rng.standard_normal((n, len(ckpt["genes"]["symbols"])), dtype=np.float32)
    return feeds


def test_out_of_vocabulary_codes_give_nan_rows(exported):
    path, ckpt = exported
    sizes = {label["name"]: len(label["values"]) for label in ckpt["labels"]}
    first, second = list(sizes)
    # rows 1, 3, 4, 5 carry a bad code in one label; rows 0 and 2 are valid
    codes = {
        first: np.array([0, -1, 1, 0, sizes[first], 99]),
        second: np.array([1, 0, 0, -1, 0, 1]),
    }
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    log_x, x = sess.run(["log_expression", "expression"], _feeds(ckpt, codes))
    bad = np.array([False, True, False, True, True, True])
    for out in (log_x, x):
        assert np.isnan(out[bad]).all()
        assert np.isfinite(out[~bad]).all()
    # the valid rows are what the graph gives them without the bad rows beside them
    valid_feeds = {k: v[~bad] for k, v in _feeds(ckpt, codes).items()}
    want_log, want_x = sess.run(["log_expression", "expression"], valid_feeds)
    np.testing.assert_array_equal(log_x[~bad], want_log)
    np.testing.assert_array_equal(x[~bad], want_x)


def test_torch_graph_gives_the_same_nan_rows():
    import torch

    from gexgen.export import GeneratorGraph

    class Decoder(torch.nn.Module):
        def forward(self, z, one_hot):
            return z[:, :2] + one_hot.sum(dim=1, keepdim=True)

    graph = GeneratorGraph(Decoder(), [3, 2], np.zeros(2, np.float32), np.ones(2, np.float32))
    z = torch.zeros(4, 2)
    log_x, x = graph(z, torch.tensor([0, 3, -1, 2]), torch.tensor([1, 0, 0, 2]))
    assert torch.isnan(log_x[1:]).all() and torch.isnan(x[1:]).all()
    assert torch.equal(log_x[0], torch.tensor([2.0, 2.0]))  # one-hot sum 2, no NaN offset
    assert torch.equal(x[0], torch.tensor([3.0, 3.0]))


def test_sidecar_holds_the_file_metadata_and_info_json_prints_it(exported):
    path, _ = exported
    sidecar = metadata_sidecar(path)
    assert sidecar.name == "generator.onnx.json"
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    embedded = json.loads(props[METADATA_KEY])
    text = sidecar.read_text()
    assert json.loads(text) == embedded
    assert text == sidecar_text(embedded)
    result = CliRunner().invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert result.output == text


def test_runtime_still_refuses_unknown_values(exported):
    from gexgen.errors import GexgenError
    from gexgen.runtime import GeneratorSession

    path, _ = exported
    with GeneratorSession(path, providers="cpu", threads=1) as gen:
        with pytest.raises(GexgenError, match="unknown value"):
            gen.sample(2, conditions={"tissue": "brain", "status": "tumor"})
        with pytest.raises(GexgenError, match="outside"):
            gen.decode(np.zeros((2, gen.info.n_latent)), {"tissue": [0, 7], "status": [0, 0]})
