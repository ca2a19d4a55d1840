"""LOGAN-D1 (Hayes et al. 2019), the data-only variant: a classifier of synthetic vs reference.

A classifier learns to tell the synthetic profiles (class 1) from the
reference profiles (real non-members, class 0); a candidate's score is the
probability it gives "synthetic". A generator that reproduces its training
rows makes them look synthetic. The classifier is scikit-learn's logistic
regression on the standardized genes (L2, C = ``C``), fitted on every
synthetic and reference profile with balanced class weights (on the shared
L1000 cohort this was stronger than equal-count subsampling, AUC 0.593 vs
0.554, and than a 64-64 MLP, 0.553; benchmarks/attacks_variants.py).
"""

from __future__ import annotations

import numpy as np

from gexgen.metrics._config import single_blas_thread

__all__ = ["logan_d1", "C"]

C = 0.01  # inverse L2 strength: ~1,000 genes from a few hundred reference rows


def logan_d1(
    candidates, candidate_labels, synthetic, synthetic_labels, reference, reference_labels, rng
) -> np.ndarray:
    """P(synthetic) of each candidate under a synthetic-vs-reference classifier."""
    from sklearn.linear_model import LogisticRegression

    x = np.r_[np.asarray(synthetic), np.asarray(reference)]
    y = np.r_[np.ones(len(synthetic)), np.zeros(len(reference))]
    with single_blas_thread():
        model = LogisticRegression(C=C, max_iter=1000, class_weight="balanced").fit(x, y)
        return model.predict_proba(np.asarray(candidates))[:, 1]
