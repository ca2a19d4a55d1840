"""Cohort -> a DP low-rank Gaussian generator, written straight to gexgen's ONNX format.

The fit (:mod:`gexgen.train.dp_gaussian`) is numpy; this module reads the
cohort with the public parts kept apart (gene list, label vocabularies from
the label columns of the whole cohort, ``n_train``), and builds the same graph
as every generator (:class:`gexgen.export.graph.GeneratorGraph`: inputs ``z``,
``<label>_code``, ``eps``; outputs ``log_expression`` and ``expression``)
around a decoder ``(z, one_hot) -> mean[c] + W z``, with the centre as the
scaler mean, scale 1, and ``sqrt(psi)`` as the per-gene observation noise.
Nothing in the file's metadata is computed from the training rows except
through the noisy releases that ``metadata["training"]["privacy"]["parts"]``
lists (no data hash, no exact counts).
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from gexgen.data.cohort import cohort_split, is_log_scaled, read_cohort
from gexgen.errors import GexgenError
from gexgen.export.graph import GeneratorGraph
from gexgen.export.metadata import generator_metadata
from gexgen.export.onnx_export import ExportReport, export_graph
from gexgen.train.calibrate import combination_index
from gexgen.train.cvae import joint_one_hot
from gexgen.train.dp_budget import refuse_private_gene_selection
from gexgen.train.dp_gaussian import DPGaussianConfig, DPGaussianFit, fit_dp_gaussian

__all__ = ["DPGaussianResult", "LowRankDecoder", "write_dp_gaussian_generator"]

MODEL_TYPE = "dp-gaussian"


class LowRankDecoder(nn.Module):
    """``decoder(z, one_hot) -> means[combination] + z @ factors.T`` (log2 offsets)."""

    def __init__(self, means: np.ndarray, factors: np.ndarray, label_sizes: list[int]) -> None:
        super().__init__()
        self.label_sizes = list(label_sizes)
        self.register_buffer("combination_means", torch.as_tensor(means, dtype=torch.float32))
        self.register_buffer("factors", torch.as_tensor(factors.T.copy(), dtype=torch.float32))

    def forward(self, z: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        joint = joint_one_hot(one_hot, self.label_sizes)
        return joint @ self.combination_means + z @ self.factors


@dataclass(frozen=True)
class DPGaussianResult:
    """The written file, the fit and how long it took."""

    export: ExportReport
    fit: DPGaussianFit
    seconds: float


def _public_vocabularies(obs: pd.DataFrame, conditions: list[str]) -> list[list[str]]:
    """Label vocabularies from the label columns of every row (declared public)."""
    vocabularies = []
    for name in conditions:
        column = obs[name]
        if column.isna().any():
            raise GexgenError(f"label column {name!r} has missing values; fill or drop them")
        values = column.cat.categories if hasattr(column, "cat") else column.unique()
        vocabularies.append(sorted(str(v) for v in values))
    return vocabularies


def _combinations(
    counts: np.ndarray, vocabularies: list[list[str]], names: list[str], min_count: float
) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """Combinations whose noisy count reaches ``min_count`` and each label value's count."""
    sizes = [len(v) for v in vocabularies]
    rounded = np.maximum(np.rint(counts), 0).astype(np.int64)
    listed, label_counts = [], [[0] * s for s in sizes]
    for index, codes in enumerate(np.ndindex(*sizes)):
        for i, code in enumerate(codes):
            label_counts[i][code] += int(rounded[index])
        if rounded[index] >= min_count:
            pairs = enumerate(zip(names, codes, strict=True))
            values = {n: vocabularies[i][c] for i, (n, c) in pairs}
            listed.append({"values": values, "count": int(rounded[index])})
    return listed, label_counts


def write_dp_gaussian_generator(
    cohort: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    config: DPGaussianConfig,
    *,
    conditions: tuple[str, ...] = ("tissue", "status"),
    overwrite: bool = False,
) -> DPGaussianResult:
    """Fit the DP low-rank Gaussian on the cohort's training split and write ``out_path``.

    Examples
    --------
    >>> config = DPGaussianConfig(epsilon=10)
    >>> write_dp_gaussian_generator("cohort.h5ad", "dp.onnx", config)  # doctest: +SKIP
    """
    start = time.perf_counter()
    names = list(conditions)
    adata = read_cohort(cohort, require=names)
    if config.epsilon is not None:
        refuse_private_gene_selection(adata)
    train_idx, _ = cohort_split(adata)
    vocabularies = _public_vocabularies(adata.obs, names)
    sizes = [len(v) for v in vocabularies]
    obs = adata.obs.iloc[train_idx]
    codes = np.stack(
        [
            pd.Categorical(obs[n].astype(str), categories=vocab).codes
            for n, vocab in zip(names, vocabularies, strict=True)
        ],
        axis=1,
    ).astype(np.int64)
    x = np.asarray(
        adata.X[train_idx].toarray() if hasattr(adata.X, "toarray") else adata.X[train_idx]
    )
    x = np.asarray(x, dtype=np.float64)
    x_log2 = x if is_log_scaled(adata) else np.log2(np.maximum(x, 0.0) + 1.0)
    n_combinations = int(np.prod(sizes))
    fit = fit_dp_gaussian(x_log2, combination_index(codes, sizes), n_combinations, config)

    count_sd = 0.0
    if fit.privacy is not None:
        parts = fit.privacy["parts"]
        count_sd = next((p["noise_sd"] for p in parts if p["name"] == "counts"), 0.0)
    combinations, label_counts = _combinations(
        fit.counts, vocabularies, names, max(1.0, 2 * count_sd)
    )
    decoder = LowRankDecoder(fit.means, fit.factors, sizes)
    graph = GeneratorGraph(
        decoder,
        label_sizes=sizes,
        scaler_mean=fit.centre.astype(np.float32),
        scaler_std=np.ones_like(fit.centre, dtype=np.float32),
        logvar=torch.as_tensor(np.log(fit.psi), dtype=torch.float32),
    )
    symbols = [str(s) for s in adata.var_names]
    if "entrez_id" in adata.var.columns:
        entrez = [None if pd.isna(e) else int(e) for e in adata.var["entrez_id"]]
    else:
        entrez = [None] * len(symbols)
    settings = {**dataclasses.asdict(config), "conditions": names}
    ckpt = {
        "model_type": MODEL_TYPE,
        "model_config": {
            "n_latent": int(fit.factors.shape[1]),
            "n_genes": len(symbols),
            "label_sizes": sizes,
            "kind": "class-conditional low-rank Gaussian",
        },
        "genes": {"symbols": symbols, "entrez_ids": entrez},
        "units": adata.uns.get("gexgen", {}).get("units"),
        "labels": [
            {"name": n, "values": v, "counts": c}
            for n, v, c in zip(names, vocabularies, label_counts, strict=True)
        ],
        "combinations": combinations,
        "scaler": {
            "log_input": is_log_scaled(adata),
            "mean": fit.centre.tolist(),
            "std": [1.0] * len(symbols),
        },
        "config": settings,
        "training": {
            # a hash of the training rows is not differentially private: withheld under DP
            "data_sha256": None if fit.privacy is not None else _sha(adata),
            "n_train": len(train_idx),
            "n_val": 0,
            "epochs": 0,
            "best_epoch": 0,
            "privacy": fit.privacy,
        },
        "versions": {"numpy": np.__version__},
    }
    meta = generator_metadata(ckpt, noise_input=True, exporter="", opset=18)
    if fit.privacy is not None:
        meta["training"]["privacy"] = fit.privacy  # nested parts, kept as they are
    report = export_graph(graph, out_path, meta, overwrite=overwrite)
    return DPGaussianResult(report, fit, time.perf_counter() - start)


def _sha(adata: Any) -> str:
    from gexgen.data.cohort_hash import cohort_sha256

    x = adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X
    return cohort_sha256(adata, np.asarray(x))
