"""A small known distribution for evaluation tests: a toy cohort, synthetic files and
hand-built ONNX generators (good = the true distribution, bad = unrelated structure).

log2(x + 1) = base + tissue effect + status effect + factors @ loadings + noise.
Used by tests/metrics and tests/cli (imported by path; tests are not a package).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

TISSUES = ["kidney", "liver", "lung"]
STATUSES = ["normal", "tumor"]
N_GENES = 30
N_FACTORS = 4
NOISE = 0.6


class ToyModel:
    def __init__(self, seed: int = 0, n_genes: int = N_GENES) -> None:
        rng = np.random.default_rng(seed)
        self.n_genes = n_genes
        self.genes = [f"G{j:03d}" for j in range(n_genes)]
        self.base = rng.uniform(3, 10, n_genes)
        self.tissue = rng.normal(scale=1.5, size=(len(TISSUES), n_genes))
        self.status = rng.normal(scale=1.0, size=(len(STATUSES), n_genes))
        self.loadings = rng.normal(scale=0.8, size=(N_FACTORS, n_genes))

    def log_values(self, labels: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        t = labels["tissue"].map({v: i for i, v in enumerate(TISSUES)}).to_numpy()
        s = labels["status"].map({v: i for i, v in enumerate(STATUSES)}).to_numpy()
        n = len(labels)
        f = rng.normal(size=(n, N_FACTORS))
        x = self.base + self.tissue[t] + self.status[s] + f @ self.loadings
        x = x + NOISE * rng.normal(size=(n, self.n_genes))
        return np.maximum(x, 0.0).astype(np.float32)


def toy_labels(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tissue": rng.choice(TISSUES, size=n),
            "status": rng.choice(STATUSES, size=n, p=[0.6, 0.4]),
        }
    )


def write_toy_cohort(
    path: Path, n: int = 240, seed: int = 0, model: ToyModel | None = None
) -> Path:
    """A cohort .h5ad in expression units (FPKM-like) with obs tissue/status/barcode/split."""
    import anndata

    model = model or ToyModel(seed)
    rng = np.random.default_rng(seed + 1)
    labels = toy_labels(n, rng)
    x = np.exp2(model.log_values(labels, rng)) - 1.0
    obs = labels.copy()
    obs["barcode"] = [f"S{i:04d}" for i in range(n)]
    obs["split"] = np.where(rng.random(n) < 0.3, "test", "train")
    obs.index = obs["barcode"].to_numpy()
    for c in ("tissue", "status", "split"):
        obs[c] = obs[c].astype("category")
    var = pd.DataFrame({"symbol": model.genes}, index=model.genes)
    adata = anndata.AnnData(X=x.astype(np.float32), obs=obs, var=var)
    adata.uns["gexgen"] = {"log_scaled": False, "source": "toy"}
    adata.write_h5ad(path)
    return path


def write_profiles_h5ad(
    path: Path, log_values: np.ndarray, genes: list[str], labels: pd.DataFrame
) -> Path:
    """A synthetic profile file (.h5ad, log2 values) readable by open_profiles."""
    import anndata

    obs = labels.reset_index(drop=True).astype("category")
    obs.index = obs.index.astype(str)
    adata = anndata.AnnData(
        X=np.asarray(log_values, np.float32), obs=obs, var=pd.DataFrame(index=list(genes))
    )
    adata.uns["gexgen"] = {"log_scaled": True, "space": "log2"}
    adata.write_h5ad(path)
    return path


def write_profiles_csv(
    path: Path, log_values: np.ndarray, genes: list[str], labels: pd.DataFrame
) -> Path:
    """A plain CSV table: gene columns (expression units), then label columns."""
    frame = pd.DataFrame(np.exp2(np.asarray(log_values, np.float64)) - 1.0, columns=genes)
    for c in labels.columns:
        frame[c] = labels[c].to_numpy()
    frame.to_csv(path, index=False)
    return path


def write_toy_generator(path: Path, model: ToyModel, good: bool = True, seed: int = 0) -> Path:
    """A gexgen generator .onnx: log = base + T[tissue] + S[status] + z @ W.

    ``good``: the toy's true distribution (z = factors and per-gene noise).
    Otherwise random loadings and no label effects (what an untrained model gives).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from gexgen.generator_format import (
        EXPRESSION_OUTPUT,
        FORMAT_NAME,
        FORMAT_VERSION,
        LATENT_INPUT,
        LOG_OUTPUT,
        METADATA_KEY,
    )

    g = model.n_genes
    n_latent = N_FACTORS + g
    if good:
        w = np.vstack([model.loadings, NOISE * np.eye(g)])
        tissue = model.base + model.tissue
        status = model.status
    else:
        rng = np.random.default_rng(seed + 99)
        w = rng.normal(scale=0.5, size=(n_latent, g))
        tissue = np.tile(rng.uniform(3, 10, g), (len(TISSUES), 1))
        status = np.zeros((len(STATUSES), g))
    inits = [
        numpy_helper.from_array(w.astype(np.float32), "W"),
        numpy_helper.from_array(tissue.astype(np.float32), "T"),
        numpy_helper.from_array(status.astype(np.float32), "S"),
        numpy_helper.from_array(np.array(np.log(2.0), np.float32), "ln2"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    nodes = [
        helper.make_node("MatMul", [LATENT_INPUT, "W"], ["zw"]),
        helper.make_node("Gather", ["T", "tissue_code"], ["t"], axis=0),
        helper.make_node("Gather", ["S", "status_code"], ["s"], axis=0),
        helper.make_node("Add", ["zw", "t"], ["a"]),
        helper.make_node("Add", ["a", "s"], ["raw"]),
        helper.make_node("Relu", ["raw"], [LOG_OUTPUT]),
        helper.make_node("Mul", [LOG_OUTPUT, "ln2"], ["scaled"]),
        helper.make_node("Exp", ["scaled"], ["e"]),
        helper.make_node("Sub", ["e", "one"], ["em1"]),
        helper.make_node("Relu", ["em1"], [EXPRESSION_OUTPUT]),
    ]
    graph = helper.make_graph(
        nodes,
        "toy_generator",
        [
            helper.make_tensor_value_info(LATENT_INPUT, TensorProto.FLOAT, ["n", n_latent]),
            helper.make_tensor_value_info("tissue_code", TensorProto.INT64, ["n"]),
            helper.make_tensor_value_info("status_code", TensorProto.INT64, ["n"]),
        ],
        [
            helper.make_tensor_value_info(LOG_OUTPUT, TensorProto.FLOAT, ["n", g]),
            helper.make_tensor_value_info(EXPRESSION_OUTPUT, TensorProto.FLOAT, ["n", g]),
        ],
        inits,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx_model.ir_version = 8
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model_type": "cvae",
        "n_latent": n_latent,
        "noise_input": False,
        "genes": {"symbols": model.genes, "entrez_ids": None},
        "labels": [
            {"name": "tissue", "input": "tissue_code", "values": TISSUES, "counts": [1] * 3},
            {"name": "status", "input": "status_code", "values": STATUSES, "counts": [1] * 2},
        ],
        "combinations": [
            {"values": {"tissue": t, "status": s}, "count": 1} for t in TISSUES for s in STATUSES
        ],
    }
    helper.set_model_props(onnx_model, {METADATA_KEY: json.dumps(meta)})
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(path))
    return path


def write_toy_evaluation_inputs(
    root: Path,
    *,
    model_seed: int,
    sample_seed: int,
    n_synthetic: int,
    cohort_seed: int = 0,
    foreign: bool = False,
    bad: bool = False,
) -> dict[str, Path]:
    """What the CLI's evaluate and check tests read, written under ``root``.

    ``cohort`` (300 samples), ``synthetic`` (``n_synthetic`` profiles drawn from the
    toy's true distribution, labels and values from one generator seeded
    ``sample_seed``), ``good`` (the true generator); ``foreign`` (the synthetic
    values under other gene names) and ``bad`` (a wrong generator) on request.
    """
    model = ToyModel(seed=model_seed)
    rng = np.random.default_rng(sample_seed)
    labels = toy_labels(n_synthetic, rng)
    values = model.log_values(labels, rng)
    files = {
        "root": root,
        "cohort": write_toy_cohort(root / "cohort.h5ad", n=300, seed=cohort_seed, model=model),
        "synthetic": write_profiles_h5ad(root / "synthetic.h5ad", values, model.genes, labels),
        "good": write_toy_generator(root / "good.onnx", model, good=True),
    }
    if foreign:
        other = [f"X{j}" for j in range(model.n_genes)]
        files["foreign"] = write_profiles_h5ad(root / "foreign.h5ad", values, other, labels)
    if bad:
        files["bad"] = write_toy_generator(root / "bad.onnx", model, good=False)
    return files
