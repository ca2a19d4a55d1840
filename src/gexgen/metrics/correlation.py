"""Streaming gene-gene Pearson correlation in bounded memory.

Rows (samples) arrive chunk by chunk. Each block of rows is shifted by a
pilot mean (the mean of the first rows seen), then its Gram matrix is formed
in the working precision (float32 by default: the fast BLAS path) and added to
float64 accumulators together with the column sums. Shifting first keeps the
float32 products small, so the correlations stay within ~1e-7 of a float64
computation while the matrix product runs at float32 speed
(see ../shared/PERFORMANCE.md, "Gamma score"). Memory is one block buffer
(``block_rows`` x genes) plus a few genes x genes float64 matrices, whatever
the number of rows.

Genes whose values never change (zero variance) have no correlation: they are
flagged in :attr:`GeneCorrelation.zero_variance` and their rows/columns of
the correlation matrix are NaN, as ``np.corrcoef`` would give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics._config import PARALLEL_JIT_FLAGS

__all__ = [
    "CorrelationAccumulator",
    "GeneCorrelation",
    "gene_correlation",
    "pilot_shift",
    "Precision",
]

Precision = Literal["float32", "float64"]
_PRECISIONS = ("float32", "float64")
# rows per float32 Gram product: bounds the buffer (~63 MB at 969 genes) and the
# number of float32 terms summed before they reach the float64 accumulator
DEFAULT_BLOCK_ROWS = 16384
# rows per parallel work item inside the shift kernel
_KERNEL_ROWS = 512
# rows used for the pilot mean
_PILOT_ROWS = 4096


@numba.njit(**PARALLEL_JIT_FLAGS)
def _shift_block(x, cols, identity, shift, out):  # pragma: no cover - compiled
    """``out[i, j] = x[i, cols[j]] - shift[j]``; per-work-item column sums, minima, maxima.

    The sums are taken over the stored (working-precision) values, the same
    numbers the Gram product sees. A NaN or inf in ``x`` makes its column sum
    non-finite, which is how the caller detects bad input at no extra cost.
    """
    n, g = out.shape
    n_items = (n + _KERNEL_ROWS - 1) // _KERNEL_ROWS
    sums = np.zeros((n_items, g))
    mins = np.full((n_items, g), np.inf)
    maxs = np.full((n_items, g), -np.inf)
    for item in numba.prange(n_items):
        start = item * _KERNEL_ROWS
        stop = min(n, start + _KERNEL_ROWS)
        s = sums[item]
        lo = mins[item]
        hi = maxs[item]
        for i in range(start, stop):
            row = x[i]
            orow = out[i]
            if identity:
                for j in range(g):
                    orow[j] = row[j] - shift[j]
            else:
                for j in range(g):
                    orow[j] = row[cols[j]] - shift[j]
            for j in range(g):
                v = np.float64(orow[j])
                s[j] += v
                lo[j] = min(lo[j], v)
                hi[j] = max(hi[j], v)
    return sums, mins, maxs


@dataclass(frozen=True)
class GeneCorrelation:
    """Per-gene moments and the gene-gene Pearson correlation of a set of profiles.

    Attributes
    ----------
    n_samples
        Rows accumulated.
    mean, std
        Per-gene mean and population standard deviation (ddof=0), float64.
    zero_variance
        Boolean mask of genes whose values never change.
    correlation
        genes x genes float64 Pearson correlation; NaN in the rows and columns
        of zero-variance genes.
    """

    n_samples: int
    mean: np.ndarray
    std: np.ndarray
    zero_variance: np.ndarray
    correlation: np.ndarray

    @property
    def n_genes(self) -> int:
        return int(self.mean.shape[0])


class CorrelationAccumulator:
    r"""Accumulate gene-gene correlation over row chunks in bounded memory.

    Parameters
    ----------
    n_genes
        Number of columns each chunk has (after ``columns`` selection).
    precision
        ``"float32"`` (default): shifted float32 Gram blocks accumulated in
        float64, ~2x faster; ``"float64"``: every product in float64.
    block_rows
        Rows per Gram product; bounds the extra memory.
    shift
        Per-gene values subtracted before the products (default: the mean of
        the first rows seen). Accumulators that share a shift can be
        :meth:`merge`\ d, e.g. one per partition of a dataset.

    Examples
    --------
    >>> acc = CorrelationAccumulator(n_genes=3)
    >>> for chunk in np.array_split(np.random.default_rng(0).random((100, 3)), 4):
    ...     _ = acc.update(chunk)
    >>> acc.result().correlation.shape
    (3, 3)
    """

    def __init__(
        self,
        n_genes: int,
        *,
        precision: Precision = "float32",
        block_rows: int = DEFAULT_BLOCK_ROWS,
        shift: np.ndarray | None = None,
    ) -> None:
        if precision not in _PRECISIONS:
            raise GexgenError(f"precision must be one of {list(_PRECISIONS)}, got {precision!r}")
        if int(n_genes) < 1:
            raise GexgenError(f"n_genes must be at least 1, got {n_genes}")
        if int(block_rows) < 1:
            raise GexgenError(f"block_rows must be at least 1, got {block_rows}")
        self.n_genes = int(n_genes)
        self.precision: Precision = precision
        self.block_rows = int(block_rows)
        self._dtype = np.dtype(precision)
        self._shift: np.ndarray | None = None
        if shift is not None:
            shift = np.asarray(shift, dtype=np.float64)
            if shift.shape != (self.n_genes,) or not np.isfinite(shift).all():
                raise GexgenError(
                    f"shift must hold {self.n_genes} finite values, got shape {shift.shape}"
                )
            self._shift = shift.astype(self._dtype)
        self._buffer: np.ndarray | None = None
        self._gram = np.zeros((self.n_genes, self.n_genes))
        self._gram_block = np.empty((self.n_genes, self.n_genes), dtype=self._dtype)
        self._sum = np.zeros(self.n_genes)
        self._min = np.full(self.n_genes, np.inf)
        self._max = np.full(self.n_genes, -np.inf)
        self.n_samples = 0
        self._n_chunks = 0

    def update(
        self, chunk: np.ndarray, columns: np.ndarray | None = None
    ) -> CorrelationAccumulator:
        """Add the rows of ``chunk`` (samples x genes); ``columns`` selects/reorders genes."""
        x = np.asarray(chunk)
        self._n_chunks += 1
        if x.ndim != 2:
            raise GexgenError(
                f"chunk {self._n_chunks}: expected a 2-d samples x genes matrix, got {x.shape}"
            )
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise GexgenError(f"chunk {self._n_chunks}: expected numeric values, got {x.dtype}")
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        identity = columns is None
        if identity:
            cols = np.arange(self.n_genes, dtype=np.int64)
            if x.shape[1] != self.n_genes:
                raise GexgenError(
                    f"chunk {self._n_chunks} has {x.shape[1]} genes, expected {self.n_genes}"
                )
        else:
            cols = np.asarray(columns, dtype=np.int64)
            if cols.shape != (self.n_genes,) or (
                cols.size and (cols.min() < 0 or cols.max() >= x.shape[1])
            ):
                raise GexgenError(
                    f"columns must be {self.n_genes} indices into the chunk's {x.shape[1]} genes"
                )
        if x.shape[0] == 0:
            return self
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        if self._shift is None:
            self._shift = pilot_shift(x, cols).astype(self._dtype)
        if self._buffer is None:
            self._buffer = np.empty((min(self.block_rows, x.shape[0]), self.n_genes), self._dtype)
        for start in range(0, x.shape[0], self.block_rows):
            self._add_block(x[start : start + self.block_rows], cols, identity)
        return self

    def _add_block(self, x: np.ndarray, cols: np.ndarray, identity: bool) -> None:
        m = x.shape[0]
        if self._buffer is None or self._buffer.shape[0] < m:
            self._buffer = np.empty((m, self.n_genes), self._dtype)
        buf = self._buffer[:m]
        sums, mins, maxs = _shift_block(x, cols, identity, self._shift, buf)
        block_sum = sums.sum(axis=0)
        if not np.isfinite(block_sum).all():
            bad = ~np.isfinite(x[:, cols])
            rows = np.flatnonzero(bad.any(axis=1))[:5]
            raise GexgenError(
                f"chunk {self._n_chunks} has {int(bad.sum())} NaN or infinite values "
                f"(rows {rows.tolist()} of the chunk ...); fill or drop them before scoring"
            )
        np.matmul(buf.T, buf, out=self._gram_block)
        self._gram += self._gram_block
        self._sum += block_sum
        np.minimum(self._min, mins.min(axis=0), out=self._min)
        np.maximum(self._max, maxs.max(axis=0), out=self._max)
        self.n_samples += m

    def merge(self, other: CorrelationAccumulator) -> CorrelationAccumulator:
        """Add the rows ``other`` accumulated (same genes, precision and shift); returns self.

        Partitions scanned apart with one shared ``shift`` combine to what one
        accumulator over all rows gives, up to the order of float64 additions.
        """
        if other.n_samples == 0:
            return self
        if (other.n_genes, other.precision) != (self.n_genes, self.precision):
            raise GexgenError(
                f"cannot merge an accumulator of {other.n_genes} genes ({other.precision}) "
                f"into one of {self.n_genes} genes ({self.precision})"
            )
        if self._shift is None:
            self._shift = other._shift
        elif not np.array_equal(self._shift, other._shift):
            raise GexgenError("cannot merge accumulators with different shifts; give both one")
        self._gram += other._gram
        self._sum += other._sum
        np.minimum(self._min, other._min, out=self._min)
        np.maximum(self._max, other._max, out=self._max)
        self.n_samples += other.n_samples
        self._n_chunks += other._n_chunks
        return self

    def __getstate__(self) -> dict:
        # scratch buffers (up to ~63 MB) are not state: leave them out of pickles
        state = dict(self.__dict__)
        state["_buffer"] = None
        state["_gram_block"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._gram_block = np.empty((self.n_genes, self.n_genes), dtype=self._dtype)

    def result(self) -> GeneCorrelation:
        """Means, standard deviations, zero-variance mask and correlation so far."""
        n = self.n_samples
        if n < 2:
            raise GexgenError(
                f"a gene-gene correlation needs at least 2 samples, got {n}; "
                "check that the input is not empty"
            )
        assert self._shift is not None
        centre = self._sum / n
        cov = self._gram / n - np.outer(centre, centre)
        var = np.diag(cov).copy()
        zero = (self._max <= self._min) | (var <= 0.0)
        var[zero] = 0.0
        std = np.sqrt(var)
        inv = np.zeros_like(std)
        inv[~zero] = 1.0 / std[~zero]
        corr = cov * inv[:, None] * inv[None, :]
        np.clip(corr, -1.0, 1.0, out=corr)
        np.fill_diagonal(corr, 1.0)
        corr[zero, :] = np.nan
        corr[:, zero] = np.nan
        mean = self._shift.astype(np.float64) + centre
        return GeneCorrelation(
            n_samples=n, mean=mean, std=std, zero_variance=zero, correlation=corr
        )


def pilot_shift(x: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
    """The default shift: float64 mean of the first rows of ``x`` (the first chunk seen).

    Examples
    --------
    >>> pilot_shift(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [2.0, 3.0]
    """
    pilot = np.asarray(x)[:_PILOT_ROWS].mean(axis=0, dtype=np.float64)
    return pilot if columns is None else pilot[np.asarray(columns)]


def gene_correlation(
    x: np.ndarray | Iterable[np.ndarray] | GeneCorrelation,
    *,
    chunk_rows: int = 65536,
    precision: Precision = "float32",
    columns: np.ndarray | None = None,
) -> GeneCorrelation:
    """Gene-gene correlation of a matrix or of an iterable of row chunks.

    Parameters
    ----------
    x
        samples x genes array (read ``chunk_rows`` rows at a time, no copy),
        an iterable of such chunks (same number of genes each), or an already
        computed :class:`GeneCorrelation` (returned as is).
    precision
        See :class:`CorrelationAccumulator`.
    columns
        Optional gene indices selecting/reordering the columns of every chunk.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(50, 4))
    >>> bool(np.allclose(gene_correlation(x).correlation, np.corrcoef(x.T), atol=1e-6))
    True
    """
    if isinstance(x, GeneCorrelation):
        return x
    if isinstance(x, np.ndarray):
        if x.ndim != 2:
            raise GexgenError(f"expected a 2-d samples x genes matrix, got shape {x.shape}")
        chunks: Iterable[np.ndarray] = (
            x[i : i + chunk_rows] for i in range(0, max(x.shape[0], 1), chunk_rows)
        )
    else:
        chunks = x
    acc: CorrelationAccumulator | None = None
    for chunk in chunks:
        chunk = np.asarray(chunk)
        if acc is None:
            if chunk.ndim != 2:
                raise GexgenError(f"expected 2-d chunks (samples x genes), got shape {chunk.shape}")
            n_genes = chunk.shape[1] if columns is None else len(columns)
            acc = CorrelationAccumulator(n_genes, precision=precision)
        acc.update(chunk, columns)
    if acc is None:
        raise GexgenError("no rows to correlate: the input yielded no chunks")
    return acc.result()
