"""detection.nonlinear, detection.reference and marginals in an evaluation: in metrics.json
with their real-vs-real references, in the printed summary and report.html, as check gates
and as benchmark columns."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from toy_data import ToyModel, toy_labels, write_profiles_h5ad, write_toy_cohort

from gexgen.metrics import EvaluateConfig, check_generator, compute_metrics, evaluate
from gexgen.metrics.check import GATES
from gexgen.metrics.evaluation import ALL_METRICS
from gexgen.metrics.summary import summary_lines

PROBES = ("detection", "marginals")
SHIFTED = 11  # gene shifted by several sd in the 'shifted' synthetic set


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    model = ToyModel(seed=2)
    rng = np.random.default_rng(8)
    labels = toy_labels(300, rng)
    good = model.log_values(labels, rng)
    shifted = good.copy()
    shifted[:, SHIFTED] += 4.0 * good[:, SHIFTED].std()
    return {
        "model": model,
        "cohort": write_toy_cohort(root / "cohort.h5ad", n=400, model=model, seed=2),
        "good": write_profiles_h5ad(root / "good.h5ad", good, model.genes, labels),
        "shifted": write_profiles_h5ad(root / "shifted.h5ad", shifted, model.genes, labels),
        "no_split": write_profiles_h5ad(
            root / "no_split.h5ad", good[:150], model.genes, labels.iloc[:150]
        ),  # fmt: skip
        "root": root,
    }


def test_sections_hold_the_probe_its_references_and_the_marginals(toy):
    cfg = EvaluateConfig(metrics=PROBES)
    good = compute_metrics(toy["cohort"], toy["good"], config=cfg).metrics
    bad = compute_metrics(toy["cohort"], toy["shifted"], config=cfg).metrics
    assert "marginals" in ALL_METRICS
    for m in (good, bad):
        d = m["detection"]
        assert d["classifier"] == "logistic" and d["reference"]["auc"] is not None
        nl = d["nonlinear"]
        assert nl["classifier"] == "gradient_boosting" and nl["max_per_class"] == 2_000
        assert len(nl["fold_aucs"]) == 5 and nl["n_per_class"] == min(m["n_real"], 300)
        assert nl["reference"]["method"].startswith("real train")
        assert abs(nl["reference"]["auc"] - 0.5) < 0.15  # train vs test: one distribution
        assert set(m["marginals"]["reference"]) >= {"ks_median", "ks_max", "w1_median"}
    # the references do not depend on the synthetic set
    assert good["detection"]["nonlinear"]["reference"] == bad["detection"]["nonlinear"]["reference"]
    assert good["marginals"]["reference"] == bad["marginals"]["reference"]
    gene = toy["model"].genes[SHIFTED]
    assert bad["detection"]["nonlinear"]["auc"] > 0.97
    assert good["detection"]["nonlinear"]["auc"] < 0.8
    assert bad["detection"]["nonlinear"]["top_genes"][0]["gene"] == gene
    assert bad["marginals"]["worst_genes"][0]["gene"] == gene
    assert bad["marginals"]["ks_max"] > 0.9 > good["marginals"]["ks_max"]


def test_without_a_train_split_the_references_say_why(toy):
    cfg = EvaluateConfig(metrics=PROBES)
    m = compute_metrics(toy["no_split"], toy["good"], config=cfg).metrics
    assert m["detection"]["reference"]["auc"] is None
    assert "split" in m["detection"]["nonlinear"]["reference"]["skipped"]
    assert m["marginals"]["reference"]["ks_median"] is None
    assert "split" in m["marginals"]["reference"]["skipped"]
    assert any(line.startswith("marginals: KS median") for line in summary_lines(m))


def test_metrics_json_summary_and_report(toy, tmp_path):
    cfg = EvaluateConfig(metrics=PROBES)
    m = evaluate(toy["cohort"], toy["shifted"], out_dir=tmp_path, config=cfg)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["detection"]["nonlinear"]["reference"]["auc"] is not None
    assert written["marginals"]["worst_genes"][0]["gene"] == toy["model"].genes[SHIFTED]
    lines = summary_lines(m)
    boosted = [line for line in lines if line.startswith("detection AUC (gradient-boosted)")]
    assert len(boosted) == 1 and "real-vs-real" in boosted[0]
    assert any("marginals: KS median" in line and "real-vs-real" in line for line in lines)
    linear = next(line for line in lines if re.match(r"detection AUC \d", line))
    assert "real-vs-real" in linear
    page = (tmp_path / "report.html").read_text()
    assert "Genes the gradient-boosted probe relies on" in page
    assert "largest per-gene KS" in page and "gradient-boosted trees" in page
    assert (tmp_path / "figures" / "probe_top_genes.png").stat().st_size > 1000
    assert not any("not drawn" in n for n in written["notes"])


def test_gates_read_the_new_figures_with_their_references(toy):
    assert GATES["max_detection_auc_nonlinear"].path == ("detection", "nonlinear", "auc")
    assert GATES["max_marginal_ks"].metric == "marginals"
    from toy_data import write_toy_generator

    onnx = write_toy_generator(toy["root"] / "good.onnx", toy["model"], good=True)
    result = check_generator(
        onnx,
        toy["cohort"],
        min_gamma=None,
        n_synthetic=300,
        max_detection_auc_nonlinear=0.9,
        max_marginal_ks=0.5,
        max_detection_auc=0.9,
    )
    assert result.passed, [c.line() for c in result.checks]
    by_name = {c.name: c for c in result.checks}
    for name in ("detection_auc_nonlinear", "marginal_ks_median", "detection_auc"):
        assert by_name[name].reference is not None and "reference" in by_name[name].line()
    strict = check_generator(
        onnx, toy["cohort"], min_gamma=None, n_synthetic=300, max_marginal_ks=0.001
    )
    assert not strict.passed and strict.checks[0].name == "marginal_ks_median"


def test_benchmark_columns_and_reference_row():
    from gexgen.benchmark.scoring import format_table, reference_row, summary_row

    m = {
        "gamma": {"gamma": 0.9},
        "gamma_ceiling": {"gamma": 0.97},
        "detection": {
            "auc": 0.55,
            "reference": {"auc": 0.49},
            "nonlinear": {"auc": 0.87, "reference": {"auc": 0.51}},
        },
        "marginals": {"ks_median": 0.062, "reference": {"ks_median": 0.056}},
    }
    ref, row = reference_row(m), summary_row("gexgen", m, None)
    assert (row["detection_auc_nonlinear"], row["ks_median"]) == (0.87, 0.062)
    assert (ref["detection_auc"], ref["detection_auc_nonlinear"], ref["ks_median"]) == (
        0.49,
        0.51,
        0.056,
    )
    header = format_table([ref, row]).splitlines()[0]
    assert "GB AUC" in header and "KS med" in header
    older = {"gamma": {"gamma": 0.9}, "gamma_ceiling": {"gamma": 0.97}}
    assert "GB AUC" not in format_table([summary_row("cvae", older, None)])
