"""Stratified, seeded train/test split on label combinations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError

__all__ = ["stratified_split", "combination_keys"]


def combination_keys(labels: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One string key per row joining the values of ``columns`` (e.g. ``"kidney|tumor"``)."""
    missing = [c for c in columns if c not in labels.columns]
    if missing:
        raise GexgenError(f"label column(s) {missing} not found; available: {list(labels.columns)}")
    parts = [labels[c].astype(str) for c in columns]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key


def stratified_split(
    labels: pd.DataFrame,
    columns: Sequence[str],
    test_fraction: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """Return a boolean mask, True for test rows, stratified on label combinations.

    Each combination of ``columns`` contributes ``round(n * test_fraction)``
    rows to the test split, at least one and at most ``n - 1``; a combination
    with fewer than 2 samples cannot be split and raises an error naming it.

    Examples
    --------
    >>> obs = pd.DataFrame({"tissue": ["a"] * 4 + ["b"] * 6})
    >>> int(stratified_split(obs, ["tissue"], 0.5, seed=0).sum())
    5
    """
    if not 0.0 < test_fraction < 1.0:
        raise GexgenError(f"test_fraction must be in (0, 1), got {test_fraction}")
    keys = combination_keys(labels, columns).to_numpy()
    counts = pd.Series(keys).value_counts()
    too_small = counts[counts < 2]
    if len(too_small):
        listed = ", ".join(f"{k} ({n})" for k, n in too_small.items())
        raise GexgenError(
            f"label combination(s) with fewer than 2 samples cannot be split: {listed}; "
            "drop them or merge their labels"
        )
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(keys), dtype=bool)
    for key in sorted(counts.index):
        rows = np.flatnonzero(keys == key)
        n_test = int(np.clip(round(len(rows) * test_fraction), 1, len(rows) - 1))
        is_test[rng.choice(rows, size=n_test, replace=False)] = True
    return is_test
