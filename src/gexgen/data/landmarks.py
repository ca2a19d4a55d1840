"""Read a landmark (gene panel) file: L1000 TSV, L1000 probes CSV or LINCS gene_info.

All formats are reduced to one table with columns ``entrez_id`` (int) and
``symbol`` (str), in file order; genes are later joined on the Entrez ID
because symbols change over time (e.g. CD97 -> ADGRE5).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from gexgen.errors import GexgenError

__all__ = ["read_landmarks", "ENTREZ_COLUMNS", "SYMBOL_COLUMNS"]

# Recognized header names, compared case-insensitively with spaces/underscores removed.
ENTREZ_COLUMNS = ("Entrez ID", "Entrez Gene ID", "entrez_id", "Entrez_Gene_Id", "pr_gene_id")
SYMBOL_COLUMNS = ("Symbol", "Gene Symbol", "pr_gene_symbol", "Hugo_Symbol", "gene_symbol")
_LANDMARK_FLAG = "pr_is_lm"  # LINCS gene_info: 1 for the 978 landmark genes


def _norm(name: str) -> str:
    return str(name).lower().replace(" ", "").replace("_", "")


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    wanted = {_norm(c) for c in candidates}
    return next((c for c in columns if _norm(c) in wanted), None)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise GexgenError(f"cannot read landmark file {str(path)!r}: {exc}") from exc
    if not first.strip():
        raise GexgenError(f"landmark file {str(path)!r} is empty; expected a gene table")
    sep = "\t" if "\t" in first else ","
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise GexgenError(f"cannot parse landmark file {str(path)!r}: {exc}") from exc


def read_landmarks(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Landmark genes as a DataFrame with ``entrez_id`` (int64) and ``symbol`` columns.

    Parameters
    ----------
    path
        ``landmark_genes.tsv`` (``Entrez ID``, ``Symbol``), ``landmark_genes_probes.csv``
        (``Entrez Gene ID``, ``Gene Symbol``) or LINCS ``gene_info`` (``pr_gene_id``,
        ``pr_gene_symbol``, ``pr_is_lm``; only rows with ``pr_is_lm == 1`` are kept).

    Returns
    -------
    pandas.DataFrame
        One row per distinct Entrez ID, in file order (a repeated ID keeps its first row).

    Examples
    --------
    >>> lm = read_landmarks("l1000/landmark_genes.tsv")  # doctest: +SKIP
    >>> lm.columns.tolist()                               # doctest: +SKIP
    ['entrez_id', 'symbol']
    """
    path = Path(path)
    if not path.is_file():
        raise GexgenError(f"landmark file {str(path)!r} not found")
    table = _read_table(path)
    columns = [str(c) for c in table.columns]
    id_col = _find(columns, ENTREZ_COLUMNS)
    if id_col is None:
        raise GexgenError(
            f"landmark file {str(path)!r} has no recognizable Entrez ID column "
            f"(columns: {columns[:8]}); expected one of {list(ENTREZ_COLUMNS)}"
        )
    sym_col = _find(columns, SYMBOL_COLUMNS)
    flag_col = _find(columns, (_LANDMARK_FLAG,))
    if flag_col is not None:
        table = table[table[flag_col].str.strip().str.lower().isin({"1", "true", "1.0"})]
    ids = table[id_col].str.strip()
    # rows without an ID continue the previous gene (e.g. extra Ensembl IDs in the probes CSV)
    table, ids = table[ids != ""], ids[ids != ""]
    ok = ids.str.fullmatch(r"\d+(\.0+)?")
    if not ok.all() or len(ids) == 0:
        bad = ids[~ok].head(3).tolist()
        what = f"non-integer IDs such as {bad}" if bad else "no rows"
        raise GexgenError(
            f"landmark file {str(path)!r}: column {id_col!r} has {what}; "
            "expected integer Entrez gene IDs"
        )
    out = pd.DataFrame(
        {
            "entrez_id": ids.str.replace(r"\.0+$", "", regex=True).astype("int64").to_numpy(),
            "symbol": (table[sym_col].str.strip() if sym_col else ids).to_numpy(),
        }
    )
    # a gene without a symbol is named by its Entrez ID
    out.loc[out["symbol"] == "", "symbol"] = out["entrez_id"].astype(str)
    return out.drop_duplicates("entrez_id", keep="first").reset_index(drop=True)
