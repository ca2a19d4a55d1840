"""RNAseqDB's file layout: file names, the GTEx <-> TCGA tissue table, one matrix file.

Upstream (mskcc/RNAseqDB) keeps ``configuration/tissue-conf.txt`` and
``data/normalized/<name>-rsem-fpkm-<gtex|tcga|tcga-t>.txt.gz``: tab-separated,
genes as rows (``Hugo_Symbol``, ``Entrez_Gene_Id``, one column per sample).
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError

__all__ = [
    "CONF_PATH",
    "DATA_DIR",
    "RnaseqdbFile",
    "parse_file_name",
    "read_tissue_conf",
    "candidate_files",
    "project_tissues",
    "read_matrix_file",
    "MatrixFile",
]

CONF_PATH = "configuration/tissue-conf.txt"
DATA_DIR = "data/normalized"
_HEADER = ["Hugo_Symbol", "Entrez_Gene_Id"]
_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-rsem-fpkm-(?P<kind>gtex|tcga|tcga-t)\.txt\.gz$")


@dataclass(frozen=True)
class RnaseqdbFile:
    """Labels implied by one file name, e.g. ``kich-rsem-fpkm-tcga-t.txt.gz``."""

    name: str  # file name
    project: str  # GTEx tissue or TCGA project code
    source: str  # "GTEx" or "TCGA"
    status: str  # "normal" or "tumor"


def parse_file_name(file_name: str) -> RnaseqdbFile | None:
    """Labels from an RNAseqDB matrix file name; None for any other file."""
    m = _NAME.match(file_name)
    if m is None:
        return None
    kind = m["kind"]
    return RnaseqdbFile(
        name=file_name,
        project=m["name"],
        source="GTEx" if kind == "gtex" else "TCGA",
        status="tumor" if kind == "tcga-t" else "normal",
    )


def read_tissue_conf(path: Path) -> pd.DataFrame:
    """``tissue-conf.txt`` as a DataFrame with columns ``gtex`` and ``tcga`` (one row a pair)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GexgenError(f"cannot read the tissue table {str(path)!r}: {exc}") from exc
    pairs = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or line.lstrip().startswith("#") or len(fields) < 4:
            continue
        pairs.append((fields[1], fields[3]))
    if not pairs:
        raise GexgenError(
            f"the tissue table {str(path)!r} has no rows; expected "
            "'Cluster GTEx_Tissue GTEx_Batch TCGA_Tissue TCGA_Batch' lines"
        )
    return pd.DataFrame(pairs, columns=["gtex", "tcga"])


def candidate_files(conf: pd.DataFrame) -> list[str]:
    """Every matrix file name the tissue table implies (upstream holds a subset)."""
    names = [f"{t}-rsem-fpkm-gtex.txt.gz" for t in dict.fromkeys(conf["gtex"])]
    for project in dict.fromkeys(conf["tcga"]):
        names += [f"{project}-rsem-fpkm-tcga.txt.gz", f"{project}-rsem-fpkm-tcga-t.txt.gz"]
    return names


def _common_prefix(names: list[str]) -> str:
    """Common ``_``-separated prefix: esophagus_gas/esophagus_muc -> esophagus."""
    parts = [n.split("_") for n in names]
    common = []
    for tokens in zip(*parts):  # noqa: B905 - stops at the shortest name
        if len(set(tokens)) != 1:
            break
        common.append(tokens[0])
    return "_".join(common) or "+".join(sorted(names))


def project_tissues(conf: pd.DataFrame) -> dict[str, str]:
    """TCGA project -> GTEx tissue; a project matched to several gets their common prefix."""
    grouped = conf.groupby("tcga", sort=True)["gtex"].agg(lambda s: list(dict.fromkeys(s)))
    return {p: (t[0] if len(t) == 1 else _common_prefix(t)) for p, t in grouped.items()}


@dataclass
class MatrixFile:
    """Rows of one file kept for the cohort: gene identity and samples x values."""

    symbols: np.ndarray  # (n_rows,) Hugo_Symbol
    entrez: np.ndarray  # (n_rows,) int64 Entrez_Gene_Id
    values: np.ndarray  # (n_rows, n_samples) float64
    barcodes: list[str]
    n_entrez_zero: int


def _prefilter(fh: Any, keep_ids: set[int]) -> tuple[io.StringIO | None, int]:
    """Only the lines whose Entrez field is wanted (~20x less to parse for L1000)."""
    wanted = {str(e) for e in keep_ids}
    kept, n_zero = [], 0
    for line in fh:
        fields = line.split("\t", 2)
        entrez = fields[1].strip() if len(fields) > 1 else ""
        if entrez == "0":
            n_zero += 1
        elif entrez in wanted:
            kept.append(line)
    return (io.StringIO("".join(kept)) if kept else None), n_zero


def read_matrix_file(path: Path, keep_ids: set[int] | None) -> MatrixFile:
    """Read one ``*-rsem-fpkm-*.txt.gz``, keeping rows whose Entrez ID is in ``keep_ids``.

    With ``keep_ids=None`` every row with a real Entrez ID (not 0) is kept.
    Lines are filtered on their Entrez field before parsing (or chunk by chunk
    without ``keep_ids``), so memory stays at the kept rows.
    """
    where = path.name
    symbols, entrez, blocks, n_zero = [], [], [], 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = fh.readline().rstrip("\r\n").split("\t")
            if len(header) < 3 or [h.strip() for h in header[:2]] != _HEADER:
                raise GexgenError(
                    f"{where}: expected a header 'Hugo_Symbol<TAB>Entrez_Gene_Id<TAB>sample...', "
                    f"got {header[:3]}"
                )
            if keep_ids is not None:
                text, n_zero = _prefilter(fh, keep_ids)
            else:
                text = None
        n = len(header)
        if keep_ids is None or text is not None:
            dtypes = {0: str, 1: "Int64", **{i: np.float64 for i in range(2, n)}}
            reader = pd.read_csv(
                path if text is None else text, sep="\t", header=None, names=range(n),
                skiprows=1 if text is None else 0, dtype=dtypes, chunksize=4096,
                na_values=["", "NA", "NaN", "nan"], keep_default_na=False,
            )  # fmt: skip
            for chunk in reader:
                ids = chunk[1]
                if ids.isna().any():
                    raise GexgenError(f"{where}: rows without an Entrez_Gene_Id")
                ids = ids.to_numpy(dtype=np.int64)
                if text is None:
                    n_zero += int((ids == 0).sum())
                keep = ids != 0
                symbols.append(chunk[0].to_numpy(dtype=object)[keep])
                entrez.append(ids[keep])
                blocks.append(chunk.iloc[np.flatnonzero(keep), 2:].to_numpy(dtype=np.float64))
    except GexgenError:
        raise
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise GexgenError(f"cannot read {str(path)!r}: {exc}") from exc
    return MatrixFile(
        symbols=np.concatenate(symbols) if symbols else np.empty(0, dtype=object),
        entrez=np.concatenate(entrez) if entrez else np.empty(0, dtype=np.int64),
        values=np.concatenate(blocks) if blocks else np.empty((0, len(header) - 2)),
        barcodes=[h.strip() for h in header[2:]],
        n_entrez_zero=n_zero,
    )
