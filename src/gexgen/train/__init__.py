"""Training (PyTorch): the paper's CVAE and the WGAN-GP baseline, loops, tuning, checkpoints.

Names load lazily, so ``gexgen.train.config`` (and the CLI's help) can be
imported without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CVAE": "cvae",
    "CVAEOutput": "cvae",
    "ConditionalPrior": "cvae",
    "Decoder": "cvae",
    "Encoder": "cvae",
    "cvae_loss": "cvae",
    "one_hot_conditions": "cvae",
    "TrainConfig": "config",
    "hidden_for_depth": "config",
    "resolve_device": "config",
    "TrainResult": "loop",
    "train_cvae": "loop",
    "TuneResult": "tune",
    "tune_cvae": "tune",
    "build_model": "checkpoint",
    "decoder_from_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_training_state": "checkpoint",
    # the WGAN-GP baseline (Viñas et al. 2022), same checkpoint and export path
    "WGANGP": "wgan",
    "generator_from_checkpoint": "wgan",
    "WGANConfig": "wgan_loop",
    "WGANResult": "wgan_loop",
    "train_wgan": "wgan_loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gexgen.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gexgen.train.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
