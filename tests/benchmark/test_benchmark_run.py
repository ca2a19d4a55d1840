"""The benchmark's plumbing end to end, with tiny budgets on a slice of the real cohort."""

from __future__ import annotations

import json
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest
import torch

from gexgen.benchmark import MODEL_NAMES, BenchmarkConfig, run_benchmark
from gexgen.data.cohort import write_cohort
from gexgen.errors import GexgenError
from gexgen.train.wgan_loop import gamma_numpy

pytestmark = pytest.mark.slow  # one tiny run of all four models: about a minute

TISSUES = ["colon", "kidney", "liver"]  # the ones with tumor and normal samples


def slice_cohort(source: Path, out: Path, n_genes: int = 30) -> Path:
    """Three tissues x two statuses and the first genes of the real cohort, split kept."""
    adata = anndata.read_h5ad(source)
    keep = adata.obs["tissue"].astype(str).isin(TISSUES).to_numpy()
    part = adata[keep, :n_genes].copy()
    for col in ("tissue", "status"):
        part.obs[col] = part.obs[col].astype(str).astype("category")
    return write_cohort(part, out)


TINY = BenchmarkConfig(
    models=MODEL_NAMES,  # gexgen's recipe, the paper's four and the Gaussian reference
    cvae_fast_epochs=2,
    cvae_epochs=2,
    wgan_epochs=2,
    wgan_patience=1,
    ctgan_epochs=2,
    tvae_epochs=2,
    throughput_samples=100,
    threads=1,
)


@pytest.fixture(scope="module")
def bench(real_cohort_path: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("bench")
    cohort = slice_cohort(real_cohort_path, root / "slice.h5ad")
    out = root / "out"
    threads_before = torch.get_num_threads()
    results = run_benchmark(cohort, out, TINY, progress=False, log=lambda _: None)
    # --threads applies during the run only
    assert torch.get_num_threads() == threads_before
    return cohort, out, results


def test_results_json_has_every_model_and_metric(bench):
    cohort, out, results = bench
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["table_text"] == results["table_text"]
    assert results["failed"] == []
    assert list(on_disk["models"]) == [
        "gexgen", "cvae-fast", "cvae", "wgan-gp", "ctgan", "tvae", "mvn", "lowrank", "gaussian"
    ]  # fmt: skip
    n_test = on_disk["split"]["n_test"]
    assert n_test == int((anndata.read_h5ad(cohort).obs["split"] == "test").sum())
    for name, entry in on_disk["models"].items():
        m = entry["metrics"]
        assert {"gamma", "gamma_ceiling", "prdc", "detection", "tstr", "gene_moments"} <= set(m)
        assert 0 <= m["privacy"]["mia_auc"] <= 1, name
        assert -1 <= m["gamma"]["gamma"] <= 1, name
        assert set(m["tstr"]) == {"tissue", "status"}
        assert entry["fit_seconds"] > 0 and entry["sampling"]["rows_per_s"] > 0
        assert entry["sampling"]["n"] == 100
        assert m["n_real"] == n_test
    for name in ("gexgen", "cvae-fast", "cvae", "wgan-gp"):  # through the exported generator
        assert on_disk["models"][name]["sampling"]["via"] == "onnxruntime"
        assert (out / "models" / name / "generator.onnx").is_file()
        assert on_disk["models"][name]["details"]["export"]["max_abs_diff"] < 1e-4
    # same ceiling for every model: one real test split
    ceilings = {e["metrics"]["gamma_ceiling"]["gamma"] for e in on_disk["models"].values()}
    assert len(ceilings) == 1
    assert [r["model"] for r in on_disk["table"]] == [
        "real (ceiling)",
        "gexgen",
        "cvae-fast",
        "cvae",
        "wgan-gp",
        "ctgan",
        "tvae",
        "mvn",
        "lowrank",
        "gaussian",
    ]
    assert "MIA AUC" in on_disk["table_text"].splitlines()[0]


def test_generators_draw_the_test_label_counts_exactly(bench):
    cohort, out, results = bench
    test = anndata.read_h5ad(cohort).obs.query("split == 'test'")
    want = test[["tissue", "status"]].astype(str).value_counts().sort_index()
    for name in ("gexgen", "cvae-fast", "cvae", "wgan-gp", "mvn", "lowrank", "gaussian"):
        synth = pd.read_parquet(out / results["models"][name]["synthetic"])
        got = synth[["tissue", "status"]].astype(str).value_counts().sort_index()
        pd.testing.assert_series_equal(got, want, check_names=False)
    for name in ("ctgan", "tvae"):  # rejection sampling: never more, shortfall reported
        synth = pd.read_parquet(out / results["models"][name]["synthetic"])
        got = synth[["tissue", "status"]].astype(str).value_counts()
        shortfall = results["models"][name]["details"]["shortfall"]
        for key, n in want.items():
            assert got.get(key, 0) + shortfall.get("|".join(key), 0) == n


def test_gamma_in_results_matches_a_plain_numpy_recomputation(bench):
    cohort, out, results = bench
    adata = anndata.read_h5ad(cohort)
    test = adata[adata.obs["split"] == "test"]
    real_log = np.log2(np.asarray(test.X, dtype=np.float64) + 1)
    for name in ("cvae", "tvae"):
        synth = pd.read_parquet(out / results["models"][name]["synthetic"])
        synth_log = synth[list(adata.var_names)].to_numpy(np.float64)
        reported = results["models"][name]["metrics"]["gamma"]["gamma"]
        assert reported == pytest.approx(gamma_numpy(real_log, synth_log), abs=1e-5)


def test_table_html_and_umap_are_written(bench):
    _, out, results = bench
    assert (out / "table.txt").read_text().strip() == results["table_text"].strip()
    lines = results["table_text"].splitlines()
    assert lines[0].split()[:2] == ["model", "gamma"]
    assert len(lines) == 3 + len(MODEL_NAMES)  # header, rule, the real row, one per model
    page = (out / "benchmark.html").read_text()
    assert "data:image/png;base64," in page
    for name in MODEL_NAMES:
        assert f"<td>{name}</td>" in page
    assert (out / "umap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # ctgan's transformer cost is measured and reported, fitted once for both ctgan models
    t_ctgan = results["models"]["ctgan"]["details"]["transformer"]
    t_tvae = results["models"]["tvae"]["details"]["transformer"]
    assert t_ctgan["n_continuous"] == 30 and t_ctgan["fit_seconds"] > 0
    assert t_tvae["reused"] and not t_ctgan["reused"]
    assert any("data transformer" in n for n in results["notes"])


def test_an_existing_result_folder_is_not_overwritten(bench):
    cohort, out, _ = bench
    before = (out / "results.json").read_bytes()
    with pytest.raises(GexgenError, match="--overwrite"):
        run_benchmark(cohort, out, TINY, progress=False, log=lambda _: None)
    assert (out / "results.json").read_bytes() == before


def test_a_missing_label_column_fails_before_writing(bench, tmp_path: Path):
    cohort, _, _ = bench
    config = BenchmarkConfig(models=("cvae",), conditions=("tissue", "sex"))
    with pytest.raises(GexgenError, match="sex"):
        run_benchmark(cohort, tmp_path / "new", config, progress=False, log=lambda _: None)
    assert not (tmp_path / "new").exists()
