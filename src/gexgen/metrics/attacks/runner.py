"""Run the attack family over seeded member / non-member draws and summarise the figures.

Each draw (seeded by ``(seed, draw)``) takes ``n = min(n_train, n_holdout // 2)``
training rows as members, ``n`` held-out rows as non-members and ``n`` other
held-out rows as the reference (real non-members the attacker holds, never a
candidate): equal counts, so chance is AUC 0.5 and TPR = FPR. Every attack
scores the ``2n`` candidates of the draw; per attack the figures (AUC, TPR at
10% and at 1% FPR, see :mod:`~gexgen.metrics.attacks.roc`) are averaged over
draws (``*_sd``: their spread). The headline is the worst attack: the highest
mean AUC and, separately, the highest mean TPR at 1% FPR.

Space: the matrices given are already in the space the attacks compare
(log2(x + 1) standardized per gene with the training rows' mean and std:
:func:`standardize_by_train`, the same as :mod:`gexgen.metrics.privacy`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics.attacks import ATTACKS, Attack
from gexgen.metrics.attacks.roc import membership_figures, roc_curve

__all__ = ["Draw", "attack_draws", "run_attacks", "summarise", "standardize_by_train"]

FIGURES = ("auc", "tpr_at_10pct_fpr", "tpr_at_1pct_fpr")
_ROC_POINTS = 200  # points kept per ROC curve (draw 0) for the report


@dataclass(frozen=True)
class Draw:
    """Row indices of one draw: members (into train), non-members and reference (into holdout)."""

    members: np.ndarray
    non_members: np.ndarray
    reference: np.ndarray


def standardize_by_train(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """``train`` and ``others`` standardized per gene with ``train``'s mean and std (0 -> 1)."""
    train = np.asarray(train, dtype=np.float64)
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [(np.asarray(m, dtype=np.float64) - mean) / std for m in (train, *others)]


def attack_draws(n_train: int, n_holdout: int, seed: int, n_draws: int) -> list[Draw]:
    """The seeded equal-count draws (see the module docstring)."""
    n = min(n_train, n_holdout // 2)
    if n < 2:
        raise GexgenError(
            f"the attacks need at least 2 training and 4 held-out rows, got {n_train} and "
            f"{n_holdout}; evaluate on a cohort with a larger test split"
        )
    if n_draws < 1:
        raise GexgenError(f"n_draws must be at least 1, got {n_draws}")
    draws = []
    for draw in range(n_draws):
        rng = np.random.default_rng([seed, 606, draw])
        members = np.sort(rng.choice(n_train, n, replace=False))
        order = rng.permutation(n_holdout)
        draws.append(Draw(members, np.sort(order[:n]), np.sort(order[n : 2 * n])))
    return draws


def _compact_roc(members: np.ndarray, non_members: np.ndarray) -> dict[str, list[float]]:
    fpr, tpr = roc_curve(members, non_members)
    if len(fpr) > _ROC_POINTS:
        keep = np.unique(np.linspace(0, len(fpr) - 1, _ROC_POINTS).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": fpr.round(5).tolist(), "tpr": tpr.round(5).tolist()}


def summarise(per_draw: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean and sd (ddof 1; 0 for one draw) of each figure over draws."""
    out: dict[str, float] = {}
    for key in FIGURES:
        values = np.array([d[key] for d in per_draw])
        out[key] = float(values.mean())
        out[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def worst(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The attack with the highest mean AUC, and the one with the highest mean TPR at 1% FPR."""
    scored = {k: v for k, v in results.items() if "auc" in v}
    if not scored:
        return {}
    by_auc = max(scored, key=lambda k: scored[k]["auc"])
    by_tpr = max(scored, key=lambda k: scored[k]["tpr_at_1pct_fpr"])
    return {
        "worst_auc": scored[by_auc]["auc"],
        "worst_auc_attack": by_auc,
        "worst_tpr_at_1pct_fpr": scored[by_tpr]["tpr_at_1pct_fpr"],
        "worst_tpr_at_1pct_fpr_attack": by_tpr,
    }


def run_attacks(
    train: np.ndarray,
    train_keys: np.ndarray,
    holdout: np.ndarray,
    holdout_keys: np.ndarray,
    synthetic: np.ndarray,
    synthetic_keys: np.ndarray,
    *,
    seed: int = 0,
    n_draws: int = 5,
    attacks: Sequence[Attack] = ATTACKS,
    roc: bool = False,
) -> dict[str, Any]:
    """Every attack over the seeded draws; ``{"attacks": {name: figures}, worst_*...}``.

    Parameters
    ----------
    train, holdout, synthetic
        Profiles x genes in the attack space (see the module docstring).
    train_keys, holdout_keys, synthetic_keys
        One label-combination key per row (:func:`~gexgen.metrics.attacks.label_keys`).
    roc
        Also keep each attack's ROC curve of draw 0 (``roc``: fpr, tpr lists).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> train, holdout = rng.normal(size=(60, 5)), rng.normal(size=(60, 5))
    >>> keys = np.full(60, "(all)", dtype=object)
    >>> out = run_attacks(train, keys, holdout, keys, train.copy(), keys, n_draws=2)
    >>> out["attacks"]["gan_leaks"]["auc"]
    1.0
    """
    train_keys, holdout_keys = np.asarray(train_keys), np.asarray(holdout_keys)
    synthetic_keys = np.asarray(synthetic_keys)
    for name, m, k in (
        ("train", train, train_keys),
        ("holdout", holdout, holdout_keys),
        ("synthetic", synthetic, synthetic_keys),
    ):
        if len(m) != len(k):
            raise GexgenError(f"{name} has {len(m)} rows but {len(k)} label keys")
    draws = attack_draws(len(train), len(holdout), seed, n_draws)
    results: dict[str, dict[str, Any]] = {}
    for index, attack in enumerate(attacks):
        per_draw, seconds, curve = [], 0.0, None
        for d, draw in enumerate(draws):
            candidates = np.r_[train[draw.members], holdout[draw.non_members]]
            keys = np.r_[train_keys[draw.members], holdout_keys[draw.non_members]]
            rng = np.random.default_rng([seed, 607, d, index])
            start = time.perf_counter()
            scores = attack.score(
                candidates,
                keys,
                synthetic,
                synthetic_keys,
                holdout[draw.reference],
                holdout_keys[draw.reference],
                rng,
            )
            seconds += time.perf_counter() - start
            scores = np.asarray(scores, dtype=np.float64)
            n = len(draw.members)
            per_draw.append(membership_figures(scores[:n], scores[n:]))
            if roc and d == 0:
                curve = _compact_roc(scores[:n], scores[n:])
        results[attack.name] = {**summarise(per_draw), "seconds": round(seconds, 3)}
        results[attack.name]["what"] = attack.what
        if curve is not None:
            results[attack.name]["roc"] = curve
    return {
        "attacks": results,
        **worst(results),
        "n_per_group": len(draws[0].members),
        "n_draws": n_draws,
        "n_synthetic": len(synthetic),
    }
