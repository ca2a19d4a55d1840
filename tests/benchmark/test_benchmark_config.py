"""Benchmark settings, model/epoch parsing and the printed table."""

from __future__ import annotations

import pytest

from gexgen.benchmark import (
    DEFAULT_MODELS,
    MODEL_NAMES,
    PAPER_GAMMA,
    PAPER_MODELS,
    BenchmarkConfig,
    format_table,
    parse_epochs,
    parse_models,
)
from gexgen.benchmark.scoring import reference_row, summary_row
from gexgen.errors import GexgenError


def test_defaults_are_the_published_budgets_and_quick_is_smaller():
    full, quick = BenchmarkConfig(), BenchmarkConfig.quick()
    assert PAPER_MODELS == ("cvae", "wgan-gp", "ctgan", "tvae")
    assert full.models == DEFAULT_MODELS  # the paper's CVAE beside gexgen's default
    gaussians = ("mvn", "lowrank", "gaussian")
    assert DEFAULT_MODELS == ("cvae", "gexgen", "wgan-gp", "tvae", "ctgan", *gaussians)
    assert MODEL_NAMES == ("gexgen", "cvae-fast", *PAPER_MODELS, *gaussians)
    epochs = [full.epochs_of(m) for m in MODEL_NAMES]
    assert epochs == [250, 250, 1400, 2000, 300, 300, None, None, None]
    assert all(quick.epochs_of(m) < full.epochs_of(m) for m in PAPER_MODELS)
    assert quick.epochs_of("cvae-fast") == 250  # the recipe is already quick
    assert quick.quick_preset and not full.quick_preset
    assert BenchmarkConfig.quick(cvae_epochs=7).cvae_epochs == 7
    assert PAPER_GAMMA == {"cvae": 0.984, "wgan-gp": 0.978, "ctgan": 0.592, "tvae": 0.887}


def test_parse_models_lists_valid_names_on_error():
    assert parse_models("TVAE, cvae") == ("tvae", "cvae")
    with pytest.raises(
        GexgenError,
        match="unknown model.*'vae'.*valid: gexgen, cvae-fast, cvae, wgan-gp, ctgan, tvae",
    ):
        parse_models("cvae,vae")
    with pytest.raises(GexgenError, match="twice"):
        parse_models("cvae,cvae")
    with pytest.raises(GexgenError, match="no model"):
        parse_models(" , ")
    with pytest.raises(GexgenError, match="unknown model"):
        BenchmarkConfig(models=("gan",))


def test_parse_epochs_and_with_epochs():
    assert parse_epochs("7", ("cvae", "tvae", "gaussian")) == {"cvae": 7, "tvae": 7}
    for name in ("gaussian", "mvn", "lowrank"):
        with pytest.raises(GexgenError, match=f"{name} is fitted without epochs"):
            parse_epochs(f"{name}=3", MODEL_NAMES)
    assert parse_epochs("cvae=3, wgan-gp=4", MODEL_NAMES) == {"cvae": 3, "wgan-gp": 4}
    for bad, match in (("x", "must be a number"), ("cvae=0", ">= 1"), ("gan=3", "unknown model")):
        with pytest.raises(GexgenError, match=match):
            parse_epochs(bad, MODEL_NAMES)
    cfg = BenchmarkConfig().with_epochs({"wgan-gp": 9, "tvae": 2})
    assert (cfg.wgan_epochs, cfg.tvae_epochs, cfg.cvae_epochs) == (9, 2, 1400)


def test_config_rejects_bad_budgets():
    with pytest.raises(GexgenError, match="tabular_batch_size"):
        BenchmarkConfig(tabular_batch_size=25)
    with pytest.raises(GexgenError, match="throughput_samples"):
        BenchmarkConfig(throughput_samples=0)
    with pytest.raises(GexgenError, match="wgan_patience"):
        BenchmarkConfig(wgan_patience=0)
    assert BenchmarkConfig(cvae_patience=None).cvae_patience is None


def _metrics(gamma: float) -> dict:
    return {
        "gamma": {"gamma": gamma},
        "gamma_ceiling": {"gamma": 0.99},
        "prdc": {"precision": 0.9, "recall": 0.5, "density": 1.1, "coverage": 0.7},
        "detection": {"auc": 0.61},
        "tstr": {
            "tissue": {
                "train_synthetic": {"balanced_accuracy": 0.8},
                "train_real": {"balanced_accuracy": 0.97},
            }
        },
        "gene_moments": {"overall": {"mean_r": 0.99, "std_r": 0.9}},
    }


def test_summary_rows_and_table_layout():
    rows = [reference_row(_metrics(0.95)), summary_row("cvae", _metrics(0.95), None)]
    assert rows[0] == {"model": "real (ceiling)", "gamma": 0.99, "tstr_tissue": 0.97}
    assert rows[1]["paper_gamma"] == 0.984 and rows[1]["tstr_tissue"] == 0.8
    text = format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["model", "gamma", "paper"]
    assert "TSTR tissue" in lines[0]
    assert set(lines[1]) <= {"-", " "}
    assert len({len(line) for line in lines}) == 1  # aligned columns
    assert lines[2].split()[:2] == ["real", "(ceiling)"] and "0.990" in lines[2]
    cvae = lines[3].split()
    assert cvae[:3] == ["cvae", "0.950", "0.984"] and "0.610" in cvae


def test_new_sections_get_a_column_each_and_the_reference_row_their_references():
    m = _metrics(0.95)
    m["privacy"] = {
        "mia_auc": 0.75,
        "closer_to_train_share": 0.9,
        "closer_to_train_chance": 0.7,
        "dcr_median_ratio": 0.7,
        "reference": {"holdout_half": {"mia_auc": 0.52, "dcr_median_ratio": 1.01}},
    }
    m["dispersion"] = {"std_ratio_median": 0.86, "reference": {"std_ratio_median": 0.99}}
    rows = [reference_row(m), summary_row("cvae", m, None)]
    assert (rows[0]["mia_auc"], rows[0]["closer_to_train_share"]) == (0.52, 0.7)
    assert (rows[1]["mia_auc"], rows[1]["std_ratio_median"]) == (0.75, 0.86)
    assert rows[0]["std_ratio_median"] == 0.99
    header = format_table(rows).splitlines()[0]
    assert "MIA AUC" in header and "closer" in header and "std ratio" in header
    # sections nobody computed get no column (no '-' columns for older results)
    assert "LFC r" not in header and "aug gain" not in header
    assert "MIA AUC" not in format_table([summary_row("cvae", _metrics(0.9), None)])


def test_benchmark_page_escapes_data_derived_text():
    from gexgen.benchmark.html_page import render_page

    evil = "<img src=x onerror=alert(1)>"
    row = {"model": evil, "gamma": 0.9, f"tstr_{evil}": 0.5}
    results = {
        "cohort": evil,
        "split_sizes": {"n_fit": 1, "n_val": 1, "n_test": 1},
        "config": {"seed": evil},
        "gexgen_version": evil,
        "table": [row],
        "notes": [evil],
        "models": {evil: {"details": {"budget": {"epochs": evil}}}},
        "command": f"gexgen benchmark {evil}",
    }
    page = render_page(results, None)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_gaussian_model_fits_the_fit_rows_and_draws_the_test_labels(tmp_path):
    import numpy as np
    import pandas as pd

    from gexgen.benchmark.models import BenchmarkData, run_gaussian

    rng = np.random.default_rng(0)
    labels = pd.DataFrame({"tissue": rng.choice(["a", "b"], 60), "status": ["n", "t"] * 30})
    x = np.exp2(rng.normal(5, 1, (60, 8))).astype(np.float32) - 1
    data = BenchmarkData(
        tmp_path / "c.h5ad",
        [f"g{j}" for j in range(8)],
        ["tissue", "status"],
        x,
        False,
        labels,
        np.arange(40),
        np.arange(40, 45),
        np.arange(45, 60),
        "sha",
    )
    cfg = BenchmarkConfig(models=("gaussian",), throughput_samples=50)
    out = run_gaussian(data, cfg, tmp_path, lambda _: None, False)
    assert out.name == "gaussian" and out.log2.shape == (15, 8)
    pd.testing.assert_frame_equal(out.labels, data.test_labels)
    assert out.sampling["n"] == 50 and out.sampling["via"] == "numpy"
    assert out.details["combinations"] == len(labels.iloc[:40].value_counts())
