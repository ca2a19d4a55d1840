"""From a cohort file to standardized training arrays, label codes and provenance.

Checks everything a run needs before anything is written, so a bad input
fails with one clear message and leaves the run directory untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gexgen.data.cohort import cohort_split, is_log_scaled, read_cohort
from gexgen.data.cohort_hash import cohort_sha256
from gexgen.data.preprocess import LogStandardScaler
from gexgen.errors import GexgenError
from gexgen.train.calibrate import combination_index
from gexgen.train.config import TrainConfig

__all__ = ["TrainingData", "prepare_training_data", "validation_mask", "cohort_sha256"]


@dataclass
class TrainingData:
    """Everything a run reads from the cohort: arrays for fitting and provenance."""

    x_fit: np.ndarray  # float32 [n_fit, n_genes], standardized
    codes_fit: np.ndarray  # int64 [n_fit, n_labels]
    x_val: np.ndarray
    codes_val: np.ndarray
    scaler: LogStandardScaler
    labels: list[dict[str, Any]]  # {"name", "values" (code order), "counts"} on the train split
    combinations: list[dict[str, Any]]  # {"values": {label: value}, "count"} on the train split
    gene_symbols: list[str]
    entrez_ids: list[int | None]
    sample_ids: dict[str, list[str]]  # "train" (fitted), "val", "test"
    data_sha256: str
    units: str | None = None  # the cohort's expression units (uns["gexgen"]["units"]), if known

    @property
    def n_genes(self) -> int:
        return int(self.x_fit.shape[1])

    @property
    def label_sizes(self) -> list[int]:
        return [len(label["values"]) for label in self.labels]

    def combination_counts(self) -> np.ndarray:
        """Training rows (fitted + validation) of each label combination, in the joint
        order of ``combination_index`` (0 for a combination the split lacks)."""
        codes = np.concatenate([self.codes_fit, self.codes_val])
        n_comb = int(np.prod(self.label_sizes))
        return np.bincount(combination_index(codes, self.label_sizes), minlength=n_comb)


def prepare_training_data(cohort_path: str | os.PathLike[str], config: TrainConfig) -> TrainingData:
    """Read the cohort, split train into fit/validation, fit the scaler on the fit part."""
    conditions = list(config.conditions)
    adata = read_cohort(cohort_path, require=conditions)
    if config.dp_epsilon is not None:  # DP-SGD: a panel chosen on the training rows leaks
        from gexgen.train.dp_budget import refuse_private_gene_selection

        refuse_private_gene_selection(adata)
    train_idx, test_idx = cohort_split(adata)
    obs = adata.obs
    _check_label_values(obs, conditions, train_idx)

    train_obs = obs.iloc[train_idx]
    labels = []
    for name in conditions:
        values = train_obs[name].astype(str)
        vocab = sorted(values.unique())
        labels.append(
            {
                "name": name,
                "values": vocab,
                "counts": [int((values == v).sum()) for v in vocab],
            }
        )
    combos = train_obs[conditions].astype(str).value_counts().sort_index()
    combinations = [
        {"values": dict(zip(conditions, key, strict=True)), "count": int(n)}
        for key, n in combos.items()
    ]

    codes_train = np.stack(
        [
            pd.Categorical(train_obs[label["name"]].astype(str), categories=label["values"]).codes
            for label in labels
        ],
        axis=1,
    ).astype(np.int64)
    is_val = validation_mask(codes_train, config.val_fraction, config.seed)
    fit_rows, val_rows = train_idx[~is_val], train_idx[is_val]
    if len(fit_rows) < config.batch_size:
        raise GexgenError(
            f"the training part has {len(fit_rows)} samples (train split {len(train_idx)} minus "
            f"{len(val_rows)} for validation), fewer than batch size {config.batch_size}; "
            "lower --batch-size or --val-fraction"
        )

    x = np.asarray(adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X)
    # under DP the quantile map would ship training quantiles un-noised: standardize only
    marginals = config.marginals if config.dp_epsilon is None else "gaussian"
    scaler = LogStandardScaler(log_input=is_log_scaled(adata), marginals=marginals)
    scaler.fit(x[fit_rows])
    symbols = [str(s) for s in adata.var_names]
    if "entrez_id" in adata.var.columns:
        entrez = [None if pd.isna(e) else int(e) for e in adata.var["entrez_id"]]
    else:
        entrez = [None] * len(symbols)
    names = adata.obs_names.astype(str)
    return TrainingData(
        x_fit=scaler.transform(x[fit_rows]),
        codes_fit=codes_train[~is_val],
        x_val=scaler.transform(x[val_rows]),
        codes_val=codes_train[is_val],
        scaler=scaler,
        labels=labels,
        combinations=combinations,
        gene_symbols=symbols,
        entrez_ids=entrez,
        sample_ids={
            "train": names[fit_rows].tolist(),
            "val": names[val_rows].tolist(),
            "test": names[test_idx].tolist(),
        },
        data_sha256=cohort_sha256(adata, x),
        units=_units(adata),
    )


def _units(adata: Any) -> str | None:
    """The expression units the cohort records (e.g. "FPKM"), None when it does not."""
    units = adata.uns.get("gexgen", {}).get("units")
    return None if units is None else str(units)


def _check_label_values(obs: pd.DataFrame, conditions: list[str], train_idx: np.ndarray) -> None:
    for name in conditions:
        col = obs[name]
        missing = np.flatnonzero(col.isna().to_numpy())
        if len(missing):
            rows = ", ".join(str(obs.index[i]) for i in missing[:5])
            raise GexgenError(
                f"label column {name!r} has {len(missing)} missing value(s) (samples {rows}"
                f"{', ...' if len(missing) > 5 else ''}); fill or drop them"
            )
        values = sorted(col.iloc[train_idx].astype(str).unique())
        if len(values) < 2:
            raise GexgenError(
                f"label column {name!r} has a single value {values} in the training split; "
                "a condition needs at least 2 values: drop it from --conditions"
            )


def validation_mask(codes: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of validation rows, stratified on label combinations, seeded.

    Each combination gives ``round(n * val_fraction)`` rows (at most ``n - 1``, so
    every combination keeps a training sample); at least one row overall.

    Examples
    --------
    >>> codes = np.array([[0], [0], [0], [0], [1], [1], [1], [1]])
    >>> int(validation_mask(codes, 0.25, seed=0).sum())
    2
    """
    rng = np.random.default_rng(seed)
    keys = [tuple(row) for row in codes.tolist()]
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    mask = np.zeros(len(keys), dtype=bool)
    for key in sorted(groups):
        rows = np.asarray(groups[key])
        n_val = int(np.clip(round(len(rows) * val_fraction), 0, len(rows) - 1))
        mask[rng.choice(rows, size=n_val, replace=False)] = True
    if not mask.any():
        largest = max(groups.values(), key=len)
        if len(largest) < 2:
            raise GexgenError("too few training samples to hold out a validation sample")
        mask[rng.choice(largest)] = True
    return mask
