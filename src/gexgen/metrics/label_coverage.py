"""Which label combinations of the real reference the synthetic set covers.

A synthetic file drawn for one combination (``--condition tissue=kidney
--condition status=tumor``) scored against a real reference holding seventeen
is far from the reference by construction: gamma, detection and the rest are
then scores against all seventeen. :func:`label_coverage` counts the
combinations; :func:`coverage_notes` says so in words when some are missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["label_coverage", "coverage_notes"]

_SHOWN = 5  # missing combinations named in the note


def _combinations(labels: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Rows per label combination, keyed ``"kidney|tumor"`` (vectorized: 10^8 rows are fine)."""
    counts = labels.groupby(list(columns), observed=True, sort=True).size()
    counts = counts[counts > 0]
    keys = ["|".join(str(v) for v in (k if isinstance(k, tuple) else (k,))) for k in counts.index]
    return pd.Series(counts.to_numpy(), index=keys)


def label_coverage(
    real_labels: pd.DataFrame, synthetic_labels: pd.DataFrame, columns: Sequence[str]
) -> dict[str, Any]:
    """Counts of the real reference's label combinations that the synthetic rows hold.

    Examples
    --------
    >>> real = pd.DataFrame({"tissue": ["a", "a", "b"], "status": ["t", "n", "t"]})
    >>> synth = pd.DataFrame({"tissue": ["a"], "status": ["t"]})
    >>> c = label_coverage(real, synth, ["tissue", "status"])
    >>> c["n_real_combinations"], c["n_covered"], c["real_rows_covered_share"]
    (3, 1, 0.3333333333333333)
    """
    columns = list(columns)
    if not columns:
        return {"skipped": "no condition labels shared by real and synthetic"}
    real = _combinations(real_labels, columns)
    synth = _combinations(synthetic_labels, columns)
    covered = [k for k in real.index if k in synth.index]
    missing = [k for k in real.index if k not in synth.index]
    return {
        "labels": columns,
        "n_real_combinations": int(len(real)),
        "n_synthetic_combinations": int(len(synth)),
        "n_covered": len(covered),
        "real_rows_covered_share": float(real[covered].sum() / real.sum()) if len(real) else 0.0,
        "missing": missing,
        "synthetic_only": [k for k in synth.index if k not in real.index],
    }


def coverage_notes(coverage: dict[str, Any]) -> list[str]:
    """A warning line when the synthetic set leaves real label combinations out."""
    if "n_covered" not in coverage or coverage["n_covered"] == coverage["n_real_combinations"]:
        return []
    n, total = coverage["n_covered"], coverage["n_real_combinations"]
    missing = coverage["missing"]
    shown = ", ".join(missing[:_SHOWN])
    if len(missing) > _SHOWN:
        shown += f" and {len(missing) - _SHOWN} more"
    return [
        f"label coverage: synthetic covers {n} of {total} label combinations "
        f"({' x '.join(coverage['labels'])}) of the real reference; scores are against all "
        f"{total} ({1 - coverage['real_rows_covered_share']:.0%} of the real rows are in "
        f"combinations with no synthetic profile: {shown}): generate for every combination "
        "(no --condition) or evaluate against the matching real rows"
    ]
