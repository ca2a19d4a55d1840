"""What every synthetic AnnData gexgen writes or returns carries, so scanpy reads it right.

- ``uns["log1p"] = {"base": 2}`` when the values are log2(x + 1) (scanpy's
  ``rank_genes_groups`` fold changes, ``log1p`` guards, read it; without it
  scanpy assumes the natural log);
- ``obs_names`` ``syn-<seed>-<row>``: unique within a generation and across
  generations with different seeds, so ``anndata.concat`` of two batches (or of
  real and synthetic data) keeps distinct names, and every row says it is synthetic;
- ``uns["gexgen"]``: the profile metadata of :mod:`gexgen.runtime.profile_format`,
  with ``synthetic: true`` and ``units`` (e.g. ``"FPKM"`` or ``"log2(FPKM + 1)"``);
- ``var``: index = gene symbols, columns ``symbol`` and ``entrez_id`` (nullable Int64).

The parquet, ``.npy`` and ``.csv`` outputs carry the same metadata
(``synthetic``, ``units``, ``obs_names``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LOG1P_BASE",
    "obs_name_prefix",
    "obs_names",
    "units_of",
    "var_frame",
    "anndata_uns",
    "h5ad_safe",
    "profiles_anndata",
]

LOG1P_BASE = 2  # the log of the "log2" space: uns["log1p"]["base"]


def obs_name_prefix(seed: int) -> str:
    """``syn-<seed>-``: row ``i`` of a generation with this seed is named ``syn-<seed>-<i>``."""
    return f"syn-{int(seed)}-"


def obs_names(seed: int, start: int, stop: int) -> np.ndarray:
    """The names of rows ``start:stop`` (object array of str).

    Examples
    --------
    >>> obs_names(7, 0, 2).tolist()
    ['syn-7-0', 'syn-7-1']
    """
    prefix = obs_name_prefix(seed)
    return np.array([f"{prefix}{i}" for i in range(start, stop)], dtype=object)


def units_of(space: str, units: str | None) -> str:
    """What the values are: ``"FPKM"`` / ``"log2(FPKM + 1)"`` (units None: "expression").

    Examples
    --------
    >>> units_of("log2", "FPKM"), units_of("expression", None)
    ('log2(FPKM + 1)', 'expression (the training cohort units)')
    """
    base = units or "expression"
    if space == "log2":
        return f"log2({base} + 1)"
    return base if units else "expression (the training cohort units)"


def var_frame(genes: Sequence[str], entrez_ids: Sequence[int | None] | None) -> pd.DataFrame:
    """``var``: index gene symbols, ``symbol`` and nullable Int64 ``entrez_id`` columns."""
    import pandas as pd  # imported here: a plain generate to .npy needs no pandas

    symbols = [str(g) for g in genes]
    ids = [None] * len(symbols) if entrez_ids is None else list(entrez_ids)
    return pd.DataFrame(
        {
            "symbol": symbols,
            "entrez_id": pd.array([None if e is None else int(e) for e in ids], dtype="Int64"),
        },
        index=pd.Index(symbols),
    )


def anndata_uns(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``uns`` of a synthetic AnnData: ``gexgen`` (the metadata, in the types ``write_h5ad``
    stores: no None, lists as arrays or JSON text) and ``log1p`` when the space is log2."""
    plain = json.loads(json.dumps(dict(metadata), default=str))
    plain = {k: v for k, v in plain.items() if v is not None and k not in ("genes", "entrez_ids")}
    plain["log_scaled"] = metadata.get("space") == "log2"
    uns: dict[str, Any] = {"gexgen": h5ad_safe(plain)}
    if metadata.get("space") == "log2":
        uns["log1p"] = {"base": LOG1P_BASE}
    return uns


def h5ad_safe(value: Any) -> Any:
    """JSON-like -> what anndata's write_elem stores: no None, lists as arrays or JSON text."""
    if isinstance(value, dict):
        return {str(k): h5ad_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return np.array(value, dtype=object)
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return np.array(value)
        return json.dumps(value)
    return value


def profiles_anndata(
    matrix: np.ndarray,
    labels: pd.DataFrame,
    genes: Sequence[str],
    entrez_ids: Sequence[int | None] | None,
    metadata: Mapping[str, Any],
) -> Any:
    """An in-memory AnnData of generated profiles with the conventions above.

    ``metadata`` is the profile metadata (``space``, ``seed``, ``units`` ...);
    it becomes ``uns["gexgen"]`` (without the gene list, which is ``var``).
    """
    import anndata
    import pandas as pd

    obs = labels.copy()
    obs.index = pd.Index(obs_names(int(metadata.get("seed", 0)), 0, len(matrix)))
    return anndata.AnnData(
        X=np.asarray(matrix, dtype=np.float32),
        obs=obs,
        var=var_frame(genes, entrez_ids),
        uns=anndata_uns(metadata),
    )
