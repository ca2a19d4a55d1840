"""Checkpoints: plain dicts of tensors, lists and strings, written atomically.

``RUN_DIR/checkpoint.pt`` (read by :func:`load_checkpoint` and by export)::

    {
      "format": "gexgen-checkpoint", "format_version": 1,
      "model_type": "cvae",                  # "wgan-gp" later, same keys
      "model_config": {"n_genes", "label_sizes", "n_latent", "encoder_hidden",
                       "decoder_hidden", "batch_norm" (bool or "layer"),
                       "learned_variance", "conditional_prior", "dropout",
                       "calibrated_noise", "noise_factors",
                       "calibrated_mean"},
      "model_state": {...},                  # state dict of the best epoch; the
                                             # decoder's keys start with "decoder."
      "config": TrainConfig.to_dict(),
      "genes": {"symbols": [...], "entrez_ids": [... or None]},
      "units": "FPKM" or None,               # the cohort's expression units
      "labels": [{"name", "values" (code order), "counts"}],   # train split
      "combinations": [{"values": {label: value}, "count"}],   # train split
      "scaler": LogStandardScaler.to_dict(),
      "split": {"train": [ids fitted], "val": [ids], "test": [ids]},
      "training": {"data_sha256", "n_train", "n_val", "epochs",
                   "best_epoch", "best_val_loss",      # lowest validation loss
                   "keep", "kept_epoch", "val_loss",   # the weights in model_state
                   "stopped_early", "selection" (criterion, scores),
                   "privacy" ({"dp_epsilon", "dp_delta"} or None)},
      "history": [{"epoch", "train_loss", ..., "val_loss", ...}],
      "versions": {"gexgen", "torch", "numpy", "python"}, "created": "...Z",
      "weights_sha256": "..."                # of model_state (see weights_sha256)
    }

``RUN_DIR/training_state.pt`` holds what ``--resume`` needs on top: the last
epoch's weights, the optimizer state, the random generator states and the
early-stopping counters. Both load with ``torch.load(weights_only=True)``: no
pickled objects. ``save_dict`` records the sha256 of every weight tensor
(``model_state``, and ``kept_state`` in the training state) and loading checks
it, so damaged weights are refused; files written before the checksum
existed still load, with a warning that their weights could not be verified.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from gexgen import __version__
from gexgen._atomic import atomic_path
from gexgen._text import printable
from gexgen.errors import GexgenError
from gexgen.train.cvae import CVAE

if TYPE_CHECKING:
    from gexgen.train.data import TrainingData

__all__ = [
    "CHECKPOINT_NAME",
    "TRAINING_STATE_NAME",
    "CHECKPOINT_FORMAT",
    "save_dict",
    "weights_sha256",
    "load_checkpoint",
    "load_training_state",
    "build_model",
    "decoder_from_checkpoint",
    "checkpoint_dict",
    "versions",
    "utc_now",
]

CHECKPOINT_NAME = "checkpoint.pt"
TRAINING_STATE_NAME = "training_state.pt"
CHECKPOINT_FORMAT = "gexgen-checkpoint"
TRAINING_STATE_FORMAT = "gexgen-training-state"
FORMAT_VERSION = 1


_STATES = ("model_state", "kept_state")  # the tensor dicts whose checksums are stored


def weights_sha256(state: dict[str, Any]) -> str:
    """sha256 over a state dict: each tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        value = state[name]
        if not isinstance(value, torch.Tensor):
            digest.update(f"{name}={value!r};".encode())
            continue
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_dict(d: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """``torch.save`` a plain dict under a temporary name, then rename.

    The sha256 of each weight dict (``model_state``, ``kept_state``) is stored
    beside it as ``<name>_sha256`` (``weights_sha256`` for ``model_state``).
    """
    path = Path(path)
    d = dict(d)
    for key in _STATES:
        if isinstance(d.get(key), dict):
            d[_checksum_key(key)] = weights_sha256(d[key])
    with atomic_path(path) as tmp:
        torch.save(d, tmp)
    return path


def _checksum_key(state_key: str) -> str:
    return "weights_sha256" if state_key == "model_state" else f"{state_key}_sha256"


def _verify_weights(d: dict[str, Any], path: Path, what: str) -> None:
    """Refuse weights whose checksum differs; warn when a file predates checksums."""
    for key in _STATES:
        if not isinstance(d.get(key), dict):
            continue
        stored = d.get(_checksum_key(key))
        if stored is None:
            warnings.warn(
                f"{what} {str(path)!r} was written before gexgen stored weight checksums: "
                "its weights could not be verified",
                UserWarning,
                stacklevel=3,
            )
            continue
        if weights_sha256(d[key]) != stored:
            raise GexgenError(
                f"{what} {str(path)!r} is damaged: its weights ({key}) do not match the "
                "checksum stored when it was written; restore it from a backup or train again"
            )


def _load(path: Path, expected_format: str, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise GexgenError(f"{what} {str(path)!r} not found")
    try:
        d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, wrong file, pickled objects
        raise GexgenError(
            f"{what} {str(path)!r} is corrupt or not a gexgen file ({_torch_reason(exc)}); "
            "it was not loaded: train again with --overwrite"
        ) from exc
    if not isinstance(d, dict) or d.get("format") != expected_format:
        raise GexgenError(
            f"{str(path)!r} is not a {expected_format} file "
            f"(format={d.get('format') if isinstance(d, dict) else type(d).__name__!r})"
        )
    if d.get("format_version", 0) > FORMAT_VERSION:
        raise GexgenError(
            f"{str(path)!r} has format version {d['format_version']}, newer than this "
            f"gexgen ({FORMAT_VERSION}); upgrade gexgen"
        )
    _verify_weights(d, path, what)
    return d


def _torch_reason(exc: BaseException) -> str:
    """Why torch.load failed, without torch's advice to pass ``weights_only=False``
    (which would run code from the file: never do that with a file you did not write)."""
    text = str(exc)
    if "weights_only" in text or "Unsupported global" in text or "GLOBAL" in text:
        return "it holds pickled Python objects, which gexgen never loads"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return printable(first[:200])


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by training; ``path`` may be the run directory.

    Examples
    --------
    >>> ckpt = load_checkpoint("runs/cvae")  # doctest: +SKIP
    >>> decoder = decoder_from_checkpoint(ckpt)  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    return _load(path, CHECKPOINT_FORMAT, "checkpoint")


def load_training_state(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``RUN_DIR/training_state.pt`` (what ``--resume`` continues from)."""
    return _load(Path(run_dir) / TRAINING_STATE_NAME, TRAINING_STATE_FORMAT, "training state")


def build_model(model_config: dict[str, Any]) -> CVAE:
    """A freshly initialized CVAE of the shape in ``model_config``."""
    try:
        return CVAE(
            n_genes=int(model_config["n_genes"]),
            label_sizes=[int(s) for s in model_config["label_sizes"]],
            encoder_hidden=[int(w) for w in model_config["encoder_hidden"]],
            n_latent=int(model_config["n_latent"]),
            decoder_hidden=[int(w) for w in model_config["decoder_hidden"]],
            batch_norm=_norm(model_config["batch_norm"]),
            learned_variance=bool(model_config["learned_variance"]),
            conditional_prior=bool(model_config.get("conditional_prior", False)),
            dropout=float(model_config.get("dropout", 0.0)),
            calibrated_noise=bool(model_config.get("calibrated_noise", False)),
            noise_factors=int(model_config.get("noise_factors", 0)),
            calibrated_mean=bool(model_config.get("calibrated_mean", False)),
        )
    except (KeyError, TypeError) as exc:
        raise GexgenError(f"checkpoint model_config is incomplete: missing {exc}") from exc


def _norm(value: Any) -> bool | str:
    """model_config's ``batch_norm``: a bool (BatchNorm or none) or "layer" (DP runs)."""
    return value if isinstance(value, str) else bool(value)


def decoder_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """The trained decoder in eval mode: ``decoder(z, one_hot) -> standardized profile``.

    The module has ``n_latent``, ``n_condition``, ``n_genes`` and ``logvar`` (a
    per-gene log variance parameter, or None). A ``"wgan-gp"`` checkpoint gives
    its generator, which has the same interface.
    """
    model_type = ckpt.get("model_type")
    if model_type == "wgan-gp":
        from gexgen.train.wgan import generator_from_checkpoint

        return generator_from_checkpoint(ckpt)
    if model_type != "cvae":
        raise GexgenError(
            f"unknown model_type {model_type!r} in checkpoint; known: ['cvae', 'wgan-gp']"
        )
    model = build_model(ckpt["model_config"])
    try:
        model.load_state_dict(ckpt["model_state"])
    except (RuntimeError, KeyError) as exc:
        raise GexgenError(f"checkpoint weights do not match its model_config: {exc}") from exc
    return model.decoder.eval()


def checkpoint_dict(
    model_type: str,
    model_config: dict[str, Any],
    model_state: dict[str, torch.Tensor],
    config: dict[str, Any],
    data: TrainingData,
    training: dict[str, Any],
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """The ``checkpoint.pt`` dict (layout above) of a run on ``data``.

    ``model_state`` is moved to the CPU; ``training`` holds the run's own
    figures (epochs, best epoch, validation score ...) and is prefixed with the
    data's fingerprint and sizes.
    """
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "model_type": model_type,
        "model_config": model_config,
        "model_state": {k: v.cpu() for k, v in model_state.items()},
        "config": config,
        "genes": {"symbols": data.gene_symbols, "entrez_ids": data.entrez_ids},
        "units": data.units,
        "labels": data.labels,
        "combinations": data.combinations,
        "scaler": data.scaler.to_dict(),
        "split": data.sample_ids,
        "training": {
            "data_sha256": data.data_sha256,
            "n_train": len(data.x_fit),
            "n_val": len(data.x_val),
            **training,
        },
        "history": history,
        "versions": versions(),
        "created": utc_now(),
    }


def versions() -> dict[str, str]:
    """Versions of the libraries that produced a checkpoint."""
    return {
        "gexgen": __version__,
        "torch": str(torch.__version__),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
