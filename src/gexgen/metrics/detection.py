"""Detection AUC: how well a classifier tells synthetic profiles from real ones.

Real and synthetic rows are balanced (the larger set is subsampled, seeded,
to the size of the smaller, and both to ``max_per_class``), then a
classifier is scored by ROC AUC over stratified k folds. 0.5 means the
classifier cannot tell them apart (ideal); 1.0 means it always can.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import single_blas_thread

__all__ = ["DetectionResult", "detection_auc", "DetectionClassifier"]

DetectionClassifier = Literal["logistic", "random_forest"]
_CLASSIFIERS = ("logistic", "random_forest")


@dataclass(frozen=True)
class DetectionResult:
    auc: float  # mean ROC AUC over folds; 0.5 is ideal
    auc_std: float
    fold_aucs: list[float] = field(default_factory=list)
    classifier: str = "logistic"
    n_folds: int = 5
    n_per_class: int = 0
    n_real_total: int = 0
    n_synthetic_total: int = 0
    seed: int = 0

    @property
    def subsampled(self) -> bool:
        return self.n_per_class < max(self.n_real_total, self.n_synthetic_total)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "subsampled": self.subsampled}


def _make_classifier(name: str, seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    return RandomForestClassifier(n_estimators=200, n_jobs=1, random_state=seed)


def detection_auc(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    classifier: DetectionClassifier = "logistic",
    n_folds: int = 5,
    max_per_class: int = 5_000,
    seed: int = 0,
) -> DetectionResult:
    """ROC AUC of a classifier separating real from synthetic rows (k-fold, seeded).

    Parameters
    ----------
    real, synthetic
        samples x features matrices (log2 values; the logistic classifier
        standardizes inside each fold).
    classifier
        ``"logistic"`` (standardize + L2 logistic regression) or
        ``"random_forest"`` (200 trees).
    n_folds
        Stratified folds; each row is scored once, by a model that did not see it.
    max_per_class
        Rows per class at most; both classes get ``min(n_real, n_synthetic,
        max_per_class)`` rows, drawn without replacement with ``seed``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = detection_auc(rng.normal(size=(200, 5)), rng.normal(size=(200, 5)) + 3)
    >>> r.auc > 0.99
    True
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if classifier not in _CLASSIFIERS:
        raise GexgenError(f"classifier must be one of {list(_CLASSIFIERS)}, got {classifier!r}")
    real = np.asarray(real)
    synthetic = np.asarray(synthetic)
    for name, x in (("real", real), ("synthetic", synthetic)):
        if x.ndim != 2:
            raise GexgenError(f"{name} must be a 2-d samples x features matrix, got {x.shape}")
    if real.shape[1] != synthetic.shape[1]:
        raise GexgenError(
            f"real has {real.shape[1]} features but synthetic has {synthetic.shape[1]}"
        )
    n = min(real.shape[0], synthetic.shape[0], int(max_per_class))
    if n < n_folds:
        raise GexgenError(
            f"detection AUC with {n_folds} folds needs at least {n_folds} rows per class; "
            f"got {real.shape[0]} real and {synthetic.shape[0]} synthetic"
        )
    rng = np.random.default_rng(seed)
    pick_real = np.sort(rng.choice(real.shape[0], size=n, replace=False))
    pick_synth = np.sort(rng.choice(synthetic.shape[0], size=n, replace=False))
    x = np.concatenate([real[pick_real], synthetic[pick_synth]]).astype(np.float64)
    if not np.isfinite(x).all():
        raise GexgenError("real or synthetic rows hold NaN or infinite values; fill or drop them")
    y = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)])
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    aucs = []
    # one BLAS thread: these fits are small, and threads only add synchronisation
    with single_blas_thread():
        for train_idx, test_idx in folds.split(x, y):
            model = _make_classifier(classifier, seed)
            model.fit(x[train_idx], y[train_idx])
            score = model.predict_proba(x[test_idx])[:, 1]
            aucs.append(float(roc_auc_score(y[test_idx], score)))
    return DetectionResult(
        auc=float(np.mean(aucs)),
        auc_std=float(np.std(aucs)),
        fold_aucs=aucs,
        classifier=classifier,
        n_folds=int(n_folds),
        n_per_class=int(n),
        n_real_total=int(real.shape[0]),
        n_synthetic_total=int(synthetic.shape[0]),
        seed=int(seed),
    )
