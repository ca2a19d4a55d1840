"""The 2025 Health Privacy Challenge baseline: a multivariate normal per label combination.

``mvn`` in ``gexgen benchmark``. numpy only. Definition (fitted on log2(x + 1)
values standardized per gene with the training rows' mean and std):

* each label combination ``c`` gets its mean ``mu_c`` and its full covariance
  ``Sigma_c`` (ddof=1) over its training rows;
* a combination with fewer than 2 rows takes the pooled within-combination
  covariance ``sum_c (X_c - mu_c)^T (X_c - mu_c) / sum_c (n_c - 1)`` (the
  covariance of all rows when no combination has 2 rows);
* each covariance is made positive semi-definite by clipping its eigenvalues
  at 0 (with fewer rows than genes it has rank ``n_c - 1``; see
  :func:`gexgen.baselines._combinations.covariance_factor`);
* samples are ``N(mu_c, Sigma_c + 0.5 * Sigma_c)``: the full covariance plus
  0.5 x covariance noise, i.e. the covariance scaled by 1.5. They are drawn by
  combination block, one GEMM each: ``mu_c + sqrt(1.5) * e @ F_c`` with
  ``F_c^T F_c = Sigma_c`` and ``e ~ N(0, I)``, then mapped back to log2
  (``z * std + mean``) and floored at 0, as the diagonal ``gaussian`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gexgen.baselines._combinations import (
    Combinations,
    check_log2,
    covariance_factor,
    group_means,
    standardize,
    to_log2,
)
from gexgen.errors import GexgenError

__all__ = ["MultivariateNormalBaseline", "COVARIANCE_SCALE"]

COVARIANCE_SCALE = 1.5  # Sigma + 0.5 * Sigma: the challenge's covariance noise


def _pooled_factor(z: np.ndarray, residuals: np.ndarray, n_groups: int) -> np.ndarray:
    """The pooled within-combination covariance's factor (all rows' when it has no dof)."""
    dof = len(z) - n_groups
    if dof > 0:
        return covariance_factor(residuals, dof)
    return covariance_factor(z - z.mean(axis=0), len(z) - 1)


@dataclass
class MultivariateNormalBaseline:
    """Mean and PSD full covariance of standardized log2 values per label combination.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(5, 1, (40, 3))
    >>> labels = pd.DataFrame({"tissue": ["a", "b"] * 20})
    >>> model = MultivariateNormalBaseline.fit(x, labels, ["tissue"])
    >>> model.sample(pd.DataFrame({"tissue": ["a", "b", "b"]}), seed=0).shape
    (3, 3)
    """

    combinations: Combinations
    center: np.ndarray  # [genes] log2 mean of the training rows
    scale: np.ndarray  # [genes] log2 std of the training rows (1 for a constant gene)
    means: np.ndarray  # [combinations, genes] standardized means
    factors: list[np.ndarray]  # per combination F_c [k_c, genes], F_c^T F_c = Sigma_c
    pooled: list[bool]  # combination took the pooled covariance (fewer than 2 rows)
    covariance_scale: float = COVARIANCE_SCALE

    @classmethod
    def fit(
        cls,
        log2: np.ndarray,
        labels: pd.DataFrame | None = None,
        columns: Sequence[str] = (),
        *,
        covariance_scale: float = COVARIANCE_SCALE,
    ) -> MultivariateNormalBaseline:
        """Fit on ``log2`` (rows x genes, log2(x + 1)) grouped by ``columns`` of ``labels``."""
        x = check_log2(log2)
        if not covariance_scale > 0:
            raise GexgenError(f"covariance_scale must be > 0, got {covariance_scale!r}")
        combos, codes = Combinations.of_training(labels, columns, x.shape[0])
        z, center, scale = standardize(x)
        means = group_means(z, codes, len(combos.keys))
        residuals = z - means[codes]
        own = {
            c: covariance_factor(residuals[codes == c], n_c - 1)
            for c, n_c in enumerate(combos.counts)
            if n_c >= 2
        }
        pooled = [c not in own for c in range(len(combos.keys))]
        shared = _pooled_factor(z, residuals, len(combos.keys)) if any(pooled) else None
        factors = [own[c] if c in own else shared for c in range(len(combos.keys))]
        return cls(combos, center, scale, means, factors, pooled, float(covariance_scale))

    @property
    def n_genes(self) -> int:
        return int(self.means.shape[1])

    def covariance(self, key: str) -> np.ndarray:
        """[genes, genes] fitted (PSD, unscaled) covariance of combination ``key``, standardized."""
        f = self.factors[self.combinations.keys.index(key)]
        return f.T @ f

    def sample(
        self, labels: pd.DataFrame | None, seed: int = 0, n: int | None = None
    ) -> np.ndarray:
        """One log2 profile per row of ``labels`` (float32, seeded).

        Without label columns, ``labels`` may be None and ``n`` gives the count.
        """
        if labels is None and n is None:
            raise GexgenError("give labels (one row per profile) or n")
        count = len(labels) if labels is not None else int(n)  # type: ignore[arg-type]
        codes = self.combinations.codes(labels, count)
        rng = np.random.default_rng(seed)
        out = np.empty((count, self.n_genes))
        root = np.sqrt(self.covariance_scale)
        for c in np.unique(codes):
            rows = np.flatnonzero(codes == c)
            f = self.factors[c]
            e = rng.standard_normal((len(rows), len(f)))
            out[rows] = self.means[c] + (root * e) @ f
        return to_log2(out, self.center, self.scale)

    def sample_like_training(self, n: int, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
        """``n`` profiles with label combinations drawn in the training proportions."""
        labels = self.combinations.draw_labels(n, seed)
        x = self.sample(labels, seed=seed, n=n)
        return x, labels if labels is not None else pd.DataFrame(index=pd.RangeIndex(n))
