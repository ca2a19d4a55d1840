"""Reproduce the paper's comparison (CVAE vs WGAN-GP, CTGAN, TVAE) on any cohort.

Same split, same number of synthetic profiles per label combination as the
real test split, same metrics for every model, plus fit time and sampling
throughput: ``results.json``, a printed table and an HTML page with one UMAP
panel per model.
"""

from __future__ import annotations

from gexgen.benchmark.config import (
    DEFAULT_MODELS,
    MODEL_NAMES,
    PAPER_GAMMA,
    PAPER_MODELS,
    BenchmarkConfig,
    parse_epochs,
    parse_models,
)
from gexgen.benchmark.run import run_benchmark
from gexgen.benchmark.scoring import format_table

__all__ = [
    "DEFAULT_MODELS",
    "MODEL_NAMES",
    "PAPER_GAMMA",
    "PAPER_MODELS",
    "BenchmarkConfig",
    "format_table",
    "parse_epochs",
    "parse_models",
    "run_benchmark",
]
