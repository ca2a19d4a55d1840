"""The report's attack figure: each attack's ROC curve (draw 0) at log-scaled FPR.

Low false-positive rates are where a membership-inference attack matters (a
few patients identified with confidence), so the FPR axis is logarithmic,
from half of one non-member's share up to 1; the dashed diagonal is chance
(TPR = FPR). Dotted verticals mark the 1% and 10% FPR of the summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gexgen.metrics.figures import plain_text, png

if TYPE_CHECKING:
    from gexgen.metrics.evaluation import Evaluation

__all__ = ["attack_roc_figure"]


def attack_roc_figure(evaluation: Evaluation) -> str:
    """ROC curves of ``privacy.attacks`` (each attack's first draw), FPR on a log axis."""
    from matplotlib.figure import Figure

    a = evaluation.metrics["privacy"]["attacks"]
    low = 0.5 / max(int(a["n_per_group"]), 1)
    fig = Figure(figsize=(7, 4.8))
    ax = fig.add_subplot()
    for name, figures in a["attacks"].items():
        roc = figures.get("roc")
        if not roc:
            continue
        fpr = np.maximum(np.asarray(roc["fpr"], dtype=float), low)
        label = f"{plain_text(name)} (mean AUC {figures['auc']:.3f})"
        ax.step(fpr, np.asarray(roc["tpr"], dtype=float), where="post", lw=1.3, label=label)
    grid = np.geomspace(low, 1.0, 50)
    ax.plot(grid, grid, color="grey", ls="--", lw=1, label="chance")
    for x in (0.01, 0.1):
        ax.axvline(x, color="grey", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(low, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("false-positive rate (held-out non-members flagged), log scale")
    ax.set_ylabel("true-positive rate (training members flagged)")
    ax.set_title(
        f"membership-inference attacks, {a['n_per_group']} members vs "
        f"{a['n_per_group']} non-members (draw 0 of {a['n_draws']})",
        fontsize=10,
    )
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return png(fig)
