"""compute_metrics writes privacy.attacks beside mia_auc (kept as it was)."""

from __future__ import annotations

import anndata
import numpy as np
import pytest
from toy_data import ToyModel, write_profiles_h5ad, write_toy_cohort

from gexgen.data.preprocess import log2p1
from gexgen.metrics import EvaluateConfig, compute_metrics
from gexgen.metrics.summary import summary_lines


def test_copies_flagged_by_the_attack_family(tmp_path):
    model = ToyModel(seed=2)
    cohort = write_toy_cohort(tmp_path / "cohort.h5ad", n=300, model=model, seed=2)
    a = anndata.read_h5ad(cohort)
    is_train = (a.obs["split"] == "train").to_numpy()
    train_log = log2p1(np.asarray(a.X)[is_train])
    labels = a.obs.loc[is_train, ["tissue", "status"]].reset_index(drop=True)
    copies = write_profiles_h5ad(tmp_path / "copies.h5ad", train_log, model.genes, labels)
    m = compute_metrics(cohort, copies, config=EvaluateConfig(metrics=("privacy",))).metrics
    p = m["privacy"]
    attacks = p["attacks"]
    assert p["mia_auc"] == 1.0  # unchanged: GAN-Leaks over all held-out rows
    assert attacks["attacks"]["gan_leaks"]["auc"] == 1.0
    assert attacks["worst_auc"] == 1.0 and attacks["worst_tpr_at_1pct_fpr"] == 1.0
    assert attacks["reference"]["gaussian"]["worst_auc"] < 0.9
    assert attacks["n_train"] == is_train.sum() and attacks["n_draws"] == 5
    lines = "\n".join(summary_lines(m))
    assert "attacks: worst AUC 1.000" in lines


@pytest.mark.slow  # the report draws UMAPs (~30 s on 2 shared cores)
def test_report_draws_the_roc_figure_and_the_attack_rows(tmp_path):
    from gexgen.metrics._attack_summary import attack_rows
    from gexgen.metrics.report import render_report

    model = ToyModel(seed=3)
    cohort = write_toy_cohort(tmp_path / "cohort.h5ad", n=240, model=model, seed=3)
    rng = np.random.default_rng(1)
    from toy_data import toy_labels

    labels = toy_labels(300, rng)
    fresh = write_profiles_h5ad(
        tmp_path / "fresh.h5ad", model.log_values(labels, rng), model.genes, labels
    )
    config = EvaluateConfig(metrics=("privacy",))
    evaluation = compute_metrics(cohort, fresh, config=config)
    page, pngs = render_report(evaluation, config)
    assert pngs["attack_roc.png"][:4] == b"\x89PNG"
    assert "worst membership-inference attack AUC" in page
    rows = attack_rows(evaluation.metrics["privacy"])
    assert len(rows) == 2 and rows[0][2].startswith("gaussian: ")
    assert attack_rows({"mia_auc": 0.5}) == [] and attack_rows(None) == []
