"""Layout of the profile files that ``gexgen generate`` writes (and readers accept).

One row per profile, one float32 value per gene, plus one categorical column per
condition label. The format follows the output file's extension:

``.parquet``
    one float32 column per gene (in gene order), then one dictionary-encoded
    string column per label; ``schema.metadata[b"gexgen"]`` holds the JSON
    metadata below.
``.h5ad``
    a valid AnnData file: ``X`` dense float32 (profiles x genes), ``obs`` one
    categorical column per label (index ``"syn-<seed>-0"``, ``"syn-<seed>-1"``, ...),
    ``var`` index gene symbols with ``symbol`` and ``entrez_id`` columns,
    ``uns["gexgen"]`` the metadata below (plus ``log_scaled``, as in cohort
    files) and, for log2 values, ``uns["log1p"] = {"base": 2}`` (see
    ``gexgen.runtime.anndata_conventions``).
``.npy``
    a float32 ``.npy`` matrix (profiles x genes), and beside it
    ``<stem>.labels.parquet``: one categorical column per label, one row per
    profile, with the metadata below in its schema metadata (``genes`` lists
    the matrix columns).
``.csv``
    a plain comma-separated table with a header (genes, then labels), and
    beside it ``<stem>.meta.json`` holding the metadata below.
``-`` (stdout, ``gexgen generate --out - --format parquet|csv|npy``)
    parquet as above; csv without its metadata file; npy the matrix alone
    (no labels file).

Metadata (JSON object)::

    {"format": "gexgen-profiles", "format_version": 1, "synthetic": true,
     "space": "expression" | "log2", "units": "FPKM" | "log2(FPKM + 1)", "n": 1000,
     "genes": [...], "entrez_ids": [...] | null, "labels": ["tissue", "status"],
     "seed": 0, "obs_names": "syn-0-<row>", "mean": false, "conditions": "...",
     "gexgen_version": "...",
     "generator": {"file": "generator.onnx", "sha256": "...", "units": "FPKM", ...}}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from gexgen.errors import GexgenError

__all__ = [
    "PROFILE_FORMAT_NAME",
    "PROFILE_FORMAT_VERSION",
    "PROFILE_METADATA_KEY",
    "PROFILE_SUFFIXES",
    "Space",
    "SPACES",
    "labels_sidecar",
    "csv_meta_sidecar",
    "profile_suffix",
]

PROFILE_FORMAT_NAME = "gexgen-profiles"
PROFILE_FORMAT_VERSION = 1
PROFILE_METADATA_KEY = "gexgen"
PROFILE_SUFFIXES = (".parquet", ".h5ad", ".npy", ".csv")

Space = Literal["expression", "log2"]
SPACES: tuple[str, ...] = ("expression", "log2")


def profile_suffix(path: str | os.PathLike[str]) -> str:
    """The output format of ``path`` by its extension; error if not supported."""
    suffix = Path(path).suffix.lower()
    if suffix not in PROFILE_SUFFIXES:
        raise GexgenError(
            f"cannot tell the profile format of {str(path)!r} from its extension "
            f"{Path(path).suffix!r}; use one of {', '.join(PROFILE_SUFFIXES)}"
        )
    return suffix


def labels_sidecar(path: str | os.PathLike[str]) -> Path:
    """``synthetic.npy`` -> ``synthetic.labels.parquet`` (labels + metadata of a .npy)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.labels.parquet")


def csv_meta_sidecar(path: str | os.PathLike[str]) -> Path:
    """``synthetic.csv`` -> ``synthetic.meta.json`` (metadata of a .csv)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.meta.json")
