"""The ``mvn`` and ``lowrank`` benchmark models: fitted on the fit rows, scored like the rest."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gexgen.baselines import LowRankGaussian, MultivariateNormalBaseline
from gexgen.benchmark import BenchmarkConfig, run_benchmark
from gexgen.benchmark.models import MODEL_RUNNERS, BenchmarkData, load_benchmark_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from cohort_factory import make_cohort  # noqa: E402  (tests/train/cohort_factory.py)

GAUSSIANS = ("mvn", "lowrank", "gaussian")


def _synthetic_data(tmp_path: Path) -> BenchmarkData:
    rng = np.random.default_rng(0)
    labels = pd.DataFrame({"tissue": rng.choice(["a", "b"], 60), "status": ["n", "t"] * 30})
    x = np.exp2(rng.normal(5, 1, (60, 8))).astype(np.float32) - 1
    return BenchmarkData(
        tmp_path / "c.h5ad", [f"g{j}" for j in range(8)], ["tissue", "status"], x, False,
        labels, np.arange(40), np.arange(40, 45), np.arange(45, 60), "sha",
    )  # fmt: skip


@pytest.mark.parametrize("name", ["mvn", "lowrank"])
def test_runner_fits_the_fit_rows_and_draws_the_test_labels(name: str, tmp_path: Path):
    data = _synthetic_data(tmp_path)
    cfg = BenchmarkConfig(models=(name,), throughput_samples=50, lowrank_factors=3, seed=4)
    out = MODEL_RUNNERS[name](data, cfg, tmp_path, lambda _: None, False)
    assert out.name == name and out.log2.shape == (15, 8) and out.log2.dtype == np.float32
    pd.testing.assert_frame_equal(out.labels, data.test_labels)
    assert out.sampling["n"] == 50 and out.sampling["via"] == "numpy"
    assert out.details["combinations"] == len(data.labels.iloc[:40].value_counts())
    # the same rows as the public model fitted on log2 of the fit rows, same seed
    fit_x = np.log2(data.x[:40].astype(np.float64) + 1)
    fit_labels = data.labels.iloc[:40].reset_index(drop=True)
    if name == "mvn":
        model = MultivariateNormalBaseline.fit(fit_x, fit_labels, ["tissue", "status"])
    else:
        model = LowRankGaussian.fit(fit_x, fit_labels, ["tissue", "status"], n_factors=3)
        assert out.details["n_factors"] == 3
    want = model.sample(data.test_labels, seed=4)
    np.testing.assert_allclose(out.log2, want, atol=1e-5)


@pytest.mark.slow  # three fits and three scorings: about 15 s
def test_benchmark_table_shows_the_gaussian_baselines_on_every_metric(tmp_path: Path):
    cohort = make_cohort(tmp_path / "cohort.h5ad", n=144, n_genes=24)
    cfg = BenchmarkConfig(models=GAUSSIANS, throughput_samples=100, umap=False, seed=1)
    results = run_benchmark(cohort, tmp_path / "out", cfg, progress=False, log=lambda _: None)
    assert results["failed"] == []
    assert [r["model"] for r in results["table"]] == ["real (ceiling)", *GAUSSIANS]
    header = results["table_text"].splitlines()[0]
    for column in ("gamma", "det.AUC", "GB AUC", "KS med", "MIA AUC", "closer", "std ratio"):
        assert column in header
    for row in results["table"][1:]:
        for key in ("gamma", "detection_auc", "detection_auc_nonlinear", "ks_median", "mia_auc"):
            assert row[key] is not None, (row["model"], key)
    lines = results["table_text"].splitlines()
    assert [line.split()[0] for line in lines[3:]] == list(GAUSSIANS)
    # the written synthetic set is the public model's draw from the fit rows
    data = load_benchmark_data(cohort, ["tissue", "status"], seed=1)
    fit_labels = data.labels.iloc[data.fit_rows].reset_index(drop=True)
    model = MultivariateNormalBaseline.fit(
        data.to_log2(data.x[data.fit_rows]), fit_labels, ["tissue", "status"]
    )
    synth = pd.read_parquet(tmp_path / "out" / results["models"]["mvn"]["synthetic"])
    want = model.sample(data.test_labels, seed=1)
    np.testing.assert_array_equal(synth[data.genes].to_numpy(np.float32), want)
    assert "Health Privacy Challenge" in results["models"]["mvn"]["details"]["what"]


def test_the_cli_default_model_list_is_the_library_default():
    from gexgen.benchmark import DEFAULT_MODELS
    from gexgen.cli.benchmark_commands import _MODELS

    assert tuple(_MODELS.split(",")) == DEFAULT_MODELS
    assert DEFAULT_MODELS[-3:] == GAUSSIANS
