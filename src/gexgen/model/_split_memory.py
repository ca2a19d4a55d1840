"""The train/test split a model was fitted with, so ``evaluate`` scores against held-out rows.

``fit`` on data without an ``obs["split"]`` column holds out a stratified part
(``test_fraction``). The model keeps the split (sample name -> "train"/"test")
and ``evaluate(data)`` on the same rows adds it back, so the reference is the
held-out rows and the training rows give the real-vs-real ceiling, as with a
cohort file. Rows the model trained on that cannot be told apart are never
scored silently: a loud warning says so.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["read_split", "with_remembered_split", "TrainingRowsWarning"]

_SPLIT = "split"


class TrainingRowsWarning(UserWarning):
    """``evaluate`` scores real rows that include the model's training rows."""


def read_split(cohort: Path) -> pd.Series | None:
    """The cohort file's ``obs["split"]`` by sample name (None when it records none)."""
    import anndata
    import h5py

    with h5py.File(cohort, "r") as file:
        obs = anndata.io.read_elem(file["obs"]) if hasattr(anndata, "io") else None
    if obs is None:  # older anndata: read the whole file
        obs = anndata.read_h5ad(cohort, backed="r").obs
    if _SPLIT not in obs.columns:
        return None
    return pd.Series(obs[_SPLIT].astype(str).to_numpy(), index=obs.index.astype(str))


def _row_names(real: Any) -> pd.Index:
    names = real.obs_names if hasattr(real, "obs") else real.index
    return pd.Index(names).astype(str)


def with_remembered_split(real: Any, split: pd.Series | None) -> Any:
    """``real`` (AnnData or DataFrame) with the fitted split added when it has none.

    Returns ``real`` unchanged when it records a split, is a path, or shares
    no row names with the training data; warns (:class:`TrainingRowsWarning`)
    when it holds training rows that the split cannot separate.
    """
    if isinstance(real, str | Path) or not (hasattr(real, "obs") or hasattr(real, "columns")):
        return real
    columns = real.obs.columns if hasattr(real, "obs") else real.columns
    if _SPLIT in columns:
        return real
    n = len(_row_names(real))
    if split is None:
        warnings.warn(
            f"evaluate(): the {n} real rows have no 'split' column and this model does not "
            "know its training split (it was loaded, not fitted here): if they include its "
            "training rows, fidelity scores are optimistic and privacy scores meaningless; "
            "pass the held-out rows or data with obs['split']",
            TrainingRowsWarning,
            stacklevel=3,
        )
        return real
    names = _row_names(real)
    known = names.isin(split.index)
    if known.all():
        values = split.reindex(names).to_numpy()
        if (values == "test").any():
            real = real.copy()
            target = real.obs if hasattr(real, "obs") else real
            target[_SPLIT] = pd.Categorical(values, ["train", "test"])
            return real
    n_train = int((split.reindex(names[known]) == "train").sum())
    if n_train:
        warnings.warn(
            f"evaluate(): {n_train} of the {n} real rows are this model's training rows "
            "and the data has no 'split' column to hold them apart: scores are against "
            "training rows (fidelity optimistic, privacy meaningless); pass the rows fit() "
            "was given, the held-out rows only, or data with obs['split']",
            TrainingRowsWarning,
            stacklevel=3,
        )
    return real
