"""What the ``detection`` section of an evaluation holds beside the logistic AUC.

``reference``: the same (logistic) probe on real train rows against real test
rows, the real-vs-real figure (0.5 when the split is random). ``nonlinear``:
the gradient-boosted probe (:func:`gexgen.metrics.detection.probe_genes`) on
the same rows, at most :data:`~gexgen.metrics.detection.GB_MAX_PER_CLASS` per
class, with its own train-vs-test reference and the genes its trees split on
most. Both references skip, with the reason, without a train split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics.detection import GB_MAX_PER_CLASS, detection_auc, probe_genes

__all__ = ["detection_extras", "N_TOP_GENES"]

N_TOP_GENES = 10  # genes the gradient-boosted probe relies on most, in metrics.json
_METHOD = "real train split (as if synthetic) vs real test split, the same probe"
_NO_PROBE_REFERENCE = "not computed (--quick); the verdict reads the probe against 0.5"


def _reference(train: np.ndarray | None, real: np.ndarray, why: str, **kwargs: Any) -> dict:
    if train is None:
        return {"auc": None, "skipped": why}
    try:
        result = detection_auc(real, train, **kwargs).to_dict()
    except GexgenError as exc:  # e.g. fewer train rows than folds
        return {"auc": None, "skipped": str(exc)}
    keep = ("auc", "auc_std", "fold_aucs", "n_per_class", "n_real_total", "n_synthetic_total")
    return {**{k: result[k] for k in keep}, "method": _METHOD}


def detection_extras(
    real: np.ndarray,
    synthetic: np.ndarray,
    train: np.ndarray | None,
    genes: list[str],
    *,
    classifier: str,
    n_folds: int,
    max_per_class: int,
    seed: int,
    no_train: str = "the real data has no train split",
    probe_reference: bool = True,
) -> dict[str, Any]:
    """``{"reference": ..., "nonlinear": ...}`` for metrics["detection"] (see the module doc).

    ``real`` are the real test rows the logistic probe scored, ``synthetic``
    its synthetic rows, ``train`` the real train rows (None: no split;
    ``no_train`` says why). ``probe_reference=False`` skips the gradient-boosted
    probe's own reference (half its time); its entry then says so and holds
    ``"verdict_against": 0.5``, the ideal the verdict reads the probe against
    instead (stricter than a real-vs-real AUC above 0.5, the same below).
    """
    linear = {"classifier": classifier, "n_folds": n_folds, "max_per_class": max_per_class}
    gb_cap = min(GB_MAX_PER_CLASS, max_per_class)
    boosted = {"classifier": "gradient_boosting", "n_folds": n_folds, "max_per_class": gb_cap}
    result, top = probe_genes(
        real, synthetic, genes, n_top=N_TOP_GENES, n_folds=n_folds, max_per_class=gb_cap, seed=seed
    )
    nonlinear = {
        **result.to_dict(),
        "max_per_class": gb_cap,
        "importance": "split gain summed over the trees of the fold models, share of the total",
        "top_genes": top,
        "reference": (
            _reference(train, real, no_train, seed=seed, **boosted)
            if probe_reference
            else {"auc": None, "skipped": _NO_PROBE_REFERENCE, "verdict_against": 0.5}
        ),
    }
    reference = _reference(train, real, no_train, seed=seed, **linear)
    return {"reference": reference, "nonlinear": nonlinear}
