"""A model trained in normal scores (marginals="quantile") exports its inverse map."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from conftest import TINY
from gexgen.data.preprocess import LogStandardScaler
from gexgen.export import export_generator
from gexgen.runtime import GeneratorSession
from gexgen.train import decoder_from_checkpoint, load_checkpoint, one_hot_conditions


@pytest.fixture(scope="module")
def quantile_export(tiny_cohort, tmp_path_factory):
    from gexgen.train import train_cvae

    out = tmp_path_factory.mktemp("runs") / "cvae_q"
    train_cvae(tiny_cohort, out, TINY.replace(marginals="quantile"), progress=False)
    report = export_generator(out, tmp_path_factory.mktemp("onnx") / "q.onnx")
    return report, load_checkpoint(out)


def test_graph_applies_the_checkpoint_quantile_map(quantile_export):
    report, ckpt = quantile_export
    assert report.max_abs_diff < 1e-4
    scaler = LogStandardScaler.from_dict(ckpt["scaler"])
    assert scaler.marginals == "quantile" and scaler.quantiles_.shape[1] == 128
    rng = np.random.default_rng(0)
    n = 64
    feed = {"z": rng.standard_normal((n, ckpt["model_config"]["n_latent"]), dtype=np.float32)}
    codes = []
    for label in ckpt["labels"]:
        codes.append(rng.integers(0, len(label["values"]), n, dtype=np.int64))
        feed[f"{label['name']}_code"] = codes[-1]
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    log2, expression = session.run(["log_expression", "expression"], feed)
    # the reference: the torch decoder, then the numpy scaler's inverse (float64 map)
    decoder = decoder_from_checkpoint(ckpt).eval()
    sizes = [len(label["values"]) for label in ckpt["labels"]]
    one_hot = one_hot_conditions(torch.as_tensor(np.stack(codes, axis=1)), sizes)
    with torch.no_grad():
        standardized = decoder(torch.as_tensor(feed["z"]), one_hot).numpy()
    np.testing.assert_allclose(log2, scaler.inverse_transform(standardized, "log2"), atol=2e-4)
    np.testing.assert_allclose(expression, np.exp2(log2) - 1, rtol=1e-4, atol=1e-4)
    assert log2.min() >= 0.0


def test_metadata_and_info_name_the_space(quantile_export):
    report, _ = quantile_export
    session = GeneratorSession(report.path)
    scaler = session.info.metadata["scaler"]
    assert scaler["marginals"] == "quantile" and scaler["n_knots"] == 128
    assert scaler["floor"] == 0.0 and "quantiles" not in scaler  # the table is in the graph
    text = session.info.describe()
    assert "quantile map (128 knots)" in text and "log2 values >= 0.0" in text
