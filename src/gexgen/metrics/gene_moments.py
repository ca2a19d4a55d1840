"""Per-gene mean and standard deviation agreement, overall and per label combination.

For each group of rows (all rows, and each label combination such as
``kidney|tumor``) the per-gene means and standard deviations of real and
synthetic log2 values are compared by their Pearson correlation across genes
(1 = the generator reproduces every gene's level and spread up to scale).
Moments are accumulated chunk by chunk in float64, so a synthetic file of any
size is read once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from gexgen.errors import GexgenError

__all__ = ["GroupMoments", "moment_agreement", "pearson"]

ALL = "all"


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
    (e.g. a label combination). Values are shifted by the first chunk's
    column means before squaring, in float64.

    Examples
    --------
    >>> gm = GroupMoments(2)
    >>> _ = gm.update(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array(["a", "b"]))
    >>> gm.mean("all").tolist()
    [2.0, 3.0]
    """

    def __init__(self, n_genes: int) -> None:
        self.n_genes = int(n_genes)
        self._shift: np.ndarray | None = None
        self._n: dict[str, int] = {}
        self._s1: dict[str, np.ndarray] = {}
        self._s2: dict[str, np.ndarray] = {}

    def _add(self, key: str, x: np.ndarray) -> None:
        if key not in self._n:
            self._n[key] = 0
            self._s1[key] = np.zeros(self.n_genes)
            self._s2[key] = np.zeros(self.n_genes)
        self._n[key] += x.shape[0]
        self._s1[key] += x.sum(axis=0)
        self._s2[key] += np.einsum("ij,ij->j", x, x)

    def update(self, chunk: np.ndarray, keys: Sequence[str] | None = None) -> GroupMoments:
        """Add rows; ``keys`` (one per row) names each row's group, None for overall only."""
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_genes:
            raise GexgenError(f"expected a (rows, {self.n_genes}) chunk, got shape {x.shape}")
        if x.shape[0] == 0:
            return self
        if self._shift is None:
            self._shift = x.mean(axis=0)
        x = x - self._shift
        self._add(ALL, x)
        if keys is not None:
            keys = np.asarray(keys).astype(str)
            if keys.shape != (x.shape[0],):
                raise GexgenError(f"{len(keys)} group keys for {x.shape[0]} rows")
            uniq, inverse = np.unique(keys, return_inverse=True)
            for code, key in enumerate(uniq):
                self._add(str(key), x[inverse == code])
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

    groups: dict[str, Any] = {}
    for key in sorted(set(r.groups) | set(s.groups)):
        nr, ns = r.count(key), s.count(key)
        if nr < min_samples or ns < min_samples:
            groups[key] = {
                "skipped": f"fewer than {min_samples} rows (real {nr}, synthetic {ns})",
                "n_real": nr,
                "n_synthetic": ns,
            }
        else:
            groups[key] = score(key)
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
