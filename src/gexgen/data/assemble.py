"""Check a samples x genes matrix with its labels and turn it into a cohort AnnData."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gexgen import __version__
from gexgen.data.cohort import SPLIT_COLUMN
from gexgen.data.split import stratified_split
from gexgen.data.summary import CohortSummary
from gexgen.errors import GexgenError

__all__ = ["assemble_cohort", "check_values", "strip_label_values", "summarize_cohort"]


def _first(items: Sequence[Any], n: int = 3) -> str:
    shown = ", ".join(repr(x) for x in list(items)[:n])
    return shown + (", ..." if len(items) > n else "")


def check_values(x: np.ndarray, genes: Sequence[str], what: str, log_scaled: bool) -> None:
    """Raise a one-line GexgenError for NaN/inf, or negatives in raw (not log) data."""
    bad = ~np.isfinite(x)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        raise GexgenError(
            f"{what} has {int(bad.sum())} NaN or infinite value(s) in gene(s) "
            f"{_first([genes[i] for i in cols])}; fill or drop them"
        )
    limit = float(np.finfo(np.float32).max)
    too_big = np.abs(x) > limit
    if too_big.any():
        cols = np.flatnonzero(too_big.any(axis=0))
        raise GexgenError(
            f"{what} has {int(too_big.sum())} value(s) beyond the float32 range (|x| > "
            f"{limit:.3g}) in gene(s) {_first([genes[i] for i in cols])}, which the cohort "
            "stores as float32 (they would become infinite); rescale or drop them"
        )
    if not log_scaled and (x < 0).any():
        cols = np.flatnonzero((x < 0).any(axis=0))
        raise GexgenError(
            f"{what} has negative values in gene(s) {_first([genes[i] for i in cols])} "
            "but raw expression must be >= 0; if the data is already log2(x + 1) "
            "scaled, declare it with --log-scaled"
        )


def _check_unique(ids: pd.Index, what: str, fix: str) -> None:
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise GexgenError(f"duplicate {what}: {_first(dup.tolist())}; {fix}")


def strip_label_values(column: pd.Series, name: str, what: str = "the matrix") -> pd.Series:
    """Label values as text without surrounding spaces; refuse two that then coincide.

    ``--condition tissue=lung`` is matched against these stripped values, so
    ``"  lung"`` and ``"lung"`` must not both exist as different labels.

    Examples
    --------
    >>> strip_label_values(pd.Series([" lung", "kidney "]), "tissue").tolist()
    ['lung', 'kidney']
    """
    text = column.astype(str)
    stripped = text.str.strip()
    changed = text != stripped
    if changed.any():
        pairs = pd.DataFrame({"raw": text, "stripped": stripped}).drop_duplicates()
        clash = pairs.groupby("stripped")["raw"].nunique()
        clash = clash[clash > 1]
        if len(clash):
            value = clash.index[0]
            variants = sorted(pairs.loc[pairs["stripped"] == value, "raw"].tolist())
            raise GexgenError(
                f"{what}: label {name!r} has values that differ only by surrounding spaces "
                f"({_first(variants)}); gexgen strips them, so they would merge: make them "
                "identical or distinct in the file"
            )
        if (stripped == "").any():
            raise GexgenError(
                f"{what}: label {name!r} has values made only of spaces; fill or drop them"
            )
    return stripped


def assemble_cohort(
    x: np.ndarray,
    obs: pd.DataFrame,
    var: pd.DataFrame,
    *,
    stratify: Sequence[str],
    test_fraction: float = 0.3,
    seed: int = 0,
    log_scaled: bool = False,
    provenance: dict[str, Any] | None = None,
    what: str = "the matrix",
) -> Any:
    """Validated cohort AnnData with a recorded stratified split.

    Parameters
    ----------
    x
        samples x genes values in the input's units.
    obs
        Labels, index = sample id; ``stratify`` names the columns the split balances.
    var
        Index = gene symbol; columns ``symbol`` and ``entrez_id``.
    log_scaled
        True when ``x`` is already log2(x + 1) (negatives then allowed).
    provenance
        Extra entries for ``uns["gexgen"]``.
    """
    import anndata

    x = np.asarray(x)
    if x.ndim != 2 or x.shape != (len(obs), len(var)) or 0 in x.shape:
        raise GexgenError(
            f"{what} is empty or misshaped: {x.shape} for {len(obs)} samples x {len(var)} genes"
        )
    if not np.issubdtype(x.dtype, np.number):
        raise GexgenError(f"{what} has non-numeric values (dtype {x.dtype})")
    _check_unique(pd.Index(obs.index), "sample id(s)", "sample ids must be unique")
    _check_unique(pd.Index(var.index), "gene id(s)", "gene columns must be unique")
    check_values(x, [str(g) for g in var.index], what, log_scaled)
    if SPLIT_COLUMN in obs.columns:
        raise GexgenError(
            f"a label column cannot be named {SPLIT_COLUMN!r}: gexgen stores the train/test "
            f"split under that name; rename the column (e.g. to '{SPLIT_COLUMN}_label')"
        )
    for col in stratify:
        if col not in obs.columns:
            raise GexgenError(f"label column {col!r} not found; available: {list(obs.columns)}")
        if obs[col].isna().any():
            rows = np.flatnonzero(obs[col].isna().to_numpy())
            raise GexgenError(
                f"label column {col!r} has {len(rows)} missing value(s) in sample(s) "
                f"{_first(obs.index[rows].tolist())} (empty cells and text such as NA, "
                "N/A, None, NaN or null are read as missing); fill or drop them"
            )
    obs = obs.copy()
    for col in stratify:
        obs[col] = strip_label_values(obs[col], col, what)
    is_test = stratified_split(obs, list(stratify), test_fraction=test_fraction, seed=seed)

    obs.index = obs.index.astype(str)
    obs.index.name = None
    labels = [c for c in obs.columns if c != "barcode"]
    for col in labels:
        obs[col] = strip_label_values(obs[col], col, what).astype("category")
    obs[SPLIT_COLUMN] = pd.Categorical(np.where(is_test, "test", "train"), ["train", "test"])
    var = var.copy()
    var.index = var.index.astype(str)
    var.index.name = None
    var["symbol"] = var["symbol"].astype(str)
    var["entrez_id"] = pd.array(var["entrez_id"], dtype="Int64")
    uns = {
        "gexgen_version": __version__,
        "log_scaled": bool(log_scaled),
        "label_columns": labels,
        "split": {
            "seed": int(seed),
            "test_fraction": float(test_fraction),
            "stratify": list(stratify),
        },
        **(provenance or {}),
    }
    return anndata.AnnData(X=x.astype(np.float32), obs=obs, var=var, uns={"gexgen": uns})


def summarize_cohort(adata: Any, rows: str, cols: str | None = None, **extra: Any) -> CohortSummary:
    """Counts per ``rows`` x ``cols`` label (e.g. tissue x status) and split sizes."""
    obs = adata.obs
    if cols is None:
        counts = obs[rows].astype(str).value_counts().sort_index().to_frame("samples")
        counts.index.name = rows
    else:
        counts = pd.crosstab(obs[rows].astype(str), obs[cols].astype(str))
    split = obs[SPLIT_COLUMN].astype(str)
    return CohortSummary(
        n_samples=int(adata.n_obs),
        n_genes=int(adata.n_vars),
        counts=counts,
        n_train=int((split == "train").sum()),
        n_test=int((split == "test").sum()),
        **extra,
    )
