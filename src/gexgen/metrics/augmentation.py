"""Augmentation: do synthetic profiles help a classifier that has few real ones?

For each k (5, 10, 20, 50 real training profiles per class, as far as the
data allows), a classifier (standardize + logistic regression) learns the
label (e.g. tissue) from k real training profiles per class, once alone and
once together with N synthetic profiles per class, and is scored by balanced
accuracy on the real test split. The gain is the difference; both are
averaged over seeded draws of the k real and N synthetic rows. ``mean_gain``
averages the gain over the k values. The reference is the same classifier
trained on every real training profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import single_blas_thread

__all__ = ["augmentation_scores", "fit_score", "KS"]

KS = (5, 10, 20, 50)  # real training profiles per class


def fit_score(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> float:
    """Balanced accuracy on the test rows of standardize + logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    with single_blas_thread():
        model.fit(np.asarray(x_train, dtype=np.float64), y_train)
        predicted = model.predict(np.asarray(x_test, dtype=np.float64))
    return float(balanced_accuracy_score(y_test, predicted))


def _draw(y: np.ndarray, classes: np.ndarray, per_class: int, rng: np.random.Generator):
    """Row indices: up to ``per_class`` rows of each class, drawn without replacement."""
    rows = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        rows.append(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
    return np.sort(np.concatenate(rows))


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values))


def augmentation_scores(
    real_train: np.ndarray,
    real_train_labels: Sequence[Any],
    real_test: np.ndarray,
    real_test_labels: Sequence[Any],
    synthetic: np.ndarray,
    synthetic_labels: Sequence[Any],
    *,
    ks: Sequence[int] = KS,
    n_synthetic: int = 100,
    n_seeds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Balanced accuracy with k real profiles per class, alone and with synthetic ones.

    Parameters
    ----------
    real_train, real_test, synthetic
        samples x genes log2 matrices over the same genes.
    *_labels
        The class of each row (e.g. the tissue).
    ks
        Real training profiles per class. A k is scored when the median class
        has at least k training rows; classes with fewer use all they have
        (counted in ``n_classes_capped``).
    n_synthetic
        Synthetic profiles per class added to the k real ones (fewer when the
        synthetic rows of a class run out; ``n_synthetic_used`` says).
    n_seeds
        Seeded draws of the real and synthetic rows averaged per k.

    Returns
    -------
    dict
        ``label classes``, ``curve`` (per k: ``real_only``, ``augmented``,
        ``gain`` with their sds), ``mean_gain``, ``reference`` (all real
        training rows) and ``skipped_k``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> centres = rng.normal(size=(3, 20))
    >>> def draw(n):
    ...     y = rng.integers(0, 3, n)
    ...     return centres[y] + rng.normal(scale=2.0, size=(n, 20)), y
    >>> (tr, ytr), (te, yte), (sy, ysy) = draw(300), draw(300), draw(600)
    >>> out = augmentation_scores(tr, ytr, te, yte, sy, ysy, ks=(5,), n_seeds=2)
    >>> out["mean_gain"] > 0
    True
    """
    y_train = np.asarray(real_train_labels).astype(str)
    y_test = np.asarray(real_test_labels).astype(str)
    y_synth = np.asarray(synthetic_labels).astype(str)
    for name, x, y in (
        ("real train", real_train, y_train),
        ("real test", real_test, y_test),
        ("synthetic", synthetic, y_synth),
    ):
        if np.asarray(x).ndim != 2 or len(x) != len(y):
            raise GexgenError(f"{name}: {len(y)} labels for a matrix of shape {np.shape(x)}")
    if n_seeds < 1 or n_synthetic < 1:
        raise GexgenError(f"n_seeds and n_synthetic must be >= 1, got {n_seeds}, {n_synthetic}")
    classes = np.array(sorted(set(y_train) & set(y_test) & set(y_synth)))
    out: dict[str, Any] = {
        "classes": classes.tolist(),
        "n_synthetic_per_class": int(n_synthetic),
        "n_seeds": int(n_seeds),
        "curve": [],
        "mean_gain": None,
        "reference": None,
        "skipped_k": [],
    }
    if len(classes) < 2:
        out["skipped"] = (
            f"fewer than 2 classes in real train, real test and synthetic together "
            f"({classes.tolist()})"
        )
        return out
    dropped = sorted(set(y_test) - set(classes))
    if dropped:
        out["test_classes_left_out"] = dropped
    test_rows = np.isin(y_test, classes)
    x_test, y_test = np.asarray(real_test)[test_rows], y_test[test_rows]
    out["n_test"] = int(len(y_test))
    counts = np.array([(y_train == c).sum() for c in classes])
    synth_counts = np.array([(y_synth == c).sum() for c in classes])
    out["n_synthetic_used"] = int(np.minimum(synth_counts, n_synthetic).sum())
    median_count = float(np.median(counts))
    gains = []
    for k in sorted(set(int(v) for v in ks)):
        if k < 1 or k > median_count:
            out["skipped_k"].append(
                {"k": k, "reason": f"the median class has {median_count:g} training rows"}
            )
            continue
        alone, augmented = [], []
        for s in range(n_seeds):
            rng = np.random.default_rng([seed, 11, k, s])
            real_rows = _draw(y_train, classes, k, rng)
            synth_rows = _draw(y_synth, classes, n_synthetic, rng)
            xr, yr = np.asarray(real_train)[real_rows], y_train[real_rows]
            alone.append(fit_score(xr, yr, x_test, y_test))
            xa = np.concatenate([xr, np.asarray(synthetic)[synth_rows]])
            ya = np.concatenate([yr, y_synth[synth_rows]])
            augmented.append(fit_score(xa, ya, x_test, y_test))
        gain = [a - b for a, b in zip(augmented, alone, strict=True)]
        (ra, ra_sd), (au, au_sd), (g, g_sd) = map(_mean_sd, (alone, augmented, gain))
        out["curve"].append(
            {
                "k": k,
                "real_only": ra,
                "real_only_sd": ra_sd,
                "augmented": au,
                "augmented_sd": au_sd,
                "gain": g,
                "gain_sd": g_sd,
                "n_classes_capped": int((counts < k).sum()),
            }
        )
        gains.append(g)
    if gains:
        out["mean_gain"] = float(np.mean(gains))
    train_rows = np.isin(y_train, classes)
    out["reference"] = {
        "all_real_train": fit_score(
            np.asarray(real_train)[train_rows], y_train[train_rows], x_test, y_test
        ),
        "n_train": int(train_rows.sum()),
        "method": "trained on every real training profile",
    }
    return out
