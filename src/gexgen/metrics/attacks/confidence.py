"""Confidence attack: a label classifier trained on the synthetic profiles alone.

A classifier (scikit-learn's multinomial logistic regression, L2, C = ``C``)
learns each synthetic profile's label combination (e.g. ``lung|tumor``); a
candidate's score is the probability it gives the candidate's own
combination. A generator that reproduces its training rows teaches the
classifier those rows, so members are classified more confidently than
non-members (the shadow-free form of Shokri et al.'s confidence attack used by
the 2025 Health Privacy Challenge red team). A combination the synthetic set
lacks scores 0. At most ``MAX_TRAIN`` synthetic profiles (seeded) are fitted.
"""

from __future__ import annotations

import numpy as np

from gexgen.metrics._config import single_blas_thread

__all__ = ["confidence", "C", "MAX_TRAIN"]

C = 0.1  # inverse L2 strength
MAX_TRAIN = 5_000  # synthetic profiles fitted (seeded subsample beyond)


def confidence(
    candidates, candidate_labels, synthetic, synthetic_labels, reference, reference_labels, rng
) -> np.ndarray:
    """P(candidate's own label combination) under a classifier trained on the synthetic set."""
    from sklearn.linear_model import LogisticRegression

    synthetic = np.asarray(synthetic)
    y = np.asarray(synthetic_labels).astype(str)
    own = np.asarray(candidate_labels).astype(str)
    if len(synthetic) > MAX_TRAIN:
        pick = np.sort(rng.choice(len(synthetic), MAX_TRAIN, replace=False))
        synthetic, y = synthetic[pick], y[pick]
    classes = np.unique(y)
    if len(classes) < 2:  # nothing to learn: every candidate of that class is certain
        return (own == classes[0]).astype(np.float64)
    with single_blas_thread():
        model = LogisticRegression(C=C, max_iter=1000).fit(synthetic, y)
        proba = model.predict_proba(np.asarray(candidates))
    column = {c: i for i, c in enumerate(model.classes_)}
    index = np.array([column.get(c, -1) for c in own])
    out = np.zeros(len(own))
    known = index >= 0
    out[known] = proba[np.flatnonzero(known), index[known]]
    return out
