"""evaluate / compute_metrics / check_generator on a toy cohort and on the real cohort."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from toy_data import (
    ToyModel,
    toy_labels,
    write_profiles_csv,
    write_profiles_h5ad,
    write_toy_cohort,
    write_toy_generator,
)

from gexgen.data.preprocess import log2p1
from gexgen.errors import GexgenError
from gexgen.metrics import EvaluateConfig, check_generator, compute_metrics, evaluate
from gexgen.metrics._sources import ProfileSet
from gexgen.metrics.gamma import gamma_score

FAST = ("gamma", "detection", "moments")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A toy cohort, a faithful and a broken synthetic file, and matching generators."""
    root = tmp_path_factory.mktemp("toy")
    model = ToyModel(seed=0)
    cohort = write_toy_cohort(root / "cohort.h5ad", n=300, model=model)
    rng = np.random.default_rng(5)
    labels = toy_labels(400, rng)
    good = model.log_values(labels, rng)
    broken = good[:, rng.permutation(model.n_genes)]  # genes scrambled
    return {
        "root": root,
        "model": model,
        "cohort": cohort,
        "labels": labels,
        "good_values": good,
        "good": write_profiles_h5ad(root / "good.h5ad", good, model.genes, labels),
        "good_csv": write_profiles_csv(root / "good.csv", good, model.genes, labels),
        "broken": write_profiles_h5ad(root / "broken.h5ad", broken, model.genes, labels),
        "good_onnx": write_toy_generator(root / "good.onnx", model, good=True),
        "bad_onnx": write_toy_generator(root / "bad.onnx", model, good=False),
    }


def _real_test_log(cohort: Path) -> tuple[np.ndarray, object]:
    import anndata

    a = anndata.read_h5ad(cohort)
    test = a[a.obs["split"] == "test"]
    return log2p1(np.asarray(test.X)), test.obs


def test_gamma_equals_direct_computation_on_the_test_split(toy):
    m = compute_metrics(toy["cohort"], toy["good"], config=EvaluateConfig(metrics=("gamma",)))
    real_log, _ = _real_test_log(toy["cohort"])
    expected = gamma_score(real_log, toy["good_values"]).gamma
    assert m.metrics["gamma"]["gamma"] == pytest.approx(expected, abs=1e-9)
    assert m.metrics["n_real"] == len(real_log) and m.metrics["n_synthetic"] == 400
    assert m.metrics["inputs"]["real_rows"] == "test split"
    ceiling = m.metrics["gamma_ceiling"]
    assert (ceiling["n_train"], ceiling["n_test"]) == (300 - len(real_log), len(real_log))


def test_faithful_synthetic_scores_well_and_broken_badly(toy):
    cfg = EvaluateConfig(metrics=FAST + ("prdc", "tstr"))
    good = compute_metrics(toy["cohort"], toy["good"], config=cfg).metrics
    bad = compute_metrics(toy["cohort"], toy["broken"], config=cfg).metrics
    assert good["labels"] == ["tissue", "status"]  # barcode and split are not conditions
    ceiling = good["gamma_ceiling"]["gamma"]
    assert good["gamma"]["gamma"] > ceiling - 0.05
    assert bad["gamma"]["gamma"] < 0.5
    assert good["detection"]["auc"] < 0.7 < bad["detection"]["auc"]
    assert good["prdc"]["precision"] > 0.6 and bad["prdc"]["precision"] < 0.3
    assert good["gene_moments"]["overall"]["std_r"] > 0.8
    assert good["tstr"]["tissue"]["train_synthetic"]["balanced_accuracy"] > 0.9
    assert bad["tstr"]["tissue"]["train_synthetic"]["balanced_accuracy"] < 0.7


def test_any_readable_format_gives_the_same_figures(toy):
    cfg = EvaluateConfig(metrics=("gamma", "moments"))
    from_h5ad = compute_metrics(toy["cohort"], toy["good"], config=cfg).metrics
    # a plain CSV records no value space: it must be stated, never guessed
    with pytest.raises(GexgenError, match="--synthetic-space"):
        compute_metrics(toy["cohort"], toy["good_csv"], config=cfg)
    cfg = replace(cfg, synthetic_space="expression")
    from_csv = compute_metrics(toy["cohort"], toy["good_csv"], config=cfg).metrics
    assert from_csv["gamma"]["gamma"] == pytest.approx(from_h5ad["gamma"]["gamma"], abs=1e-5)


def test_model_generates_one_profile_per_real_row_and_is_seeded(toy):
    cfg = EvaluateConfig(metrics=("gamma", "detection"), seed=3)
    a = compute_metrics(toy["cohort"], model=toy["good_onnx"], config=cfg).metrics
    b = compute_metrics(toy["cohort"], model=toy["good_onnx"], config=cfg).metrics
    assert a["n_synthetic"] == a["n_real"]
    assert a["gamma"] == b["gamma"] and a["detection"] == b["detection"]
    bad = compute_metrics(toy["cohort"], model=toy["bad_onnx"], config=cfg).metrics
    assert a["gamma"]["gamma"] > 0.8 > bad["gamma"]["gamma"]


def test_n_synthetic_cycles_through_the_real_labels(toy):
    cfg = EvaluateConfig(metrics=("gamma",), n_synthetic=500)
    ev = compute_metrics(toy["cohort"], model=toy["good_onnx"], config=cfg)
    n_real = ev.metrics["n_real"]
    assert ev.metrics["n_synthetic"] == 500
    real = ev.real.sample_labels["tissue"].astype(str).to_numpy()
    synth = ev.synthetic.sample_labels["tissue"].astype(str).to_numpy()
    np.testing.assert_array_equal(synth, real[np.arange(500) % n_real])
    with pytest.raises(GexgenError, match="model"):
        compute_metrics(toy["cohort"], toy["good"], config=cfg)


def test_check_passes_good_and_fails_bad_generator(toy):
    good = check_generator(toy["good_onnx"], toy["cohort"], min_gamma=0.8, max_detection_auc=0.7)
    bad = check_generator(toy["bad_onnx"], toy["cohort"], min_gamma=0.8, max_detection_auc=0.7)
    assert good.passed and [c.name for c in good.checks] == ["gamma", "detection_auc"]
    assert not bad.passed and not any(c.passed for c in bad.checks)
    line = r"FAIL gamma = -?\d\.\d{4} \(required >= 0\.8; reference 0\.\d{4}\)"  # the ceiling
    assert re.match(line, bad.checks[0].line())


def test_check_gates_the_opt_in_augmentation_gain(toy):
    result = check_generator(
        toy["good_onnx"], toy["cohort"], min_gamma=None, min_augmentation_gain=-1.0, n_synthetic=200
    )
    (gate,) = result.checks
    assert gate.name == "augmentation_gain" and gate.value is not None
    assert -1.0 <= gate.value <= 1.0 and gate.passed


def test_shared_genes_are_reported(toy):
    model = toy["model"]
    half = model.genes[::2]
    path = write_profiles_h5ad(
        toy["root"] / "half.h5ad", toy["good_values"][:, ::2], half, toy["labels"]
    )
    m = compute_metrics(toy["cohort"], path, config=EvaluateConfig(metrics=("gamma",))).metrics
    assert m["genes"] == {"real": 30, "synthetic": 15, "shared": 15}
    assert any("15 genes both sides share" in n for n in m["notes"])


def test_subsampling_is_said(toy):
    cfg = EvaluateConfig(metrics=("detection",), max_samples=50)
    m = compute_metrics(toy["cohort"], toy["good"], config=cfg).metrics
    assert m["detection"]["n_per_class"] == 50
    assert any("subsample of 50 of the 400 synthetic" in n for n in m["notes"])


def test_clear_errors(toy, tmp_path):
    model = toy["model"]
    other = write_profiles_h5ad(
        tmp_path / "other.h5ad", toy["good_values"], [f"X{j}" for j in range(30)], toy["labels"]
    )
    with pytest.raises(GexgenError, match="share no genes"):
        compute_metrics(toy["cohort"], other)
    with pytest.raises(GexgenError, match=r"unknown label\(s\) \['organ'\]"):
        compute_metrics(toy["cohort"], toy["good"], config=EvaluateConfig(labels=("organ",)))
    empty = write_profiles_h5ad(
        tmp_path / "empty.h5ad", np.zeros((0, 30)), model.genes, toy["labels"].iloc[:0]
    )
    with pytest.raises(GexgenError, match="empty|no profiles"):
        compute_metrics(toy["cohort"], empty)
    with pytest.raises(GexgenError, match="exactly one"):
        compute_metrics(toy["cohort"])
    with pytest.raises(GexgenError, match="not found"):
        compute_metrics(toy["root"] / "missing.h5ad", toy["good"])


def test_unknown_label_values_for_the_generator_are_errors(toy, tmp_path):
    import anndata

    a = anndata.read_h5ad(toy["cohort"])
    a.obs["tissue"] = a.obs["tissue"].astype(str).replace({"lung": "brain"}).astype("category")
    a.write_h5ad(tmp_path / "brain.h5ad")
    with pytest.raises(GexgenError, match=r"tissue value\(s\) \['brain'\]"):
        compute_metrics(tmp_path / "brain.h5ad", model=toy["good_onnx"])


def test_evaluate_writes_metrics_and_report(toy, tmp_path):
    out = tmp_path / "report"
    cfg = EvaluateConfig(umap_max_samples=60)
    metrics = evaluate(toy["cohort"], toy["good"], out_dir=out, config=cfg)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["gamma"]["gamma"] == pytest.approx(metrics["gamma"]["gamma"])
    html = (out / "report.html").read_text()
    for title in ("UMAP coloured by tissue", "UMAP coloured by status", "real vs synthetic"):
        assert title in html
    assert any("UMAP drawn on a seeded subsample: 60 of" in n for n in saved["notes"])
    drawn = sorted(p.name for p in (out / "figures").iterdir())
    assert html.count("data:image/png;base64,") == len(drawn)  # each figure inline, once
    assert {
        "dispersion.png",
        "distance_to_closest_record.png",
        "fold_changes.png",
        "gene_correlation.png",
        "gene_moments.png",
        "umap_origin.png",
        "umap_status.png",
        "umap_tissue.png",
    } <= set(drawn)  # (+ distance_to_closest_record.png with the privacy section)
    again = evaluate(
        toy["cohort"], toy["good"], out_dir=tmp_path / "again", config=cfg, report=False
    )
    assert again["gamma"] == metrics["gamma"] and again["prdc"] == metrics["prdc"]
    assert again["detection"] == metrics["detection"] and again["tstr"] == metrics["tstr"]


@pytest.mark.slow
def test_evaluate_on_the_real_cohort_with_a_noisy_copy(real_cohort_path, tmp_path):
    """The real RNAseqDB cohort against its own test split plus noise (no generator needed)."""
    real_log, obs = _real_test_log(real_cohort_path)
    rng = np.random.default_rng(0)
    noisy = real_log + rng.normal(scale=0.3, size=real_log.shape).astype(np.float32)
    import anndata

    genes = list(anndata.read_h5ad(real_cohort_path, backed="r").var_names)
    synth = ProfileSet.from_array(noisy, genes, obs[["tissue", "status"]], "log2", "noisy copy")
    out = tmp_path / "real_report"
    m = evaluate(real_cohort_path, synth, out_dir=out)
    assert (out / "metrics.json").is_file() and (out / "report.html").is_file()
    assert m["genes"]["shared"] == len(genes) and m["n_real"] == len(real_log)
    assert m["labels"] == ["tissue", "status"]
    assert 0.8 < m["gamma"]["gamma"] <= 1.0 and 0.8 < m["gamma_ceiling"]["gamma"] <= 1.0
    assert m["gene_moments"]["overall"]["mean_r"] > 0.99
    assert m["tstr"]["tissue"]["train_synthetic"]["balanced_accuracy"] > 0.8
    # noisy twins of real profiles: the detection classifier is fooled the wrong way round
    assert m["detection"]["auc"] < 0.4
    assert any("copies of real profiles" in note for note in m["notes"])
