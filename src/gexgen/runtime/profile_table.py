"""The interface of a profile file opened for reading: ``ProfileTable``.

Concrete tables per format live in ``profile_readers``; this module holds what
they share: row selection, exact-size row blocks and reading rows via chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.runtime.profile_format import Space

__all__ = ["ProfileTable", "Rows", "row_index"]

Rows = slice | np.ndarray | list[int] | None


class ProfileTable:
    """A profiles x genes float32 matrix on disk, with its labels.

    Attributes
    ----------
    path
        The file.
    genes
        Gene symbols, the matrix columns.
    n
        Number of profiles (rows).
    space
        ``"expression"`` (original units) or ``"log2"`` (log2(x + 1)).
    metadata
        The file's gexgen metadata (generated files) or ``uns["gexgen"]`` (cohorts).
    """

    path: Path
    genes: list[str]
    n: int
    space: Space
    metadata: dict[str, Any]

    @property
    def labels(self) -> pd.DataFrame:
        """One row per profile, one column per label (cohorts: all of obs, incl. split)."""
        raise NotImplementedError

    def _chunks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def iter_chunks(self, chunk_rows: int = 65_536) -> Iterator[np.ndarray]:
        """Yield consecutive float32 row blocks of ``chunk_rows`` rows (the last may be shorter)."""
        if int(chunk_rows) < 1:
            raise GexgenError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
        return _rebatch(self._chunks(int(chunk_rows)), int(chunk_rows))

    def read(self, rows: Rows = None) -> np.ndarray:
        """The matrix (or the given rows: a slice, indices or a boolean mask) as float32."""
        index = row_index(rows, self.n)
        if isinstance(index, slice):
            return self._read_slice(index)
        return self._read_indices(index)

    def _read_slice(self, rows: slice) -> np.ndarray:
        start, stop, step = rows.indices(self.n)
        if step != 1:
            return self._read_indices(np.arange(start, stop, step))
        out = np.empty((max(stop - start, 0), len(self.genes)), dtype=np.float32)
        position = 0
        for chunk in self.iter_chunks():
            lo, hi = position, position + len(chunk)
            a, b = max(lo, start), min(hi, stop)
            if a < b:
                out[a - start : b - start] = chunk[a - lo : b - lo]
            position = hi
            if position >= stop:
                break
        return out

    def _read_indices(self, index: np.ndarray) -> np.ndarray:
        order = np.argsort(index, kind="stable")
        sorted_index = index[order]
        out = np.empty((len(index), len(self.genes)), dtype=np.float32)
        position = 0
        for chunk in self.iter_chunks():
            lo, hi = np.searchsorted(sorted_index, [position, position + len(chunk)])
            if hi > lo:
                out[order[lo:hi]] = chunk[sorted_index[lo:hi] - position]
            position += len(chunk)
        return out

    def __repr__(self) -> str:
        return (
            f"ProfileTable({str(self.path)!r}, n={self.n}, genes={len(self.genes)}, "
            f"space={self.space!r})"
        )


def row_index(rows: Rows, n: int) -> slice | np.ndarray:
    if rows is None:
        return slice(0, n)
    if isinstance(rows, slice):
        return rows
    index = np.asarray(rows)
    if index.dtype == bool:
        if index.shape != (n,):
            raise GexgenError(f"a boolean row mask needs {n} entries, got {index.shape}")
        return np.flatnonzero(index)
    if not np.issubdtype(index.dtype, np.integer) or index.ndim != 1:
        raise GexgenError(f"rows must be a slice, integer indices or a mask, got {rows!r}")
    index = np.where(index < 0, index + n, index)
    if len(index) and (index.min() < 0 or index.max() >= n):
        raise GexgenError(f"row index out of range for {n} profiles")
    return index


def _rebatch(blocks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Re-cut an iterator of row blocks into blocks of exactly ``size`` rows (last shorter)."""
    pending: list[np.ndarray] = []
    count = 0
    for block in blocks:
        if not pending and len(block) == size:
            yield block
            continue
        pending.append(block)
        count += len(block)
        while count >= size:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield joined[:size]
            rest = joined[size:]
            pending, count = ([rest] if len(rest) else []), len(rest)
    if count:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]
