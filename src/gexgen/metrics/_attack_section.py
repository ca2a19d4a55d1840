"""``metrics["privacy"]["attacks"]``: the attack family on the synthetic set, beside references.

Members are training rows, non-members and the reference set held-out rows
(see :mod:`gexgen.metrics.attacks.runner` for the draws), all in log2(x + 1)
standardized with the training rows' mean and std. The same attacks, on the
same draws, score two references:

- ``gaussian``: a class-conditional Gaussian fitted on the training rows and
  sampled with the synthetic set's labels and count (a model that learns only
  class-level statistics; :mod:`gexgen.metrics.gaussian_baseline`);
- ``holdout_half``: half of the held-out rows (seeded) as the "synthetic" set,
  the other half giving the non-members and the reference: real data that
  never saw training, i.e. the spread of each figure at no leakage (half the
  candidates per group of the main figures).

``worst_auc_above_gaussian`` is the worst attack's AUC minus the Gaussian's
worst attack AUC.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.metrics.attacks import label_keys
from gexgen.metrics.attacks.runner import run_attacks, standardize_by_train

__all__ = ["attack_section", "SPACE"]

SPACE = "log2(x + 1), standardized per gene with the training rows' mean and std"


def _brief(result: dict[str, Any], what: str) -> dict[str, Any]:
    """A reference's figures: the worst attack and each attack's mean figures."""
    keep = ("auc", "auc_sd", "tpr_at_10pct_fpr", "tpr_at_1pct_fpr")
    attacks = {k: {f: v[f] for f in keep} for k, v in result["attacks"].items()}
    worst = {k: v for k, v in result.items() if k.startswith("worst_")}
    return {**worst, "attacks": attacks, "n_per_group": result["n_per_group"], "what": what}


def attack_section(
    train: np.ndarray,
    train_labels: pd.DataFrame,
    holdout: np.ndarray,
    holdout_labels: pd.DataFrame,
    synthetic: np.ndarray,
    synthetic_labels: pd.DataFrame,
    label_cols: list[str],
    *,
    seed: int = 0,
    n_draws: int = 5,
) -> dict[str, Any]:
    """Every attack on ``synthetic`` and on both references (log2 inputs; see the docstring)."""
    from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian

    start = time.perf_counter()
    train_labels = train_labels.reset_index(drop=True)
    holdout_labels = holdout_labels.reset_index(drop=True)
    synthetic_labels = synthetic_labels.reset_index(drop=True)
    keys = [
        label_keys(labels, label_cols, len(m))
        for m, labels in ((train, train_labels), (holdout, holdout_labels))
    ]
    synthetic_keys = label_keys(synthetic_labels, label_cols, len(synthetic))
    train_z, holdout_z, synthetic_z = standardize_by_train(train, holdout, synthetic)
    try:
        section = run_attacks(
            train_z, keys[0], holdout_z, keys[1], synthetic_z, synthetic_keys,
            seed=seed, n_draws=n_draws, roc=True,
        )  # fmt: skip
    except GexgenError as exc:
        return {"skipped": str(exc)}
    references: dict[str, Any] = {}
    try:
        model = ClassConditionalGaussian.fit(train, train_labels, label_cols)
        sample = model.sample(synthetic_labels if label_cols else None, seed=seed, n=len(synthetic))
        (gaussian_z,) = standardize_by_train(train, sample)[1:]
        gaussian = run_attacks(
            train_z, keys[0], holdout_z, keys[1], gaussian_z, synthetic_keys,
            seed=seed, n_draws=n_draws,
        )  # fmt: skip
        references["gaussian"] = _brief(
            gaussian,
            "class-conditional Gaussian fitted on the training rows, sampled with the "
            "synthetic set's labels and count",
        )
    except GexgenError as exc:
        references["gaussian"] = {"skipped": str(exc)}
    try:
        order = np.random.default_rng([seed, 303]).permutation(len(holdout))
        half = len(holdout) // 2
        a, b = np.sort(order[:half]), np.sort(order[half:])
        real = run_attacks(
            train_z, keys[0], holdout_z[b], keys[1][b], holdout_z[a], keys[1][a],
            seed=seed, n_draws=n_draws,
        )  # fmt: skip
        references["holdout_half"] = _brief(
            real,
            "half of the held-out rows (seeded) as the synthetic set; non-members and the "
            "reference from the other half",
        )
    except GexgenError as exc:
        references["holdout_half"] = {"skipped": str(exc)}
    section["reference"] = references
    gaussian_worst = references["gaussian"].get("worst_auc")
    section["worst_auc_above_gaussian"] = (
        None if gaussian_worst is None else section["worst_auc"] - gaussian_worst
    )
    section["space"] = SPACE
    section["n_train"], section["n_holdout"] = len(train), len(holdout)
    section["seconds"] = round(time.perf_counter() - start, 2)
    return section


def generator_file_section(
    model: Any,
    real_train: Any,
    holdout: np.ndarray,
    holdout_labels: pd.DataFrame,
    genes: list[str],
    *,
    seed: int = 0,
    n_draws: int = 5,
    draws_per_combination: int | None = None,
) -> dict[str, Any]:
    """``privacy.attacks.generator_file``: :mod:`~gexgen.metrics.attacks.generator_file`.

    ``real_train`` is the evaluation's train split (``.values``, ``.labels``);
    it and ``holdout`` are log2 rows over ``genes``; ``model`` None (a
    synthetic file was scored) gives a ``skipped`` entry.
    """
    from gexgen.metrics.attacks.generator_file import (
        DRAWS_PER_COMBINATION,
        generator_file_attack,
    )

    if model is None:
        return {"skipped": "the attack on the generator file needs it: give --model"}
    try:
        return generator_file_attack(
            model, real_train.values, real_train.labels, holdout, holdout_labels, genes=genes,
            seed=seed, n_draws=n_draws,
            draws_per_combination=draws_per_combination or DRAWS_PER_COMBINATION,
        )  # fmt: skip
    except GexgenError as exc:
        return {"skipped": str(exc)}
