"""Baselines from the paper's comparison: CTGAN and TVAE (the ``ctgan`` package, lazily).

The WGAN-GP baseline lives in :mod:`gexgen.train.wgan` (it trains and exports
like the CVAE).
"""

from __future__ import annotations

from gexgen.baselines.matched import MatchedSample, combination_counts, sample_matching
from gexgen.baselines.tabular import (
    TabularBaseline,
    TabularConfig,
    TabularKind,
    TransformerCache,
    TransformerTimes,
)

__all__ = [
    "MatchedSample",
    "TabularBaseline",
    "TabularConfig",
    "TabularKind",
    "TransformerCache",
    "TransformerTimes",
    "combination_counts",
    "sample_matching",
]
