"""The content hash of a cohort, recorded by training and compared by ``check`` (no torch)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from gexgen.data.cohort import SPLIT_COLUMN

__all__ = ["cohort_sha256"]


def cohort_sha256(adata: Any, x: np.ndarray | None = None) -> str:
    """SHA-256 of the cohort's content: X, sample and gene ids, obs labels and split."""
    if x is None:
        x = np.asarray(adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X)
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    h.update("\n".join(map(str, adata.obs_names)).encode())
    h.update("\n".join(map(str, adata.var_names)).encode())
    for col in sorted(adata.obs.columns):
        h.update(col.encode())
        h.update("\n".join(adata.obs[col].astype(str)).encode())
    h.update(SPLIT_COLUMN.encode())
    return h.hexdigest()
