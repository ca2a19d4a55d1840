"""Profile sets the evaluation reads: log2 values over named genes, with labels.

A :class:`ProfileSet` wraps a file opened by :func:`gexgen.runtime.open_profiles`
(streamed in chunks), a subset of its rows, or an in-memory matrix, and hands
out log2(x + 1) float32 values for a chosen list of genes.

Value spaces (``SPACES``): ``expression`` (original units, e.g. FPKM),
``log2`` (log2(x + 1)) and ``ln1p`` (ln(1 + x), scanpy's ``sc.pp.log1p``).
A file's space is read, never guessed from its values: see
:func:`recorded_space`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.data.preprocess import log2p1
from gexgen.data.split import combination_keys
from gexgen.errors import GexgenError

__all__ = ["ProfileSet", "load_profiles", "shared_genes", "default_label_columns"]

SPLIT = "split"
SPACES = ("expression", "log2", "ln1p")
_LN2 = float(np.log(2.0))


@dataclass
class ProfileSet:
    """Profiles in ``space`` units over ``genes``; ``labels`` has one row per profile."""

    name: str
    genes: list[str]
    labels: pd.DataFrame
    space: str
    table: Any = None  # a runtime ProfileTable, streamed
    matrix: np.ndarray | None = None  # or the matrix in memory

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0]) if self.matrix is not None else int(self.table.n)

    @classmethod
    def from_array(
        cls,
        matrix: np.ndarray,
        genes: Sequence[str],
        labels: pd.DataFrame | None = None,
        space: str = "log2",
        name: str = "array",
    ) -> ProfileSet:
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[1] != len(genes):
            raise GexgenError(
                f"{name}: expected a samples x {len(genes)} genes matrix, got {matrix.shape}"
            )
        if labels is None:
            labels = pd.DataFrame(index=pd.RangeIndex(matrix.shape[0]))
        if len(labels) != matrix.shape[0]:
            raise GexgenError(f"{name}: {len(labels)} label rows for {matrix.shape[0]} profiles")
        check_space(space, "space")
        return cls(name, list(genes), labels.reset_index(drop=True), space, matrix=matrix)

    def _to_log(self, x: np.ndarray, columns: np.ndarray | None, owned: bool = False) -> np.ndarray:
        """float32 log2 values of ``x``'s ``columns``; ``owned``: ``x`` may be overwritten."""
        if columns is not None:
            x = x[:, columns]  # a copy
            owned = True
        if x.dtype != np.float32:
            x = x.astype(np.float32)
            owned = True
        if self.space == "ln1p":  # log2(1 + x) = ln(1 + x) / ln 2
            in_place = owned and x.flags.writeable
            return np.multiply(x, np.float32(1.0 / _LN2), out=x if in_place else None)
        if self.space != "expression":
            return x
        if not (owned and x.flags.writeable):
            return log2p1(x)
        # in place: the same float32 log2(x + 1) without two more matrix-sized allocations
        np.add(x, np.float32(1.0), out=x)
        return np.log2(x, out=x)

    def log_chunks(
        self, columns: np.ndarray | None = None, chunk_rows: int = 65_536
    ) -> Iterator[np.ndarray]:
        """float32 log2 values, ``chunk_rows`` rows at a time, genes picked by ``columns``."""
        if self.matrix is not None:
            for start in range(0, self.n, chunk_rows):
                yield self._to_log(self.matrix[start : start + chunk_rows], columns)
        else:
            # the table's chunks are new arrays that only this generator sees
            for chunk in self.table.iter_chunks(chunk_rows):
                yield self._to_log(chunk, columns, owned=True)

    def read_log(self, rows: np.ndarray | None = None, columns: np.ndarray | None = None):
        """float32 log2 values of ``rows`` (all when None) over ``columns``."""
        if self.matrix is not None:
            x = self.matrix if rows is None else self.matrix[rows]
            copied = rows is not None and not isinstance(rows, slice)  # fancy indexing copies
            return self._to_log(x, columns, owned=copied)
        return self._to_log(self.table.read(rows), columns, owned=True)

    def subset(self, rows: np.ndarray, name: str) -> ProfileSet:
        """These rows, read into memory (for the splits of a cohort)."""
        rows = np.asarray(rows)
        x = self.matrix[rows] if self.matrix is not None else self.table.read(rows)
        labels = self.labels.iloc[rows].reset_index(drop=True)
        return ProfileSet(name, self.genes, labels, self.space, matrix=x)

    def split(self) -> tuple[ProfileSet | None, ProfileSet]:
        """(train, test) from ``labels["split"]`` when present, else (None, everything)."""
        if SPLIT not in self.labels.columns:
            return None, self
        split = self.labels[SPLIT].astype(str).to_numpy()
        train, test = np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
        if len(test) == 0:
            raise GexgenError(
                f"{self.name} has a 'split' column but no 'test' rows; "
                "evaluate against held-out profiles (rebuild the cohort with `gexgen data`)"
            )
        train_set = self.subset(train, f"{self.name} (train split)") if len(train) else None
        return train_set, self.subset(test, f"{self.name} (test split)")


def check_space(space: Any, what: str = "space") -> str:
    if space not in SPACES:
        raise GexgenError(f"{what} must be one of {', '.join(SPACES)}, got {space!r}")
    return str(space)


def _h5ad_log1p(path: Path) -> tuple[bool, float | None]:
    """(True, base) when the .h5ad records scanpy's ``uns["log1p"]`` (base None = e)."""
    import h5py

    with h5py.File(path, "r") as file:
        if "uns" not in file or "log1p" not in file["uns"]:
            return False, None
        entry = file["uns"]["log1p"]
        if not isinstance(entry, h5py.Group) or "base" not in entry:
            return True, None
        stored = entry["base"]
        # anndata writes base=None (scanpy's natural log) as an empty dataset
        base = None if getattr(stored, "shape", None) is None else stored[()]
    if isinstance(base, bytes):
        base = base.decode()
    if base is None or (isinstance(base, str) and base.lower() in ("", "none", "e")):
        return True, None
    try:
        return True, float(base)
    except (TypeError, ValueError):
        raise GexgenError(
            f"{str(path)!r}: uns['log1p']['base'] is {base!r}, not a number; pass --space"
        ) from None


def recorded_space(path: Path, table: Any, flag: str = "--space") -> str | None:
    """The value space ``path`` records, or None when it records none.

    gexgen's own metadata says it: ``space`` in a profile file, ``log_scaled``
    in a cohort. scanpy's ``uns["log1p"]`` (``{"base": None}`` = natural log)
    marks values that went through ``sc.pp.log1p``: ``ln1p`` (base e) or
    ``log2`` (base 2) on top of expression values. A gexgen log2 file carries
    both (``space: log2`` and ``uns["log1p"] = {"base": 2}``, which agree); a
    file whose two records disagree (log-transformed twice?) is refused.
    """
    meta = getattr(table, "metadata", None) or {}
    space = meta.get("space")
    if space is None and "log_scaled" in meta:
        space = "log2" if meta["log_scaled"] else "expression"
    if path.suffix.lower() != ".h5ad":
        return space
    has_log1p, base = _h5ad_log1p(path)
    if not has_log1p:
        return space
    if base is None or abs(base - np.e) < 1e-9:
        log1p_space = "ln1p"
    elif abs(base - 2.0) < 1e-9:
        log1p_space = "log2"
    else:
        raise GexgenError(
            f"{str(path)!r} holds log1p values with base {base:g} (uns['log1p']); gexgen reads "
            f"expression, log2(x + 1) or ln(1 + x): convert X or pass {flag}"
        )
    if space in (None, "expression", log1p_space):
        return log1p_space
    raise GexgenError(
        f"{str(path)!r} records space {space!r} and also scanpy's uns['log1p'] with base "
        f"{'e' if base is None else f'{base:g}'} (values log-transformed twice?); state the "
        f"space of its X with {flag} " + "|".join(SPACES)
    )


def load_profiles(
    source: Any, name: str, space: str | None = None, flag: str = "--space"
) -> ProfileSet:
    """A path (any format ``open_profiles`` reads), a ProfileTable, or a ProfileSet.

    ``space`` (``expression``, ``log2`` or ``ln1p``) states a file's value
    space; None takes the one the file records (:func:`recorded_space`), and
    a file that records none is refused with a message naming ``flag``, the
    option that states it.
    """
    if space is not None:
        check_space(space, flag)
    if isinstance(source, ProfileSet):
        if space is not None and space != source.space:
            return ProfileSet(
                source.name, source.genes, source.labels, space, source.table, source.matrix
            )
        return source
    if isinstance(source, (str, os.PathLike)):
        from gexgen.runtime import open_profiles

        path = Path(source)
        # "log2" only keeps open_profiles from guessing; the space is decided below
        table = open_profiles(path, space="log2")
        name = f"{name} {path.name!r}"
        space = space or recorded_space(path, table, flag)
        if space is None:
            raise GexgenError(
                f"cannot tell whether {name} holds expression values, log2(x + 1) or "
                "ln(1 + x): the file records no value space (no gexgen metadata, no "
                f"uns['log1p']); state it with {flag} " + "|".join(SPACES)
            )
        check_space(space, f"the space recorded in {name}")
    else:
        table = source
        space = space or table.space
    if table.n == 0 or len(table.genes) == 0:
        raise GexgenError(f"{name} is empty ({table.n} profiles x {len(table.genes)} genes)")
    labels = table.labels.reset_index(drop=True)
    return ProfileSet(name, list(table.genes), labels, str(space), table=table)


def shared_genes(
    real: ProfileSet, synthetic: ProfileSet
) -> tuple[list[str], np.ndarray | None, np.ndarray | None]:
    """Genes in both sets (real's order) and each set's column indices (None = as is)."""
    in_synth = {g: j for j, g in enumerate(synthetic.genes)}
    genes = [g for g in real.genes if g in in_synth]
    if not genes:
        raise GexgenError(
            f"{real.name} and {synthetic.name} share no genes (real e.g. {real.genes[:3]}, "
            f"synthetic e.g. {synthetic.genes[:3]}); check that both use gene symbols"
        )
    real_index = {g: j for j, g in enumerate(real.genes)}
    r = np.array([real_index[g] for g in genes], dtype=np.int64)
    s = np.array([in_synth[g] for g in genes], dtype=np.int64)
    identity = np.arange(len(genes))
    r_cols = None if len(r) == len(real.genes) and (r == identity).all() else r
    s_cols = None if len(s) == len(synthetic.genes) and (s == identity).all() else s
    return genes, r_cols, s_cols


def default_label_columns(real: ProfileSet, synthetic: ProfileSet) -> list[str]:
    """Condition labels in both sets: shared columns, minus the split and per-row ids."""
    columns = []
    for col in real.labels.columns:
        if col == SPLIT or col not in synthetic.labels.columns:
            continue
        values = real.labels[col]
        if values.nunique(dropna=True) >= max(len(values), 2):
            continue  # a per-sample identifier (barcode), not a condition
        if pd.api.types.is_float_dtype(values):
            continue
        columns.append(str(col))
    return columns


def check_label_columns(sets: Sequence[ProfileSet], columns: Sequence[str]) -> None:
    """Every set has every column, without missing values."""
    for s in sets:
        missing = [c for c in columns if c not in s.labels.columns]
        if missing:
            raise GexgenError(
                f"unknown label(s) {missing} for {s.name}; its labels are "
                f"{[c for c in s.labels.columns if c != SPLIT]}"
            )
        for c in columns:
            n_missing = int(s.labels[c].isna().sum())
            if n_missing:
                raise GexgenError(f"{s.name}: label {c!r} has {n_missing} missing values")


def group_keys(s: ProfileSet, columns: Sequence[str]) -> np.ndarray | None:
    """One label-combination key per row (``"kidney|tumor"``), None without labels."""
    if not columns:
        return None
    return combination_keys(s.labels, list(columns)).to_numpy().astype(str)
