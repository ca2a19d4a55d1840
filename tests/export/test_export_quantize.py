"""int8 export: quantized weights, the fidelity report against fp32, refusal, metadata."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.errors import GexgenError
from gexgen.export import export_generator, quantize_generator
from gexgen.generator_format import METADATA_KEY
from gexgen.metrics.gamma import gamma_score
from gexgen.runtime import GeneratorSession


@pytest.fixture(scope="module")
def fp32_file(noisy_run, tmp_path_factory):
    return export_generator(noisy_run, tmp_path_factory.mktemp("q") / "fp32.onnx").path


def _meta(path):
    model = onnx.load(path)
    return json.loads({p.key: p.value for p in model.metadata_props}[METADATA_KEY])


def test_int8_file_has_int8_weights_and_a_true_report(fp32_file, tmp_path):
    out = tmp_path / "int8.onnx"
    report = quantize_generator(fp32_file, out, n_check=500, seed=3, max_gamma_diff=0.5)
    model = onnx.load(out)
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("QuantizeLinear") == ops.count("Gemm") > 0  # each Gemm's input
    int8_weights = [
        t
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 2
    ]
    assert len(int8_weights) == ops.count("Gemm")
    # the report against a direct computation of the same numbers
    fp32 = GeneratorSession(fp32_file)
    int8 = GeneratorSession(out)
    want = fp32.sample(500, seed=3, space="log2", as_frame=False)[0]
    got = int8.sample(500, seed=3, space="log2", as_frame=False)[0]
    diff = np.abs(got.astype(np.float64) - want)
    assert report.max_abs_log2 == pytest.approx(diff.max())
    assert report.mean_abs_log2 == pytest.approx(diff.mean())
    assert 0 < report.max_abs_log2 < 1.0  # quantized: not identical, but close
    reference = fp32.sample(500, seed=4, space="log2", as_frame=False)[0]
    assert report.gamma_fp32 == pytest.approx(gamma_score(reference, want).gamma)
    assert report.gamma_diff == pytest.approx(report.gamma_int8 - report.gamma_fp32)
    assert "fp32 sample" in report.reference
    # metadata: precision, method and the check travel with the file; info shows it
    meta = _meta(out)
    assert meta["export"]["precision"] == "int8"
    assert meta["export"]["quantization"]["per_channel"] is True
    assert meta["export"]["int8_vs_fp32"]["gamma_diff"] == pytest.approx(report.gamma_diff)
    assert int8.precision == "int8" and fp32.precision == "fp32"
    assert "precision: int8" in int8.info.describe()
    # same inputs, contract and noise stream as the fp32 file
    assert int8.noise_stream == fp32.noise_stream == 2
    with pytest.raises(GexgenError, match="already int8"):
        quantize_generator(out, tmp_path / "again.onnx", n_check=100)


def test_refused_above_the_gamma_limit_unless_forced(fp32_file, tmp_path):
    out = tmp_path / "int8.onnx"
    with pytest.raises(GexgenError, match="nothing written"):
        quantize_generator(fp32_file, out, n_check=300, max_gamma_diff=1e-12)
    assert not out.exists() and not list(tmp_path.iterdir())
    report = quantize_generator(fp32_file, out, n_check=300, max_gamma_diff=1e-12, force=True)
    assert report.forced and out.exists()


def test_cohort_reference_and_cli(noisy_run, tiny_cohort, tmp_path):
    out = tmp_path / "int8.onnx"
    result = CliRunner().invoke(
        app,
        [
            "export",
            str(noisy_run),
            "--out",
            str(out),
            "--precision",
            "int8",
            "--cohort",
            str(tiny_cohort),
            "--force",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "int8 vs fp32 on 20,000 seeded profiles" in result.output
    assert "test split" in result.output
    assert _meta(out)["export"]["precision"] == "int8"
    info = CliRunner().invoke(app, ["info", str(out)])
    assert "precision: int8" in info.output
    bad = CliRunner().invoke(
        app, ["export", str(noisy_run), "--out", str(tmp_path / "x.onnx"), "--precision", "fp16"]
    )
    assert bad.exit_code == 1 and "precision must be one of" in bad.output


def test_int8_profiles_do_not_depend_on_the_chunk_size(fp32_file, tmp_path):
    """Activation ranges are fixed at calibration: a row never depends on its batch."""
    out = tmp_path / "int8.onnx"
    quantize_generator(fp32_file, out, n_check=200, max_gamma_diff=0.5)
    gen = GeneratorSession(out, threads=2)
    full = gen.sample(3000, seed=1, as_frame=False)[0]
    for chunk_size in (333, 1024, 2500):
        chunks = [c.values.copy() for c in gen.iter_chunks(3000, seed=1, chunk_size=chunk_size)]
        assert np.array_equal(np.concatenate(chunks), full), chunk_size
    assert np.array_equal(gen.sample(700, seed=1, as_frame=False)[0], full[:700])
    one = GeneratorSession(out, threads=1).sample(3000, seed=1, as_frame=False)[0]
    assert np.array_equal(one, full)
