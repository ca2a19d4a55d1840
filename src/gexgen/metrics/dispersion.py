"""Dispersion: is the synthetic spread of each gene as wide as the real one?

A correlation of per-gene standard deviations (``gene_moments``' std r) is
blind to a generator that shrinks every gene's spread by the same factor: it
reads 0.99 while the synthetic profiles are 15% too narrow. Here each gene's
synthetic standard deviation is divided by the real one, and the median of
those ratios (1 = same spread, below 1 = under-dispersed) and the share of
genes within +-10% of the real spread are reported, overall and per label
combination. Standard deviations are sample ones (ddof=1), so a small real
group is not made to look narrow against a large synthetic one.

The reference is the same figure for the real train split against the real
test split: finite samples alone put it a little off 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gexgen.errors import GexgenError
from gexgen.metrics.gene_moments import ALL, GroupMoments, score_groups

__all__ = ["dispersion_scores", "sample_std", "std_ratios"]

TOLERANCE = 0.10  # "within 10%": |synthetic std / real std - 1| <= TOLERANCE
MIN_REAL_STD = 1e-6  # genes with a smaller real spread (constant genes) have no ratio


def sample_std(moments: GroupMoments, key: str) -> np.ndarray:
    """Per-gene sample standard deviation (ddof=1) of group ``key``; NaN below 2 rows."""
    n = moments.count(key)
    if n < 2:
        return np.full(moments.n_genes, np.nan)
    return moments.std(key) * np.sqrt(n / (n - 1))


def std_ratios(real: GroupMoments, synthetic: GroupMoments, key: str = ALL) -> np.ndarray:
    """Per-gene synthetic / real sample std of group ``key``; NaN where the real std is ~0.

    Examples
    --------
    >>> r = GroupMoments(2).update(np.array([[0.0, 1.0], [2.0, 1.0]]))
    >>> s = GroupMoments(2).update(np.array([[0.0, 1.0], [1.0, 2.0]]))
    >>> std_ratios(r, s).tolist()
    [0.5, nan]
    """
    rs, ss = sample_std(real, key), sample_std(synthetic, key)
    out = np.full(real.n_genes, np.nan)
    ok = np.isfinite(rs) & (rs > MIN_REAL_STD) & np.isfinite(ss)
    out[ok] = ss[ok] / rs[ok]
    return out


def _summary(ratios: np.ndarray, tolerance: float) -> dict[str, Any]:
    finite = ratios[np.isfinite(ratios)]
    if finite.size == 0:
        return {"std_ratio_median": None, "within_10pct_share": None, "n_genes": 0}
    return {
        "std_ratio_median": float(np.median(finite)),
        "within_10pct_share": float(np.mean(np.abs(finite - 1.0) <= tolerance + 1e-12)),
        "n_genes": int(finite.size),
    }


def _scores(
    real: GroupMoments, synthetic: GroupMoments, min_samples: int, tolerance: float
) -> dict[str, Any]:
    overall = _summary(std_ratios(real, synthetic, ALL), tolerance)
    groups = score_groups(
        real,
        synthetic,
        min_samples,
        lambda key: {
            **_summary(std_ratios(real, synthetic, key), tolerance),
            "n_real": real.count(key),
            "n_synthetic": synthetic.count(key),
        },
    )
    medians = [
        g["std_ratio_median"] for g in groups.values() if g.get("std_ratio_median") is not None
    ]
    return {
        **overall,
        "n_real": real.count(ALL),
        "n_synthetic": synthetic.count(ALL),
        "group_std_ratio_median": float(np.median(medians)) if medians else None,
        "group_std_ratio_min": float(np.min(medians)) if medians else None,
        "groups": groups,
    }


def dispersion_scores(
    real: GroupMoments,
    synthetic: GroupMoments,
    reference: GroupMoments | None = None,
    *,
    min_samples: int = 3,
    tolerance: float = TOLERANCE,
) -> dict[str, Any]:
    """Median synthetic / real per-gene std ratio and share within ``tolerance``.

    Parameters
    ----------
    real, synthetic
        Filled :class:`GroupMoments` over the same genes (log2 values), grouped
        by the same label-combination keys.
    reference
        The real train split's moments, scored against ``real`` the same way
        (in the synthetic role); None leaves ``reference`` None.
    min_samples
        Groups with fewer rows on either side are listed but not scored.

    Returns
    -------
    dict
        ``std_ratio_median``, ``within_10pct_share``, ``n_genes`` (genes with a
        real spread), ``group_std_ratio_median`` / ``group_std_ratio_min``
        (over scored label combinations), ``groups`` (per combination) and
        ``reference`` (the same without ``groups``, train vs test).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = GroupMoments(50).update(rng.normal(size=(4000, 50)))
    >>> s = GroupMoments(50).update(0.8 * rng.normal(size=(4000, 50)))
    >>> round(dispersion_scores(r, s)["std_ratio_median"], 1)
    0.8
    """
    for name, m in (("real", real), ("synthetic", synthetic), ("reference", reference)):
        if m is None:
            continue
        if m.n_genes != real.n_genes:
            raise GexgenError(f"{name} has {m.n_genes} genes but real has {real.n_genes}")
        if m.count(ALL) < 2:
            raise GexgenError(f"dispersion needs at least 2 {name} rows, got {m.count(ALL)}")
    if not 0 < tolerance < 1:
        raise GexgenError(f"tolerance must lie in (0, 1), got {tolerance}")
    out = _scores(real, synthetic, min_samples, tolerance)
    out["tolerance"] = tolerance
    out["reference"] = None
    if reference is not None:
        ref = _scores(real, reference, min_samples, tolerance)
        ref.pop("groups")
        ref["n_test"], ref["n_train"] = ref.pop("n_real"), ref.pop("n_synthetic")
        ref["method"] = "real train split vs real test split"
        out["reference"] = ref
    return out
