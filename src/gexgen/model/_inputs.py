"""What ``fit`` accepts (an AnnData, a DataFrame with label columns, a file) -> a cohort file.

Training reads cohort files (``gexgen.data.cohort``); this module writes one
from in-memory data, keeping a recorded ``obs["split"]`` when there is one and
making the stratified split of ``gexgen data import`` otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.data.annotation_columns import warn_annotation_columns
from gexgen.errors import GexgenError

__all__ = ["write_training_cohort", "is_log2"]

_SPLIT = "split"


def is_log2(adata: Any, log_scaled: bool | None) -> bool:
    """Whether ``adata.X`` is log2(x + 1): ``log_scaled`` when given, else what ``uns`` says.

    ``uns["gexgen"]["log_scaled"]`` (gexgen cohorts) or ``uns["log1p"]["base"] == 2``
    (scanpy) mean log2; scanpy's natural-log ``log1p`` is refused, since the
    generator's ``expression`` output inverts log2.
    """
    if log_scaled is not None:
        return bool(log_scaled)
    uns = adata.uns
    if "log_scaled" in uns.get("gexgen", {}):
        return bool(uns["gexgen"]["log_scaled"])
    if "log1p" in uns:
        base = (uns["log1p"] or {}).get("base")
        if base is not None and float(base) == 2.0:
            return True
        raise GexgenError(
            f"adata.X is log1p-transformed with base {base!r} (uns['log1p']); gexgen trains "
            "on raw expression or log2(x + 1): pass the raw counts/FPKM (e.g. from "
            "adata.raw or a layer) or log2 values with log_scaled=True"
        )
    return False


def _anndata_from_frame(frame: pd.DataFrame, conditions: Sequence[str]) -> Any:
    """Gene columns (numeric) + label columns (+ an optional ``split``) -> AnnData."""
    import anndata

    missing = [c for c in conditions if c not in frame.columns]
    if missing:
        raise GexgenError(
            f"the DataFrame has no label column(s) {missing}; its columns start with "
            f"{[str(c) for c in frame.columns[:6]]}: add them or change conditions="
        )
    keep = [*conditions, *([_SPLIT] if _SPLIT in frame.columns else [])]
    genes = frame.drop(columns=keep)
    bad = [str(c) for c in genes.columns if not pd.api.types.is_numeric_dtype(genes[c])]
    if bad:
        raise GexgenError(
            f"non-numeric column(s) {bad[:3]} in the DataFrame; gene columns must hold "
            f"numbers and the label columns are {list(conditions)}: drop the others"
        )
    warn_annotation_columns(
        genes.columns, "the DataFrame", "drop them, or condition on them (conditions=[...])"
    )
    obs = frame[keep].copy()
    obs.index = frame.index.map(str)
    return anndata.AnnData(
        X=genes.to_numpy(np.float32),
        obs=obs,
        var=pd.DataFrame(index=pd.Index([str(c) for c in genes.columns])),
    )


def write_training_cohort(
    data: Any,
    conditions: Sequence[str],
    folder: Path,
    *,
    log_scaled: bool | None = None,
    units: str | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> Path:
    """A cohort file for ``data``; a path to an ``.h5ad`` cohort is returned as is.

    Parameters
    ----------
    data
        AnnData (samples x genes, labels in ``obs``), DataFrame (gene columns
        and label columns), an ``.h5ad`` cohort path, or a CSV / TSV / parquet
        matrix path (imported as ``gexgen data import`` does).
    conditions
        The label columns.
    folder
        Where to write the cohort (a temporary folder of the model).
    log_scaled
        The values are log2(x + 1); None: read it from ``uns`` (see :func:`is_log2`).
    units
        Expression units recorded with the generator (e.g. "FPKM"); None: ``uns``'s.
    test_fraction, seed
        The stratified split made when the data records none in ``obs["split"]``.
    """
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.suffix == ".h5ad" and log_scaled is None and units is None:
            return path
        from gexgen.data.importer import import_matrix

        if path.suffix != ".h5ad":
            out = folder / "cohort.h5ad"
            import_matrix(
                path, out, labels=list(conditions), log_scaled=bool(log_scaled),
                test_fraction=test_fraction, seed=seed, units=units,
            )  # fmt: skip
            return out
        import anndata

        data = anndata.read_h5ad(path)
    if isinstance(data, pd.DataFrame):
        data = _anndata_from_frame(data, conditions)
    if not (hasattr(data, "X") and hasattr(data, "obs") and hasattr(data, "var")):
        raise GexgenError(
            f"fit() takes an AnnData, a DataFrame with label columns or a cohort path, "
            f"got {type(data).__name__}"
        )
    return _write_anndata_cohort(data, conditions, folder, log_scaled, units, test_fraction, seed)


def _write_anndata_cohort(
    adata: Any,
    conditions: Sequence[str],
    folder: Path,
    log_scaled: bool | None,
    units: str | None,
    test_fraction: float,
    seed: int,
) -> Path:
    from gexgen.data.assemble import assemble_cohort
    from gexgen.data.cohort import write_cohort

    log2 = is_log2(adata, log_scaled)
    missing = [c for c in conditions if c not in adata.obs.columns]
    if missing:
        raise GexgenError(
            f"adata.obs has no label column(s) {missing}; available: "
            f"{list(adata.obs.columns)}: add them or change conditions="
        )
    x = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    symbols = [str(s) for s in adata.var_names]
    entrez = (
        adata.var["entrez_id"].to_numpy()
        if "entrez_id" in adata.var.columns
        else [None] * len(symbols)
    )
    var = pd.DataFrame(
        {"symbol": symbols, "entrez_id": pd.array(entrez, dtype="Int64")},
        index=pd.Index(symbols),
    )
    obs = adata.obs[list(conditions)].copy()
    cohort = assemble_cohort(
        x, obs, var, stratify=list(conditions), test_fraction=test_fraction, seed=seed,
        log_scaled=log2, what="the AnnData",
        provenance={"dataset": "in-memory data given to fit()"},
    )  # fmt: skip
    if _SPLIT in adata.obs.columns:  # keep the recorded split
        split = adata.obs[_SPLIT].astype(str).to_numpy()
        if not set(split) <= {"train", "test"}:
            raise GexgenError(
                f"obs['split'] must hold 'train'/'test', found {sorted(set(split))[:5]}"
            )
        cohort.obs[_SPLIT] = pd.Categorical(split, ["train", "test"])
    units = units if units is not None else adata.uns.get("gexgen", {}).get("units")
    if units is not None:
        cohort.uns["gexgen"]["units"] = str(units)
    return write_cohort(cohort, folder / "cohort.h5ad")
