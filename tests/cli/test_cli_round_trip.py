"""Everything `gexgen generate` writes, `gexgen evaluate` reads back without options.

For each output format x value space: the file evaluate opens records its
space (log2 h5ad files carry ``space: log2`` *and* scanpy's
``uns["log1p"] = {"base": 2}``, which agree), the values read back are the
ones generated, and an option-less ``gexgen evaluate`` scores it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.metrics._sources import load_profiles
from gexgen.runtime import GeneratorSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

runner = CliRunner()
FORMATS = ("h5ad", "csv", "parquet", "npy")
SPACES = ("expression", "log2")
N = 240


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("round_trip")
    gen = write_generator(folder / "generator.onnx", noise_input=True, n_genes=12)
    real = folder / "real.h5ad"  # another seed: the "real" side of the evaluation
    done = runner.invoke(
        app, ["generate", str(gen.path), "--n", str(N), "--seed", "9", "--out", str(real)]
    )
    assert done.exit_code == 0, done.output
    return {"generator": gen.path, "real": real, "folder": folder}


def _generate(files: dict[str, Path], fmt: str, space: str) -> Path:
    out = files["folder"] / f"synthetic-{space}.{fmt}"
    if not out.exists():
        args = ["generate", str(files["generator"]), "--n", str(N), "--space", space]
        done = runner.invoke(app, [*args, "--out", str(out)])
        assert done.exit_code == 0, done.output
    return out


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_evaluate_reads_back_what_generate_writes(files, fmt, space):
    path = _generate(files, fmt, space)
    got = load_profiles(path, "synthetic")  # no space given: the file's own record
    assert got.space == space, (fmt, space, got.space)
    with GeneratorSession(files["generator"], providers="cpu") as gen:
        want, _ = gen.sample(N, seed=0, space=space, as_frame=False)
    values = np.asarray(got.table.read(np.arange(N)), dtype=np.float64)
    np.testing.assert_allclose(values, want, rtol=1e-5, atol=1e-5)
    log = got.read_log()
    np.testing.assert_allclose(log, want if space == "log2" else np.log2(want + 1), atol=1e-4)


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_evaluate_without_options_scores_generates_file(files, fmt, space, tmp_path):
    path = _generate(files, fmt, space)
    done = runner.invoke(
        app,
        ["evaluate", "--real", str(files["real"]), "--synthetic", str(path),
         "--out", str(tmp_path / "ev"), "--no-report"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (tmp_path / "ev" / "metrics.json").is_file()


def test_a_file_whose_two_space_records_disagree_is_still_refused(files, tmp_path):
    import anndata

    path = _generate(files, "h5ad", "log2")
    adata = anndata.read_h5ad(path)
    adata.uns["log1p"] = {"base": None}  # sc.pp.log1p run again on log2 values
    twice = tmp_path / "twice.h5ad"
    adata.write_h5ad(twice)
    done = runner.invoke(
        app,
        ["evaluate", "--real", str(files["real"]), "--synthetic", str(twice),
         "--out", str(tmp_path / "ev"), "--no-report"],
    )  # fmt: skip
    assert done.exit_code == 1
    assert "log-transformed twice" in done.output and "--synthetic-space" in done.output
