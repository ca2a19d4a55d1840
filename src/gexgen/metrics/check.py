"""Pass/fail gate for CI: does a generator reach the required fidelity?

The generator is sampled once per real reference row (the cohort's test
split) with that row's labels and a fixed seed, so the same inputs always
give the same figures; each threshold is then checked.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from gexgen.errors import GexgenError
from gexgen.metrics.evaluation import EvaluateConfig, compute_metrics

__all__ = ["ThresholdCheck", "CheckResult", "check_generator"]


@dataclass(frozen=True)
class ThresholdCheck:
    name: str  # metric name, e.g. "gamma"
    value: float
    op: str  # ">=" or "<="
    threshold: float
    passed: bool

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict} {self.name} = {self.value:.4f} (required {self.op} {self.threshold:g})"


@dataclass(frozen=True)
class CheckResult:
    checks: list[ThresholdCheck]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "checks": [asdict(c) for c in self.checks],
            "metrics": self.metrics,
        }


def check_generator(
    model: str | os.PathLike[str],
    real: str | os.PathLike[str],
    *,
    min_gamma: float = 0.95,
    max_detection_auc: float | None = None,
    seed: int = 0,
    n_synthetic: int | None = None,
) -> CheckResult:
    """Sample ``model`` matched to ``real`` and test the thresholds.

    Parameters
    ----------
    model
        A generator ``.onnx`` file.
    real
        A cohort ``.h5ad`` (its test split is the reference) or a profile file.
    min_gamma
        gamma must be at least this.
    max_detection_auc
        When given, the detection AUC (logistic, 5-fold) must be at most this.
    seed
        Seeds generation and the detection folds.
    n_synthetic
        Profiles to generate; None = one per real reference row. More
        profiles lower the sampling noise of the synthetic correlations.

    Examples
    --------
    >>> result = check_generator("generator.onnx", "cohort.h5ad", min_gamma=0.9)  # doctest: +SKIP
    >>> result.passed  # doctest: +SKIP
    True
    """
    if not -1.0 <= min_gamma <= 1.0:
        raise GexgenError(f"min_gamma must be in [-1, 1], got {min_gamma}")
    if max_detection_auc is not None and not 0.0 <= max_detection_auc <= 1.0:
        raise GexgenError(f"max_detection_auc must be in [0, 1], got {max_detection_auc}")
    wanted = ("gamma",) if max_detection_auc is None else ("gamma", "detection")
    evaluation = compute_metrics(
        real, model=model, config=EvaluateConfig(seed=seed, metrics=wanted, n_synthetic=n_synthetic)
    )
    m = evaluation.metrics
    gamma = float(m["gamma"]["gamma"])
    checks = [ThresholdCheck("gamma", gamma, ">=", float(min_gamma), gamma >= min_gamma)]
    summary: dict[str, Any] = {
        "gamma": gamma,
        "gamma_ceiling": m["gamma_ceiling"].get("gamma"),
        "n_real": m["n_real"],
        "n_synthetic": m["n_synthetic"],
        "genes": m["genes"]["shared"],
        "seed": seed,
    }
    if max_detection_auc is not None:
        auc = float(m["detection"]["auc"])
        checks.append(
            ThresholdCheck(
                "detection_auc", auc, "<=", float(max_detection_auc), auc <= max_detection_auc
            )
        )
        summary["detection_auc"] = auc
    return CheckResult(checks, summary)
