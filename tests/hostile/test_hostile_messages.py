"""W6, T5 and the messages of T3 that must say what and where."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import one_error_line
from gexgen.errors import GexgenError
from gexgen.metrics import EvaluateConfig, evaluate
from gexgen.metrics._sources import ProfileSet


def test_export_opset_99_is_one_line_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "g.onnx"
    err = one_error_line(cli("export", tmp_path / "run", "--out", out, "--opset", 99))
    assert "opset must be" in err and "got 99" in err
    assert not out.exists()


def test_export_refuses_an_opset_the_exporter_did_not_write(monkeypatch, tmp_path):
    import gexgen.export.onnx_export as export

    class FakeModel:
        class Entry:
            domain, version = "", 18

        opset_import = [Entry()]

    class FakeGraph:
        noise_input = False
        label_sizes = ()

        def eval(self):
            return self

    monkeypatch.setattr(export, "_to_onnx", lambda *a, **k: (FakeModel(), "dynamo", ""))
    out = tmp_path / "g.onnx"
    with pytest.raises(GexgenError, match="wrote opset 18, not the requested --opset 21"):
        export.export_graph(FakeGraph(), out, {"labels": [], "n_latent": 2}, opset=21)
    assert not out.exists()


def test_max_samples_0_is_refused_before_reading(cli, generator, tmp_path):
    err = one_error_line(
        cli(
            "evaluate",
            "--real",
            tmp_path / "does_not_exist.h5ad",
            "--model",
            generator,
            "--out",
            tmp_path / "r",
            "--max-samples",
            0,
        )
    )
    assert "--max-samples" in err and "does_not_exist" not in err


def test_kl_weight_nan_is_refused(cli, tmp_path):
    err = one_error_line(
        cli("train", tmp_path / "c.h5ad", "--out", tmp_path / "run", "--kl-weight", "nan")
    )
    assert "kl_weight must be >= 0 and finite" in err and "got nan" in err


def test_text_in_a_saved_config_names_the_field(cli, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    from gexgen.train import TrainConfig

    config = TrainConfig().to_dict()
    config["n_latent"] = "fifty"
    (run / "config.json").write_text(json.dumps(config))
    err = one_error_line(cli("train", tmp_path / "c.h5ad", "--out", run, "--resume"))
    assert "n_latent must be" in err and "invalid literal" not in err


def _set(name: str, values: np.ndarray, space: str = "expression") -> ProfileSet:
    genes = [f"G{j}" for j in range(values.shape[1])]
    labels = pd.DataFrame({"tissue": ["a", "b"] * (len(values) // 2)})
    return ProfileSet.from_array(values, genes, labels, space=space, name=name)


def test_negative_synthetic_values_are_named_with_the_file(tmp_path):
    rng = np.random.default_rng(0)
    real = _set("real.parquet", rng.gamma(2.0, 10.0, (40, 6)).astype(np.float32))
    bad = rng.gamma(2.0, 10.0, (40, 6)).astype(np.float32)
    bad[7, 2] = -5.0
    synthetic = _set("synthetic.parquet", bad)
    with pytest.raises(GexgenError) as info:
        evaluate(
            real,
            synthetic,
            out_dir=tmp_path / "r",
            config=EvaluateConfig(metrics=("gamma",)),
            report=False,
        )
    message = str(info.value)
    assert "synthetic.parquet" in message and "negative" in message and "[7]" in message
    assert "chunk" not in message
