"""Draw profiles from a trained checkpoint: through its exported ONNX file, or with torch.

The ONNX path is the product's (``GeneratorSession``); the torch path is the
fallback for a checkpoint the exporter does not handle, and says so in the
results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError

__all__ = ["OnnxSampler", "TorchSampler", "export_onnx"]


def export_onnx(run_dir: Path, out: Path) -> tuple[Path | None, str, dict[str, Any]]:
    """Export ``run_dir``'s checkpoint to ``out``: (path, "", export report) or (None, why, {})."""
    try:
        from gexgen.export import export_generator
    except ImportError as exc:
        return None, f"gexgen.export cannot be imported ({exc})", {}
    try:
        report = export_generator(run_dir, out, overwrite=True)  # in a checked --out folder
    except GexgenError as exc:
        return None, str(exc), {}
    return (
        out,
        "",
        {
            "max_abs_diff": report.max_abs_diff,
            "max_rel_diff": report.max_rel_diff,
            "exporter": report.exporter,
            "opset": report.opset,
        },
    )


class OnnxSampler:
    """Profiles from a generator ``.onnx`` via :class:`gexgen.runtime.GeneratorSession`."""

    via = "onnxruntime"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        from gexgen.runtime import GeneratorSession

        self.session = GeneratorSession(path, threads=threads)

    def sample_log2(self, labels: pd.DataFrame, seed: int) -> np.ndarray:
        matrix, _ = self.session.sample(
            len(labels), conditions=labels, seed=seed, space="log2", as_frame=False
        )
        return np.asarray(matrix, dtype=np.float32)

    def sample_expression(self, n: int, seed: int) -> np.ndarray:
        matrix, _ = self.session.sample(
            n, conditions="training", seed=seed, space="expression", as_frame=False
        )
        return np.asarray(matrix)


class TorchSampler:
    """Profiles from a checkpoint's decoder / generator in torch (eval mode, no grad)."""

    via = "torch"

    def __init__(self, run_dir: Path) -> None:
        from gexgen.data.preprocess import LogStandardScaler
        from gexgen.train.checkpoint import decoder_from_checkpoint, load_checkpoint
        from gexgen.train.wgan import generator_from_checkpoint

        ckpt = load_checkpoint(run_dir)
        if ckpt.get("model_type") == "wgan-gp":
            self.module = generator_from_checkpoint(ckpt)
        else:
            self.module = decoder_from_checkpoint(ckpt)
        self.scaler = LogStandardScaler.from_dict(ckpt["scaler"])
        self.labels: list[dict[str, Any]] = ckpt["labels"]
        self.combinations: list[dict[str, Any]] = ckpt["combinations"]

    def _codes(self, labels: pd.DataFrame) -> np.ndarray:
        cols = []
        for label in self.labels:
            name, values = label["name"], [str(v) for v in label["values"]]
            if name not in labels.columns:
                raise GexgenError(f"labels lack column {name!r}; the model conditions on it")
            codes = pd.Categorical(labels[name].astype(str), categories=values).codes
            if (codes < 0).any():
                bad = sorted(set(labels[name].astype(str)) - set(values))
                raise GexgenError(f"{name} value(s) {bad} unknown to the model; known: {values}")
            cols.append(codes)
        return np.stack(cols, axis=1).astype(np.int64)

    def _standardized(self, codes: np.ndarray, seed: int) -> np.ndarray:
        import torch

        from gexgen.train.cvae import one_hot_conditions

        sizes = [len(label["values"]) for label in self.labels]
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(len(codes), self.module.n_latent, generator=gen)
        with torch.no_grad():
            out = self.module(z, one_hot_conditions(torch.from_numpy(codes), sizes))
        return out.numpy()

    def sample_log2(self, labels: pd.DataFrame, seed: int) -> np.ndarray:
        z = self._standardized(self._codes(labels), seed)
        return self.scaler.inverse_transform(z, space="log2")

    def sample_expression(self, n: int, seed: int) -> np.ndarray:
        counts = np.array([c["count"] for c in self.combinations], dtype=np.float64)
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(counts), size=n, p=counts / counts.sum())
        frame = pd.DataFrame([self.combinations[i]["values"] for i in pick])
        z = self._standardized(self._codes(frame), seed)
        return self.scaler.inverse_transform(z, space="expression")
