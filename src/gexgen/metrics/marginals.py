"""Per-gene marginal distances: two-sample Kolmogorov-Smirnov statistic and Wasserstein-1.

For every gene, the real and synthetic values are sorted and walked once
together: KS is the largest gap between the two empirical CDFs (0 = same
distribution of values, 1 = no overlap), W1 the area between them (in the
values' units, log2(x + 1) in an evaluation). One parallel numba kernel does
all genes; :func:`marginal_distances` validates its inputs first. The
figures equal ``scipy.stats.ks_2samp(a, b).statistic`` and
``scipy.stats.wasserstein_distance(a, b)`` gene by gene.

Both are summarized as the median and max over genes with the worst genes
named, beside the same figures for the real train split against the test
split (:func:`marginal_scores`). KS between two samples of one distribution
is not 0: it shrinks like ``sqrt(1/n + 1/m)``, so the reference is computed
with as many train rows as synthetic ones.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import PARALLEL_JIT_FLAGS

__all__ = ["marginal_distances", "marginal_scores", "N_WORST"]

N_WORST = 5  # genes named in a summary, largest KS first


@numba.njit(**PARALLEL_JIT_FLAGS)
def _ks_w1(a, b):  # pragma: no cover - compiled
    """KS and W1 per row of ``a`` (genes x n) against the same row of ``b`` (genes x m)."""
    n_genes, n = a.shape
    m = b.shape[1]
    nm = float(n) * float(m)
    ks = np.empty(n_genes)
    w1 = np.empty(n_genes)
    for g in numba.prange(n_genes):
        x = np.sort(a[g])
        y = np.sort(b[g])
        i = 0
        j = 0
        best = 0.0
        area = 0.0
        # walk the distinct values of both samples in order; between two
        # consecutive ones both CDFs are flat
        while i < n or j < m:
            if j >= m or (i < n and x[i] <= y[j]):
                v = x[i]
            else:
                v = y[j]
            while i < n and x[i] <= v:
                i += 1
            while j < m and y[j] <= v:
                j += 1
            # integer numerator: exact, so equal CDFs give exactly 0 under fastmath
            gap = abs(i * m - j * n) / nm
            if gap > best:
                best = gap
            if i < n or j < m:
                if j >= m or (i < n and x[i] <= y[j]):
                    nxt = x[i]
                else:
                    nxt = y[j]
                area += gap * (nxt - v)
        ks[g] = best
        w1[g] = area
    return ks, w1


def marginal_distances(real: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column two-sample KS statistic and Wasserstein-1 distance.

    Parameters
    ----------
    real, synthetic
        samples x genes matrices with the same genes (any row counts >= 1).

    Returns
    -------
    (ks, w1)
        float64 arrays, one value per gene.

    Examples
    --------
    >>> ks, w1 = marginal_distances(np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]]))
    >>> float(ks[0]), float(w1[0])
    (1.0, 2.0)
    """
    sides = []
    for name, x in (("real", real), ("synthetic", synthetic)):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] < 1:
            raise GexgenError(
                f"{name} must be a samples x genes matrix with at least 1 row, got shape {x.shape}"
            )
        if not np.issubdtype(x.dtype, np.number):
            raise GexgenError(f"{name} must hold numbers, got dtype {x.dtype}")
        x = np.ascontiguousarray(x.T, dtype=np.float64)
        if not np.isfinite(x).all():
            raise GexgenError(f"{name} holds NaN or infinite values; fill or drop them")
        sides.append(x)
    if sides[0].shape[0] != sides[1].shape[0]:
        raise GexgenError(
            f"real has {sides[0].shape[0]} genes but synthetic has {sides[1].shape[0]}; "
            "give both the same columns"
        )
    return _ks_w1(sides[0], sides[1])


def _summary(ks: np.ndarray, w1: np.ndarray) -> dict[str, float]:
    return {
        "ks_median": float(np.median(ks)),
        "ks_max": float(np.max(ks)),
        "w1_median": float(np.median(w1)),
        "w1_max": float(np.max(w1)),
    }


def marginal_scores(
    real: np.ndarray,
    synthetic: np.ndarray,
    genes: list[str],
    train: np.ndarray | None = None,
    *,
    seed: int = 0,
    n_worst: int = N_WORST,
    no_train: str = "the real data has no train split",
) -> dict[str, Any]:
    """KS and W1 over genes (median, max, worst genes), beside train vs test.

    With ``train`` (the real train split), the synthetic rows and the train
    rows are both cut (seeded) to the smaller of the two counts, so the
    synthetic figures and their reference compare the same numbers of rows
    with the same ``real`` rows. Without it the reference is skipped.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = marginal_scores(rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) + 1, list("abc"))
    >>> r["ks_median"] > 0.3, r["reference"]["skipped"] is not None
    (True, True)
    """
    if len(genes) != np.shape(real)[-1]:
        raise GexgenError(f"got {len(genes)} gene names for {np.shape(real)[-1]} columns")
    real = np.asarray(real)
    synthetic = np.asarray(synthetic)
    n = len(synthetic) if train is None else min(len(synthetic), len(train))
    rng = np.random.default_rng([seed, 31])
    if n < len(synthetic):
        synthetic = synthetic[np.sort(rng.choice(len(synthetic), n, replace=False))]
    ks, w1 = marginal_distances(real, synthetic)
    worst = np.argsort(-ks, kind="stable")[: max(int(n_worst), 0)]
    out: dict[str, Any] = {
        **_summary(ks, w1),
        "worst_genes": [
            {
                "gene": str(genes[j]),
                "ks": float(ks[j]),
                "w1": float(w1[j]),
                "real_mean": float(real[:, j].mean()),
                "synthetic_mean": float(synthetic[:, j].mean()),
                "real_sd": float(real[:, j].std()),
                "synthetic_sd": float(synthetic[:, j].std()),
            }
            for j in worst
        ],
        "n_real": int(len(real)),
        "n_synthetic": int(n),
        "n_genes": int(len(genes)),
        "method": "per-gene two-sample KS statistic and Wasserstein-1 (log2 units), "
        "real test rows vs synthetic rows",
    }
    if train is None:
        empty = dict.fromkeys(("ks_median", "ks_max", "w1_median", "w1_max"))
        out["reference"] = {**empty, "skipped": no_train}
        return out
    train = np.asarray(train)
    if n < len(train):
        train = train[np.sort(rng.choice(len(train), n, replace=False))]
    ref_ks, ref_w1 = marginal_distances(real, train)
    out["reference"] = {
        **_summary(ref_ks, ref_w1),
        "n_train": int(n),
        "method": "real train split (as many rows as synthetic, seeded) vs real test split",
    }
    return out
