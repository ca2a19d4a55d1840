"""Exact nearest neighbours between two sets of rows (Euclidean), both ways in one pass.

For rows A (n) and B (m), :func:`cross_nearest` gives, for every row of A, its
nearest row of B and the distance, and for every row of B its nearest row of
A — the two directions the privacy metrics need (synthetic -> real and
real -> synthetic) from one sweep over the n x m distances.

How: A is cut into blocks of rows; per block, float32 ``A_blk @ B.T`` (BLAS)
gives squared distances ``|a|^2 + |b|^2 - 2 a.b``, and one parallel numba
kernel keeps the running minimum of every row and every column. Both sets are
centred on B's mean first, so the rounding error of a float32 squared
distance is about ``1e-6 * (|a|^2 + |b|^2)`` around that mean: small next to
the distances between distinct profiles. The distance reported for each
chosen pair is then recomputed exactly in float64 from the two rows, so a
copy of a row has distance 0. Only near-ties closer than that rounding error
can pick another (equally close) neighbour. Memory: one block x m float32
matrix. This is brute force: exact, and faster than approximate indexes
(pynndescent) at these sizes (thousands x tens of thousands of rows, ~1,000
dimensions), where BLAS runs near its peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import PARALLEL_JIT_FLAGS

__all__ = ["CrossNearest", "cross_nearest", "nearest_neighbours"]

_BLOCK_ROWS = 2048  # rows of A per block (block x m float32 products)
_COLUMN_CHUNK = 64  # columns per parallel work item in the column minima


@numba.njit(**PARALLEL_JIT_FLAGS)
def _block_minima(
    gram, a_sq, b_sq, row_min, row_arg, col_min, col_arg, row_offset, with_columns
):  # pragma: no cover - compiled
    """Minima of ``a_sq[i] + b_sq[j] - 2 gram[i, j]`` per row (all of it) and per column.

    ``row_min``/``row_arg`` receive this block's rows; ``col_min``/``col_arg``
    (all of B) are updated in place with indices offset by ``row_offset``.
    """
    n, m = gram.shape
    for i in numba.prange(n):
        best = np.inf
        arg = -1
        ai = a_sq[i]
        for j in range(m):
            v = ai + b_sq[j] - 2.0 * gram[i, j]
            if v < best:
                best = v
                arg = j
        row_min[i] = best
        row_arg[i] = arg
    if with_columns:
        n_chunks = (m + _COLUMN_CHUNK - 1) // _COLUMN_CHUNK
        for c in numba.prange(n_chunks):
            lo = c * _COLUMN_CHUNK
            hi = min(m, lo + _COLUMN_CHUNK)
            for i in range(n):
                ai = a_sq[i]
                for j in range(lo, hi):
                    v = ai + b_sq[j] - 2.0 * gram[i, j]
                    if v < col_min[j]:
                        col_min[j] = v
                        col_arg[j] = i + row_offset


@numba.njit(**PARALLEL_JIT_FLAGS)
def _pair_distances(x, y, index):  # pragma: no cover - compiled
    """Exact float64 distance from each row ``x[i]`` to ``y[index[i]]``."""
    n, d = x.shape
    out = np.empty(n)
    for i in numba.prange(n):
        yi = index[i]
        s = 0.0
        for k in range(d):
            diff = np.float64(x[i, k]) - np.float64(y[yi, k])
            s += diff * diff
        out[i] = np.sqrt(s)
    return out


@dataclass(frozen=True)
class CrossNearest:
    """Nearest neighbours between A and B.

    ``a_distance[i]`` is the distance from A's row i to its nearest row of B,
    ``a_index[i]`` that row; ``b_distance``/``b_index`` the same from B to A
    (None when only A -> B was asked for).
    """

    a_distance: np.ndarray
    a_index: np.ndarray
    b_distance: np.ndarray | None
    b_index: np.ndarray | None


def _check(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise GexgenError(f"{name} must be a 2-d rows x features matrix, got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise GexgenError(f"{name} must hold numbers, got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise GexgenError(f"{name} has no rows")
    if not np.isfinite(x).all():
        raise GexgenError(f"{name} has NaN or infinite values; fill or drop them first")
    return x


def cross_nearest(a: np.ndarray, b: np.ndarray, *, both_ways: bool = True) -> CrossNearest:
    """Exact nearest neighbours from every row of ``a`` into ``b`` and (``both_ways``) back.

    Parameters
    ----------
    a, b
        rows x features matrices with the same columns, on the scale to
        compare (e.g. standardized log2 values).
    both_ways
        Also find, for every row of ``b``, its nearest row of ``a``.

    Examples
    --------
    >>> r = cross_nearest(np.array([[0.0], [10.0]]), np.array([[1.0], [4.0], [9.0]]))
    >>> r.a_distance.tolist(), r.a_index.tolist(), r.b_index.tolist()
    ([1.0, 1.0], [0, 2], [0, 0, 1])
    """
    a = _check(a, "a")
    b = _check(b, "b")
    if a.shape[1] != b.shape[1]:
        raise GexgenError(f"a has {a.shape[1]} features but b has {b.shape[1]}")
    # centre both on b's mean (float64) so float32 products keep their precision
    centre = b.mean(axis=0, dtype=np.float64).astype(np.float32)
    a32 = np.subtract(a, centre, dtype=np.float32)  # one float32 pass, no float64 copy
    b32 = np.subtract(b, centre, dtype=np.float32)
    a_sq = np.einsum("ij,ij->i", a32, a32, dtype=np.float32)
    b_sq = np.einsum("ij,ij->i", b32, b32, dtype=np.float32)
    n, m = a32.shape[0], b32.shape[0]
    row_min = np.empty(n, dtype=np.float32)
    row_arg = np.empty(n, dtype=np.int64)
    col_min = np.full(m, np.inf, dtype=np.float32)
    col_arg = np.full(m, -1, dtype=np.int64)
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(n, start + _BLOCK_ROWS)
        gram = a32[start:stop] @ b32.T
        _block_minima(
            gram,
            a_sq[start:stop],
            b_sq,
            row_min[start:stop],
            row_arg[start:stop],
            col_min,
            col_arg,
            start,
            both_ways,
        )
    # exact distances of the chosen pairs, from the rows as given
    a_in, b_in = np.ascontiguousarray(a), np.ascontiguousarray(b)
    a_distance = _pair_distances(a_in, b_in, row_arg)
    if not both_ways:
        return CrossNearest(a_distance, row_arg, None, None)
    b_distance = _pair_distances(b_in, a_in, col_arg)
    return CrossNearest(a_distance, row_arg, b_distance, col_arg)


def nearest_neighbours(query: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each row of ``query`` to its nearest row of ``reference``, and its index.

    Examples
    --------
    >>> d, i = nearest_neighbours(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0]]))
    >>> d.tolist(), i.tolist()
    ([1.0], [1])
    """
    r = cross_nearest(query, reference, both_ways=False)
    return r.a_distance, r.a_index
