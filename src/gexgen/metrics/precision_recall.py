"""Precision, recall, density and coverage (Naeem et al. 2020, ICML).

With real samples X (n) and synthetic samples Y (m), r_i the distance from a
real sample to its k-th nearest other real sample and s_j the same among
synthetic samples (Euclidean, strict ``<`` as in the authors' ``prdc``
package):

- precision = share of synthetic samples inside some real ball:
  ``mean_j [exists i: d(x_i, y_j) < r_i]``
- recall = share of real samples inside some synthetic ball:
  ``mean_i [exists j: d(x_i, y_j) < s_j]``
- density = ``mean_j sum_i [d(x_i, y_j) < r_i] / k`` (1 ~ as dense as real;
  can exceed 1)
- coverage = share of real samples whose ball holds a synthetic sample:
  ``mean_i [min_j d(x_i, y_j) < r_i]``

Distances are computed block by block: squared distances from a float64
matrix product, then numba kernels pick k-th nearest radii and count ball
memberships, so memory stays at one block x n matrix. Large sets are
subsampled (seeded) to ``max_samples`` each, and the result says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numba
import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import PARALLEL_JIT_FLAGS

__all__ = ["PRDCResult", "prdc", "knn_radii", "standardize_with"]

# rows of the query set per distance block (block x reference float64)
_BLOCK_ROWS = 1024


@numba.njit(**PARALLEL_JIT_FLAGS)
def _kth_smallest_rows(d2, k, self_start):  # pragma: no cover - compiled
    """k-th smallest value of each row of ``d2``, skipping column ``self_start + row``.

    ``self_start < 0`` skips nothing (query and reference sets differ).
    """
    n, m = d2.shape
    out = np.empty(n)
    for i in numba.prange(n):
        best = np.full(k, np.inf)  # sorted ascending
        skip = self_start + i if self_start >= 0 else -1
        for j in range(m):
            v = d2[i, j]
            if j == skip or v >= best[k - 1]:
                continue
            pos = k - 1
            while pos > 0 and best[pos - 1] > v:
                best[pos] = best[pos - 1]
                pos -= 1
            best[pos] = v
        out[i] = best[k - 1]
    return out


@numba.njit(**PARALLEL_JIT_FLAGS)
def _ball_counts(d2, real_r2, fake_r2):  # pragma: no cover - compiled
    """Ball memberships for a block of synthetic rows against all real rows.

    ``d2[j, i]`` is the squared distance from synthetic row j (of this block)
    to real row i. Returns, per synthetic row, the number of real balls that
    hold it, and per real row (summed over work items by the caller) whether
    a synthetic sample lies in its ball (coverage) and whether it lies in
    some synthetic ball (recall).
    """
    m, n = d2.shape
    n_items = min(m, 64)
    per_item = (m + n_items - 1) // n_items
    counts = np.zeros(m, dtype=np.int64)
    covered = np.zeros((n_items, n), dtype=np.bool_)
    recalled = np.zeros((n_items, n), dtype=np.bool_)
    for item in numba.prange(n_items):
        cov = covered[item]
        rec = recalled[item]
        for j in range(item * per_item, min(m, (item + 1) * per_item)):
            c = 0
            s2 = fake_r2[j]
            for i in range(n):
                v = d2[j, i]
                if v < real_r2[i]:
                    c += 1
                    cov[i] = True
                if v < s2:
                    rec[i] = True
            counts[j] = c
    return counts, covered, recalled


def _squared_distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    a_sq = np.einsum("ij,ij->i", a, a)
    d2 = a_sq[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
    np.maximum(d2, 0.0, out=d2)
    return d2


def _check_features(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise GexgenError(f"{name} must be a 2-d samples x features matrix, got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise GexgenError(f"{name} must hold numbers, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise GexgenError(f"{name} has NaN or infinite values; fill or drop them first")
    return x


def knn_radii(x: np.ndarray, k: int = 5) -> np.ndarray:
    """Distance from each row of ``x`` to its k-th nearest other row (Euclidean).

    Examples
    --------
    >>> knn_radii(np.array([[0.0], [1.0], [3.0]]), k=1).tolist()
    [1.0, 1.0, 2.0]
    """
    x = _check_features(x, "x")
    if not 1 <= k < x.shape[0]:
        raise GexgenError(f"k must be in [1, {x.shape[0] - 1}] for {x.shape[0]} samples, got {k}")
    x_sq = np.einsum("ij,ij->i", x, x)
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], _BLOCK_ROWS):
        block = x[start : start + _BLOCK_ROWS]
        d2 = _squared_distances(block, x, x_sq)
        out[start : start + len(block)] = _kth_smallest_rows(d2, k, start)
    return np.sqrt(out)


def standardize_with(reference: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """z-score ``reference`` and ``others`` with the reference's per-column mean and std.

    Constant reference columns keep scale 1 so values stay finite.
    """
    ref = np.asarray(reference, dtype=np.float64)
    mean = ref.mean(axis=0)
    std = ref.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [(np.asarray(m, dtype=np.float64) - mean) / std for m in (ref, *others)]


@dataclass(frozen=True)
class PRDCResult:
    precision: float
    recall: float
    density: float
    coverage: float
    k: int
    n_real: int
    n_synthetic: int
    n_real_total: int
    n_synthetic_total: int

    @property
    def subsampled(self) -> bool:
        return self.n_real < self.n_real_total or self.n_synthetic < self.n_synthetic_total

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "subsampled": self.subsampled}


def _subsample(x: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    if x.shape[0] <= max_rows:
        return x
    return x[np.sort(rng.choice(x.shape[0], size=max_rows, replace=False))]


def prdc(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    k: int = 5,
    max_samples: int = 5_000,
    seed: int = 0,
) -> PRDCResult:
    """Precision, recall, density and coverage of synthetic against real features.

    Parameters
    ----------
    real, synthetic
        samples x features matrices with the same columns, already on the
        scale to compare (see :func:`standardize_with`).
    k
        Neighbourhood size (Naeem et al. use 5).
    max_samples
        Each set larger than this is subsampled to it (seeded, without
        replacement); ``n_real``/``n_synthetic`` in the result are the numbers used.
    seed
        Seed of the subsampling.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = prdc(rng.normal(size=(300, 4)), rng.normal(size=(300, 4)))
    >>> 0.8 < r.precision <= 1.0 and 0.8 < r.coverage <= 1.0
    True
    """
    real = np.asarray(real)
    synthetic = np.asarray(synthetic)
    for name, x in (("real", real), ("synthetic", synthetic)):
        if x.ndim != 2:
            raise GexgenError(f"{name} must be a 2-d samples x features matrix, got {x.shape}")
    if real.shape[1] != synthetic.shape[1]:
        raise GexgenError(
            f"real has {real.shape[1]} features but synthetic has {synthetic.shape[1]}"
        )
    if max_samples < k + 1:
        raise GexgenError(f"max_samples must exceed k={k}, got {max_samples}")
    n_real_total, n_synth_total = real.shape[0], synthetic.shape[0]
    for name, n in (("real", n_real_total), ("synthetic", n_synth_total)):
        if n <= k:
            raise GexgenError(f"{name} has {n} samples; PRDC with k={k} needs more than {k}")
    rng = np.random.default_rng(seed)
    real = _check_features(_subsample(real, max_samples, rng), "real")
    synthetic = _check_features(_subsample(synthetic, max_samples, rng), "synthetic")
    real_r2 = knn_radii(real, k) ** 2
    fake_r2 = knn_radii(synthetic, k) ** 2
    real_sq = np.einsum("ij,ij->i", real, real)
    counts = np.empty(synthetic.shape[0], dtype=np.int64)
    covered = np.zeros(real.shape[0], dtype=bool)
    recalled = np.zeros(real.shape[0], dtype=bool)
    for start in range(0, synthetic.shape[0], _BLOCK_ROWS):
        block = synthetic[start : start + _BLOCK_ROWS]
        d2 = _squared_distances(block, real, real_sq)
        c, cov, rec = _ball_counts(d2, real_r2, fake_r2[start : start + len(block)])
        counts[start : start + len(block)] = c
        covered |= cov.any(axis=0)
        recalled |= rec.any(axis=0)
    return PRDCResult(
        precision=float((counts > 0).mean()),
        recall=float(recalled.mean()),
        density=float(counts.mean() / k),
        coverage=float(covered.mean()),
        k=int(k),
        n_real=int(real.shape[0]),
        n_synthetic=int(synthetic.shape[0]),
        n_real_total=int(n_real_total),
        n_synthetic_total=int(n_synth_total),
    )
