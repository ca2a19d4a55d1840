"""Turn a user's ``conditions`` into per-row label codes, reproducibly and chunk by chunk.

Accepted ``conditions``:

- ``"training"`` / ``"uniform"`` / None: every label is drawn; each row gets
  one label combination seen in training, with probability proportional to its
  training count (``"training"``, the default) or uniformly (``"uniform"``);
- a dict of label -> one value, e.g. ``{"tissue": "kidney", "status": "tumor"}``:
  those labels are fixed; labels left out are drawn among the seen combinations
  that match the fixed ones, by the ``mix`` proportions (training counts by
  default). A full combination never seen in training is allowed (the model
  extrapolates) with a warning; a partial one that matches no seen combination
  is an error;
- per-row values: a DataFrame with one column per label (other columns are
  ignored), or a dict of label -> array of n values (scalars are broadcast);
  every label must be given.

Draws of combinations use the block streams of :mod:`gexgen.runtime.noise`
(stream ``LABEL_STREAM``), so labels, like noise, do not depend on the chunk size.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from gexgen.errors import GexgenError
from gexgen.runtime.generator_info import LabelInfo
from gexgen.runtime.noise import BLOCK_ROWS, LABEL_STREAM, block_rng

__all__ = ["Mix", "MIXES", "ConditionPlan", "plan_conditions"]

Mix = Literal["training", "uniform"]
MIXES = ("training", "uniform")


class ConditionPlan:
    """Label codes of rows ``start:stop`` of a generation of ``n`` rows."""

    def __init__(self, labels: Sequence[LabelInfo], description: dict[str, Any]) -> None:
        self.labels = tuple(labels)
        self.description = description

    def codes(self, start: int, stop: int) -> dict[str, np.ndarray]:
        raise NotImplementedError


class _PerRowPlan(ConditionPlan):
    def __init__(
        self, labels: Sequence[LabelInfo], codes: dict[str, np.ndarray], description: dict[str, Any]
    ) -> None:
        super().__init__(labels, description)
        self._codes = codes

    def codes(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return {name: codes[start:stop] for name, codes in self._codes.items()}


class _FixedPlan(ConditionPlan):
    def __init__(
        self, labels: Sequence[LabelInfo], fixed: dict[str, int], description: dict[str, Any]
    ) -> None:
        super().__init__(labels, description)
        self._fixed = fixed

    def codes(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return {
            name: np.full(stop - start, code, dtype=np.int64) for name, code in self._fixed.items()
        }


class _MixPlan(ConditionPlan):
    def __init__(
        self,
        labels: Sequence[LabelInfo],
        combos: np.ndarray,
        weights: np.ndarray,
        seed: int,
        description: dict[str, Any],
    ) -> None:
        super().__init__(labels, description)
        self._combos = combos  # (k, n_labels) int64 codes
        cumulative = np.cumsum(weights, dtype=np.float64)
        self._cumulative = cumulative / cumulative[-1]
        self._seed = seed

    def codes(self, start: int, stop: int) -> dict[str, np.ndarray]:
        picks = np.empty(stop - start, dtype=np.intp)
        for block in range(start // BLOCK_ROWS, -(-stop // BLOCK_ROWS)):
            first = block * BLOCK_ROWS
            lo, hi = max(start, first), min(stop, first + BLOCK_ROWS)
            u = block_rng(self._seed, LABEL_STREAM, block).random(BLOCK_ROWS)
            pick = np.searchsorted(self._cumulative, u[lo - first : hi - first], side="right")
            picks[lo - start : hi - start] = np.minimum(pick, len(self._combos) - 1)
        chosen = self._combos[picks]
        return {
            label.name: np.ascontiguousarray(chosen[:, j]) for j, label in enumerate(self.labels)
        }


def _valid(label: LabelInfo) -> str:
    shown = ", ".join(label.values[:30]) + (", ..." if len(label.values) > 30 else "")
    return f"valid values of {label.name!r}: {shown}"


def _check_names(given: Sequence[str], labels: Sequence[LabelInfo]) -> None:
    names = [label.name for label in labels]
    unknown = [str(g) for g in given if g not in names]
    if unknown:
        raise GexgenError(f"unknown label(s) {unknown}; this generator's labels are {names}")


def _code_of(label: LabelInfo, value: Any) -> int:
    text = str(value)
    if text not in label.values:
        raise GexgenError(f"unknown value {text!r} for label {label.name!r}; {_valid(label)}")
    return label.values.index(text)


def _codes_of(label: LabelInfo, values: Any, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=object)
    if array.ndim == 0:
        return np.full(n, _code_of(label, array.item()), dtype=np.int64)
    if array.shape != (n,):
        raise GexgenError(
            f"per-row values of {label.name!r} have shape {array.shape}, "
            f"expected ({n},): one value per profile"
        )
    import pandas as pd

    codes = pd.Categorical(array.astype(str), categories=list(label.values)).codes
    if (codes < 0).any():
        bad = sorted({str(v) for v in array[codes < 0]})[:10]
        raise GexgenError(f"unknown value(s) {bad} for label {label.name!r}; {_valid(label)}")
    return codes.astype(np.int64)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bytes | int | float | np.generic) or np.ndim(value) == 0


def plan_conditions(
    conditions: Any,
    labels: Sequence[LabelInfo],
    combinations: Sequence[tuple[tuple[str, ...], int]],
    n: int,
    seed: int,
    mix: Mix = "training",
) -> ConditionPlan:
    """Validate ``conditions`` (see the module docstring) and plan the label codes of n rows."""
    if mix not in MIXES:
        raise GexgenError(f"mix must be one of {list(MIXES)}, got {mix!r}")
    names = [label.name for label in labels]
    if conditions is None:
        conditions = {}
    if isinstance(conditions, str):
        if conditions not in MIXES:
            raise GexgenError(
                f"conditions {conditions!r} not understood; give one of "
                f"{list(MIXES)}, a dict of label -> value, or per-row values"
            )
        conditions, mix = {}, conditions  # type: ignore[assignment]
    pd = sys.modules.get("pandas")  # a DataFrame can only come from an imported pandas
    if pd is not None and isinstance(conditions, pd.DataFrame):
        missing = [name for name in names if name not in conditions.columns]
        if missing:
            raise GexgenError(
                f"per-row conditions lack label column(s) {missing}; "
                f"columns given: {list(conditions.columns)}"
            )
        conditions = {name: conditions[name].to_numpy() for name in names}
    if not isinstance(conditions, Mapping):
        raise GexgenError(
            f"conditions must be 'training', 'uniform', a dict or a DataFrame, "
            f"got {type(conditions).__name__}"
        )
    _check_names(list(conditions), labels)
    by_name = {label.name: label for label in labels}
    if not all(_is_scalar(v) for v in conditions.values()):
        missing = [name for name in names if name not in conditions]
        if missing:
            raise GexgenError(f"per-row conditions must give every label; missing {missing}")
        codes = {name: _codes_of(by_name[name], conditions[name], n) for name in names}
        return _PerRowPlan(labels, codes, {"per_row": True})
    fixed = {name: _code_of(by_name[name], value) for name, value in conditions.items()}
    fixed_values = {name: by_name[name].values[code] for name, code in fixed.items()}
    seen = {values for values, _ in combinations}
    if len(fixed) == len(names):
        combo = tuple(fixed_values[name] for name in names)
        if seen and combo not in seen:
            warnings.warn(
                f"label combination {fixed_values} was not seen in training; the "
                "generator extrapolates",
                stacklevel=3,
            )
        return _FixedPlan(labels, {name: fixed[name] for name in names}, {"fixed": fixed_values})
    candidates = _candidates(labels, combinations, mix)
    keep = [
        (combo, w)
        for combo, w in candidates
        if all(combo[names.index(k)] == v for k, v in fixed_values.items())
    ]
    if not keep:
        listed = "; ".join(
            ", ".join(f"{k}={v}" for k, v in zip(names, combo, strict=True))
            for combo, _ in candidates[:20]
        )
        raise GexgenError(
            f"no label combination seen in training matches {fixed_values}; "
            f"seen combinations: {listed}"
        )
    combos = np.array(
        [
            [by_name[name].values.index(v) for name, v in zip(names, combo, strict=True)]
            for combo, _ in keep
        ],
        dtype=np.int64,
    )
    weights = np.array([w for _, w in keep], dtype=np.float64)
    if not weights.sum() > 0:
        weights = np.ones_like(weights)
    return _MixPlan(labels, combos, weights, seed, {"fixed": fixed_values, "mix": mix})


def _candidates(
    labels: Sequence[LabelInfo], combinations: Sequence[tuple[tuple[str, ...], int]], mix: Mix
) -> list[tuple[tuple[str, ...], float]]:
    """Seen combinations with their weights; without recorded combinations, the
    product of the vocabularies weighted by the product of the label proportions."""
    if combinations:
        return [(combo, 1.0 if mix == "uniform" else float(count)) for combo, count in combinations]
    proportions = [np.asarray(label.counts, float) / max(sum(label.counts), 1) for label in labels]
    out = []
    for index in itertools.product(*(range(len(label.values)) for label in labels)):
        combo = tuple(label.values[i] for label, i in zip(labels, index, strict=True))
        weight = (
            1.0
            if mix == "uniform"
            else float(np.prod([p[i] for p, i in zip(proportions, index, strict=True)]))
        )
        out.append((combo, weight))
    return out
