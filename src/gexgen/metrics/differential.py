"""Differential expression: does the generator keep the biology between groups?

A contrast compares two values of one label inside a group of the other
labels, e.g. ``status: tumor vs normal`` within ``tissue=kidney``. The
contrasts scored are those the real test split holds with at least
``min_samples`` rows on both sides. For each one, per gene:

- the log2 fold change, ``mean(log2(x+1) | b) - mean(log2(x+1) | a)``;
- Welch's t, the fold change over ``sqrt(var_a / n_a + var_b / n_b)``
  (sample variances).

``lfc_r`` is the Pearson r between the real and the synthetic fold changes
across genes, and ``top50_recall`` the share of the real top-50 genes by
``|t|`` that are also in the synthetic top 50. Both come from per-group
moments, so every synthetic row counts, streamed. Summaries are medians over
contrasts, overall and per contrasted label; ``reference`` gives the same
figures for the real train split against the real test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.metrics.gene_moments import GroupMoments, pearson

__all__ = ["Contrast", "de_scores", "find_contrasts", "fold_changes", "top_recall"]

TOP = 50  # genes in the top-|t| lists compared by top50_recall


@dataclass(frozen=True)
class Contrast:
    """Value ``b`` against value ``a`` of ``label``, the other labels fixed to ``within``."""

    label: str
    a: str
    b: str
    within: tuple[tuple[str, str], ...]  # (label, value) pairs held fixed
    key_a: str  # group key (as in GroupMoments) of the a rows
    key_b: str

    @property
    def name(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.within)
        return f"{self.label}: {self.b} vs {self.a}" + (f" ({where})" if where else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "a": self.a,
            "b": self.b,
            "within": dict(self.within),
            "key_a": self.key_a,
            "key_b": self.key_b,
        }


def find_contrasts(
    labels: pd.DataFrame, columns: Sequence[str], keys: Sequence[str], min_samples: int = 3
) -> list[Contrast]:
    """Every pair of values of one label, other labels fixed, both with ``min_samples`` rows.

    Parameters
    ----------
    labels
        One row per profile (the real test split's labels).
    columns
        The condition labels; one column gives plain value pairs (no ``within``).
    keys
        Each row's group key, as the :class:`GroupMoments` holding the rows use.

    Examples
    --------
    >>> tissue, status = ["k"] * 6 + ["l"] * 3, ["n", "t"] * 3 + ["n"] * 3
    >>> labels = pd.DataFrame({"tissue": tissue, "status": status})
    >>> keys = (labels["tissue"] + "|" + labels["status"]).to_numpy()
    >>> [c.name for c in find_contrasts(labels, ["tissue", "status"], keys)]
    ['tissue: l vs k (status=n)', 'status: t vs n (tissue=k)']
    """
    columns = list(columns)
    keys = np.asarray(keys).astype(str)
    if len(keys) != len(labels):
        raise GexgenError(f"{len(keys)} group keys for {len(labels)} label rows")
    if not columns:
        return []
    table = labels[columns].astype(str).reset_index(drop=True).copy()
    table["_key"] = keys
    counts = table.groupby(columns, sort=True, observed=True)["_key"].agg(["first", "size"])
    counts = counts[counts["size"] >= min_samples].reset_index()
    found: list[Contrast] = []
    for col in columns:
        others = [c for c in columns if c != col]
        groups = counts.groupby(others, sort=True) if others else [((), counts)]
        for fixed, rows in groups:
            fixed = fixed if isinstance(fixed, tuple) else (fixed,)
            within = tuple(zip(others, (str(v) for v in fixed), strict=True))
            rows = rows.sort_values(col)
            values, group_keys = rows[col].tolist(), rows["first"].tolist()
            for i in range(len(values)):
                for j in range(i + 1, len(values)):
                    found.append(
                        Contrast(col, values[i], values[j], within, group_keys[i], group_keys[j])
                    )
    return found


def fold_changes(moments: GroupMoments, contrast: Contrast) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene log2 fold change (b - a) and Welch t of ``contrast`` from group moments."""
    na, nb = moments.count(contrast.key_a), moments.count(contrast.key_b)
    if na < 2 or nb < 2:
        raise GexgenError(f"{contrast.name}: needs 2 rows per side, got {na} and {nb}")
    lfc = moments.mean(contrast.key_b) - moments.mean(contrast.key_a)
    var_a = moments.std(contrast.key_a) ** 2 * na / (na - 1)
    var_b = moments.std(contrast.key_b) ** 2 * nb / (nb - 1)
    se = np.sqrt(var_a / na + var_b / nb)
    t = np.divide(lfc, se, out=np.zeros_like(lfc), where=se > 0)
    return lfc, t


def top_recall(t_real: np.ndarray, t_other: np.ndarray, top: int) -> float:
    """Share of the ``top`` genes by ``|t_real|`` that are among the ``top`` by ``|t_other|``."""
    top = int(min(top, len(t_real)))
    if top < 1:
        raise GexgenError("top must be at least 1")
    real_top = np.argsort(-np.abs(t_real), kind="stable")[:top]
    other_top = np.argsort(-np.abs(t_other), kind="stable")[:top]
    return len(np.intersect1d(real_top, other_top)) / top


def _score(
    real: GroupMoments, other: GroupMoments, contrast: Contrast, top: int, min_samples: int
) -> dict[str, Any]:
    na, nb = other.count(contrast.key_a), other.count(contrast.key_b)
    if min(na, nb) < max(min_samples, 2):
        return {"lfc_r": None, "top50_recall": None, "skipped": f"{na} and {nb} rows"}
    lfc_real, t_real = fold_changes(real, contrast)
    lfc_other, t_other = fold_changes(other, contrast)
    return {
        "lfc_r": pearson(lfc_real, lfc_other),
        "top50_recall": top_recall(t_real, t_other, top),
    }


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.median(kept)) if kept else None


def _summaries(entries: list[dict[str, Any]], side: str | None) -> dict[str, Any]:
    def pick(e: dict[str, Any]) -> dict[str, Any]:
        return e if side is None else (e.get(side) or {})

    out: dict[str, Any] = {
        "lfc_r": _median([pick(e).get("lfc_r") for e in entries]),
        "top50_recall": _median([pick(e).get("top50_recall") for e in entries]),
        "n_contrasts": sum(pick(e).get("lfc_r") is not None for e in entries),
        "by_label": {},
    }
    for label in sorted({e["label"] for e in entries}):
        mine = [pick(e) for e in entries if e["label"] == label]
        out["by_label"][label] = {
            "lfc_r": _median([e.get("lfc_r") for e in mine]),
            "top50_recall": _median([e.get("top50_recall") for e in mine]),
            "n_contrasts": sum(e.get("lfc_r") is not None for e in mine),
        }
    return out


def de_scores(
    real: GroupMoments,
    synthetic: GroupMoments,
    contrasts: Sequence[Contrast],
    reference: GroupMoments | None = None,
    *,
    top: int = TOP,
    min_samples: int = 3,
) -> dict[str, Any]:
    """``lfc_r`` and ``top50_recall`` per contrast, their medians, and the train reference.

    Parameters
    ----------
    real, synthetic
        Group moments of the real test split and of the synthetic set, keyed
        like the contrasts (log2 values, same genes).
    contrasts
        From :func:`find_contrasts` on the real test labels.
    reference
        The real train split's moments, scored in the synthetic role.
    top
        Length of the top-|t| lists (capped at half the genes, so that a
        small panel does not score 1 by construction).

    Returns
    -------
    dict
        ``lfc_r``, ``top50_recall``, ``n_contrasts`` and ``by_label`` (medians
        over contrasts), ``top_n``, ``contrasts`` (one entry each, with its own
        ``reference``) and ``reference`` (train vs test medians).
    """
    if synthetic.n_genes != real.n_genes:
        raise GexgenError(f"real has {real.n_genes} genes but synthetic has {synthetic.n_genes}")
    top_n = int(max(1, min(top, real.n_genes // 2)))
    entries = []
    for contrast in contrasts:
        entry = {
            **contrast.to_dict(),
            "n_real": [real.count(contrast.key_a), real.count(contrast.key_b)],
            "n_synthetic": [synthetic.count(contrast.key_a), synthetic.count(contrast.key_b)],
            **_score(real, synthetic, contrast, top_n, min_samples),
            "reference": None,
        }
        if reference is not None:
            entry["reference"] = {
                "n_train": [reference.count(contrast.key_a), reference.count(contrast.key_b)],
                **_score(real, reference, contrast, top_n, min_samples),
            }
        entries.append(entry)
    out = _summaries(entries, None)
    out["top_n"] = top_n
    out["contrasts"] = entries
    out["reference"] = None
    if reference is not None:
        out["reference"] = {
            **_summaries(entries, "reference"),
            "method": "real train split vs real test split",
        }
    if not entries:
        out["skipped"] = (
            f"no label value pair has {min_samples} real test rows on both sides "
            "within a group of the other labels"
        )
    return out
