"""The ``mvn`` and ``lowrank`` benchmark models: numpy Gaussians fitted on the fit rows.

Like ``gaussian`` (:func:`gexgen.benchmark.models.run_gaussian`), each is fitted
on log2(x + 1) of the fit rows, draws one profile per test row with the test
split's labels, and is timed drawing ``throughput_samples`` expression
profiles in the training label mix. Fit and draws run with one BLAS thread:
after another model's scoring (scikit-learn / numba OpenMP threads in the same
process) the lowrank fit on the L1000 cohort took 1.6-6.6 s with two OpenBLAS
threads and 0.3 s with one. Definitions: :mod:`gexgen.baselines.mvn`,
:mod:`gexgen.baselines.lowrank_gaussian` and ``docs/baselines.md``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from gexgen.benchmark.models import BenchmarkData, Log, ModelOutput, _rate, _timed
from gexgen.metrics._config import single_blas_thread

__all__ = ["run_numpy_gaussian"]

_WHAT = {
    "mvn": "multivariate normal per label combination on standardized log2(x + 1): mean and "
    "PSD full covariance (eigenvalues clipped at 0; pooled within-combination covariance "
    "below 2 rows), sampled with covariance x 1.5 (the 2025 Health Privacy Challenge baseline)",
    "lowrank": "class-conditional low-rank Gaussian on standardized log2(x + 1): "
    "per-combination means, shared top-k within-combination factors W and per-gene "
    "residual variance psi, sampled as mu_c + W u + sqrt(psi) e",
}


def _fit(name: str, fit_x: np.ndarray, fit_labels: Any, data: BenchmarkData, cfg: Any) -> Any:
    from gexgen.baselines import LowRankGaussian, MultivariateNormalBaseline

    if name == "mvn":
        return MultivariateNormalBaseline.fit(fit_x, fit_labels, data.conditions)
    return LowRankGaussian.fit(fit_x, fit_labels, data.conditions, n_factors=cfg.lowrank_factors)


def _details(name: str, model: Any) -> dict[str, Any]:
    combos = model.combinations
    details: dict[str, Any] = {
        "budget": None,
        "combinations": len(combos.keys),
        "what": _WHAT[name],
    }
    if name == "mvn":
        details["covariance_scale"] = model.covariance_scale
        pairs = zip(combos.keys, model.pooled, model.factors, strict=True)
        details["pooled_covariance"] = [k for k, pooled, _ in pairs if pooled]
        details["covariance_ranks"] = {
            k: len(f) for k, f in zip(combos.keys, model.factors, strict=True)
        }
    else:
        details["n_factors"] = model.n_factors
        details["explained_within_variance"] = model.explained
    return details


def run_numpy_gaussian(
    name: Literal["mvn", "lowrank"], data: BenchmarkData, cfg: Any, log: Log
) -> ModelOutput:
    """Fit model ``name`` on the fit rows and draw the test split's labels (seeded)."""
    fit_x = data.to_log2(data.x[data.fit_rows])
    fit_labels = data.labels.iloc[data.fit_rows].reset_index(drop=True)
    log(f"  fitting {name} per label combination on {len(fit_x)} rows (standardized log2)")
    with single_blas_thread():
        model, fit_s = _timed(lambda: _fit(name, fit_x, fit_labels, data, cfg))
        log2 = model.sample(data.test_labels, seed=cfg.seed)
    n = cfg.throughput_samples

    def draw_expression() -> np.ndarray:
        with single_blas_thread():
            x, _ = model.sample_like_training(n, seed=cfg.seed + 1)
        return np.exp2(x, dtype=np.float32) - np.float32(1.0)

    _, seconds = _timed(draw_expression)
    return ModelOutput(
        name, log2, data.test_labels, fit_s, _rate(n, seconds, "numpy"), _details(name, model)
    )
