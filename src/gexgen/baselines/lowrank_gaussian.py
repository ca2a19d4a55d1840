"""A class-conditional low-rank Gaussian: per-combination means, shared within-class factors.

``lowrank`` in ``gexgen benchmark``. numpy only. Definition (fitted on log2(x + 1)
values standardized per gene with the training rows' mean and std):

* each label combination ``c`` gets its mean ``mu_c``;
* the residuals ``r_i = z_i - mu_{c(i)}`` of all training rows give the pooled
  within-combination covariance ``S = R^T R / (n - n_combinations)``;
* ``W`` [genes, k] holds its top-k principal directions scaled by the square
  roots of their eigenvalues (thin SVD of ``R``; k = 32 by default, fewer when
  ``S`` has lower rank), and ``psi = diag(S) - rowsum(W**2)`` (clipped at 0)
  the per-gene residual variance, so the model covariance ``W W^T + diag(psi)``
  keeps each gene's pooled within-combination variance;
* samples are ``mu_c + W u + sqrt(psi) * e`` with ``u ~ N(0, I_k)`` and
  ``e ~ N(0, I_genes)``: the factors are shared, so all rows take one GEMM,
  then they are mapped back to log2 (``z * std + mean``) and floored at 0, as
  the diagonal ``gaussian`` does.

When no combination has 2 rows, ``S`` is the covariance of all rows.
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

__all__ = ["LowRankGaussian", "DEFAULT_FACTORS"]

DEFAULT_FACTORS = 32  # k: shared within-class factors


@dataclass
class LowRankGaussian:
    """Per-combination means with shared factors W and per-gene residual variance psi.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(5, 1, (40, 6))
    >>> labels = pd.DataFrame({"tissue": ["a", "b"] * 20})
    >>> model = LowRankGaussian.fit(x, labels, ["tissue"], n_factors=2)
    >>> model.loadings.shape, model.sample(pd.DataFrame({"tissue": ["a", "b"]}), seed=0).shape
    ((6, 2), (2, 6))
    """

    combinations: Combinations
    center: np.ndarray  # [genes] log2 mean of the training rows
    scale: np.ndarray  # [genes] log2 std of the training rows (1 for a constant gene)
    means: np.ndarray  # [combinations, genes] standardized means
    loadings: np.ndarray  # W [genes, k]
    psi: np.ndarray  # [genes] residual variance outside the k factors
    explained: float  # share of the pooled within-combination variance the factors hold

    @classmethod
    def fit(
        cls,
        log2: np.ndarray,
        labels: pd.DataFrame | None = None,
        columns: Sequence[str] = (),
        *,
        n_factors: int = DEFAULT_FACTORS,
    ) -> LowRankGaussian:
        """Fit on ``log2`` (rows x genes, log2(x + 1)) grouped by ``columns`` of ``labels``."""
        x = check_log2(log2)
        if isinstance(n_factors, bool) or int(n_factors) != n_factors or n_factors < 1:
            raise GexgenError(f"n_factors must be a positive integer, got {n_factors!r}")
        combos, codes = Combinations.of_training(labels, columns, x.shape[0])
        z, center, scale = standardize(x)
        means = group_means(z, codes, len(combos.keys))
        dof = len(z) - len(combos.keys)
        residuals = z - means[codes] if dof > 0 else z - z.mean(axis=0)
        dof = dof if dof > 0 else len(z) - 1
        factor = covariance_factor(residuals, dof)  # [rank, genes], eigenvalues descending
        variance = (residuals**2).sum(axis=0) / dof  # diag(S)
        loadings = factor[: int(n_factors)].T
        psi = np.maximum(variance - (loadings**2).sum(axis=1), 0.0)
        total = float(variance.sum())
        explained = float((loadings**2).sum() / total) if total > 0 else 1.0
        return cls(combos, center, scale, means, loadings, psi, explained)

    @property
    def n_genes(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_factors(self) -> int:
        return int(self.loadings.shape[1])

    def covariance(self) -> np.ndarray:
        """[genes, genes] model covariance ``W W^T + diag(psi)`` (standardized)."""
        return self.loadings @ self.loadings.T + np.diag(self.psi)

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
        u = rng.standard_normal((count, self.n_factors))
        e = rng.standard_normal((count, self.n_genes))
        out = self.means[codes] + u @ self.loadings.T + np.sqrt(self.psi) * e
        return to_log2(out, self.center, self.scale)

    def sample_like_training(self, n: int, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
        """``n`` profiles with label combinations drawn in the training proportions."""
        labels = self.combinations.draw_labels(n, seed)
        x = self.sample(labels, seed=seed, n=n)
        return x, labels if labels is not None else pd.DataFrame(index=pd.RangeIndex(n))
