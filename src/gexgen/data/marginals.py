"""A per-gene monotone map between log2 values and a standard-normal space.

Expression marginals are not Gaussian: a gene can be exactly 0 in a third of
the profiles (log2(0 + 1) of an unexpressed gene), skewed, or heavy-tailed.
A model with Gaussian observation noise reproduces none of that, and a
tree-based probe finds it at once (one gene with a point mass at 0 was enough
to tell generated profiles from real ones). The default recipe therefore
trains in a Gaussianized space: each gene's value is sent through its
training rows' empirical distribution function to a standard-normal score,
and the generator maps its output back through the inverse, so generated
marginals follow the real ones, point masses included.

The map is a table of ``n_knots`` quantiles per gene, taken at the uniform
probability levels ``p_k = (k + 0.5) / n_knots`` of the fitted rows (never
the rows themselves), and the piecewise-linear function through
``(p_k, table[g, k])``, extended linearly half a knot past each end:

    from_gaussian(t)[g] = interp(Phi(t), p, table[g])     (the generator's side)
    to_gaussian(v)[g]  = Phi^-1(its inverse)               (training's side)

A value that equals a run of equal knots (a tie plateau, e.g. the zeros of a
gene) has no single inverse: it gets a probability drawn uniformly over the
plateau, seeded, so the tied values spread over the lower tail of the normal
space instead of piling on one point, and ``from_gaussian`` sends that whole
tail back to the tied value. numpy only; the ONNX graph computes
``from_gaussian`` with the same formula (``gexgen.export.graph``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from gexgen.errors import GexgenError

__all__ = ["N_KNOTS", "knot_levels", "fit_quantiles", "to_gaussian", "from_gaussian"]

N_KNOTS = 128  # quantiles kept per gene
_EDGE = 1e-6  # probabilities are kept inside [_EDGE, 1 - _EDGE] before Phi^-1


def knot_levels(n_knots: int) -> np.ndarray:
    """The probability levels ``(k + 0.5) / n_knots`` (float64).

    Examples
    --------
    >>> knot_levels(4).tolist()
    [0.125, 0.375, 0.625, 0.875]
    """
    if int(n_knots) < 2:
        raise GexgenError(f"a quantile map needs at least 2 knots, got {n_knots!r}")
    return (np.arange(int(n_knots)) + 0.5) / int(n_knots)


def fit_quantiles(log_values: np.ndarray, n_knots: int = N_KNOTS) -> np.ndarray:
    """float32 [n_genes, n_knots]: each gene's quantiles at :func:`knot_levels`.

    Examples
    --------
    >>> fit_quantiles(np.arange(10.0)[:, None], 2).tolist()
    [[2.25, 6.75]]
    """
    x = np.asarray(log_values, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise GexgenError(f"need a rows x genes matrix with at least 2 rows, got {x.shape}")
    return np.quantile(x, knot_levels(n_knots), axis=0).T.astype(np.float32)


def from_gaussian(t: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Normal scores [n, n_genes] -> values, through each gene's quantile table."""
    t = np.asarray(t, dtype=np.float64)
    table = np.asarray(table, dtype=np.float64)
    k = table.shape[1]
    pos = ndtr(t) * k - 0.5  # fractional knot index; -0.5 and k - 0.5 at the extremes
    i = np.clip(np.floor(pos), 0, k - 2).astype(np.int64)
    frac = pos - i
    genes = np.arange(table.shape[0])
    lo, hi = table[genes, i], table[genes, i + 1]
    return (lo + frac * (hi - lo)).astype(np.float32)


def to_gaussian(values: np.ndarray, table: np.ndarray, seed: int = 0) -> np.ndarray:
    """Values [n, n_genes] -> normal scores, the inverse of :func:`from_gaussian`.

    Between distinct knots the piecewise-linear map is inverted exactly; a value
    on a plateau of equal knots gets a probability drawn uniformly over the
    plateau (``seed``); values beyond the extended ends are held at the ends.
    """
    v = np.asarray(values, dtype=np.float64)
    table = np.asarray(table, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != table.shape[0]:
        raise GexgenError(f"expected a (samples, {table.shape[0]}) matrix, got shape {v.shape}")
    k = table.shape[1]
    rng = np.random.default_rng(seed)
    pos = np.empty_like(v)
    # the map's breakpoints in knot-index units: the extended ends sit at -0.5 and k - 0.5
    idx = np.arange(k, dtype=np.float64)
    for g in range(v.shape[1]):
        knots = table[g]
        col = v[:, g]
        lo = np.searchsorted(knots, col, side="left")
        hi = np.searchsorted(knots, col, side="right")
        inner = np.interp(col, knots, idx)  # np.interp takes the last of equal knots
        below = col < knots[0]
        above = col > knots[-1]
        d0, d1 = knots[1] - knots[0], knots[-1] - knots[-2]
        inner[below] = np.maximum(-0.5, (col[below] - knots[0]) / d0) if d0 > 0 else -0.5
        inner[above] = (
            np.minimum(k - 0.5, k - 1 + (col[above] - knots[-1]) / d1) if d1 > 0 else (k - 0.5)
        )
        tied = hi - lo > 1  # the value equals two or more knots: a plateau
        if tied.any():
            start = np.where(lo[tied] == 0, -0.5, lo[tied] - 0.0)
            end = np.where(hi[tied] == k, k - 0.5, hi[tied] - 1.0)
            inner[tied] = start + rng.uniform(size=int(tied.sum())) * (end - start)
        pos[:, g] = inner
    p = np.clip((pos + 0.5) / k, _EDGE, 1.0 - _EDGE)
    return ndtri(p).astype(np.float32)
