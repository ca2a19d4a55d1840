"""`gexgen benchmark`: user errors in one line, and a tiny run that prints the table."""

from __future__ import annotations

import json
from pathlib import Path

import anndata
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.data.cohort import write_cohort

runner = CliRunner()


@pytest.fixture(scope="module")
def small_cohort(real_cohort_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    adata = anndata.read_h5ad(real_cohort_path)
    keep = adata.obs["tissue"].astype(str).isin(["kidney", "liver"]).to_numpy()
    part = adata[keep, :20].copy()
    for col in ("tissue", "status"):
        part.obs[col] = part.obs[col].astype(str).astype("category")
    return write_cohort(part, tmp_path_factory.mktemp("cli_bench") / "small.h5ad")


def _error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error: ") and "Traceback" not in result.output
    return lines[-1]


def test_unknown_model_lists_the_valid_ones(tmp_path: Path):
    result = runner.invoke(
        app, ["benchmark", "cohort.h5ad", "--out", str(tmp_path / "b"), "--models", "cvae,gan"]
    )
    line = _error_line(result)
    assert "'gan'" in line and "cvae, wgan-gp, ctgan, tvae" in line
    assert not (tmp_path / "b").exists()


def test_bad_epochs_and_missing_cohort(tmp_path: Path):
    result = runner.invoke(
        app, ["benchmark", "c.h5ad", "--out", str(tmp_path / "b"), "--epochs", "cvae=x"]
    )
    assert "--epochs" in _error_line(result)
    result = runner.invoke(app, ["benchmark", str(tmp_path / "none.h5ad"), "--out", str(tmp_path)])
    assert "not found" in _error_line(result)


def test_tiny_run_prints_the_table_and_refuses_to_overwrite(
    small_cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    out = tmp_path / "bench"
    args = ["benchmark", str(small_cohort), "--out", str(out), "--models", "cvae,tvae",
            "--epochs", "cvae=2,tvae=1", "--throughput-samples", "50", "--no-umap",
            "--no-progress", "--threads", "1"]  # fmt: skip
    # results.json records the process's command line: run as a real `gexgen` process would
    monkeypatch.setattr("sys.argv", ["/usr/bin/gexgen", *args])
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "real (ceiling)" in result.output and "wrote" in result.output
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["cvae", "tvae"]
    assert results["config"]["cvae_epochs"] == 2 and results["config"]["tvae_epochs"] == 1
    assert results["command"] == " ".join(["gexgen", *args])
    assert not (out / "umap.png").exists()
    again = runner.invoke(app, args)
    assert "--overwrite" in _error_line(again)
