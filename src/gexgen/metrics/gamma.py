"""The gamma score of Viñas et al.: agreement of gene-gene correlation structure.

For a samples x genes matrix X let R be the gene-gene Pearson correlation
matrix and D = 1 - R. For real X and synthetic Y,
gamma = Pearson correlation between the strict upper triangles (k=1) of D_X
and D_Y. X and Y may have different numbers of samples. Genes with zero
variance in either set have no correlation: they are reported and left out of
both matrices, so the result is never NaN. Always read gamma beside the
real-vs-real ceiling (:func:`gamma_ceiling`, train split vs test split).

Inputs are log2(x + 1) values (the callers in :mod:`gexgen.metrics.evaluation`
convert), either whole arrays or iterables of row chunks (streamed, bounded
memory; see :mod:`gexgen.metrics.correlation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numba
import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import JIT_FLAGS, PARALLEL_JIT_FLAGS
from gexgen.metrics.correlation import GeneCorrelation, Precision, gene_correlation

__all__ = ["GammaResult", "gamma_score", "gamma_ceiling", "upper_triangle_pearson"]


@numba.njit(**JIT_FLAGS)
def _row_sums(a, b, i):  # pragma: no cover - compiled
    sa = 0.0
    sb = 0.0
    for j in range(i + 1, a.shape[0]):
        sa += a[i, j]
        sb += b[i, j]
    return sa, sb


@numba.njit(**JIT_FLAGS)
def _row_centred_sums(a, b, i, mean_a, mean_b):  # pragma: no cover - compiled
    sab = 0.0
    saa = 0.0
    sbb = 0.0
    for j in range(i + 1, a.shape[0]):
        da = a[i, j] - mean_a
        db = b[i, j] - mean_b
        sab += da * db
        saa += da * da
        sbb += db * db
    return sab, saa, sbb


@numba.njit(**PARALLEL_JIT_FLAGS)
def _upper_triangle_pearson(a, b):  # pragma: no cover - compiled
    """Sums for the Pearson correlation of the strict upper triangles of ``a`` and ``b``.

    Two passes (means, then centred products) for accuracy. Work item ``p``
    takes rows ``p`` and ``n-1-p`` so every item holds ~n entries, and the
    per-row partial sums are added in a fixed order afterwards, so the result
    does not depend on the number of threads.

    Returns (sum_ab, sum_aa, sum_bb, mean_a, mean_b) over the centred
    entries; a non-finite mean signals NaN/inf input.
    """
    n = a.shape[0]
    half = (n + 1) // 2
    per_row = np.zeros((5, n))
    for p in numba.prange(half):
        for k in range(2):  # rows p and n-1-p; an odd n's middle row twice, same value
            i = np.int64(p) if k == 0 else n - 1 - np.int64(p)
            per_row[0, i], per_row[1, i] = _row_sums(a, b, i)
    m = n * (n - 1) // 2
    mean_a = per_row[0].sum() / m
    mean_b = per_row[1].sum() / m
    for p in numba.prange(half):
        for k in range(2):
            i = np.int64(p) if k == 0 else n - 1 - np.int64(p)
            per_row[2, i], per_row[3, i], per_row[4, i] = _row_centred_sums(a, b, i, mean_a, mean_b)
    return per_row[2].sum(), per_row[3].sum(), per_row[4].sum(), mean_a, mean_b


def upper_triangle_pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the strict upper triangles (k=1) of two square matrices.

    Equals ``np.corrcoef(a[np.triu_indices(n, 1)], b[np.triu_indices(n, 1)])[0, 1]``
    without building the index arrays (a parallel numba kernel).

    Raises
    ------
    GexgenError
        On non-square or mismatched shapes, n < 3, NaN/inf, or a constant
        upper triangle (the correlation is undefined).

    Examples
    --------
    >>> a = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=float)
    >>> round(upper_triangle_pearson(a, 2 * a + 1), 12)
    1.0
    """
    a = np.asarray(a)
    b = np.asarray(b)
    for name, m in (("a", a), ("b", b)):
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise GexgenError(f"{name} must be a square matrix, got shape {m.shape}")
        if not (np.issubdtype(m.dtype, np.floating) or np.issubdtype(m.dtype, np.integer)):
            raise GexgenError(f"{name} must hold numbers, got dtype {m.dtype}")
    if a.shape != b.shape:
        raise GexgenError(f"matrices differ in shape: {a.shape} vs {b.shape}")
    if a.shape[0] < 3:
        raise GexgenError(
            f"need at least 3 genes (2 upper-triangle pairs) for a correlation, got {a.shape[0]}"
        )
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    sab, saa, sbb, mean_a, mean_b = _upper_triangle_pearson(a, b)
    for name, mean in (("a", mean_a), ("b", mean_b)):
        if not np.isfinite(mean):
            raise GexgenError(f"matrix {name} has NaN or infinite values above the diagonal")
    if saa <= 0.0 or sbb <= 0.0:
        which = "a" if saa <= 0.0 else "b"
        raise GexgenError(
            f"the upper triangle of {which} is constant, so its correlation is undefined "
            "(all gene pairs equally correlated?)"
        )
    return float(np.clip(sab / np.sqrt(saa * sbb), -1.0, 1.0))


@dataclass(frozen=True)
class GammaResult:
    """A gamma score with what went into it.

    ``zero_variance_real`` / ``zero_variance_synthetic`` name the genes left
    out because they are constant in that set (gene names when given, else
    column indices as strings).
    """

    gamma: float
    n_genes: int
    n_real: int
    n_synthetic: int
    zero_variance_real: list[str] = field(default_factory=list)
    zero_variance_synthetic: list[str] = field(default_factory=list)

    def __float__(self) -> float:
        return self.gamma

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Profiles = np.ndarray | Iterable[np.ndarray] | GeneCorrelation


def gamma_score(
    real: Profiles,
    synthetic: Profiles,
    *,
    genes: Sequence[str] | None = None,
    chunk_rows: int = 65536,
    precision: Precision = "float32",
) -> GammaResult:
    """Gamma score (Viñas et al.) between real and synthetic log2(x + 1) profiles.

    Parameters
    ----------
    real, synthetic
        samples x genes arrays, iterables of row chunks (streamed), or
        :class:`~gexgen.metrics.correlation.GeneCorrelation` results; the same
        genes in the same column order; any numbers of samples (>= 2).
    genes
        Gene names, used to report zero-variance genes.
    chunk_rows, precision
        Streaming settings, see :func:`~gexgen.metrics.correlation.gene_correlation`.

    Returns
    -------
    GammaResult
        ``gamma`` in [-1, 1] (1 = identical correlation structure).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    >>> round(gamma_score(x, x).gamma, 6)
    1.0
    """
    r = gene_correlation(real, chunk_rows=chunk_rows, precision=precision)
    s = gene_correlation(synthetic, chunk_rows=chunk_rows, precision=precision)
    if r.n_genes != s.n_genes:
        raise GexgenError(
            f"real has {r.n_genes} genes but synthetic has {s.n_genes}; "
            "align both to the same genes in the same order first"
        )
    if genes is not None and len(genes) != r.n_genes:
        raise GexgenError(f"{len(genes)} gene names given for {r.n_genes} genes")
    names = list(genes) if genes is not None else [str(i) for i in range(r.n_genes)]
    keep = ~(r.zero_variance | s.zero_variance)
    n_keep = int(keep.sum())
    if n_keep < 3:
        raise GexgenError(
            f"only {n_keep} of {r.n_genes} genes vary in both real and synthetic data; "
            "gamma needs at least 3"
        )
    d_real = 1.0 - r.correlation[np.ix_(keep, keep)]
    d_synth = 1.0 - s.correlation[np.ix_(keep, keep)]
    gamma = upper_triangle_pearson(d_real, d_synth)
    return GammaResult(
        gamma=gamma,
        n_genes=n_keep,
        n_real=r.n_samples,
        n_synthetic=s.n_samples,
        zero_variance_real=[names[i] for i in np.flatnonzero(r.zero_variance)],
        zero_variance_synthetic=[names[i] for i in np.flatnonzero(s.zero_variance)],
    )


def gamma_ceiling(
    real_train: Profiles,
    real_test: Profiles,
    *,
    genes: Sequence[str] | None = None,
    precision: Precision = "float32",
) -> GammaResult:
    """The real-vs-real gamma (train split vs test split): the best a generator can hope for.

    The ``real``/``synthetic`` fields of the result hold train/test.
    """
    return gamma_score(real_train, real_test, genes=genes, precision=precision)
