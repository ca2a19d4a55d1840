"""The ``dispersion``, ``de`` and ``augmentation`` sections of an evaluation.

Called by :func:`gexgen.metrics.evaluation.compute_metrics` with what its
scans already hold (per-group moments over every row, seeded row
subsamples); the real train split is read once here for the real-vs-real
references. See :mod:`~gexgen.metrics.dispersion`,
:mod:`~gexgen.metrics.differential`, :mod:`~gexgen.metrics.mmd` and
:mod:`~gexgen.metrics.augmentation` for the figures themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gexgen.metrics._sources import ProfileSet, group_keys, shared_genes
from gexgen.metrics.augmentation import augmentation_scores
from gexgen.metrics.differential import de_scores, find_contrasts
from gexgen.metrics.dispersion import dispersion_scores
from gexgen.metrics.gene_moments import GroupMoments
from gexgen.metrics.mmd import median_bandwidth, rbf_mmd
from gexgen.metrics.precision_recall import standardize_with

__all__ = ["RealTrain", "read_train", "dispersion_section", "de_section", "augmentation_section"]

MMD_MAX_SAMPLES = 1_000  # rows per set for the MMD (seeded subsample)


@dataclass
class RealTrain:
    """The real train split: log2 values over the scored genes, labels, grouped moments."""

    values: np.ndarray
    labels: pd.DataFrame
    moments: GroupMoments


def read_train(
    train: ProfileSet | None, columns: np.ndarray | None, n_genes: int, label_cols: list[str]
) -> RealTrain | None:
    """Read the train split once (None without one, or with fewer than 2 rows)."""
    if train is None or train.n < 2:
        return None
    values = train.read_log(columns=columns)
    moments = GroupMoments(n_genes).update(values, group_keys(train, label_cols))
    return RealTrain(values, train.labels, moments)


def dispersion_section(
    real: GroupMoments, synthetic: GroupMoments, train: RealTrain | None, min_samples: int
) -> dict[str, Any]:
    return dispersion_scores(
        real,
        synthetic,
        None if train is None else train.moments,
        min_samples=min_samples,
    )


def de_section(
    test: ProfileSet,
    label_cols: list[str],
    real: GroupMoments,
    synthetic: GroupMoments,
    real_sample: np.ndarray,
    synthetic_sample: np.ndarray,
    train: RealTrain | None,
    min_samples: int,
    seed: int,
) -> dict[str, Any]:
    """Fold-change agreement per contrast, and an RBF MMD on equal seeded subsamples.

    ``mmd`` (MMD^2, unbiased) standardizes every set with the real test rows'
    per-gene mean and std, uses one kernel width for the synthetic figure and
    its train-vs-test reference (``reference["mmd"]``; the width is the median
    distance between real test rows) and the same number of rows on every
    side; ``mmd_detail`` records them.
    """
    keys = group_keys(test, label_cols)
    contrasts = [] if keys is None else find_contrasts(test.labels, label_cols, keys, min_samples)
    out = de_scores(
        real,
        synthetic,
        contrasts,
        None if train is None else train.moments,
        min_samples=min_samples,
    )
    sides = [real_sample, synthetic_sample] + ([] if train is None else [train.values])
    n = int(min(MMD_MAX_SAMPLES, *(len(side) for side in sides)))
    out["mmd"] = None
    if n < 2:
        out["mmd_detail"] = {"skipped": f"fewer than 2 rows on a side ({n})"}
        return out
    real_z, *others = standardize_with(*sides)
    rng = np.random.default_rng([seed, 8])
    sigma = median_bandwidth(real_z[rng.choice(len(real_z), size=n, replace=False)])
    mmd = rbf_mmd(real_z, others[0], max_samples=n, seed=seed, bandwidth=sigma)
    out["mmd"] = mmd["mmd2"]
    out["mmd_detail"] = {
        "bandwidth": sigma,
        "n_per_set": n,
        "space": "log2(x + 1), standardized with the real test rows' mean and std",
        "kernel": "exp(-|u - v|^2 / (2 bandwidth^2)), bandwidth = median real test distance",
    }
    if train is not None and out["reference"] is not None:
        ref = rbf_mmd(real_z, others[1], max_samples=n, seed=seed, bandwidth=sigma)
        out["reference"]["mmd"] = ref["mmd2"]
    return out


def augmentation_label(test: ProfileSet, label_cols: Sequence[str]) -> str | None:
    """The label with the most distinct values in the real test rows (e.g. tissue)."""
    if not label_cols:
        return None
    return max(label_cols, key=lambda c: test.labels[c].astype(str).nunique())


def _generated_pool(
    model: str | os.PathLike[str],
    train: RealTrain,
    test: ProfileSet,
    label: str,
    per_class: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` generated profiles per class, labels drawn from that class's train rows."""
    from gexgen.metrics.evaluation import generate_matched

    rng = np.random.default_rng([seed, 12])
    classes = train.labels[label].astype(str).to_numpy()
    rows = np.concatenate(
        [
            rng.choice(np.flatnonzero(classes == c), size=per_class, replace=True)
            for c in sorted(set(classes))
        ]
    )
    labels = train.labels.iloc[rows].reset_index(drop=True)
    frame = ProfileSet.from_array(np.empty((len(rows), 0)), [], labels, name="training labels")
    pool = generate_matched(model, frame, seed + 1, len(rows))
    _, _, cols = shared_genes(test, pool)
    return pool.read_log(columns=cols), pool.labels[label].astype(str).to_numpy()


def augmentation_section(
    test: ProfileSet,
    test_values: np.ndarray,
    label_cols: list[str],
    train: RealTrain | None,
    synthetic_sample: np.ndarray,
    synthetic_labels: pd.DataFrame,
    model: str | os.PathLike[str] | None,
    *,
    per_class: int,
    n_seeds: int,
    seed: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Augmentation scores for the label with the most values (see :mod:`augmentation`).

    With a generator, ``per_class`` profiles per class are generated for it
    (labels drawn from that class's training rows); with a synthetic file its
    seeded subsample is the pool.
    """
    label = augmentation_label(test, label_cols)
    if label is None:
        return {"skipped": "no condition labels shared by real and synthetic"}
    if train is None:
        return {"skipped": "the real data has no train split to draw the k real profiles from"}
    if model is not None:
        say(f"augmentation: generating {per_class} profiles per {label} value")
        pool, pool_labels = _generated_pool(model, train, test, label, per_class, seed)
        source = f"generated: {per_class} per {label} value, labels from its training rows"
    else:
        pool, pool_labels = synthetic_sample, synthetic_labels[label].astype(str).to_numpy()
        source = f"seeded subsample of the synthetic file ({len(pool)} rows)"
    say(f"augmentation: {label} classifier with k real profiles per class, {n_seeds} seeds")
    out = augmentation_scores(
        train.values,
        train.labels[label].astype(str).to_numpy(),
        test_values,
        test.labels[label].astype(str).to_numpy(),
        pool,
        pool_labels,
        n_synthetic=per_class,
        n_seeds=n_seeds,
        seed=seed,
    )
    return {"label": label, "synthetic_source": source, **out}
