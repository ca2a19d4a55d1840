"""AUC, TPR at low FPR and the ROC curve against brute-force references."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.attacks.roc import auc, membership_figures, roc_curve, tpr_at_fpr


def _naive_auc(m, h):
    return np.mean([(a > b) + 0.5 * (a == b) for a in m for b in h])


def _naive_tpr(m, h, fpr):
    """Max TPR over every rule 'score > t' (t over all scores and -inf) with FPR <= fpr."""
    best = 0.0
    for t in np.r_[np.unique(np.r_[m, h]), -np.inf]:
        if np.mean(h > t) <= fpr + 1e-12:
            best = max(best, np.mean(m > t))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fpr", [0.0, 0.01, 0.1, 0.25, 1.0])
def test_low_fpr_figures_match_brute_force(seed, fpr):
    rng = np.random.default_rng(seed)
    n1, n0 = rng.integers(3, 120, size=2)
    # coarse scores so that ties within and across groups are common
    m = rng.integers(0, 12, n1).astype(float) + (seed % 2) * 2
    h = rng.integers(0, 12, n0).astype(float)
    assert auc(m, h) == pytest.approx(_naive_auc(m, h))
    assert tpr_at_fpr(m, h, fpr) == pytest.approx(_naive_tpr(m, h, fpr))


def test_continuous_scores_and_figures_keys():
    rng = np.random.default_rng(7)
    m, h = rng.normal(1.0, 1.0, 200), rng.normal(0.0, 1.0, 300)
    figures = membership_figures(m, h)
    assert figures["auc"] == pytest.approx(_naive_auc(m, h))
    assert figures["tpr_at_10pct_fpr"] == pytest.approx(_naive_tpr(m, h, 0.1))
    assert figures["tpr_at_1pct_fpr"] == pytest.approx(_naive_tpr(m, h, 0.01))
    assert figures["tpr_at_1pct_fpr"] <= figures["tpr_at_10pct_fpr"]


def test_roc_curve_points_are_the_rules_at_every_score():
    rng = np.random.default_rng(3)
    m, h = rng.integers(0, 6, 40).astype(float), rng.integers(0, 6, 50).astype(float)
    fpr, tpr = roc_curve(m, h)
    thresholds = np.unique(np.r_[m, h])[::-1]
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
    for i, t in enumerate(thresholds, start=1):
        assert fpr[i] == pytest.approx(np.mean(h >= t)) and tpr[i] == pytest.approx(np.mean(m >= t))
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc(m, h))


def test_separated_and_identical_scores():
    assert auc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 1.0
    assert tpr_at_fpr(np.array([2.0, 3.0]), np.array([0.0, 1.0]), 0.0) == 1.0
    same = np.ones(10)
    assert auc(same, same) == 0.5 and tpr_at_fpr(same, same, 0.5) == 0.0


def test_bad_inputs_are_refused():
    with pytest.raises(GexgenError, match="NaN"):
        auc(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(GexgenError, match="empty"):
        tpr_at_fpr(np.array([]), np.array([1.0]), 0.1)
    with pytest.raises(GexgenError, match=r"\[0, 1\]"):
        tpr_at_fpr(np.array([1.0]), np.array([1.0]), 1.5)
