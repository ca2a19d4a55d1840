"""Draw as many synthetic rows per label combination as a target table asks for.

CTGAN can only favour one discrete value per draw and TVAE cannot condition
at all, so both are sampled and the rows are kept by label combination
(rejection sampling), in rounds, until every combination has its count or
the round budget is spent; what is still missing is reported, never filled
with rows of another combination.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError

__all__ = ["MatchedSample", "combination_counts", "sample_matching"]

# sample_fn(n, condition) -> (expression [n, genes], labels DataFrame)
SampleFn = Callable[..., tuple[np.ndarray, pd.DataFrame]]


@dataclass
class MatchedSample:
    """The kept rows, how many were drawn, and the shortfall per combination."""

    expression: np.ndarray
    labels: pd.DataFrame
    n_drawn: int
    shortfall: dict[str, int] = field(default_factory=dict)  # "kidney|tumor" -> missing rows

    @property
    def acceptance(self) -> float:
        return len(self.labels) / self.n_drawn if self.n_drawn else 0.0


def combination_counts(labels: pd.DataFrame, columns: list[str]) -> dict[tuple[str, ...], int]:
    """Rows per label combination, in sorted order."""
    counts = labels[columns].astype(str).value_counts().sort_index()
    return {tuple(key) if isinstance(key, tuple) else (key,): int(n) for key, n in counts.items()}


def sample_matching(
    sample_fn: SampleFn,
    targets: pd.DataFrame,
    *,
    condition_on: str | None = None,
    oversample: float = 3.0,
    max_rounds: int = 5,
    min_draw: int = 20,
) -> MatchedSample:
    """Sample until each label combination of ``targets`` has as many rows as there.

    Parameters
    ----------
    sample_fn
        ``sample_fn(n, condition)`` draws ``n`` rows; ``condition`` is
        ``(label, value)`` or None.
    targets
        One row per wanted profile; its columns are the labels to match.
    condition_on
        A label to pass as condition, one draw per pending value (CTGAN);
        None draws unconditionally (TVAE).
    oversample
        Rows drawn per missing row in each round.
    """
    if len(targets) == 0:
        raise GexgenError("no target rows to match")
    if oversample <= 0 or max_rounds < 1:
        raise GexgenError(
            f"oversample must be > 0 and max_rounds >= 1, got {oversample}, {max_rounds}"
        )
    columns = [str(c) for c in targets.columns]
    if condition_on is not None and condition_on not in columns:
        raise GexgenError(f"condition_on {condition_on!r} is not a target column {columns}")
    need = combination_counts(targets, columns)
    kept: dict[tuple[str, ...], list[np.ndarray]] = {k: [] for k in need}
    have = dict.fromkeys(need, 0)
    n_drawn = 0

    def absorb(x: np.ndarray, labels: pd.DataFrame) -> None:
        keys = list(labels[columns].astype(str).itertuples(index=False, name=None))
        rows_by_key: dict[tuple[str, ...], list[int]] = {}
        for i, key in enumerate(keys):
            if key in need and have[key] < need[key]:
                rows_by_key.setdefault(key, []).append(i)
        for key, rows in rows_by_key.items():
            take = rows[: need[key] - have[key]]
            kept[key].append(x[take])
            have[key] += len(take)

    for _ in range(max_rounds):
        missing = {k: need[k] - have[k] for k in need if have[k] < need[k]}
        if not missing:
            break
        if condition_on is None:
            n = max(min_draw, int(np.ceil(oversample * sum(missing.values()))))
            x, labels = sample_fn(n, None)
            n_drawn += len(x)
            absorb(x, labels)
            continue
        at = columns.index(condition_on)
        per_value: dict[str, int] = {}
        for key, m in missing.items():
            per_value[key[at]] = per_value.get(key[at], 0) + m
        for value, m in sorted(per_value.items()):
            x, labels = sample_fn(
                max(min_draw, int(np.ceil(oversample * m))), (condition_on, value)
            )
            n_drawn += len(x)
            absorb(x, labels)

    parts, label_rows = [], []
    for key in need:
        for block in kept[key]:
            parts.append(block)
            label_rows += [key] * len(block)
    n_genes = parts[0].shape[1] if parts else 0
    expression = np.concatenate(parts) if parts else np.zeros((0, n_genes), dtype=np.float32)
    return MatchedSample(
        expression=expression.astype(np.float32, copy=False),
        labels=pd.DataFrame(label_rows, columns=columns),
        n_drawn=n_drawn,
        shortfall={"|".join(k): need[k] - have[k] for k in need if have[k] < need[k]},
    )
