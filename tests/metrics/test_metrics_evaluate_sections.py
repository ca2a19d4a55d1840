"""The dispersion / de / augmentation sections of an evaluation, and the report's safety:
escaped HTML, `$` labels, metrics.json before any figure, a failing figure costs only itself."""

from __future__ import annotations

import html
import json

import anndata
import numpy as np
import pandas as pd
import pytest
from toy_data import (
    ToyModel,
    toy_labels,
    write_profiles_h5ad,
    write_toy_cohort,
    write_toy_generator,
)

from gexgen.metrics import EvaluateConfig, compute_metrics, evaluate

SECTIONS = ("dispersion", "de")


def _shrunk(values: np.ndarray, labels: pd.DataFrame, factor: float) -> np.ndarray:
    """Each label combination pulled towards its mean: spread times ``factor``."""
    out = values.copy()
    keys = (labels["tissue"] + "|" + labels["status"]).to_numpy()
    for key in np.unique(keys):
        rows = keys == key
        mean = values[rows].mean(axis=0)
        out[rows] = mean + factor * (values[rows] - mean)
    return out


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("sections")
    model = ToyModel(seed=0)
    rng = np.random.default_rng(5)
    labels = toy_labels(600, rng)
    good = model.log_values(labels, rng)
    return {
        "root": root,
        "model": model,
        "labels": labels,
        "good_values": good,
        "cohort": write_toy_cohort(root / "cohort.h5ad", n=400, model=model),
        "good": write_profiles_h5ad(root / "good.h5ad", good, model.genes, labels),
        "narrow": write_profiles_h5ad(
            root / "narrow.h5ad", _shrunk(good, labels, 0.7), model.genes, labels
        ),
        "scrambled": write_profiles_h5ad(
            root / "scrambled.h5ad", good[:, rng.permutation(model.n_genes)], model.genes, labels
        ),
        "good_onnx": write_toy_generator(root / "good.onnx", model, good=True),
    }


def test_dispersion_flags_a_narrow_generator_beside_its_reference(toy):
    cfg = EvaluateConfig(metrics=SECTIONS)
    good = compute_metrics(toy["cohort"], toy["good"], config=cfg).metrics["dispersion"]
    narrow = compute_metrics(toy["cohort"], toy["narrow"], config=cfg).metrics["dispersion"]
    assert 0.9 < good["std_ratio_median"] < 1.1
    assert narrow["std_ratio_median"] < 0.85 and narrow["group_std_ratio_median"] < 0.8
    assert narrow["within_10pct_share"] < good["within_10pct_share"]
    ref = good["reference"]
    assert 0.85 < ref["std_ratio_median"] < 1.15 and ref["method"].startswith("real train")
    assert ref == narrow["reference"]  # the reference does not depend on the synthetic set
    assert set(good["groups"]) == {f"{t}|{s}" for t in ("kidney", "liver", "lung")
                                   for s in ("normal", "tumor")}  # fmt: skip


def test_de_keeps_fold_changes_of_a_faithful_generator_only(toy):
    cfg = EvaluateConfig(metrics=SECTIONS)
    full = compute_metrics(toy["cohort"], toy["good"], config=cfg).metrics
    good = full["de"]
    bad = compute_metrics(toy["cohort"], toy["scrambled"], config=cfg).metrics["de"]
    names = {c["name"] for c in good["contrasts"]}
    assert "status: tumor vs normal (tissue=kidney)" in names
    assert "tissue: liver vs kidney (status=normal)" in names
    assert good["by_label"]["status"]["n_contrasts"] == 3
    assert good["lfc_r"] > 0.8 > 0.5 > bad["lfc_r"]
    assert good["top50_recall"] > bad["top50_recall"] and good["top_n"] == 15  # 30 genes
    assert good["reference"]["lfc_r"] > 0.8
    assert good["mmd"] < bad["mmd"] and good["reference"]["mmd"] < bad["mmd"]
    assert good["mmd_detail"]["n_per_set"] == full["n_real"]  # the smallest set: real test
    assert bad["reference"]["mmd"] == good["reference"]["mmd"]  # one kernel, independent of synth


def test_augmentation_is_opt_in_and_uses_the_generator_per_class(toy):
    plain = compute_metrics(toy["cohort"], toy["good"], config=EvaluateConfig(metrics=("gamma",)))
    assert "augmentation" not in plain.metrics
    cfg = EvaluateConfig(metrics=("gamma",), augmentation=True, augmentation_per_class=40,
                         augmentation_seeds=2)  # fmt: skip
    from_model = compute_metrics(toy["cohort"], model=toy["good_onnx"], config=cfg).metrics
    a = from_model["augmentation"]
    assert a["label"] == "tissue" and a["classes"] == ["kidney", "liver", "lung"]
    assert a["n_synthetic_used"] == 3 * 40 and a["synthetic_source"].startswith("generated")
    assert [c["k"] for c in a["curve"]] == [5, 10, 20, 50] and a["n_seeds"] == 2
    assert a["mean_gain"] == pytest.approx(np.mean([c["gain"] for c in a["curve"]]))
    assert 0.5 < a["reference"]["all_real_train"] <= 1.0
    from_file = compute_metrics(toy["cohort"], toy["good"], config=cfg).metrics["augmentation"]
    assert from_file["synthetic_source"].startswith("seeded subsample")


def _evil_cohort(toy, root, column: str, tissue_names: dict[str, str]):
    """The toy cohort and its good synthetic file with a renamed label and renamed values."""
    a = anndata.read_h5ad(toy["cohort"])
    obs = a.obs.copy()
    obs["tissue"] = obs["tissue"].astype(str).map(tissue_names).astype("category")
    a.obs = obs.rename(columns={"status": column})
    cohort = root / "a<b>cohort.h5ad"
    a.write_h5ad(cohort)
    labels = toy["labels"].copy()
    labels["tissue"] = labels["tissue"].map(tissue_names)
    labels = labels.rename(columns={"status": column})
    synth = write_profiles_h5ad(root / "s.h5ad", toy["good_values"], toy["model"].genes, labels)
    return cohort, synth


def test_report_escapes_labels_values_and_paths(toy, tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    names = {"kidney": "<script>alert(1)</script>", "liver": "li&ver", "lung": "lung"}
    cohort, synth = _evil_cohort(toy, tmp_path, evil, names)
    out = tmp_path / "report"
    evaluate(cohort, synth, out_dir=out, config=EvaluateConfig(umap_max_samples=80))
    page = (out / "report.html").read_text()
    assert evil not in page and "<script>" not in page and "a<b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "a&lt;b&gt;cohort" in page
    assert "li&amp;ver" in page and "li&ver" not in page
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["labels"] == ["tissue", evil]
    assert not [n for n in saved["notes"] if "not drawn" in n]


def test_dollar_labels_do_not_break_the_figures(toy, tmp_path):
    names = {"kidney": "$x$", "liver": r"$\frac{$", "lung": "_lung"}
    cohort, synth = _evil_cohort(toy, tmp_path, "status", names)
    out = tmp_path / "report"
    m = evaluate(cohort, synth, out_dir=out, config=EvaluateConfig(umap_max_samples=80))
    assert not [n for n in m["notes"] if "not drawn" in n], m["notes"]
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == [
        "attack_roc.png", "dispersion.png", "distance_to_closest_record.png", "fold_changes.png",
        "gene_correlation.png", "gene_moments.png", "probe_top_genes.png", "umap_origin.png",
        "umap_status.png", "umap_tissue.png",
    ]  # fmt: skip
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(figures)


def test_metrics_json_is_written_before_any_figure(toy, tmp_path, monkeypatch):
    import gexgen.metrics.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("figure backend exploded")

    monkeypatch.setattr(report, "render_report", broken)
    out = tmp_path / "report"
    with pytest.raises(RuntimeError, match="exploded"):
        evaluate(toy["cohort"], toy["good"], out_dir=out, config=EvaluateConfig(metrics=SECTIONS))
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["dispersion"]["std_ratio_median"] > 0 and saved["report"] == "report.html"


def test_a_failing_figure_is_left_out_with_a_note(toy, tmp_path, monkeypatch):
    import gexgen.metrics.figures as figures

    def broken(evaluation):
        raise ValueError("no heatmap today")

    monkeypatch.setattr(figures, "correlation_figure", broken)
    out = tmp_path / "report"
    m = evaluate(toy["cohort"], toy["good"], out_dir=out, config=EvaluateConfig(metrics=SECTIONS))
    note = "figure 'gene_correlation' not drawn: ValueError: no heatmap today"
    assert note in m["notes"] and note in json.loads((out / "metrics.json").read_text())["notes"]
    assert html.escape(note) in (out / "report.html").read_text()
    assert not (out / "figures" / "gene_correlation.png").exists()
    assert (out / "figures" / "dispersion.png").is_file()


def test_privacy_histogram_is_drawn_when_the_section_has_one(toy, tmp_path):
    from gexgen.metrics.report import render_report

    cfg = EvaluateConfig(metrics=("moments",), umap_max_samples=60)
    ev = compute_metrics(toy["cohort"], toy["good"], config=cfg)
    rng = np.random.default_rng(0)
    edges = np.linspace(0, 10, 21)
    ev.metrics["privacy"] = {
        "mia_auc": 0.61,
        "reference": {"holdout_half": {"mia_auc": 0.52}, "chance": {"mia_auc": 0.5}},
        "dcr_synthetic_median": 4.0,
        "dcr_holdout_median": 5.0,
        "dcr_histogram": {
            "edges": edges.tolist(),
            "synthetic": np.histogram(rng.normal(4, 1, 500), edges)[0].tolist(),
            "holdout": np.histogram(rng.normal(5, 1, 100), edges)[0].tolist(),
        },
    }
    page, pngs = render_report(ev, cfg)
    assert "distance_to_closest_record.png" in pngs
    assert "0.6100" in page and "holdout half: 0.5200" in page
    ev.metrics["privacy"] = {"mia_auc": 0.6}
    page, pngs = render_report(ev, cfg)
    assert "distance_to_closest_record.png" not in pngs
    assert any("dcr_histogram" in n for n in ev.metrics["notes"])
