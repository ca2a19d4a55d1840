"""Per-gene mean and standard deviation agreement, overall and per label combination.

For each group of rows (all rows, and each label combination such as
``kidney|tumor``) the per-gene means and standard deviations of real and
synthetic log2 values are compared by their Pearson correlation across genes
(1 = the generator reproduces every gene's level and spread up to scale).
Moments are accumulated chunk by chunk in float64 by a parallel numba kernel
(one pass over each chunk, no copies), so a synthetic file of any size is read
once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numba
import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import PARALLEL_JIT_FLAGS

__all__ = ["GroupMoments", "group_sums", "moment_agreement", "pearson", "score_groups"]

ALL = "all"
_KERNEL_ROWS = 2048  # rows per parallel work item (each has its own partial sums)


@numba.njit(**PARALLEL_JIT_FLAGS)
def _group_sums_kernel(x, group, n_groups, shift):  # pragma: no cover - compiled
    """Per group: sum over rows of ``x - shift`` and of its square, in float64."""
    n, g = x.shape
    n_items = (n + _KERNEL_ROWS - 1) // _KERNEL_ROWS
    s1 = np.zeros((n_items, n_groups, g))
    s2 = np.zeros((n_items, n_groups, g))
    for item in numba.prange(n_items):
        a = s1[item]
        b = s2[item]
        for i in range(item * _KERNEL_ROWS, min(n, (item + 1) * _KERNEL_ROWS)):
            row = x[i]
            k = group[i]
            ak = a[k]
            bk = b[k]
            for j in range(g):
                v = np.float64(row[j]) - shift[j]
                ak[j] += v
                bk[j] += v * v
    return s1.sum(axis=0), s2.sum(axis=0)


def group_sums(
    x: np.ndarray, group: np.ndarray, n_groups: int, shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group column sums of ``x - shift`` and of ``(x - shift)**2``, in float64.

    Parameters
    ----------
    x
        rows x genes, float32 or float64 (finite).
    group
        Group index (0 .. n_groups - 1) of each row.
    shift
        float64 value subtracted from each column before summing (a rough mean
        keeps the squares small).

    Returns
    -------
    s1, s2
        ``(n_groups, genes)`` float64 arrays.

    Examples
    --------
    >>> s1, s2 = group_sums(np.array([[1.0], [3.0], [5.0]]), np.array([0, 1, 1]), 2, np.zeros(1))
    >>> s1.ravel().tolist(), s2.ravel().tolist()
    ([1.0, 8.0], [1.0, 34.0])
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise GexgenError(f"expected a 2-d rows x genes matrix, got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    group = np.asarray(group, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.float64)
    if group.shape != (x.shape[0],):
        raise GexgenError(f"{group.shape[0] if group.ndim else 0} group indices for {len(x)} rows")
    if shift.shape != (x.shape[1],):
        raise GexgenError(f"shift has shape {shift.shape}, expected ({x.shape[1]},)")
    n_groups = int(n_groups)
    if len(group) and (group.min() < 0 or group.max() >= n_groups):
        raise GexgenError(f"group indices must lie in 0..{n_groups - 1}")
    s1, s2 = _group_sums_kernel(np.ascontiguousarray(x), group, n_groups, shift)
    if not (np.isfinite(s1).all() and np.isfinite(s2).all()):
        raise GexgenError(
            "the values hold NaN or infinite entries; fill or drop them before scoring"
        )
    return s1, s2


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of two vectors; None when either is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    da = a - a.mean()
    db = b - b.mean()
    denom = np.sqrt((da * da).sum() * (db * db).sum())
    if not denom > 0:
        return None
    return float(np.clip((da * db).sum() / denom, -1.0, 1.0))


class GroupMoments:
    """Per-gene count, mean and (population) std for every group of rows, streamed.

    Each row belongs to the overall group and to the group named by its key
    (e.g. a label combination). Values are shifted by ``shift`` (default: the
    first chunk's column means) before squaring, in float64; moments with one
    shift can be merged.

    Examples
    --------
    >>> gm = GroupMoments(2)
    >>> _ = gm.update(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array(["a", "b"]))
    >>> gm.mean("all").tolist()
    [2.0, 3.0]
    """

    def __init__(self, n_genes: int, shift: np.ndarray | None = None) -> None:
        self.n_genes = int(n_genes)
        self._shift: np.ndarray | None = None
        if shift is not None:
            shift = np.asarray(shift, dtype=np.float64)
            if shift.shape != (self.n_genes,) or not np.isfinite(shift).all():
                raise GexgenError(
                    f"shift must hold {self.n_genes} finite values, got shape {shift.shape}"
                )
            self._shift = shift
        self._n: dict[str, int] = {}
        self._s1: dict[str, np.ndarray] = {}
        self._s2: dict[str, np.ndarray] = {}

    def _add(self, key: str, n: int, s1: np.ndarray, s2: np.ndarray) -> None:
        if key not in self._n:
            self._n[key] = 0
            self._s1[key] = np.zeros(self.n_genes)
            self._s2[key] = np.zeros(self.n_genes)
        self._n[key] += n
        self._s1[key] += s1
        self._s2[key] += s2

    def update(self, chunk: np.ndarray, keys: Sequence[str] | None = None) -> GroupMoments:
        """Add rows; ``keys`` (one per row) names each row's group, None for overall only."""
        x = np.asarray(chunk)
        if x.ndim != 2 or x.shape[1] != self.n_genes:
            raise GexgenError(f"expected a (rows, {self.n_genes}) chunk, got shape {x.shape}")
        if x.shape[0] == 0:
            return self
        uniq: Sequence[str] = ()  # no keys: every row in one unnamed group
        inverse = np.zeros(x.shape[0], dtype=np.int64)
        if keys is not None:
            keys = np.asarray(keys).astype(str)
            if keys.shape != (x.shape[0],):
                raise GexgenError(f"{len(keys)} group keys for {x.shape[0]} rows")
            uniq, inverse = np.unique(keys, return_inverse=True)
        if self._shift is None:
            self._shift = x.mean(axis=0, dtype=np.float64)
        s1, s2 = group_sums(x, inverse, max(len(uniq), 1), self._shift)
        self._add(ALL, x.shape[0], s1.sum(axis=0), s2.sum(axis=0))
        counts = np.bincount(inverse, minlength=len(uniq))
        for code, key in enumerate(uniq):
            self._add(str(key), int(counts[code]), s1[code], s2[code])
        return self

    def merge(self, other: GroupMoments) -> GroupMoments:
        """Add the rows of ``other`` (same genes and shift, e.g. a partition's); returns self."""
        if other.n_genes != self.n_genes:
            raise GexgenError(f"cannot merge moments of {other.n_genes} genes into {self.n_genes}")
        if not other._n:
            return self
        if self._shift is None:
            self._shift = other._shift
        elif not np.array_equal(self._shift, other._shift):
            raise GexgenError("cannot merge moments with different shifts; give both one")
        for key, n in other._n.items():
            self._add(key, n, other._s1[key], other._s2[key])
        return self

    @property
    def groups(self) -> list[str]:
        return [k for k in self._n if k != ALL]

    def count(self, key: str) -> int:
        return self._n.get(key, 0)

    def mean(self, key: str) -> np.ndarray:
        assert self._shift is not None
        return self._shift + self._s1[key] / self._n[key]

    def std(self, key: str) -> np.ndarray:
        n = self._n[key]
        centre = self._s1[key] / n
        return np.sqrt(np.maximum(self._s2[key] / n - centre * centre, 0.0))


def _as_moments(x: np.ndarray | GroupMoments, keys: Sequence[str] | None) -> GroupMoments:
    if isinstance(x, GroupMoments):
        return x
    x = np.asarray(x)
    if x.ndim != 2:
        raise GexgenError(f"expected a 2-d samples x genes matrix, got shape {x.shape}")
    return GroupMoments(x.shape[1]).update(x, keys)


def score_groups(
    real: GroupMoments,
    synthetic: GroupMoments,
    min_samples: int,
    score: Callable[[str], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """``score(key)`` for every label combination of either side, sorted; a combination
    with fewer than ``min_samples`` rows on a side gets a ``skipped`` entry instead."""
    groups: dict[str, dict[str, Any]] = {}
    for key in sorted(set(real.groups) | set(synthetic.groups)):
        nr, ns = real.count(key), synthetic.count(key)
        if nr < min_samples or ns < min_samples:
            groups[key] = {
                "skipped": f"fewer than {min_samples} rows (real {nr}, synthetic {ns})",
                "n_real": nr,
                "n_synthetic": ns,
            }
        else:
            groups[key] = score(key)
    return groups


def moment_agreement(
    real: np.ndarray | GroupMoments,
    synthetic: np.ndarray | GroupMoments,
    real_keys: Iterable[str] | None = None,
    synthetic_keys: Iterable[str] | None = None,
    *,
    min_samples: int = 3,
) -> dict[str, Any]:
    """Pearson r of per-gene means and of per-gene stds, overall and per group.

    Parameters
    ----------
    real, synthetic
        samples x genes log2 matrices (same genes), or filled :class:`GroupMoments`.
    real_keys, synthetic_keys
        Group key per row (e.g. ``combination_keys(labels, ["tissue", "status"])``).
    min_samples
        Groups with fewer rows than this on either side are listed but not scored.

    Returns
    -------
    dict
        ``{"overall": {"mean_r", "std_r", "n_real", "n_synthetic"},
        "groups": {key: {...} | {"skipped": reason}}, "median_mean_r", "median_std_r"}``
    """
    rk = None if real_keys is None else np.asarray(list(real_keys))
    sk = None if synthetic_keys is None else np.asarray(list(synthetic_keys))
    r = _as_moments(real, rk)
    s = _as_moments(synthetic, sk)
    if r.n_genes != s.n_genes:
        raise GexgenError(f"real has {r.n_genes} genes but synthetic has {s.n_genes}")
    if r.count(ALL) == 0 or s.count(ALL) == 0:
        raise GexgenError("moment agreement needs rows on both sides; an input is empty")

    def score(key: str) -> dict[str, Any]:
        return {
            "mean_r": pearson(r.mean(key), s.mean(key)),
            "std_r": pearson(r.std(key), s.std(key)),
            "n_real": r.count(key),
            "n_synthetic": s.count(key),
        }

    groups = score_groups(r, s, min_samples, score)
    scored = [g for g in groups.values() if "skipped" not in g]

    def median(field: str) -> float | None:
        vals = [g[field] for g in scored if g[field] is not None]
        return float(np.median(vals)) if vals else None

    return {
        "overall": score(ALL),
        "groups": groups,
        "median_mean_r": median("mean_r"),
        "median_std_r": median("std_r"),
    }
