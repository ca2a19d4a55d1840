"""Train on synthetic, test on real (TSTR), beside train on real, test on real (TRTR).

For each condition label (e.g. tissue, status) a classifier (standardize +
multinomial logistic regression) learns the label from synthetic profiles
and is scored on the real test split. The same classifier trained on the
real training split gives the reference: a faithful generator's synthetic
data teaches nearly as well as real data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.metrics._config import single_blas_thread

__all__ = ["label_classification_scores", "tstr_scores", "worst_tstr_ratio"]


def _scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def label_classification_scores(
    x_train: np.ndarray,
    y_train: Sequence[Any],
    x_test: np.ndarray,
    y_test: Sequence[Any],
    *,
    max_train: int = 20_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit standardize + logistic regression on (x_train, y_train), score on the test rows.

    Returns accuracy, balanced accuracy and macro F1 on the test rows, with
    the numbers of rows; a label with a single class in the training rows
    cannot be learned and gives ``{"skipped": reason}``. Training rows beyond
    ``max_train`` are subsampled with ``seed``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(size=(50, 3)), rng.normal(size=(50, 3)) + 4]
    >>> y = ["a"] * 50 + ["b"] * 50
    >>> label_classification_scores(x, y, x, y)["accuracy"]
    1.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_train = np.asarray(y_train).astype(str)
    y_test = np.asarray(y_test).astype(str)
    if len(y_train) != len(x_train) or len(y_test) != len(x_test):
        raise GexgenError("label and matrix row counts differ")
    if len(y_test) == 0:
        raise GexgenError("no test rows to score the classifier on")
    if len(y_train) > max_train:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(y_train), size=max_train, replace=False))
        x_train, y_train = x_train[pick], y_train[pick]
    classes = np.unique(y_train)
    out: dict[str, Any] = {"n_train": int(len(y_train)), "n_test": int(len(y_test))}
    if len(classes) < 2:
        out["skipped"] = f"the training rows hold one class only ({classes.tolist()})"
        return out
    unseen = sorted(set(np.unique(y_test)) - set(classes))
    if unseen:
        out["test_classes_not_in_training"] = unseen
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    with single_blas_thread():  # small fits: BLAS threads only add synchronisation
        model.fit(np.asarray(x_train, dtype=np.float64), y_train)
        predicted = model.predict(np.asarray(x_test, dtype=np.float64))
    out.update(_scores(y_test, predicted))
    return out


def tstr_scores(
    synthetic: np.ndarray,
    synthetic_labels: pd.DataFrame,
    real_test: np.ndarray,
    real_test_labels: pd.DataFrame,
    *,
    columns: Sequence[str],
    real_train: np.ndarray | None = None,
    real_train_labels: pd.DataFrame | None = None,
    max_train: int = 20_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Per label column: TSTR scores and, when real training rows are given, TRTR scores.

    Returns ``{column: {"train_synthetic": {...}, "train_real": {...} | None}}``
    where each inner dict is :func:`label_classification_scores`' output.
    """
    if not columns:
        raise GexgenError("no label columns to classify; pass columns=['tissue', ...]")
    frames = [("synthetic", synthetic_labels), ("real test", real_test_labels)]
    if real_train_labels is not None:
        frames.append(("real train", real_train_labels))
    for name, frame in frames:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise GexgenError(
                f"{name} labels have no column(s) {missing}; available: {list(frame.columns)}"
            )
    result: dict[str, Any] = {}
    for col in columns:
        entry: dict[str, Any] = {
            "train_synthetic": label_classification_scores(
                synthetic,
                synthetic_labels[col].to_numpy(),
                real_test,
                real_test_labels[col].to_numpy(),
                max_train=max_train,
                seed=seed,
            ),
            "train_real": None,
        }
        if real_train is not None and real_train_labels is not None:
            entry["train_real"] = label_classification_scores(
                real_train,
                real_train_labels[col].to_numpy(),
                real_test,
                real_test_labels[col].to_numpy(),
                max_train=max_train,
                seed=seed,
            )
        result[col] = entry
    return result


def worst_tstr_ratio(section: Any) -> float | None:
    """The lowest train-on-synthetic / train-on-real balanced accuracy over the labels.

    ``section`` is :func:`tstr_scores`' output (``metrics.json``'s ``tstr``); labels
    without both figures are left out, and None means no label has them.

    Examples
    --------
    >>> worst_tstr_ratio({"tissue": {"train_synthetic": {"balanced_accuracy": 0.9},
    ...                              "train_real": {"balanced_accuracy": 1.0}},
    ...                   "status": {"train_synthetic": {"balanced_accuracy": 1.0},
    ...                              "train_real": {"balanced_accuracy": 1.0}}})
    0.9
    """
    ratios = []
    for entry in (section or {}).values():
        if not isinstance(entry, dict):
            continue
        synth = (entry.get("train_synthetic") or {}).get("balanced_accuracy")
        real = (entry.get("train_real") or {}).get("balanced_accuracy")
        if isinstance(synth, (int, float)) and isinstance(real, (int, float)) and real > 0:
            ratios.append(float(synth) / float(real))
    return min(ratios) if ratios else None
