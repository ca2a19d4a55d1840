"""A class-conditional diagonal Gaussian: per-gene mean and std per label combination.

The simplest generator that learns only class-level statistics: it cannot
reproduce an individual profile, so its privacy figures are the reference a
real generator is read against (``gexgen evaluate``'s ``privacy.reference``)
and it is the ``gaussian`` model of ``gexgen benchmark``. numpy only.

Fitted on log2(x + 1) values: each label combination (e.g. ``kidney|tumor``)
gets the mean and standard deviation (ddof=1) of each gene over its training
rows; a combination with a single row takes the pooled within-combination
standard deviation of each gene, so no row is ever copied. Samples are
``mean + std * N(0, 1)`` per gene, independently, clipped at 0 (log2(x + 1)
of a non-negative expression value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError

__all__ = ["ClassConditionalGaussian"]

NO_LABELS = "(all)"  # the single combination when there are no label columns


def row_keys(labels: pd.DataFrame | None, columns: Sequence[str], n: int) -> np.ndarray:
    """Each row's label combination as one string (``"lung|tumor"``), checked against
    ``columns`` and ``n``; ``NO_LABELS`` for every row without label columns."""
    if not columns:
        return np.full(n, NO_LABELS, dtype=object)
    if labels is None:
        raise GexgenError(f"labels are needed: the model conditions on {list(columns)}")
    missing = [c for c in columns if c not in labels.columns]
    if missing:
        raise GexgenError(
            f"labels lack column(s) {missing}; the model conditions on {list(columns)}"
        )
    if len(labels) != n:
        raise GexgenError(f"{len(labels)} label rows for {n} profiles")
    parts = [labels[c].astype(str).to_numpy(dtype=object) for c in columns]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key


@dataclass
class ClassConditionalGaussian:
    """Per-gene mean and std of log2 values for each label combination.

    Examples
    --------
    >>> x = np.array([[1.0, 2.0], [3.0, 2.0], [10.0, 0.0], [12.0, 0.0]])
    >>> labels = pd.DataFrame({"tissue": ["a", "a", "b", "b"]})
    >>> model = ClassConditionalGaussian.fit(x, labels, ["tissue"])
    >>> model.means["b"].tolist(), model.counts["a"]
    ([11.0, 0.0], 2)
    >>> model.sample(pd.DataFrame({"tissue": ["a", "b", "b"]}), seed=0).shape
    (3, 2)
    """

    columns: list[str]
    means: dict[str, np.ndarray]
    stds: dict[str, np.ndarray]
    counts: dict[str, int]
    values: dict[str, list[str]]  # each combination's label values, in ``columns`` order

    @classmethod
    def fit(
        cls, log2: np.ndarray, labels: pd.DataFrame | None = None, columns: Sequence[str] = ()
    ) -> ClassConditionalGaussian:
        """Fit on ``log2`` (rows x genes, log2(x + 1)) grouped by ``columns`` of ``labels``."""
        x = np.asarray(log2, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise GexgenError(f"need a rows x genes matrix with at least 2 rows, got {x.shape}")
        if not np.isfinite(x).all():
            raise GexgenError("the training values hold NaN or infinite values")
        columns = [str(c) for c in columns]
        keys = row_keys(labels, columns, x.shape[0])
        means: dict[str, np.ndarray] = {}
        stds: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        values: dict[str, list[str]] = {}
        sq_dev = np.zeros(x.shape[1])
        dof = 0
        for key in sorted(set(keys.tolist())):
            mask = keys == key
            rows = x[mask]
            first = int(np.argmax(mask))
            values[key] = [str(labels[c].iloc[first]) for c in columns] if columns else []
            means[key] = rows.mean(axis=0)
            counts[key] = len(rows)
            if len(rows) > 1:
                stds[key] = rows.std(axis=0, ddof=1)
                sq_dev += ((rows - means[key]) ** 2).sum(axis=0)
                dof += len(rows) - 1
        pooled = np.sqrt(sq_dev / dof) if dof else x.std(axis=0, ddof=1)
        for key in means:
            stds.setdefault(key, pooled)
        return cls(columns, means, stds, counts, values)

    @property
    def n_genes(self) -> int:
        return len(next(iter(self.means.values())))

    def sample(
        self, labels: pd.DataFrame | None, seed: int = 0, n: int | None = None
    ) -> np.ndarray:
        """One log2 profile per row of ``labels`` (float32, seeded).

        Without label columns, ``labels`` may be None and ``n`` gives the count.
        """
        if labels is None and n is None:
            raise GexgenError("give labels (one row per profile) or n")
        count = len(labels) if labels is not None else int(n)  # type: ignore[arg-type]
        keys = row_keys(labels, self.columns, count)
        unknown = sorted(set(keys.tolist()) - set(self.means))
        if unknown:
            raise GexgenError(
                f"label combination(s) {unknown[:5]} were not in the training rows; "
                f"known: {sorted(self.means)[:10]}"
            )
        rng = np.random.default_rng(seed)
        out = rng.standard_normal((count, self.n_genes))
        for key in sorted(set(keys.tolist())):
            rows = keys == key
            out[rows] = self.means[key] + self.stds[key] * out[rows]
        np.maximum(out, 0.0, out=out)
        return out.astype(np.float32)

    def sample_like_training(self, n: int, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
        """``n`` profiles with label combinations drawn in the training proportions."""
        keys = sorted(self.counts)
        p = np.array([self.counts[k] for k in keys], dtype=np.float64)
        rng = np.random.default_rng([seed, 1])
        pick = rng.choice(len(keys), size=n, p=p / p.sum())
        if self.columns:
            labels = pd.DataFrame([self.values[keys[i]] for i in pick], columns=self.columns)
        else:
            labels = pd.DataFrame(index=pd.RangeIndex(n))
        return self.sample(labels if self.columns else None, seed=seed, n=n), labels
