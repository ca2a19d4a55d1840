"""Membership-inference attacks on synthetic profiles: one family, one interface.

Each attack scores real candidate profiles (higher = more likely a training
member) from the synthetic profiles and, where it needs one, a reference set
of real non-members; see :mod:`gexgen.metrics.attacks._base` for the
interface and :mod:`gexgen.metrics.attacks.runner` for the seeded
member / non-member draws and the figures (AUC, TPR at 10% and 1% FPR).
"""

from __future__ import annotations

from gexgen.metrics.attacks._base import Attack, label_keys
from gexgen.metrics.attacks.confidence import confidence
from gexgen.metrics.attacks.domias import domias
from gexgen.metrics.attacks.gan_leaks import calibrated_gan_leaks, gan_leaks
from gexgen.metrics.attacks.logan import logan_d1
from gexgen.metrics.attacks.monte_carlo import monte_carlo
from gexgen.metrics.attacks.roc import auc, membership_figures, roc_curve, tpr_at_fpr

__all__ = ["ATTACKS", "Attack", "label_keys", "auc", "tpr_at_fpr", "roc_curve"]
__all__ += ["membership_figures", "gan_leaks", "calibrated_gan_leaks", "monte_carlo"]
__all__ += ["logan_d1", "domias", "confidence"]

ATTACKS: tuple[Attack, ...] = (
    Attack("gan_leaks", gan_leaks, False, "minus the distance to the nearest synthetic profile"),
    Attack(
        "gan_leaks_calibrated",
        calibrated_gan_leaks,
        True,
        "distance to the nearest reference profile minus that to the nearest synthetic one",
    ),
    Attack(
        "monte_carlo",
        monte_carlo,
        True,
        "share of synthetic profiles within the median-heuristic radius (set on the reference)",
    ),
    Attack("logan_d1", logan_d1, True, "P(synthetic) of a synthetic-vs-reference classifier"),
    Attack(
        "domias",
        domias,
        True,
        "log density ratio p_synthetic / p_reference (Gaussian KDE, top 10 principal components)",
    ),
    Attack(
        "confidence",
        confidence,
        False,
        "P(own label combination) of a classifier trained on the synthetic profiles",
    ),
)
