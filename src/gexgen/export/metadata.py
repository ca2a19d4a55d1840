"""The JSON metadata of a generator file, built from a training checkpoint.

The schema is the contract in :mod:`gexgen.generator_format`; this module fills
it from a checkpoint dict (see :mod:`gexgen.train.checkpoint`).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any

from gexgen import __version__
from gexgen.data.preprocess import LogStandardScaler
from gexgen.errors import GexgenError
from gexgen.generator_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    NOISE_STREAM_VERSION,
    label_input_name,
)

__all__ = ["generator_metadata", "metadata_json"]


def generator_metadata(
    ckpt: dict[str, Any], *, noise_input: bool, exporter: str, opset: int
) -> dict[str, Any]:
    """The metadata object for a checkpoint's generator file."""
    try:
        labels = [
            {
                "name": label["name"],
                "input": label_input_name(label["name"]),
                "values": [str(v) for v in label["values"]],
                "counts": [int(c) for c in label["counts"]],
            }
            for label in ckpt["labels"]
        ]
        training = dict(ckpt["training"])
        meta = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "gexgen_version": __version__,
            "model_type": str(ckpt["model_type"]),
            "n_latent": int(ckpt["model_config"]["n_latent"]),
            "noise_input": bool(noise_input),
            "noise_stream": NOISE_STREAM_VERSION,
            "genes": {
                "symbols": [str(s) for s in ckpt["genes"]["symbols"]],
                "entrez_ids": [None if e is None else int(e) for e in ckpt["genes"]["entrez_ids"]],
            },
            "units": None if ckpt.get("units") is None else str(ckpt["units"]),
            "labels": labels,
            "combinations": [
                {"values": {k: str(v) for k, v in c["values"].items()}, "count": int(c["count"])}
                for c in ckpt["combinations"]
            ],
            "scaler": {
                "log_input": bool(ckpt["scaler"]["log_input"]),
                "mean": [float(v) for v in ckpt["scaler"]["mean"]],
                "std": [float(v) for v in ckpt["scaler"]["std"]],
                **_marginals_record(ckpt["scaler"]),
            },
            "model_config": dict(ckpt["model_config"]),
            "training": {
                "data_sha256": training["data_sha256"],
                "n_train": int(training["n_train"]),
                "n_val": int(training.get("n_val", 0)),
                "val_loss": _finite_or_none(training.get("val_loss")),
                "epochs": int(training["epochs"]),
                "best_epoch": int(training["best_epoch"]),
                "config": ckpt.get("config", {}),
                "versions": ckpt.get("versions", {}),
            },
            "export": {"exporter": exporter, "opset": int(opset)},
            "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    except (KeyError, TypeError) as exc:
        raise GexgenError(
            f"the checkpoint lacks what a generator file needs ({exc!r}); "
            "train it again with this gexgen version"
        ) from exc
    for extra in ("val_gamma", "best_val_loss"):  # model-specific scores travel along
        if extra in training:
            meta["training"][extra] = _finite_or_none(training[extra])
    if "kept_epoch" in training:  # the epoch of the exported weights
        meta["training"]["kept_epoch"] = int(training["kept_epoch"])
    # model selection (criterion, kept epoch, its scores), observation noise, DP budget
    if training.get("selection"):
        meta["training"]["selection"] = _json_safe(training["selection"])
    if training.get("observation_noise"):
        meta["training"]["observation_noise"] = str(training["observation_noise"])
    if training.get("calibration"):
        meta["training"]["calibration"] = str(training["calibration"])
    if training.get("privacy"):
        meta["training"]["privacy"] = _json_safe(training["privacy"])
    from gexgen._names import refuse_duplicate_names

    # a checkpoint of an older gexgen may hold them; generate would refuse the file later
    refuse_duplicate_names(meta["genes"]["symbols"], "the checkpoint's gene list", "gene")
    n_genes = len(meta["genes"]["symbols"])
    if len(meta["scaler"]["mean"]) != n_genes:
        raise GexgenError(
            f"checkpoint scaler has {len(meta['scaler']['mean'])} genes, expected {n_genes}"
        )
    return meta


def metadata_json(meta: dict[str, Any]) -> str:
    """Compact, strict JSON (no NaN/Infinity) for the model's metadata_props."""
    return json.dumps(meta, separators=(",", ":"), allow_nan=False)


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    """Floats made finite-or-None, everything else str/int/bool as it is."""
    return {str(k): _finite_or_none(v) if isinstance(v, float) else v for k, v in d.items()}


def _marginals_record(scaler: dict[str, Any]) -> dict[str, Any]:
    """What the metadata says of the model's space: the marginal map's kind, its knot
    count and the log2 floor (the quantile table itself lives in the graph)."""
    fitted = LogStandardScaler.from_dict(scaler)
    quantiles = fitted.quantiles_
    return {
        "marginals": fitted.marginals,
        "n_knots": None if quantiles is None else int(quantiles.shape[1]),
        "floor": fitted.floor_,
    }


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
