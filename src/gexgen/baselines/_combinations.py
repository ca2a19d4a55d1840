"""Label combinations and the standardized log2 space of the numpy Gaussian baselines.

Shared by :mod:`gexgen.baselines.mvn` and :mod:`gexgen.baselines.lowrank_gaussian`:
each training row gets the code of its label combination (``kidney|tumor``), and
log2(x + 1) values are z-scored per gene with the training rows' mean and
standard deviation (ddof=0; a constant gene keeps scale 1), as
:class:`gexgen.data.preprocess.LogStandardScaler` does. Back in log2 space,
values are floored at 0 (log2(x + 1) of a non-negative expression value), as
the diagonal ``gaussian`` baseline does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.metrics.gaussian_baseline import row_keys as _label_keys


@dataclass(frozen=True)
class Combinations:
    """The training rows' label combinations, sorted, with their counts and values."""

    columns: list[str]
    keys: list[str]  # sorted; a row's code is its index here
    counts: list[int]
    values: list[list[str]]  # each combination's label values, in ``columns`` order

    @classmethod
    def of_training(
        cls, labels: pd.DataFrame | None, columns: Sequence[str], n: int
    ) -> tuple[Combinations, np.ndarray]:
        """The combinations of ``n`` training rows and each row's code."""
        columns = [str(c) for c in columns]
        row_keys = _label_keys(labels, columns, n)
        keys, first, codes, counts = np.unique(
            row_keys.astype(str), return_index=True, return_inverse=True, return_counts=True
        )
        values = [
            [str(labels[c].iloc[i]) for c in columns] if columns and labels is not None else []
            for i in first
        ]
        combos = cls(columns, [str(k) for k in keys], [int(c) for c in counts], values)
        return combos, codes.reshape(-1).astype(np.int64)

    def codes(self, labels: pd.DataFrame | None, n: int) -> np.ndarray:
        """Each row's combination code; a combination unseen in training is an error."""
        row_keys = _label_keys(labels, self.columns, n).astype(str)
        index = {k: i for i, k in enumerate(self.keys)}
        unknown = sorted(set(row_keys.tolist()) - set(index))
        if unknown:
            raise GexgenError(
                f"label combination(s) {unknown[:5]} were not in the training rows; "
                f"known: {self.keys[:10]}"
            )
        return np.array([index[k] for k in row_keys.tolist()], dtype=np.int64)

    def draw_labels(self, n: int, seed: int) -> pd.DataFrame | None:
        """``n`` label rows drawn in the training proportions (None without label columns)."""
        p = np.asarray(self.counts, dtype=np.float64)
        pick = np.random.default_rng([seed, 1]).choice(len(self.keys), size=n, p=p / p.sum())
        if not self.columns:
            return None
        return pd.DataFrame([self.values[i] for i in pick], columns=self.columns)


def check_log2(log2: np.ndarray) -> np.ndarray:
    """A finite rows x genes float64 matrix with at least 2 rows, or a GexgenError."""
    x = np.asarray(log2, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise GexgenError(f"need a rows x genes matrix with at least 2 rows, got {x.shape}")
    if not np.isfinite(x).all():
        raise GexgenError("the training values hold NaN or infinite values; drop or fill them")
    return x


def standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, gene means, gene scales): z-scores with the rows' own mean and std (ddof=0)."""
    center = x.mean(axis=0)
    std = x.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    return (x - center) / scale, center, scale


def to_log2(z: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standardized values -> log2(x + 1), floored at 0, float32."""
    out = z * scale + center
    np.maximum(out, 0.0, out=out)
    return out.astype(np.float32)


def group_means(z: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """[n_groups, genes] mean of each combination's rows."""
    sums = np.zeros((n_groups, z.shape[1]))
    np.add.at(sums, codes, z)
    return sums / np.bincount(codes, minlength=n_groups)[:, None]


def covariance_factor(residuals: np.ndarray, dof: int) -> np.ndarray:
    """F [k, genes] with F.T @ F = residuals.T @ residuals / dof, PSD, rank k.

    The covariance's eigenvectors and eigenvalues come from the thin SVD of
    the residuals (eigenvalues s**2 / dof, never negative); eigenvalues below
    the rounding level of the largest (s <= s.max() * max(shape) * eps) are
    set to 0 and their directions dropped: the eigenvalue clip at 0 that makes
    a rank-deficient covariance positive semi-definite.
    """
    if dof < 1 or not len(residuals):
        return np.zeros((0, residuals.shape[1]))
    _, s, vt = np.linalg.svd(residuals, full_matrices=False)
    keep = s > (s.max() if len(s) else 0.0) * max(residuals.shape) * np.finfo(np.float64).eps
    return (s[keep] / np.sqrt(dof))[:, None] * vt[keep]
