"""Stream profile chunks into .parquet, .h5ad, .npy or .csv files (layout: ``profile_format``).

Each writer is told the layout up front (:class:`ProfileLayout`: rows, genes,
label vocabularies, metadata), takes row chunks in order and
holds at most one chunk (plus its column-major copy for parquet/csv) in memory.
``profile_writer(path, ...)`` picks the writer by extension and writes under
temporary names that are renamed when the last row is in.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

from gexgen._atomic import atomic_path
from gexgen._h5 import h5_writing
from gexgen.errors import GexgenError
from gexgen.runtime._transpose import transpose_into
from gexgen.runtime.profile_format import (
    PROFILE_METADATA_KEY,
    csv_meta_sidecar,
    labels_sidecar,
    profile_suffix,
)

__all__ = [
    "STDOUT",
    "STREAM_FORMATS",
    "ParquetOptions",
    "ProfileLayout",
    "ProfileWriter",
    "profile_writer",
    "sidecars_of",
    "stream_writer",
]


@dataclass(frozen=True)
class ParquetOptions:
    """How gene columns are encoded in parquet (labels are always dictionary-encoded).

    The defaults were chosen by ``benchmarks/generate_throughput.py``: plain
    float32 pages without dictionary or statistics write fastest; random-looking
    floats barely compress.
    """

    compression: Literal["none", "snappy", "lz4", "zstd"] = "none"  # codec of every column
    byte_stream_split: bool = False  # BYTE_STREAM_SPLIT encoding of gene columns
    statistics: bool = False  # min/max statistics per gene column chunk


@dataclass(frozen=True)
class ProfileLayout:
    """What a writer is told before the first row: the file's rows, genes, labels and metadata.

    Examples
    --------
    >>> ProfileLayout.of(2, ["A", "B"], {"tissue": ["lung"]}, {}).genes
    ('A', 'B')
    """

    n: int  # rows that will be written
    genes: tuple[str, ...]  # gene columns, in order
    label_values: Mapping[str, tuple[str, ...]]  # label name -> its values in code order
    metadata: Mapping[str, Any]  # stored with the file (JSON-able)

    @classmethod
    def of(
        cls,
        n: int,
        genes: Sequence[str],
        label_values: Mapping[str, Sequence[str]],
        metadata: Mapping[str, Any],
    ) -> ProfileLayout:
        """Normalize the parts (strings, tuples) and refuse labels named like genes."""
        layout = cls(
            int(n),
            tuple(str(g) for g in genes),
            {str(k): tuple(str(v) for v in vs) for k, vs in label_values.items()},
            dict(metadata),
        )
        clash = sorted(set(layout.genes) & set(layout.label_values))
        if clash:
            raise GexgenError(
                f"label name(s) {clash} are also gene symbols; a table cannot hold both columns"
            )
        return layout


class ProfileWriter:
    """Base class: ``write(start, values, codes)`` row chunks in order, then ``close()``."""

    def __init__(self, layout: ProfileLayout) -> None:
        self.n = layout.n
        self.genes = list(layout.genes)
        self.label_values = {k: list(vs) for k, vs in layout.label_values.items()}
        self.metadata = dict(layout.metadata)
        self.rows_written = 0

    def write(self, start: int, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> None:
        if start != self.rows_written:
            raise GexgenError(
                f"chunks must come in order: got row {start}, expected {self.rows_written}"
            )
        if values.shape[1:] != (len(self.genes),) or values.dtype != np.float32:
            raise GexgenError(
                f"chunk of shape {values.shape} {values.dtype}, expected "
                f"(rows, {len(self.genes)}) float32"
            )
        if self.rows_written + len(values) > self.n:
            raise GexgenError(f"more than the announced {self.n} rows")
        self._write(values, codes)
        self.rows_written += len(values)

    def _write(self, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self.rows_written != self.n:
            raise GexgenError(f"only {self.rows_written} of {self.n} rows were written")


def _metadata_json(metadata: Mapping[str, Any]) -> bytes:
    return json.dumps(metadata, default=str).encode()


def _float_columns(values: np.ndarray, transposed: np.ndarray) -> list[Any]:
    """pyarrow float32 arrays (zero-copy) over the rows of a column-major copy."""
    import pyarrow as pa

    transpose_into(values, transposed)
    rows = values.shape[0]
    return [
        pa.Array.from_buffers(pa.float32(), rows, [None, pa.py_buffer(column)])
        for column in transposed
    ]


def _label_dictionaries(label_values: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Each label's values as a pyarrow string array (the dictionary of its column).

    Built from buffers: ``pa.array`` imports pandas (~0.3 s at start-up)."""
    import pyarrow as pa

    out = {}
    for name, values in label_values.items():
        encoded = [str(v).encode() for v in values]
        offsets = np.zeros(len(encoded) + 1, np.int32)
        offsets[1:] = np.cumsum([len(e) for e in encoded])
        out[name] = pa.StringArray.from_buffers(
            len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
        )
    return out


def _label_fields(label_values: Mapping[str, Sequence[str]]) -> list[Any]:
    """Dictionary-encoded (int32 -> string) pyarrow fields, one per label."""
    import pyarrow as pa

    return [pa.field(k, pa.dictionary(pa.int32(), pa.string())) for k in label_values]


def _label_columns(codes: Mapping[str, np.ndarray], dictionaries: Mapping[str, Any]) -> list[Any]:
    import pyarrow as pa

    columns = []
    for name, values in dictionaries.items():
        index = np.ascontiguousarray(codes[name], dtype=np.int32)
        indices = pa.Array.from_buffers(pa.int32(), len(index), [None, pa.py_buffer(index)])
        columns.append(pa.DictionaryArray.from_arrays(indices, values))
    return columns


class _ArrowTableWriter(ProfileWriter):
    """Shared by parquet and csv: a chunk becomes an arrow table (genes, then labels)."""

    def __init__(self, layout: ProfileLayout) -> None:
        import pyarrow as pa

        super().__init__(layout)
        self._dictionaries = _label_dictionaries(self.label_values)
        fields = [pa.field(g, pa.float32(), nullable=False) for g in self.genes]
        fields += _label_fields(self.label_values)
        self.schema = pa.schema(
            fields, metadata={PROFILE_METADATA_KEY: _metadata_json(self.metadata)}
        )
        self._transposed: np.ndarray | None = None

    def _table(self, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> Any:
        import pyarrow as pa

        if self._transposed is None or self._transposed.shape[1] < len(values):
            self._transposed = np.empty((len(self.genes), len(values)), np.float32)
        transposed = self._transposed[:, : len(values)]
        if not transposed.flags.c_contiguous:
            transposed = np.empty((len(self.genes), len(values)), np.float32)
        arrays = _float_columns(values, transposed) + _label_columns(codes, self._dictionaries)
        return pa.Table.from_arrays(arrays, schema=self.schema)


class ParquetProfileWriter(_ArrowTableWriter):
    def __init__(
        self, path: Path, layout: ProfileLayout, options: ParquetOptions = ParquetOptions()
    ) -> None:
        import pyarrow.parquet as pq

        super().__init__(layout)
        labels = list(self.label_values)
        self._writer = pq.ParquetWriter(
            path,
            self.schema,
            compression=options.compression,
            use_dictionary=labels,
            column_encoding=(
                {g: "BYTE_STREAM_SPLIT" for g in self.genes} if options.byte_stream_split else None
            ),
            write_statistics=list(self.genes) + labels if options.statistics else labels,
        )

    def _write(self, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> None:
        self._writer.write_table(self._table(values, codes), row_group_size=len(values))

    def close(self) -> None:
        self._writer.close()
        super().close()


class CsvProfileWriter(_ArrowTableWriter):
    def __init__(self, path: Path | BinaryIO, sidecar: Path | None, layout: ProfileLayout) -> None:
        import pyarrow.csv as pacsv

        super().__init__(layout)
        if sidecar is not None:  # None: a stream (stdout) has no place beside it
            sidecar.write_text(json.dumps(self.metadata, indent=1, default=str))
        self._defang_text_cells()
        self._writer = pacsv.CSVWriter(
            path,
            self.schema.remove_metadata(),
            write_options=pacsv.WriteOptions(include_header=True),
        )

    def _defang_text_cells(self) -> None:
        """Gene names, label names and values that could start a formula get a leading '."""
        import pyarrow as pa

        from gexgen._csv_cells import defang

        self._dictionaries = _label_dictionaries(
            {k: [defang(str(v)) for v in vals] for k, vals in self.label_values.items()}
        )
        self.schema = pa.schema(
            [f.with_name(defang(f.name)) for f in self.schema], metadata=self.schema.metadata
        )

    def _write(self, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> None:
        self._writer.write_table(self._table(values, codes))

    def close(self) -> None:
        self._writer.close()
        super().close()


_LABEL_GROUP_ROWS = 1 << 20  # label rows buffered per sidecar row group (4 B per label and row)


class NpyProfileWriter(ProfileWriter):
    """The .npy header, then each chunk's bytes appended; labels to a parquet sidecar
    (none when ``path`` is a stream such as stdout: the matrix only)."""

    def __init__(self, path: Path | BinaryIO, sidecar: Path | None, layout: ProfileLayout) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(layout)
        n = layout.n
        self._path = path
        self._owns_file = isinstance(path, Path)
        self._file = open(path, "wb") if isinstance(path, Path) else path  # noqa: SIM115
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
            "fortran_order": False,
            "shape": (n, len(self.genes)),
        }
        np.lib.format.write_array_header_1_0(self._file, header)
        self._dictionaries = _label_dictionaries(self.label_values)
        schema = pa.schema(
            _label_fields(self.label_values),
            metadata={PROFILE_METADATA_KEY: _metadata_json(self.metadata)},
        )
        self._labels = None if sidecar is None else pq.ParquetWriter(sidecar, schema)
        self._schema = schema
        self._pending: dict[str, list[np.ndarray]] = {k: [] for k in self.label_values}
        self._pending_rows = 0

    def _write(self, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> None:
        if not self._owns_file:  # a stream: tofile needs a real file
            self._file.write(memoryview(np.ascontiguousarray(values, dtype="<f4")).cast("B"))
            return
        # ndarray.tofile measured ~1.4x faster than file.write(memoryview) here
        try:
            np.ascontiguousarray(values, dtype="<f4").tofile(self._file)
        except OSError as exc:
            if exc.errno is None:  # tofile reports a short write without the OS's reason
                try:
                    os.write(self._file.fileno(), b"\0")
                except OSError as reason:  # e.g. ENOSPC: a full disk
                    raise OSError(reason.errno, reason.strerror, str(self._path)) from exc
            raise
        for name, pending in self._pending.items():
            pending.append(np.array(codes[name], dtype=np.int32))
        self._pending_rows += len(values)
        if self._pending_rows >= _LABEL_GROUP_ROWS:
            self._flush_labels()

    def _flush_labels(self) -> None:
        import pyarrow as pa

        codes = {name: np.concatenate(parts) for name, parts in self._pending.items() if parts}
        if codes:
            columns = _label_columns(codes, self._dictionaries)
            self._labels.write_table(pa.Table.from_arrays(columns, schema=self._schema))
        self._pending = {k: [] for k in self.label_values}
        self._pending_rows = 0

    def close(self) -> None:
        if self._owns_file:
            self._file.close()
        else:
            self._file.flush()
        if self._labels is not None:
            self._flush_labels()
            self._labels.close()
        super().close()


class H5adProfileWriter(ProfileWriter):
    """AnnData conventions: :mod:`gexgen.runtime.anndata_conventions`."""

    def __init__(
        self,
        path: Path,
        layout: ProfileLayout,
        entrez_ids: Sequence[int | None] | None = None,
    ) -> None:
        from gexgen.runtime.anndata_conventions import anndata_uns, obs_name_prefix
        from gexgen.runtime.h5ad_io import H5adRowWriter

        super().__init__(layout)
        seed = self.metadata.get("seed")
        # a full disk must be an error, not a segfault at exit (see gexgen._h5)
        self._opened = h5_writing(path)
        self._file = self._opened.__enter__()
        self._rows = H5adRowWriter(
            self._file,
            self.n,
            self.genes,
            entrez_ids,
            self.label_values,
            uns=anndata_uns(self.metadata),
            obs_prefix="" if seed is None else obs_name_prefix(seed),
        )

    def _write(self, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> None:
        self._rows.write_rows(self.rows_written, values, codes)

    def close(self) -> None:
        self._opened.__exit__(None, None, None)
        super().close()

    def abort(self, exc: BaseException) -> None:
        """Close after a failed write without touching the full disk again."""
        self._opened.__exit__(type(exc), exc, exc.__traceback__)


def sidecars_of(path: str | os.PathLike[str]) -> list[Path]:
    """The files written beside ``path`` (the labels of a .npy, the metadata of a .csv)."""
    suffix = profile_suffix(path)
    if suffix == ".npy":
        return [labels_sidecar(path)]
    if suffix == ".csv":
        return [csv_meta_sidecar(path)]
    return []


@contextlib.contextmanager
def profile_writer(
    path: str | os.PathLike[str],
    n: int,
    genes: Sequence[str],
    label_values: Mapping[str, Sequence[str]],
    metadata: Mapping[str, Any],
    entrez_ids: Sequence[int | None] | None = None,
    parquet: ParquetOptions = ParquetOptions(),
    stream_format: str | None = None,
    overwrite: bool = True,
) -> Iterator[ProfileWriter]:
    """Open the writer for ``path``'s extension; files appear only when all n rows are in.

    ``overwrite=False``: the files are only created, never replaced, at the
    rename itself (a file that appeared meanwhile is kept and an error raised).

    ``path`` ``"-"`` streams to stdout in ``stream_format`` (see :func:`stream_writer`).

    Examples
    --------
    >>> with profile_writer("out.parquet", n, genes, vocab, meta) as writer:  # doctest: +SKIP
    ...     writer.write(0, values, codes)
    """
    if str(path) == STDOUT:
        with stream_writer(
            _stdout(), stream_format, n, genes, label_values, metadata, parquet
        ) as writer:
            yield writer
        return
    path = Path(path)
    suffix = profile_suffix(path)
    layout = ProfileLayout.of(n, genes, label_values, metadata)
    with contextlib.ExitStack() as stack:
        excl = not overwrite
        main = stack.enter_context(atomic_path(path, exclusive=excl))
        extra = [
            stack.enter_context(atomic_path(side, exclusive=excl)) for side in sidecars_of(path)
        ]
        if suffix == ".parquet":
            writer: ProfileWriter = ParquetProfileWriter(main, layout, options=parquet)
        elif suffix == ".csv":
            writer = CsvProfileWriter(main, extra[0], layout)
        elif suffix == ".npy":
            writer = NpyProfileWriter(main, extra[0], layout)
        else:
            writer = H5adProfileWriter(main, layout, entrez_ids=entrez_ids)
        try:
            yield writer
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                if isinstance(writer, H5adProfileWriter):
                    writer.abort(exc)
                else:
                    _close_quietly(writer)
            raise
        try:
            writer.close()
        except BaseException as exc:
            if isinstance(writer, H5adProfileWriter):
                with contextlib.suppress(BaseException):
                    writer.abort(exc)
            raise


STDOUT = "-"  # the output path that means standard output
STREAM_FORMATS = ("parquet", "csv", "npy")  # formats that need no seeking


def _stdout() -> BinaryIO:
    import sys

    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None or getattr(buffer, "closed", False):
        raise GexgenError(
            "--out - writes to standard output, but standard output is closed; "
            "redirect it to a file or a pipe (e.g. `> synthetic.parquet`)"
        )
    return buffer


class _CountingSink:
    """A write-only stream that knows its position (parquet asks ``tell`` of a pipe)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.position, self.closed = raw, 0, False

    def write(self, data: Any) -> int:
        written = self.raw.write(data)
        self.position += len(memoryview(data).cast("B"))
        return written if written is not None else self.position

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:  # the underlying stream (stdout) stays open
        self.raw.flush()
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


@contextlib.contextmanager
def stream_writer(
    stream: BinaryIO,
    stream_format: str | None,
    n: int,
    genes: Sequence[str],
    label_values: Mapping[str, Sequence[str]],
    metadata: Mapping[str, Any],
    parquet: ParquetOptions = ParquetOptions(),
) -> Iterator[ProfileWriter]:
    """A writer onto an open binary stream (stdout): parquet, csv or npy, no sidecar.

    csv and parquet hold the labels; npy is the matrix alone (its labels would
    need a second file). The stream is flushed, not closed.
    """
    if stream_format not in STREAM_FORMATS:
        raise GexgenError(
            f"streaming to stdout needs a format: parquet, csv or npy, got {stream_format!r} "
            "(h5ad needs a seekable file); e.g. --out - --format csv"
        )
    layout = ProfileLayout.of(n, genes, label_values, metadata)
    sink = _CountingSink(stream)
    if stream_format == "parquet":
        writer: ProfileWriter = ParquetProfileWriter(sink, layout, options=parquet)  # type: ignore[arg-type]
    elif stream_format == "csv":
        writer = CsvProfileWriter(sink, None, layout)  # type: ignore[arg-type]
    else:
        writer = NpyProfileWriter(sink, None, layout)  # type: ignore[arg-type]
    try:
        yield writer
    except BaseException:
        with contextlib.suppress(Exception):
            _close_quietly(writer)
        raise
    writer.close()
    sink.flush()


def _close_quietly(writer: ProfileWriter) -> None:
    for name in ("_writer", "_file", "_labels"):
        handle = getattr(writer, name, None)
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.close()
