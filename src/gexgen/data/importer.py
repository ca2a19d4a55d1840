"""Build a cohort from a user's own matrix: CSV / TSV / parquet / h5ad, samples as rows.

Gene columns must be numeric; label columns are named explicitly (``labels``)
and come from the matrix itself or from a separate labels file whose first
column is the sample id. The output has the same layout as the RNAseqDB
cohort (see ``gexgen.data.cohort``), with a stratified split on all labels.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen._outputs import check_output_file, refuse_input_as_output
from gexgen.data.annotation_columns import warn_annotation_columns
from gexgen.data.assemble import assemble_cohort, summarize_cohort
from gexgen.data.cohort import SPLIT_COLUMN, write_cohort
from gexgen.data.summary import CohortSummary
from gexgen.errors import GexgenError

__all__ = ["import_matrix", "read_table", "MATRIX_FORMATS"]

MATRIX_FORMATS = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".parquet", ".h5ad")


def _format(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(MATRIX_FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return ext.removesuffix(".gz")
    raise GexgenError(
        f"cannot tell the format of {path.name!r}; expected a file ending in "
        f"{', '.join(MATRIX_FORMATS)}"
    )


def _raw_header(path: Path, sep: str) -> list[str]:
    """The header as written (pandas renames duplicate names to 'x.1')."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:  # type: ignore[operator]
        line = fh.readline()
    return next(csv.reader(io.StringIO(line), delimiter=sep), [])


def _check_unique(names: Sequence[Any], what: str, path: Path) -> None:
    index = pd.Index([str(n) for n in names])
    dup = index[index.duplicated()].unique().tolist()
    if dup:
        raise GexgenError(
            f"{path.name}: duplicate {what} {dup[:3]}; every {what.rstrip('s')} must be unique"
        )


def read_table(
    path: str | os.PathLike[str], text_columns: Sequence[str] | None = ()
) -> pd.DataFrame:
    """A samples x columns table (index = sample id) from CSV / TSV / parquet.

    The first column of a text file is the sample id; a parquet file's stored
    index is used when it has one, else its first column. Sample ids and the
    ``text_columns`` of a text file (all columns for None) are kept as the
    strings written (``01`` stays ``01``, not the number 1).
    """
    path = Path(path)
    if not path.is_file():
        raise GexgenError(f"file {str(path)!r} not found")
    fmt = _format(path)
    try:
        if fmt == ".parquet":
            frame = pd.read_parquet(path)
            if isinstance(frame.index, pd.RangeIndex) and frame.shape[1]:
                frame = frame.set_index(frame.columns[0])
            _check_unique(frame.columns, "column names", path)
        else:
            sep = "," if fmt == ".csv" else "\t"
            header = _raw_header(path, sep)
            if not header or header == [""]:
                raise GexgenError(f"{path.name} is empty; expected a header row and samples")
            _check_unique(header[1:], "column names", path)
            keep = header[1:] if text_columns is None else [c for c in text_columns if c in header]
            dtype = {i: str for i, c in enumerate(header) if i == 0 or c in set(keep)}
            frame = pd.read_csv(path, sep=sep, index_col=0, encoding="utf-8-sig", dtype=dtype)
            frame.columns = header[1 : len(frame.columns) + 1]
            _refuse_numeric_ids(frame.index, header[0], path)
    except GexgenError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise GexgenError(f"{path.name} is empty; expected a header row and samples") from exc
    except Exception as exc:  # parser, decoding, arrow errors: all mean "cannot read"
        raise GexgenError(f"cannot read {str(path)!r} as {fmt[1:]}: {exc}") from exc
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        hint = ""
        if fmt != ".parquet" and frame.shape[1] == 0:
            other, name = ("\t", "tabs") if fmt == ".csv" else (",", "commas")
            if (
                other in str(frame.index.name or "")
                or frame.index.astype(str).str.contains(other, regex=False).any()
            ):
                ext = ".tsv" if fmt == ".csv" else ".csv"
                hint = (
                    f"; its columns are separated by {name}, not by "
                    f"{'commas' if fmt == '.csv' else 'tabs'} as {fmt} files are: "
                    f"rename it to end in {ext}"
                )
        raise GexgenError(
            f"{path.name} has no data ({frame.shape[0]} rows x {frame.shape[1]} cols){hint}"
        )
    frame.index = frame.index.map(str)
    _check_unique(frame.index, "sample ids", path)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _refuse_numeric_ids(ids: pd.Index, name: str, path: Path) -> None:
    """The first column is the sample id: refuse one holding fractional numbers (a gene)."""
    values = pd.to_numeric(pd.Series(ids, dtype=object), errors="coerce")
    if len(values) and values.notna().all() and (values % 1 != 0).any():
        example = next(v for v in ids if "." in str(v) or "e" in str(v).lower())
        raise GexgenError(
            f"{path.name}: the first column ({name!r}) is read as the sample ids, but it holds "
            f"fractional numbers such as {example!r} (a gene column?); put the sample ids "
            "first"
        )


def _read_h5ad(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(genes frame, obs frame) from an AnnData file."""
    import anndata

    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:
        raise GexgenError(f"cannot read {str(path)!r} as h5ad: {exc}") from exc
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise GexgenError(f"{path.name} has no data ({adata.n_obs} x {adata.n_vars})")
    _check_unique(adata.obs_names, "sample ids", path)
    _check_unique(adata.var_names, "gene ids", path)
    x = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    genes = pd.DataFrame(x, index=adata.obs_names.astype(str), columns=adata.var_names.astype(str))
    return genes, adata.obs.drop(columns=["split"], errors="ignore")


def _numeric_genes(frame: pd.DataFrame, path: Path) -> np.ndarray:
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        col = frame[bad[0]]
        example = col[pd.to_numeric(col, errors="coerce").isna() & col.notna()].head(1).tolist()
        shown = f" (e.g. {example[0]!r} in {bad[0]!r})" if example else ""
        raise GexgenError(
            f"{path.name}: {len(bad)} non-numeric column(s) {bad[:3]}{shown}; gene columns "
            "must hold numbers: name label columns with --label or drop the others"
        )
    return frame.to_numpy(dtype=np.float64)


def _check_label_names(labels: Sequence[str]) -> None:
    """Each label once, and none named like a column gexgen writes itself."""
    seen: set[str] = set()
    for name in labels:
        if name in seen:
            raise GexgenError(f"--label {name!r} is given twice; name each label column once")
        seen.add(name)
        if name == SPLIT_COLUMN:
            raise GexgenError(
                f"a label column cannot be named {SPLIT_COLUMN!r}: gexgen stores the "
                f"train/test split under that name; rename the column (e.g. to "
                f"'{SPLIT_COLUMN}_label') in your file"
            )


def import_matrix(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    labels: Sequence[str] = (),
    labels_file: str | os.PathLike[str] | None = None,
    log_scaled: bool = False,
    test_fraction: float = 0.3,
    seed: int = 0,
    overwrite: bool = False,
    units: str | None = None,
) -> tuple[Any, CohortSummary]:
    """Build (and optionally write) a cohort from a samples x genes matrix.

    Parameters
    ----------
    path
        CSV / TSV (first column = sample id) / parquet / h5ad.
    labels
        Label column names (in the matrix, the h5ad's obs or ``labels_file``);
        with a labels file and no names, all its columns are labels.
    labels_file
        CSV / TSV / parquet whose first column is the sample id.
    log_scaled
        The values are already log2(x + 1) (negatives allowed).
    overwrite
        Replace an existing ``out`` (else refused before anything is read).
    units
        Units of the raw values (e.g. "TPM"), recorded as ``uns["gexgen"]["units"]``.

    Examples
    --------
    >>> adata, summary = import_matrix(  # doctest: +SKIP
    ...     "expr.csv", "cohort.h5ad", labels=["tissue", "status"])
    """
    path = Path(path)
    if out is not None and Path(out).suffix != ".h5ad":
        raise GexgenError(f"the output must end in .h5ad, got {Path(out).name!r}")
    if out is not None:
        refuse_input_as_output(out, [path, labels_file])
        check_output_file(out, overwrite)
    if not path.is_file():
        raise GexgenError(f"matrix file {str(path)!r} not found")
    _check_label_names(labels)  # before reading anything
    if _format(path) == ".h5ad":
        genes, extra = _read_h5ad(path)
    else:
        genes, extra = read_table(path, text_columns=labels), pd.DataFrame()
    labels = list(labels)
    if labels_file is not None:
        table = read_table(labels_file, text_columns=None)
        labels = labels or list(table.columns)
        lacking = genes.index.difference(table.index)
        if len(lacking):
            raise GexgenError(
                f"{Path(labels_file).name} has no row for {len(lacking)} sample(s) such as "
                f"{lacking[:3].tolist()}; its first column must hold the matrix's sample ids"
            )
        extra = table.loc[genes.index]
    if not labels:
        raise GexgenError(
            "no label columns given; name them with --label COLUMN (repeatable) or --labels FILE"
        )
    _check_label_names(labels)  # those of a labels file too
    obs = pd.DataFrame(index=genes.index)
    for col in labels:
        if col in extra.columns:
            obs[col] = extra[col].to_numpy()
        elif col in genes.columns:
            obs[col] = genes.pop(col).to_numpy()
        else:
            where = "the labels file" if labels_file is not None else path.name
            raise GexgenError(
                f"label column {col!r} not found in {where}; available columns: "
                f"{[*extra.columns, *genes.columns][:8]}"
            )
    from gexgen._names import refuse_duplicate_names

    refuse_duplicate_names(genes.columns, path.name, "gene")
    x = _numeric_genes(genes, path)
    warn_annotation_columns(
        genes.columns, path.name, "drop them, or name them as labels (--label COLUMN / labels=)"
    )
    var = pd.DataFrame(
        {"symbol": list(genes.columns), "entrez_id": pd.array([None] * genes.shape[1], "Int64")},
        index=pd.Index(genes.columns),
    )
    adata = assemble_cohort(
        x, obs, var, stratify=labels, test_fraction=test_fraction, seed=seed,
        log_scaled=log_scaled, what=path.name,
        provenance={"dataset": "imported matrix", "source": str(path),
                    "labels_file": str(labels_file or ""),
                    **({"units": str(units)} if units else {})},
    )  # fmt: skip
    summary = summarize_cohort(
        adata, labels[0], labels[1] if len(labels) > 1 else None,
        source=str(path), out=str(out) if out is not None else None,
    )  # fmt: skip
    if out is not None:
        write_cohort(adata, out, overwrite=overwrite)
    return adata, summary
