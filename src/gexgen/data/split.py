"""Stratified, seeded train/test split on label combinations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError

__all__ = ["stratified_split", "combination_keys", "combination_rows"]


def _key_parts(labels: pd.DataFrame, columns: Sequence[str]) -> list[pd.Series]:
    missing = [c for c in columns if c not in labels.columns]
    if missing:
        raise GexgenError(f"label column(s) {missing} not found; available: {list(labels.columns)}")
    return [labels[c].astype(str) for c in columns]


def combination_keys(labels: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One string key per row joining the values of ``columns`` (e.g. ``"kidney|tumor"``).

    A ``|`` or ``\\`` inside a value is escaped with a backslash, so two
    different combinations never share a key (``("a|b", "c")`` gives
    ``"a\\|b|c"``, ``("a", "b|c")`` gives ``"a|b\\|c"``).
    """
    parts = [
        p.str.replace("\\", "\\\\", regex=False).str.replace("|", "\\|", regex=False)
        for p in _key_parts(labels, columns)
    ]
    key = parts[0]
    for p in parts[1:]:
        key = key + "|" + p
    return key


def combination_rows(
    labels: pd.DataFrame, columns: Sequence[str]
) -> dict[tuple[str, ...], np.ndarray]:
    """Row indices of each label combination, keyed by the tuple of its values."""
    parts = [p.tolist() for p in _key_parts(labels, columns)]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, key in enumerate(zip(*parts, strict=True)):
        groups.setdefault(key, []).append(i)
    return {key: np.asarray(rows, dtype=np.int64) for key, rows in groups.items()}


def stratified_split(
    labels: pd.DataFrame,
    columns: Sequence[str],
    test_fraction: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """Return a boolean mask, True for test rows, stratified on label combinations.

    Each combination of ``columns`` (a tuple of values: labels containing
    ``|`` cannot collide) contributes ``round(n * test_fraction)`` rows to the
    test split, at least one and at most ``n - 1``; a combination with fewer
    than 2 samples cannot be split and raises an error naming it.

    Examples
    --------
    >>> obs = pd.DataFrame({"tissue": ["a"] * 4 + ["b"] * 6})
    >>> int(stratified_split(obs, ["tissue"], 0.5, seed=0).sum())
    5
    """
    if not 0.0 < test_fraction < 1.0:
        raise GexgenError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups = combination_rows(labels, columns)
    too_small = {key: rows for key, rows in groups.items() if len(rows) < 2}
    if too_small:
        listed = ", ".join(f"{'|'.join(k)} ({len(r)})" for k, r in too_small.items())
        raise GexgenError(
            f"label combination(s) with fewer than 2 samples cannot be split: {listed}; "
            "drop them or merge their labels"
        )
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), dtype=bool)
    # the order of the joined text first: the same splits as gexgen 0.1 where keys did not collide
    for key in sorted(groups, key=lambda k: ("|".join(k), k)):
        rows = groups[key]
        n_test = int(np.clip(round(len(rows) * test_fraction), 1, len(rows) - 1))
        is_test[rng.choice(rows, size=n_test, replace=False)] = True
    return is_test
