"""The gradient-boosted detection probe and the genes it relies on: against scikit-learn
directly, and on known answers (same distribution ~0.5, one gene shifted ~1 and ranked
first, a flipped correlation the logistic probe cannot see)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from gexgen.errors import GexgenError
from gexgen.metrics.detection import GB_MAX_PER_CLASS, detection_auc, probe_genes

GENES = [f"g{j}" for j in range(8)]


def test_gradient_boosting_matches_scikit_learn_on_the_same_folds():
    rng = np.random.default_rng(0)
    real, synth = rng.normal(size=(150, 8)), rng.normal(size=(150, 8))
    synth[:, 3] *= 1.6  # a variance difference
    x = np.r_[real, synth]
    y = np.r_[np.zeros(150), np.ones(150)]
    aucs = []
    with threadpool_limits(1):  # the probe fits on one thread as well
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=7).split(x, y):
            model = HistGradientBoostingClassifier(random_state=7).fit(x[tr], y[tr])
            aucs.append(roc_auc_score(y[te], model.predict_proba(x[te])[:, 1]))
    got = detection_auc(real, synth, classifier="gradient_boosting", seed=7)
    assert got.fold_aucs == pytest.approx(aucs, abs=1e-12)
    assert got.auc == pytest.approx(np.mean(aucs), abs=1e-12)
    assert got.classifier == "gradient_boosting"
    again, top = probe_genes(real, synth, GENES, seed=7)
    assert again == got  # the same probe, seeded
    assert top[0]["gene"] == "g3"


def test_same_distribution_is_about_one_half():
    rng = np.random.default_rng(1)
    got = detection_auc(
        rng.normal(size=(400, 6)), rng.normal(size=(400, 6)), classifier="gradient_boosting"
    )
    assert abs(got.auc - 0.5) < 0.07


def test_a_shifted_gene_is_found_and_ranked_first():
    rng = np.random.default_rng(2)
    real, synth = rng.normal(size=(200, 8)), rng.normal(size=(300, 8))
    synth[:, 5] += 4.0
    result, top = probe_genes(real, synth, GENES, n_top=3)
    assert result.auc > 0.99 and result.n_per_class == 200
    assert top[0]["gene"] == "g5" and top[0]["column"] == 5
    assert top[0]["importance"] > 0.5 and len(top) <= 3
    assert sum(g["importance"] for g in top) <= 1.0 + 1e-12
    assert top[0]["real_mean"] == pytest.approx(0.0, abs=0.25)
    assert top[0]["synthetic_mean"] == pytest.approx(4.0, abs=0.25)
    assert top[0]["real_sd"] == pytest.approx(1.0, abs=0.2)


def test_trees_see_a_flipped_correlation_that_a_linear_probe_misses():
    rng = np.random.default_rng(3)
    n = 500
    a, b = rng.normal(size=(n, 1)), rng.normal(size=(n, 1))
    noise = 0.3 * rng.normal(size=(2, n, 1))
    real = np.hstack([a, a + noise[0], rng.normal(size=(n, 2))])
    synth = np.hstack([b, -b + noise[1], rng.normal(size=(n, 2))])  # same marginals
    linear = detection_auc(real, synth)
    boosted, top = probe_genes(real, synth, ["x", "y", "u", "v"])
    assert abs(linear.auc - 0.5) < 0.08
    assert boosted.auc > 0.85
    assert {top[0]["gene"], top[1]["gene"]} == {"x", "y"}


def test_random_forest_importances_and_errors():
    rng = np.random.default_rng(4)
    real, synth = rng.normal(size=(100, 4)), rng.normal(size=(100, 4))
    synth[:, 1] += 3
    _, top = probe_genes(real, synth, list("abcd"), classifier="random_forest")
    assert top[0]["gene"] == "b"
    with pytest.raises(GexgenError, match="tree splits"):
        probe_genes(real, synth, list("abcd"), classifier="logistic")
    with pytest.raises(GexgenError, match="3 gene names for 4 columns"):
        probe_genes(real, synth, list("abc"))
    assert GB_MAX_PER_CLASS == 2_000
    capped, _ = probe_genes(real, synth, max_per_class=50)
    assert capped.n_per_class == 50 and capped.subsampled


def test_folds_side_by_side_give_the_same_figures(monkeypatch):
    from gexgen.metrics import _config

    rng = np.random.default_rng(5)
    real, synth = rng.normal(size=(120, 6)), rng.normal(size=(120, 6)) * 1.3
    runs = []
    for threads in (1, 3):
        monkeypatch.setattr(_config, "FOLD_THREADS", threads)
        assert _config.fold_threads(5) == threads and _config.fold_threads(2) == min(threads, 2)
        runs.append(probe_genes(real, synth, GENES[:6], seed=2))
    assert runs[0] == runs[1]
