"""Baselines: CTGAN and TVAE from the paper's comparison (the ``ctgan`` package, lazily),
and the numpy Gaussians ``gexgen benchmark`` sets the bar with.

The WGAN-GP baseline lives in :mod:`gexgen.train.wgan` (it trains and exports
like the CVAE); the diagonal Gaussian in :mod:`gexgen.metrics.gaussian_baseline`.
:mod:`gexgen.baselines.mvn` (the challenge's multivariate normal) and
:mod:`gexgen.baselines.lowrank_gaussian` import numpy only: the torch-backed
CTGAN/TVAE names load on first use.
"""

from __future__ import annotations

from typing import Any

from gexgen.baselines.lowrank_gaussian import LowRankGaussian
from gexgen.baselines.matched import MatchedSample, combination_counts, sample_matching
from gexgen.baselines.mvn import MultivariateNormalBaseline

_TABULAR = (
    "TabularBaseline",
    "TabularConfig",
    "TabularKind",
    "TransformerCache",
    "TransformerTimes",
)

__all__ = [
    "LowRankGaussian",
    "MatchedSample",
    "MultivariateNormalBaseline",
    "TabularBaseline",
    "TabularConfig",
    "TabularKind",
    "TransformerCache",
    "TransformerTimes",
    "combination_counts",
    "sample_matching",
]


def __getattr__(name: str) -> Any:
    if name in _TABULAR:  # torch and ctgan load here, not on ``import gexgen.baselines``
        from gexgen.baselines import tabular

        return getattr(tabular, name)
    raise AttributeError(f"module 'gexgen.baselines' has no attribute {name!r}")
