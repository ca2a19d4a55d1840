"""The cohort file: one AnnData ``.h5ad`` that every later step reads.

Layout (written by ``gexgen data rnaseqdb`` / ``gexgen data import``):

- ``X``: samples x genes, float32, in the input's units (raw expression, or
  log2(x + 1) when ``uns["gexgen"]["log_scaled"]`` is true);
- ``obs``: index = sample id; one categorical column per label (``tissue``,
  ``status``, ``source``, ``project`` for RNAseqDB) and ``split`` in
  {"train", "test"};
- ``var``: index = gene symbol; columns ``symbol`` and ``entrez_id``
  (Int64, may be missing for imported data); RNAseqDB cohorts add
  ``source_symbol`` (the symbol in the data files, e.g. CD97 for ADGRE5);
- ``uns["gexgen"]``: provenance (source, files, landmark file, gexgen
  version, log_scaled), ``label_columns`` (the condition labels; ``barcode``
  is an id, not a label) and ``uns["gexgen"]["split"]``: seed, test_fraction,
  stratify columns. Lists come back from h5ad as numpy arrays.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen._atomic import atomic_path
from gexgen._h5 import write_anndata
from gexgen.errors import GexgenError

__all__ = [
    "SPLIT_COLUMN",
    "read_cohort",
    "write_cohort",
    "cohort_split",
    "is_log_scaled",
    "label_columns",
]

SPLIT_COLUMN = "split"


def write_cohort(adata: Any, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Write an AnnData cohort atomically (temporary name, then rename).

    ``overwrite=False``: the rename only creates ``path`` (a file another
    process wrote there meanwhile is kept, and an error raised).
    """
    path = Path(path)
    if path.suffix != ".h5ad":
        raise GexgenError(f"a cohort file must end in .h5ad, got {path.name!r}")
    with atomic_path(path, exclusive=not overwrite) as tmp:
        write_anndata(adata, tmp)  # = adata.write_h5ad(tmp); a full disk is an error, not a crash
    return path


_MATRIX_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".gz")  # what `gexgen data import` reads


def read_cohort(path: str | os.PathLike[str], require: Sequence[str] = ()) -> Any:
    """Read and check a cohort ``.h5ad``; ``require`` names obs columns that must exist."""
    import anndata

    path = Path(path)
    if not path.is_file():
        raise GexgenError(f"cohort file {str(path)!r} not found; build one with `gexgen data`")
    if path.suffix.lower() in _MATRIX_SUFFIXES:
        raise GexgenError(
            f"{str(path)!r} is a {path.suffix} matrix, not a cohort .h5ad; make a cohort "
            f"first: gexgen data import {str(path)} --label tissue --label status "
            "--out cohort.h5ad (or fit the object API on it: CVAE().fit(path))"
        )
    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:  # h5py raises OSError/KeyError on damaged files
        raise GexgenError(
            f"cannot read {str(path)!r} as an .h5ad cohort: {exc}; a samples x genes matrix "
            "becomes one with gexgen data import"
        ) from exc
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise GexgenError(f"cohort {str(path)!r} is empty ({adata.n_obs} x {adata.n_vars})")
    from gexgen._names import refuse_duplicate_names

    refuse_duplicate_names(adata.var_names, f"cohort {str(path)!r}", "gene")
    missing = [c for c in require if c not in adata.obs.columns]
    if missing:
        raise GexgenError(
            f"cohort {str(path)!r} has no label column(s) {missing}; "
            f"available: {list(adata.obs.columns)}"
        )
    return adata


def cohort_split(adata: Any) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test) from the recorded ``obs["split"]`` column."""
    if SPLIT_COLUMN not in adata.obs.columns:
        raise GexgenError(
            "the cohort has no recorded train/test split (obs['split']); "
            "rebuild it with `gexgen data` which records one"
        )
    split = adata.obs[SPLIT_COLUMN].astype(str).to_numpy()
    bad = sorted(set(split) - {"train", "test"})
    if bad:
        raise GexgenError(f"obs['split'] must hold 'train'/'test', found {bad}")
    return np.flatnonzero(split == "train"), np.flatnonzero(split == "test")


def is_log_scaled(adata: Any) -> bool:
    """True when the cohort's X is already log2(x + 1) scaled."""
    return bool(adata.uns.get("gexgen", {}).get("log_scaled", False))


def label_columns(adata: Any) -> list[str]:
    """The label columns of ``obs``: ``uns["gexgen"]["label_columns"]`` when recorded
    (the builders record it; it leaves out per-sample ids such as ``barcode``),
    else every categorical/string column but the split."""
    recorded = adata.uns.get("gexgen", {}).get("label_columns")
    if recorded is not None:
        return [str(c) for c in recorded if c in adata.obs.columns]
    return [
        c
        for c in adata.obs.columns
        if c != SPLIT_COLUMN
        and (isinstance(adata.obs[c].dtype, pd.CategoricalDtype) or adata.obs[c].dtype == object)
    ]
