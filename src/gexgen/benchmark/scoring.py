"""Score every model's synthetic set with the same metrics, and lay out the table.

The metrics are :func:`gexgen.metrics.compute_metrics` on log2(x + 1) values
against the real test split (its train split gives the real-vs-real gamma
ceiling and the train-on-real classifier scores).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gexgen.benchmark.config import PAPER_GAMMA
from gexgen.benchmark.models import BenchmarkData, ModelOutput

__all__ = ["real_profiles", "score_output", "summary_row", "reference_row", "format_table"]


def real_profiles(data: BenchmarkData) -> Any:
    """The whole cohort in memory with its train/test split, for the metrics package."""
    from gexgen.metrics._sources import ProfileSet

    labels = data.labels.copy()
    split = np.full(len(labels), "train", dtype=object)
    split[data.test_rows] = "test"
    labels["split"] = split
    space = "log2" if data.log_input else "expression"
    return ProfileSet.from_array(data.x, data.genes, labels, space, name="real cohort")


def score_output(output: ModelOutput, real: Any, data: BenchmarkData, seed: int) -> dict[str, Any]:
    """All metrics of one model's matched synthetic set (JSON-able)."""
    from gexgen.metrics import EvaluateConfig, compute_metrics
    from gexgen.metrics._sources import ProfileSet

    synthetic = ProfileSet.from_array(
        output.log2, data.genes, output.labels, "log2", name=f"{output.name} synthetic"
    )
    config = EvaluateConfig(seed=seed, labels=tuple(data.conditions))
    return compute_metrics(real, synthetic, config=config).metrics


def _get(d: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def summary_row(name: str, metrics: dict[str, Any], output: ModelOutput | None) -> dict[str, Any]:
    """One table row: the headline numbers of a model."""
    row: dict[str, Any] = {
        "model": name,
        "gamma": _get(metrics, "gamma", "gamma"),
        "paper_gamma": PAPER_GAMMA.get(name),
        "precision": _get(metrics, "prdc", "precision"),
        "recall": _get(metrics, "prdc", "recall"),
        "density": _get(metrics, "prdc", "density"),
        "coverage": _get(metrics, "prdc", "coverage"),
        "detection_auc": _get(metrics, "detection", "auc"),
    }
    for label, entry in (metrics.get("tstr") or {}).items():
        row[f"tstr_{label}"] = _get(entry, "train_synthetic", "balanced_accuracy")
    row["mean_r"] = _get(metrics, "gene_moments", "overall", "mean_r")
    row["std_r"] = _get(metrics, "gene_moments", "overall", "std_r")
    for key, path in _SECTION_COLUMNS.items():
        row[key] = _get(metrics, *path)
    row["fit_s"] = None if output is None else output.fit_seconds
    row["samples_per_s"] = None if output is None else output.sampling["rows_per_s"]
    row["n_synthetic"] = None if output is None else len(output.labels)
    return row


def reference_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """The real-vs-real row: gamma ceiling and classifiers trained on real data."""
    row: dict[str, Any] = {
        "model": "real (ceiling)",
        "gamma": _get(metrics, "gamma_ceiling", "gamma"),
    }
    for label, entry in (metrics.get("tstr") or {}).items():
        row[f"tstr_{label}"] = _get(entry, "train_real", "balanced_accuracy")
    references = {
        # privacy: half of the held-out profiles scored as if synthetic (no leakage) ...
        "mia_auc": _get(metrics, "privacy", "reference", "holdout_half", "mia_auc"),
        "dcr_median_ratio": _get(
            metrics, "privacy", "reference", "holdout_half", "dcr_median_ratio"
        ),
        # ... and for closer-to-train the share chance gives (n_train / (n_train + n_test))
        "closer_to_train_share": _get(metrics, "privacy", "closer_to_train_chance"),
        # detection: the logistic probe on real train vs test rows
        "detection_auc": _get(metrics, "detection", "reference", "auc"),
        # attacks: the same attacks with held-out real profiles as the synthetic set
        "attack_auc": _get(metrics, *_ATTACKS_HALF, "worst_auc"),
        "attack_tpr_1pct": _get(metrics, *_ATTACKS_HALF, "worst_tpr_at_1pct_fpr"),
    }
    for key, path in _SECTION_COLUMNS.items():  # dispersion, DE, augmentation: their own
        if path[0] != "privacy":
            references[key] = _get(metrics, *path[:-1], "reference", path[-1])
    row.update({k: v for k, v in references.items() if v is not None})
    return row


_ATTACKS_HALF = ("privacy", "attacks", "reference", "holdout_half")
# the newer sections' headline figures: table key -> path in metrics.json
_SECTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "detection_auc_nonlinear": ("detection", "nonlinear", "auc"),
    "ks_median": ("marginals", "ks_median"),
    "mia_auc": ("privacy", "mia_auc"),
    "closer_to_train_share": ("privacy", "closer_to_train_share"),
    "dcr_median_ratio": ("privacy", "dcr_median_ratio"),
    "attack_auc": ("privacy", "attacks", "worst_auc"),  # the worst attack and its TPR@1%FPR
    "attack_tpr_1pct": ("privacy", "attacks", "worst_tpr_at_1pct_fpr"),
    "std_ratio_median": ("dispersion", "std_ratio_median"),
    "lfc_r": ("de", "lfc_r"),
    "top50_recall": ("de", "top50_recall"),
    "mmd": ("de", "mmd"),
    "augmentation_gain": ("augmentation", "mean_gain"),
}
# columns shown only when some row has a value (sections an older run lacks)
_OPTIONAL = set(_SECTION_COLUMNS)

_COLUMNS: list[tuple[str, str, str]] = [
    # key, header, format
    ("model", "model", "s"),
    ("gamma", "gamma", ".3f"),
    ("paper_gamma", "paper", ".3f"),
    ("precision", "prec", ".2f"),
    ("recall", "recall", ".2f"),
    ("density", "density", ".2f"),
    ("coverage", "cover", ".2f"),
    ("detection_auc", "det.AUC", ".3f"),
    ("detection_auc_nonlinear", "GB AUC", ".3f"),
    ("ks_median", "KS med", ".3f"),
    ("tstr_*", "TSTR {}", ".2f"),
    ("mean_r", "mean r", ".3f"),
    ("std_r", "std r", ".3f"),
    ("mia_auc", "MIA AUC", ".3f"),
    ("closer_to_train_share", "closer", ".3f"),
    ("dcr_median_ratio", "DCR ratio", ".3f"),
    ("attack_auc", "atk AUC", ".3f"),
    ("attack_tpr_1pct", "atk TPR1%", ".3f"),
    ("std_ratio_median", "std ratio", ".3f"),
    ("lfc_r", "LFC r", ".3f"),
    ("top50_recall", "top50", ".2f"),
    ("mmd", "MMD", ".4f"),
    ("augmentation_gain", "aug gain", "+.3f"),
    ("fit_s", "fit s", ".0f"),
    ("samples_per_s", "samples/s", ",.0f"),
]


def table_columns(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(key, header, format) of the table, with one TSTR column per label."""
    labels: list[str] = []
    for row in rows:
        labels += [k[5:] for k in row if k.startswith("tstr_") and k[5:] not in labels]
    cols = []
    for key, header, fmt in _COLUMNS:
        if key == "tstr_*":
            cols += [(f"tstr_{lab}", header.format(lab), fmt) for lab in labels]
        elif key in _OPTIONAL and all(row.get(key) is None for row in rows):
            continue
        else:
            cols.append((key, header, fmt))
    return cols


def format_cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt) if fmt != "s" else str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table ("Table 2 with more columns"), one line per model."""
    cols = table_columns(rows)
    cells = [[header for _, header, _ in cols]]
    cells += [[format_cell(row.get(key), fmt) for key, _, fmt in cols] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cols))]
    lines = []
    for j, r in enumerate(cells):
        pairs = enumerate(zip(r, widths, strict=True))
        parts = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs]
        lines.append("  ".join(parts))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
