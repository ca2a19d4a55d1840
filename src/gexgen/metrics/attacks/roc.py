"""Membership-inference figures from attack scores: AUC and the true-positive rate at low FPR.

Scores are "higher = more likely a member". The AUC is the Mann-Whitney
statistic (ties count half). ``tpr_at_fpr(members, non_members, fpr)`` is the
largest share of members flagged by a threshold rule ``score > t`` that flags
at most ``fpr`` of the non-members (no interpolation, no randomised tie
splitting): with n non-members it allows ``floor(fpr * n)`` false positives,
so at 1% FPR and 161 non-members it allows one. Read TPR at 1% FPR against
that granularity: a random attack has TPR ~ FPR.
"""

from __future__ import annotations

import numpy as np

from gexgen.errors import GexgenError

__all__ = ["auc", "tpr_at_fpr", "roc_curve", "membership_figures", "LOW_FPRS"]

LOW_FPRS = (0.1, 0.01)  # the false-positive rates the figures are read at


def _scores(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0:
        raise GexgenError(f"{name} scores are empty; an attack needs members and non-members")
    if np.isnan(x).any():
        raise GexgenError(f"{name} scores hold NaN; an attack must score every candidate")
    return x


def auc(members: np.ndarray, non_members: np.ndarray) -> float:
    """P(member score > non-member score) + half the ties.

    Examples
    --------
    >>> auc(np.array([3.0, 2.0]), np.array([1.0, 2.0]))
    0.875
    """
    from scipy.stats import rankdata

    m, h = _scores(members, "member"), _scores(non_members, "non-member")
    ranks = rankdata(np.r_[m, h])
    n1, n0 = len(m), len(h)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def tpr_at_fpr(members: np.ndarray, non_members: np.ndarray, fpr: float) -> float:
    """The largest TPR of a rule ``score > t`` whose FPR is at most ``fpr``.

    Examples
    --------
    >>> tpr_at_fpr(np.array([5.0, 4.0, 1.0]), np.array([4.5, 0.0, 0.0, 0.0]), 0.25)
    1.0
    >>> tpr_at_fpr(np.array([5.0, 4.0, 1.0]), np.array([4.5, 0.0, 0.0, 0.0]), 0.0)
    0.3333333333333333
    """
    m, h = _scores(members, "member"), _scores(non_members, "non-member")
    if not 0.0 <= fpr <= 1.0:
        raise GexgenError(f"fpr must be in [0, 1], got {fpr}")
    allowed = int(np.floor(fpr * len(h) + 1e-9))  # false positives allowed
    if allowed >= len(h):
        return 1.0
    threshold = np.sort(h)[::-1][allowed]  # the (allowed + 1)-th largest non-member score
    return float((m > threshold).mean())


def roc_curve(members: np.ndarray, non_members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) of the rules ``score >= t`` over every distinct score, from (0, 0) to (1, 1)."""
    m, h = _scores(members, "member"), _scores(non_members, "non-member")
    thresholds = np.unique(np.r_[m, h])[::-1]
    ms, hs = np.sort(m), np.sort(h)
    tpr = 1.0 - np.searchsorted(ms, thresholds, side="left") / len(m)
    fpr = 1.0 - np.searchsorted(hs, thresholds, side="left") / len(h)
    return np.r_[0.0, fpr], np.r_[0.0, tpr]


def membership_figures(members: np.ndarray, non_members: np.ndarray) -> dict[str, float]:
    """``auc``, ``tpr_at_10pct_fpr`` and ``tpr_at_1pct_fpr`` of one draw."""
    return {
        "auc": auc(members, non_members),
        "tpr_at_10pct_fpr": tpr_at_fpr(members, non_members, 0.1),
        "tpr_at_1pct_fpr": tpr_at_fpr(members, non_members, 0.01),
    }
