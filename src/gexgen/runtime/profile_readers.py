"""Read profile files (every format ``gexgen generate`` writes) and cohort ``.h5ad`` files.

``open_profiles(path)`` returns a :class:`ProfileTable` that reads the matrix in
row chunks without loading it whole: ``.npy`` by plain reads (a memory map for
random rows), ``.parquet`` by record batches, ``.h5ad`` by h5py slices, ``.csv``
by streaming blocks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen._csv_cells import defang, undefang
from gexgen._names import refuse_duplicate_names
from gexgen.errors import GexgenError
from gexgen.runtime.profile_format import (
    PROFILE_METADATA_KEY,
    Space,
    csv_meta_sidecar,
    labels_sidecar,
    profile_suffix,
)
from gexgen.runtime.profile_table import ProfileTable, Rows, row_index

__all__ = ["ProfileTable", "open_profiles"]


def open_profiles(path: str | os.PathLike[str], space: Space | None = None) -> ProfileTable:
    """Open a profile file (.parquet, .h5ad, .npy, .csv) or a cohort ``.h5ad`` for reading.

    Parameters
    ----------
    path
        The file written by ``gexgen generate`` (or a cohort file, or any table
        of float gene columns plus string label columns).
    space
        Override the recorded scale; needed only for foreign files that record
        none (then the scale is guessed: values above 64 mean ``"expression"``).

    Examples
    --------
    >>> table = open_profiles("synthetic.parquet")  # doctest: +SKIP
    >>> for block in table.iter_chunks(65_536):  # doctest: +SKIP
    ...     ...
    """
    path = Path(path)
    suffix = profile_suffix(path)
    if not path.is_file():
        raise GexgenError(f"profile file {str(path)!r} not found")
    readers = {".npy": _NpyTable, ".parquet": _ParquetTable, ".h5ad": _H5adTable, ".csv": _CsvTable}
    try:
        table = readers[suffix](path)
    except GexgenError:
        raise
    except Exception as exc:  # pyarrow/h5py/numpy raise many types on damaged files
        raise GexgenError(f"cannot read {str(path)!r} as a {suffix} profile file: {exc}") from exc
    table.space = space or table.space or _guess_space(table)  # type: ignore[assignment]
    if table.space not in ("expression", "log2"):
        raise GexgenError(f"space must be 'expression' or 'log2', got {table.space!r}")
    return table


def _guess_space(table: ProfileTable) -> Space:
    first = next(iter(table.iter_chunks(4096)), np.zeros((0, 0), np.float32))
    return "expression" if first.size and float(np.nanmax(first)) > 64 else "log2"


_READ_BATCH = 65_536  # rows per parquet record batch when row groups are larger
_MAX_ROW_GROUP = 131_072  # row groups up to this size are read whole (faster decoding)


def _columns_into(batch: Any, staging: np.ndarray) -> np.ndarray:
    """An arrow batch/table of numeric columns -> ``staging[:, :rows]`` (genes x rows float32).

    Each column is copied once (nulls become NaN); the caller transposes the
    result into its row-major block. With whole row groups, reading 1M x 975
    float32 took ~6 s this way against 13-16 s with arrow's
    ``to_tensor(row_major=True)`` on 8,192-row batches.
    """
    rows = batch.num_rows
    for j, column in enumerate(batch.columns):
        offset = 0
        for part in getattr(column, "chunks", (column,)):
            staging[j, offset : offset + len(part)] = part.to_numpy(zero_copy_only=False)
            offset += len(part)
    return staging[:, :rows]


def _assemble_rows(batches: Iterator[Any], n: int, chunk_rows: int) -> Iterator[np.ndarray]:
    """Arrow record batches (or tables) -> new float32 blocks of ``chunk_rows`` rows (last shorter).

    Columns are gathered column-major in a reused staging buffer, then copied
    into the row-major block in cache-sized pieces (:func:`transpose_into`);
    only the yielded blocks are new allocations.
    """
    from gexgen.runtime._transpose import transpose_into

    out: np.ndarray | None = None
    staging: np.ndarray | None = None
    filled = start = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if staging is None or staging.shape[1] < batch.num_rows:
            staging = np.empty((batch.num_columns, batch.num_rows), np.float32)
        columns = _columns_into(batch, staging)
        position = 0
        while position < batch.num_rows:
            if out is None:
                out = np.empty((min(chunk_rows, n - start), batch.num_columns), np.float32)
                filled = 0
            take = min(batch.num_rows - position, len(out) - filled)
            if take <= 0:
                raise GexgenError(f"the table holds more rows than the {n} it announces")
            transpose_into(columns[:, position : position + take], out[filled : filled + take])
            position += take
            filled += take
            if filled == len(out):
                yield out
                start += filled
                out = None
    if out is not None:
        raise GexgenError(f"the table holds {start + filled} rows, not the {n} it announces")


def _gexgen_json(raw: bytes | str | None, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except RecursionError:
        raise GexgenError(f"the gexgen metadata in {where} is nested too deeply") from None
    except ValueError as exc:
        raise GexgenError(f"the gexgen metadata in {where} is not valid JSON: {exc}") from exc
    return value if isinstance(value, dict) else {}


class _NpyTable(ProfileTable):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._matrix = np.load(path, mmap_mode="r")
        if self._matrix.ndim != 2:
            raise GexgenError(f"{str(path)!r} holds a {self._matrix.ndim}-d array, expected 2-d")
        self.n = int(self._matrix.shape[0])
        sidecar = labels_sidecar(path)
        self.metadata = {}
        self._sidecar = sidecar if sidecar.is_file() else None
        if self._sidecar is not None:
            import pyarrow.parquet as pq

            schema_meta = pq.read_schema(self._sidecar).metadata or {}
            self.metadata = _gexgen_json(
                schema_meta.get(PROFILE_METADATA_KEY.encode()), str(self._sidecar)
            )
        n_genes = int(self._matrix.shape[1])
        self.genes = refuse_duplicate_names(
            self.metadata.get("genes") or [f"gene_{j}" for j in range(n_genes)], str(path), "gene"
        )
        if len(self.genes) != n_genes:
            raise GexgenError(
                f"{str(path)!r} has {n_genes} columns but its sidecar lists "
                f"{len(self.genes)} genes; rewrite both files together"
            )
        self.space = self.metadata.get("space")  # type: ignore[assignment]

    @cached_property
    def labels(self) -> pd.DataFrame:
        if self._sidecar is None:
            return pd.DataFrame(index=pd.RangeIndex(self.n))
        import pyarrow.parquet as pq

        table = pq.read_table(self._sidecar)
        if table.num_columns == 0:
            return pd.DataFrame(index=pd.RangeIndex(self.n))
        labels = table.to_pandas()
        if len(labels) != self.n:
            raise GexgenError(
                f"{str(self._sidecar)!r} has {len(labels)} rows, the matrix "
                f"{self.n}; rewrite both files together"
            )
        return labels.reset_index(drop=True)

    def _chunks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        # plain reads into new arrays rather than slices of the memory map: the map's
        # pages would stay in this process's RSS until the whole file had been read
        matrix = self._matrix
        if matrix.dtype != np.dtype("<f4") or not matrix.flags.c_contiguous:
            for start in range(0, self.n, chunk_rows):
                yield np.array(matrix[start : start + chunk_rows], dtype=np.float32)
            return
        with open(self.path, "rb") as handle:
            handle.seek(matrix.offset)
            for start in range(0, self.n, chunk_rows):
                block = np.empty((min(chunk_rows, self.n - start), matrix.shape[1]), np.float32)
                view = memoryview(block).cast("B")
                done = 0
                while done < len(view):
                    got = handle.readinto(view[done:])
                    if not got:
                        raise GexgenError(
                            f"{str(self.path)!r} ends before its "
                            f"{self.n} x {matrix.shape[1]} header says"
                        )
                    done += got
                del view
                yield block

    def read(self, rows: Rows = None) -> np.ndarray:
        index = row_index(rows, self.n)
        return np.array(self._matrix[index], dtype=np.float32)


class _ParquetTable(ProfileTable):
    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        self._file = pq.ParquetFile(path)
        schema = self._file.schema_arrow
        self.metadata = _gexgen_json(
            (schema.metadata or {}).get(PROFILE_METADATA_KEY.encode()), str(path)
        )
        refuse_duplicate_names(schema.names, str(path))
        floats = [f.name for f in schema if pa.types.is_floating(f.type)]
        self.genes = refuse_duplicate_names(self.metadata.get("genes") or floats, str(path), "gene")
        self._label_columns = [f.name for f in schema if f.name not in set(self.genes)]
        self.n = int(self._file.metadata.num_rows)
        self.space = self.metadata.get("space")  # type: ignore[assignment]

    @cached_property
    def labels(self) -> pd.DataFrame:
        if not self._label_columns:
            return pd.DataFrame(index=pd.RangeIndex(self.n))
        table = self._file.read(columns=self._label_columns)
        return table.to_pandas().reset_index(drop=True)

    def _chunks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        meta = self._file.metadata
        groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        if groups and max(groups) <= _MAX_ROW_GROUP:  # whole row groups decode fastest
            batches: Iterator[Any] = (
                self._file.read_row_group(i, columns=self.genes, use_threads=True)
                for i in range(len(groups))
            )
        else:
            batches = self._file.iter_batches(
                batch_size=_READ_BATCH, columns=self.genes, use_threads=True
            )
        yield from _assemble_rows(batches, self.n, chunk_rows)


class _H5adTable(ProfileTable):
    def __init__(self, path: Path) -> None:
        import h5py

        from gexgen.runtime.h5ad_io import read_uns, read_var_names, x_shape

        self.path = path
        with h5py.File(path, "r") as file:
            if "X" not in file or "obs" not in file or "var" not in file:
                raise GexgenError(f"{str(path)!r} is not an AnnData file (no X/obs/var)")
            self.n, n_genes = x_shape(file)
            self.genes = refuse_duplicate_names(read_var_names(file), str(path), "gene")
            self.metadata = read_uns(file)
        if len(self.genes) != n_genes:
            raise GexgenError(f"{str(path)!r}: var has {len(self.genes)} rows, X {n_genes} cols")
        space = self.metadata.get("space")
        if space is None and "log_scaled" in self.metadata:
            space = "log2" if self.metadata["log_scaled"] else "expression"
        self.space = space  # type: ignore[assignment]

    @cached_property
    def labels(self) -> pd.DataFrame:
        import h5py

        from gexgen.runtime.h5ad_io import read_obs

        generated = self.metadata.get("format") == "gexgen-profiles"
        with h5py.File(self.path, "r") as file:
            return read_obs(file, with_index=not generated)

    def _chunks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        import h5py

        from gexgen.runtime.h5ad_io import read_x_rows

        with h5py.File(self.path, "r") as file:
            for start in range(0, self.n, chunk_rows):
                yield read_x_rows(file, slice(start, min(start + chunk_rows, self.n)))

    def read(self, rows: Rows = None) -> np.ndarray:
        import h5py

        from gexgen.runtime.h5ad_io import read_x_rows

        index = row_index(rows, self.n)
        if isinstance(index, slice) and index.step in (None, 1):
            with h5py.File(self.path, "r") as file:
                return read_x_rows(file, index)
        return super().read(rows)


def _csv_header(path: Path) -> list[str]:
    """The header row as written (pandas renames a repeated name to ``name.1``)."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        return next(csv.reader(handle), [])


class _CsvTable(ProfileTable):
    def __init__(self, path: Path) -> None:
        self.path = path
        sidecar = csv_meta_sidecar(path)
        self.metadata = {}
        if sidecar.is_file():
            self.metadata = _gexgen_json(sidecar.read_text(), str(sidecar))
        header = pd.read_csv(path, nrows=16)
        numeric = [str(c) for c in header.columns if pd.api.types.is_numeric_dtype(header[c])]
        refuse_duplicate_names(_csv_header(path), str(path))
        if self.metadata.get("genes"):  # the names as written: a formula start got a quote
            self.genes = refuse_duplicate_names(self.metadata["genes"], str(path), "gene")
            self._gene_columns = [defang(g) for g in self.genes]
        else:
            self._gene_columns = refuse_duplicate_names(numeric, str(path), "gene")
            self.genes = [undefang(g) for g in self._gene_columns]
        columns = set(self._gene_columns)
        self._label_columns = [str(c) for c in header.columns if str(c) not in columns]
        self.n = int(self.metadata["n"]) if "n" in self.metadata else self._count_rows()
        self.space = self.metadata.get("space")  # type: ignore[assignment]

    def _count_rows(self) -> int:
        with open(self.path, "rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))
            handle.seek(-1, os.SEEK_END)
            ends_with_newline = handle.read(1) == b"\n"
        return lines - 1 + (0 if ends_with_newline else 1)

    def _reader(self, columns: list[str], types: dict[str, Any]) -> Any:
        import pyarrow.csv as pacsv

        return pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(column_types=types, include_columns=columns),
        )

    @cached_property
    def labels(self) -> pd.DataFrame:
        import pyarrow as pa

        if not self._label_columns:
            return pd.DataFrame(index=pd.RangeIndex(self.n))
        reader = self._reader(self._label_columns, {c: pa.string() for c in self._label_columns})
        frame = reader.read_all().to_pandas()
        for column in frame.columns:
            values = frame[column].astype("category")
            frame[column] = values.cat.rename_categories(
                [undefang(str(v)) for v in values.cat.categories]
            )
        frame.columns = [undefang(str(c)) for c in frame.columns]
        return frame.reset_index(drop=True)

    def _chunks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        import pyarrow as pa

        columns = self._gene_columns
        reader = self._reader(columns, {g: pa.float32() for g in columns})
        yield from _assemble_rows(iter(reader), self.n, chunk_rows)
