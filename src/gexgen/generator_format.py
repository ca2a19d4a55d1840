"""The contract of a gexgen generator ``.onnx`` file, shared by export and runtime.

This module imports nothing heavy: the exporter (torch) writes what it
describes and the runtime (numpy + onnxruntime) reads it.

Graph inputs
    ``z``                float32 [n, n_latent]  standard-normal latent noise
    ``<label>_code``     int64   [n]            one per condition label, in the
                                                 order of ``metadata["labels"]``;
                                                 the code is the index of the value
                                                 in that label's ``values`` list
    ``eps``              float32 [n, n_genes]   only when ``metadata["noise_input"]``
                                                 is true (learned decoder variance):
                                                 standard-normal observation noise;
                                                 zeros give the decoder mean
Graph outputs
    ``log_expression``   float32 [n, n_genes]   log2(x + 1) scale
    ``expression``       float32 [n, n_genes]   original units, max(2**log - 1, 0)

The batch axis ``n`` is dynamic. One-hot encoding, decoder and inverse
standardization are inside the graph. A row with a label code outside that
label's vocabulary (e.g. ``-1`` or ``99``) is NaN in both outputs.

Sidecar: ``gexgen export`` also writes ``<file>.onnx.json`` beside the model
(:func:`metadata_sidecar`), holding the same JSON object, indented
(:func:`sidecar_text`); ``gexgen info FILE --json`` prints that same text. It is
for runtimes that cannot read custom model metadata (onnxruntime-node and
onnxruntime-web); the copy inside the ``.onnx`` file stays the reference.

Metadata: ``metadata_props[METADATA_KEY]`` holds one JSON object::

    {
      "format": "gexgen-generator", "format_version": 1,
      "gexgen_version": "0.1.0", "model_type": "cvae" | "wgan-gp",
      "n_latent": 50, "noise_input": false,
      "noise_stream": 2,       # how the runtime draws z and eps (gexgen.runtime.noise);
                               # absent (files before it): 1
      "genes": {"symbols": [...], "entrez_ids": [... or null]},
      "units": "FPKM" | null,      # units of the `expression` output (the cohort's)
      "labels": [{"name": "tissue", "input": "tissue_code",
                  "values": ["bladder", ...], "counts": [120, ...]}, ...],
      "combinations": [{"values": {"tissue": "kidney", "status": "tumor"},
                        "count": 57}, ...],            # seen in training
      "scaler": {"log_input": false, "mean": [...], "std": [...],
                 "marginals": "quantile" | "gaussian",  # the model's space (absent: gaussian)
                 "n_knots": 128 | null, "floor": 0.0 | null},  # log2 values never below floor
      "model_config": {...}, "training": {"data_sha256": "...",
      "n_train": 700, "val_loss": 0.42, "epochs": 300, "best_epoch": 280},
      "created": "2026-11-25T14:00:00Z"
    }
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "METADATA_KEY",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LATENT_INPUT",
    "NOISE_INPUT",
    "NOISE_STREAM_VERSION",
    "LOG_OUTPUT",
    "EXPRESSION_OUTPUT",
    "label_input_name",
    "metadata_sidecar",
    "sidecar_text",
]

METADATA_KEY = "gexgen"
FORMAT_NAME = "gexgen-generator"
FORMAT_VERSION = 1
LATENT_INPUT = "z"
NOISE_INPUT = "eps"
NOISE_STREAM_VERSION = 2  # written by export; files without "noise_stream" draw stream 1
LOG_OUTPUT = "log_expression"
EXPRESSION_OUTPUT = "expression"


def label_input_name(label: str) -> str:
    """Graph input name of a condition label's integer codes (``tissue`` -> ``tissue_code``)."""
    return f"{label}_code"


def metadata_sidecar(path: str | os.PathLike[str]) -> Path:
    """``generator.onnx`` -> ``generator.onnx.json``, the metadata beside the model file."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def sidecar_text(metadata: dict[str, Any]) -> str:
    """The sidecar's text (and ``gexgen info --json``'s output): indented JSON, one newline."""
    return json.dumps(metadata, indent=1, allow_nan=False) + "\n"
