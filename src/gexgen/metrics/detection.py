"""Detection AUC: how well a classifier tells synthetic profiles from real ones.

Real and synthetic rows are balanced (the larger set is subsampled, seeded,
to the size of the smaller, and both to ``max_per_class``), then a
classifier is scored by ROC AUC over stratified k folds. 0.5 means the
classifier cannot tell them apart (ideal); 1.0 means it always can.

The logistic probe only sees differences a linear score can use (shifted
means, mostly); the gradient-boosted probe (``"gradient_boosting"``,
scikit-learn's ``HistGradientBoostingClassifier``) also sees joint and
non-linear structure, and :func:`probe_genes` names the genes its trees
split on most.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import fold_threads, single_blas_thread, single_openmp_thread

__all__ = ["DetectionResult", "detection_auc", "DetectionClassifier", "probe_genes"]
__all__ += ["GB_MAX_PER_CLASS"]

DetectionClassifier = Literal["logistic", "random_forest", "gradient_boosting"]
_CLASSIFIERS = ("logistic", "random_forest", "gradient_boosting")
# rows per class for the gradient-boosted probe in an evaluation: a fit on 2 x 515
# rows x 975 genes takes ~2 s (one core), and the time grows with the rows
GB_MAX_PER_CLASS = 2_000


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
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(random_state=seed)
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
        ``"random_forest"`` (200 trees) or ``"gradient_boosting"``
        (``HistGradientBoostingClassifier(random_state=seed)``, scikit-learn's
        defaults: 100 trees of at most 31 leaves, learning rate 0.1).
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
    return _fit_folds(real, synthetic, classifier, n_folds, max_per_class, seed)[0]


def _fit_folds(
    real: np.ndarray,
    synthetic: np.ndarray,
    classifier: str,
    n_folds: int,
    max_per_class: int,
    seed: int,
) -> tuple[DetectionResult, list[Any], np.ndarray, np.ndarray]:
    """The result, the fold models and the balanced rows (real first, then synthetic)."""
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
    splits = list(folds.split(x, y))

    def fit(split: tuple[np.ndarray, np.ndarray]) -> tuple[float, Any]:
        train_idx, test_idx = split
        with single_openmp_thread():  # a worker thread's own OpenMP setting
            model = _make_classifier(classifier, seed)
            model.fit(x[train_idx], y[train_idx])
            score = model.predict_proba(x[test_idx])[:, 1]
        return float(roc_auc_score(y[test_idx], score)), model

    # one thread per fit (BLAS and OpenMP): these fits are small, threads only add
    # synchronisation, and on a busy machine far worse - a gradient-boosted fit on
    # 515 x 975 L1000 rows took 2 s on one thread and 24 s on two shared cores -;
    # the gradient-boosted folds instead run side by side, one per core (their
    # trees release the GIL). Each fit on one thread: the same figures on every machine.
    threads = fold_threads(len(splits)) if classifier == "gradient_boosting" else 1
    with single_blas_thread():
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                fitted = list(pool.map(fit, splits))
        else:
            fitted = [fit(split) for split in splits]
    aucs = [auc for auc, _ in fitted]
    models = [model for _, model in fitted]
    result = DetectionResult(
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
    return result, models, x, y


def _split_gains(model: Any, n_features: int) -> np.ndarray:
    """Split gain per feature, summed over every split of every tree of a fitted model."""
    gains = np.zeros(n_features)
    if hasattr(model, "_predictors"):  # HistGradientBoostingClassifier: trees x classes
        for per_class in model._predictors:
            for tree in per_class:
                nodes = tree.nodes[~tree.nodes["is_leaf"].astype(bool)]
                np.add.at(gains, nodes["feature_idx"].astype(np.int64), nodes["gain"])
        return gains
    if hasattr(model, "feature_importances_"):  # random forest: impurity decrease
        return np.asarray(model.feature_importances_, dtype=np.float64)
    raise GexgenError(
        f"{type(model).__name__} has no tree splits to rank genes by; "
        "use classifier='gradient_boosting' or 'random_forest'"
    )


def probe_genes(
    real: np.ndarray,
    synthetic: np.ndarray,
    genes: list[str] | None = None,
    *,
    classifier: DetectionClassifier = "gradient_boosting",
    n_top: int = 10,
    n_folds: int = 5,
    max_per_class: int = GB_MAX_PER_CLASS,
    seed: int = 0,
) -> tuple[DetectionResult, list[dict[str, Any]]]:
    """Detection AUC of a tree probe and the genes it relies on most.

    Importance is the split gain (the loss reduction of each split) summed
    over every tree of the ``n_folds`` fold models, as a share of the total:
    free once the folds are fitted, and deterministic. (A random forest gives
    its impurity-based importances, averaged over the folds.)

    Returns
    -------
    (DetectionResult, top genes)
        The result is the one :func:`detection_auc` gives with the same
        arguments. Each top gene: ``gene`` (name, or column index as text),
        ``column``, ``importance`` (share of the summed gain) and the real and
        synthetic ``mean`` / ``sd`` over the balanced rows the probe saw.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real, synth = rng.normal(size=(100, 4)), rng.normal(size=(100, 4))
    >>> synth[:, 2] += 3
    >>> probe_genes(real, synth, ["a", "b", "c", "d"], n_top=1)[1][0]["gene"]
    'c'
    """
    if classifier not in ("gradient_boosting", "random_forest"):
        raise GexgenError(
            f"probe_genes ranks genes by tree splits: classifier must be 'gradient_boosting' "
            f"or 'random_forest', got {classifier!r}"
        )
    if genes is not None and len(genes) != np.shape(real)[-1]:
        raise GexgenError(
            f"got {len(genes)} gene names for {np.shape(real)[-1]} columns; give one per column"
        )
    result, models, x, y = _fit_folds(real, synthetic, classifier, n_folds, max_per_class, seed)
    gains = sum(_split_gains(model, x.shape[1]) for model in models)
    total = float(np.sum(gains))
    share = gains / total if total > 0 else gains
    order = np.argsort(-share, kind="stable")[: max(int(n_top), 0)]
    real_x, synth_x = x[y == 0], x[y == 1]
    top = [
        {
            "gene": str(j) if genes is None else str(genes[j]),
            "column": int(j),
            "importance": float(share[j]),
            "real_mean": float(real_x[:, j].mean()),
            "real_sd": float(real_x[:, j].std()),
            "synthetic_mean": float(synth_x[:, j].mean()),
            "synthetic_sd": float(synth_x[:, j].std()),
        }
        for j in order
        if share[j] > 0
    ]
    return result, top
