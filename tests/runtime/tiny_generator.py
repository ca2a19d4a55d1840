"""Build contract-conforming generator .onnx files with onnx.helper (no torch, no exporter).

The graph follows ``gexgen.generator_format``: ``one_hot(codes) ++ z`` -> ReLU MLP
-> standardized genes (+ ``sigma * eps`` when there is a noise input) -> inverse
standardization (``log_expression``) -> ``max(2**log - 1, 0)`` (``expression``).
``TinyGenerator.reference`` computes the same in numpy, so tests can check the
runtime against an independent implementation. The benchmark also uses
``write_bare_mlp``: the same layer sizes with nothing around them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gexgen.generator_format import (
    EXPRESSION_OUTPUT,
    FORMAT_NAME,
    FORMAT_VERSION,
    LATENT_INPUT,
    LOG_OUTPUT,
    METADATA_KEY,
    NOISE_INPUT,
    label_input_name,
)

OPSET = 17
IR_VERSION = 8  # what onnxruntime of every supported version reads

DEFAULT_LABELS: dict[str, list[str]] = {
    "tissue": ["bladder", "kidney", "liver", "uterus"],
    "status": ["normal", "tumor"],
}
# training counts of the seen combinations (bladder has no tumor here)
DEFAULT_COMBINATIONS: dict[tuple[str, ...], int] = {
    ("bladder", "normal"): 20,
    ("kidney", "normal"): 30,
    ("kidney", "tumor"): 60,
    ("liver", "normal"): 10,
    ("liver", "tumor"): 25,
    ("uterus", "normal"): 15,
    ("uterus", "tumor"): 40,
}


@dataclass
class TinyGenerator:
    """A written generator file and the numpy weights behind it."""

    path: Path
    labels: dict[str, list[str]]
    weights: list[tuple[np.ndarray, np.ndarray]]
    mean: np.ndarray
    std: np.ndarray
    sigma: np.ndarray | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def genes(self) -> list[str]:
        return list(self.metadata["genes"]["symbols"])

    def reference(
        self,
        z: np.ndarray,
        codes: Mapping[str, np.ndarray],
        eps: np.ndarray | None = None,
        space: str = "expression",
    ) -> np.ndarray:
        """The graph's output computed in numpy (float64, then float32)."""
        parts = [
            np.eye(len(values))[np.asarray(codes[name])] for name, values in self.labels.items()
        ]
        h = np.concatenate([*parts, np.asarray(z, np.float64)], axis=1)
        for i, (w, b) in enumerate(self.weights):
            h = h @ w.astype(np.float64) + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        if self.sigma is not None and eps is not None:
            h = h + self.sigma * np.asarray(eps, np.float64)
        log = h * self.std + self.mean
        out = log if space == "log2" else np.maximum(np.exp2(log) - 1.0, 0.0)
        return out.astype(np.float32)


def _const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name=name)


def _mlp_nodes(
    x: str,
    weights: Sequence[tuple[np.ndarray, np.ndarray]],
    out: str,
    inits: list[onnx.TensorProto],
    nodes: list[onnx.NodeProto],
) -> None:
    h = x
    for i, (w, b) in enumerate(weights):
        inits += [_const(f"W{i}", w.astype(np.float32)), _const(f"b{i}", b.astype(np.float32))]
        last = i == len(weights) - 1
        gemm = out if last else f"gemm{i}"
        nodes.append(helper.make_node("Gemm", [h, f"W{i}", f"b{i}"], [gemm]))
        if not last:
            nodes.append(helper.make_node("Relu", [gemm], [f"relu{i}"]))
            h = f"relu{i}"


def _random_weights(
    sizes: Sequence[int], rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (
            rng.normal(0, 1 / np.sqrt(a), (a, b)).astype(np.float32),
            rng.normal(0, 0.1, b).astype(np.float32),
        )
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def write_generator(
    path: str | Path,
    *,
    n_genes: int = 12,
    n_latent: int = 4,
    hidden: Sequence[int] = (16,),
    labels: Mapping[str, Sequence[str]] | None = None,
    combinations: Mapping[tuple[str, ...], int] | None = None,
    noise_input: bool = False,
    seed: int = 0,
    metadata_overrides: Mapping[str, Any] | None = None,
    with_metadata: bool = True,
) -> TinyGenerator:
    """Write a seeded generator .onnx honouring the contract; return it with its weights."""
    path = Path(path)
    rng = np.random.default_rng(seed)
    labels = {k: list(v) for k, v in (DEFAULT_LABELS if labels is None else labels).items()}
    if combinations is None:
        combinations = DEFAULT_COMBINATIONS if labels == DEFAULT_LABELS else {}
    n_onehot = sum(len(v) for v in labels.values())
    weights = _random_weights([n_onehot + n_latent, *hidden, n_genes], rng)
    mean = rng.uniform(1.0, 6.0, n_genes).astype(np.float32)
    std = rng.uniform(0.5, 1.5, n_genes).astype(np.float32)
    sigma = rng.uniform(0.1, 0.5, n_genes).astype(np.float32) if noise_input else None

    n = "n"
    inputs = [helper.make_tensor_value_info(LATENT_INPUT, TensorProto.FLOAT, [n, n_latent])]
    inits: list[onnx.TensorProto] = [_const("onehot_values", np.array([0, 1], np.float32))]
    nodes: list[onnx.NodeProto] = []
    concat_parts = []
    for name, values in labels.items():
        code = label_input_name(name)
        inputs.append(helper.make_tensor_value_info(code, TensorProto.INT64, [n]))
        inits.append(_const(f"{name}_depth", np.array(len(values), np.int64)))
        nodes.append(
            helper.make_node(
                "OneHot", [code, f"{name}_depth", "onehot_values"], [f"{name}_onehot"], axis=-1
            )
        )
        concat_parts.append(f"{name}_onehot")
    nodes.append(helper.make_node("Concat", [*concat_parts, LATENT_INPUT], ["decoder_in"], axis=1))
    _mlp_nodes("decoder_in", weights, "standardized", inits, nodes)
    scaled = "standardized"
    if noise_input:
        inputs.append(helper.make_tensor_value_info(NOISE_INPUT, TensorProto.FLOAT, [n, n_genes]))
        inits.append(_const("sigma", sigma))
        nodes += [
            helper.make_node("Mul", [NOISE_INPUT, "sigma"], ["noise"]),
            helper.make_node("Add", ["standardized", "noise"], ["noisy"]),
        ]
        scaled = "noisy"
    inits += [
        _const("scaler_std", std),
        _const("scaler_mean", mean),
        _const("ln2", np.array(np.log(2.0), np.float32)),
        _const("one", np.array(1.0, np.float32)),
        _const("zero", np.array(0.0, np.float32)),
    ]
    nodes += [
        helper.make_node("Mul", [scaled, "scaler_std"], ["unscaled"]),
        helper.make_node("Add", ["unscaled", "scaler_mean"], [LOG_OUTPUT]),
        helper.make_node("Mul", [LOG_OUTPUT, "ln2"], ["log_e"]),
        helper.make_node("Exp", ["log_e"], ["pow2"]),
        helper.make_node("Sub", ["pow2", "one"], ["expm1"]),
        helper.make_node("Max", ["expm1", "zero"], [EXPRESSION_OUTPUT]),
    ]
    outputs = [
        helper.make_tensor_value_info(o, TensorProto.FLOAT, [n, n_genes])
        for o in (LOG_OUTPUT, EXPRESSION_OUTPUT)
    ]
    graph = helper.make_graph(nodes, "tiny_generator", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION

    names = list(labels)
    counts = {name: [0] * len(values) for name, values in labels.items()}
    for combo, count in combinations.items():
        for name, value in zip(names, combo, strict=True):
            counts[name][labels[name].index(value)] += count
    metadata: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gexgen_version": "0.1.0",
        "model_type": "cvae",
        "n_latent": n_latent,
        "noise_input": noise_input,
        "genes": {
            "symbols": [f"G{j}" for j in range(n_genes)],
            "entrez_ids": [1000 + j for j in range(n_genes)],
        },
        "labels": [
            {
                "name": name,
                "input": label_input_name(name),
                "values": values,
                "counts": counts[name],
            }
            for name, values in labels.items()
        ],
        "combinations": [
            {"values": dict(zip(names, combo, strict=True)), "count": count}
            for combo, count in combinations.items()
        ],
        "scaler": {"log_input": False, "mean": mean.tolist(), "std": std.tolist()},
        "model_config": {"hidden": list(hidden)},
        "training": {
            "data_sha256": "0" * 64,
            "n_train": 200,
            "val_loss": 0.5,
            "epochs": 3,
            "best_epoch": 2,
        },
        "created": "2026-01-01T00:00:00Z",
    }
    metadata.update(metadata_overrides or {})
    if with_metadata:
        helper.set_model_props(model, {METADATA_KEY: json.dumps(metadata)})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return TinyGenerator(path, labels, weights, mean, std, sigma, metadata)


PAPER_DECODER = (67, 256, 512, 1000, 969)  # one-hot(15 tissues + 2 status) ++ z(50) -> genes


def write_bare_mlp(path: str | Path, sizes: Sequence[int] = PAPER_DECODER, seed: int = 0) -> Path:
    """A bare ReLU MLP ``x -> y`` of the given layer sizes: the benchmark's ceiling."""
    path = Path(path)
    weights = _random_weights(sizes, np.random.default_rng(seed))
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    _mlp_nodes("x", weights, "y", inits, nodes)
    graph = helper.make_graph(
        nodes,
        "bare_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", sizes[-1]])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def write_paper_generator(
    path: str | Path, noise_input: bool = False, seed: int = 0
) -> TinyGenerator:
    """A generator of the paper's decoder shape: 15 tissues x 2 status, latent 50, 969 genes."""
    tissues = [f"tissue{i:02d}" for i in range(15)]
    combos = {
        (t, s): 100 + 7 * i + (30 if s == "tumor" else 0)
        for i, t in enumerate(tissues)
        for s in ("normal", "tumor")
    }
    return write_generator(
        path,
        n_genes=PAPER_DECODER[-1],
        n_latent=50,
        hidden=PAPER_DECODER[1:-1],
        labels={"tissue": tissues, "status": ["normal", "tumor"]},
        combinations=combos,
        noise_input=noise_input,
        seed=seed,
    )
