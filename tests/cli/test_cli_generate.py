"""`gexgen generate` and `gexgen info` through typer's CliRunner."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.cli.generate_commands import _CHUNK_SIZE, parse_conditions
from gexgen.errors import GexgenError
from gexgen.runtime import GeneratorSession, open_profiles
from gexgen.runtime.write_profiles import DEFAULT_CHUNK_SIZE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    return write_generator(tmp_path_factory.mktemp("g") / "generator.onnx", seed=3).path


@pytest.mark.parametrize("suffix", [".parquet", ".h5ad", ".npy", ".csv"])
def test_generate_writes_what_sample_returns(generator, tmp_path, suffix):
    out = tmp_path / f"synthetic{suffix}"
    result = runner.invoke(
        app,
        [
            "generate",
            str(generator),
            "--n",
            "3000",
            "--condition",
            "tissue=kidney",
            "--condition",
            "status=tumor",
            "--seed",
            "4",
            "--space",
            "log2",
            "--chunk-size",
            "1000",
            "--no-progress",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 3,000 profiles x 12 genes (log2)" in result.output
    table = open_profiles(out)
    expected = GeneratorSession(generator).sample(
        3000,
        conditions={"tissue": "kidney", "status": "tumor"},
        seed=4,
        space="log2",
        as_frame=False,
    )[0]
    assert table.space == "log2"
    assert np.array_equal(table.read(), expected)
    assert set(table.labels["tissue"].astype(str)) == {"kidney"}


def test_generate_uniform_mix(generator, tmp_path):
    out = tmp_path / "mix.parquet"
    result = runner.invoke(
        app,
        [
            "generate",
            str(generator),
            "--n",
            "4000",
            "--mix",
            "uniform",
            "--no-progress",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    counts = open_profiles(out).labels.astype(str).groupby(["tissue", "status"]).size()
    assert len(counts) == 7 and counts.min() > 400


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--condition", "tissue=lung"], "unknown value 'lung' for label 'tissue'"),
        (["--condition", "organ=kidney"], "unknown label(s) ['organ']"),
        (["--condition", "tissue"], "is not LABEL=VALUE"),
        (["--mix", "balanced"], "mix must be one of"),
        (["--space", "linear"], "space must be one of"),
        (["--providers", "cuda"], "not available in this onnxruntime; available:"),
        (["--n", "-5"], "n must be a non-negative integer"),
    ],
)
def test_generate_errors_are_one_line_and_leave_no_file(generator, tmp_path, args, message):
    out = tmp_path / "bad.parquet"
    base = ["generate", str(generator), "--no-progress", "--out", str(out)]
    result = runner.invoke(app, [*base, *(["--n", "10"] if "--n" not in args else []), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.strip().count("\n") == 0 and result.output.startswith("Error:")
    assert list(tmp_path.iterdir()) == []


def test_generate_rejects_non_generators(tmp_path):
    text = tmp_path / "x.onnx"
    text.write_text("not a model")
    result = runner.invoke(
        app, ["generate", str(text), "--n", "5", "--out", str(tmp_path / "o.npy")]
    )
    assert result.exit_code == 1 and "truncated, damaged or not ONNX" in result.output
    plain = write_generator(tmp_path / "plain.onnx", with_metadata=False).path
    result = runner.invoke(app, ["info", str(plain)])
    assert result.exit_code == 1 and "not a gexgen generator" in result.output


def test_info_lists_genes_labels_counts_and_provenance(generator):
    result = runner.invoke(app, ["info", str(generator)])
    assert result.exit_code == 0, result.output
    assert "genes: 12 (G0, G1" in result.output
    assert "tissue [4]: bladder (20), kidney (90), liver (35), uterus (55)" in result.output
    assert "status [2]: normal (75), tumor (125)" in result.output
    assert "val_loss: 0.5" in result.output
    as_json = runner.invoke(app, ["info", str(generator), "--json"])
    assert as_json.exit_code == 0 and '"format": "gexgen-generator"' in as_json.output


def test_parse_conditions():
    assert parse_conditions(["tissue=kidney", " status = tumor "]) == {
        "tissue": "kidney",
        "status": "tumor",
    }
    with pytest.raises(GexgenError, match="twice"):
        parse_conditions(["tissue=a", "tissue=b"])


def test_cli_default_chunk_size_matches_the_library():
    assert _CHUNK_SIZE == DEFAULT_CHUNK_SIZE


def test_generate_mean_writes_the_decoder_mean(tmp_path):
    noisy = write_generator(
        tmp_path / "eps.onnx", seed=5, noise_input=True, metadata_overrides={"noise_stream": 2}
    ).path
    args = ["generate", str(noisy), "--n", "1500", "--seed", "2", "--no-progress"]
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "noisy.npy")]).exit_code == 0
    result = runner.invoke(app, [*args, "--mean", "--out", str(tmp_path / "mean.npy")])
    assert result.exit_code == 0, result.output
    mean = open_profiles(tmp_path / "mean.npy")
    want = GeneratorSession(noisy).sample(1500, seed=2, as_frame=False, mean=True)[0]
    assert np.array_equal(mean.read(), want)
    assert mean.metadata["mean"] is True
    assert not np.array_equal(open_profiles(tmp_path / "noisy.npy").read(), want)
