"""Pass/fail gate for CI: does a generator reach the required fidelity (and privacy)?

The generator is sampled ``n_synthetic`` times (labels cycling through the
real reference rows, the cohort's test split) with a fixed seed, so the same
inputs always give the same figures; only the metrics a threshold needs are
computed, then each threshold is checked.

Any figure of ``metrics.json`` can be gated: :data:`GATES` maps each
threshold (``min_gamma``, ``max_mia_auc``, ...) to its metric, its place in
``metrics.json`` and its direction.

``DEFAULT_CHECK_SYNTHETIC``: gamma's sampling noise falls with the number of
synthetic profiles. On the demo generator (RNAseqDB L1000 cohort, 322 test
profiles; the fast-recipe generator, decoder means), gamma over seeds 0-5 spread
(max - min) 0.0077 with one profile per real row (322; gamma 0.9462-0.9539),
0.0015 with 5,000 (0.9586-0.9601) and 0.0005 with 20,000 (0.9599-0.9603;
seed-to-seed sd 0.00017); the default recipe's generator, with observation
noise, spread 0.0015 at 5,000 and 0.0005 at 20,000. 20,000 keeps the spread
well below 0.002. The mean also rises with the count (sampling noise in the synthetic correlations
lowers gamma), so a threshold set with one count does not carry to another.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from gexgen.errors import GexgenError
from gexgen.metrics.evaluation import ALL_METRICS, EvaluateConfig, compute_metrics
from gexgen.metrics.tstr import worst_tstr_ratio

__all__ = ["Gate", "GATES", "DEFAULT_CHECK_SYNTHETIC", "ThresholdCheck", "CheckResult"]
__all__ += ["check_generator", "junit_xml", "write_junit", "refuse_junit_over_inputs"]

DEFAULT_CHECK_SYNTHETIC = 20_000  # see the module docstring for the measurement


@dataclass(frozen=True)
class Gate:
    """One gateable figure: the metric that computes it and where metrics.json holds it."""

    name: str  # reported name, e.g. "mia_auc"
    metric: str  # EvaluateConfig.metrics entry that computes it
    path: tuple[str, ...]  # keys into metrics.json
    op: str  # ">=": the value must reach the threshold; "<=": must not exceed it
    low: float = 0.0  # the valid range of a threshold
    high: float = 1.0
    help: str = ""
    # a figure computed from metrics.json rather than stored in it (``path`` then names
    # its section, for the "skipped" reason and the reference lookup)
    derive: Callable[[dict[str, Any]], Any] | None = None


_FILE_ATTACK = ("privacy", "attacks", "generator_file")  # where the file attack sits

GATES: dict[str, Gate] = {
    "min_gamma": Gate(
        "gamma", "gamma", ("gamma", "gamma"), ">=", -1.0, 1.0, "gene-gene correlation agreement"
    ),
    "max_detection_auc": Gate(
        "detection_auc", "detection", ("detection", "auc"), "<=", help="real-vs-synthetic AUC"
    ),
    "max_detection_auc_nonlinear": Gate(
        "detection_auc_nonlinear",
        "detection",
        ("detection", "nonlinear", "auc"),
        "<=",
        help="gradient-boosted real-vs-synthetic AUC",
    ),
    "max_marginal_ks": Gate(
        "marginal_ks_median", "marginals", ("marginals", "ks_median"), "<=", help="per-gene KS"
    ),
    "min_precision": Gate("precision", "prdc", ("prdc", "precision"), ">=", help="equal sizes"),
    "min_recall": Gate("recall", "prdc", ("prdc", "recall"), ">=", help="equal sizes"),
    "min_coverage": Gate("coverage", "prdc", ("prdc", "coverage"), ">=", help="equal sizes"),
    "max_mia_auc": Gate(
        "mia_auc", "privacy", ("privacy", "mia_auc"), "<=", help="membership inference"
    ),
    "max_attack_auc": Gate(
        "attack_auc", "privacy", ("privacy", "attacks", "worst_auc"), "<=", help="worst attack"
    ),
    "max_attack_tpr_at_1pct_fpr": Gate(
        "attack_tpr_at_1pct_fpr",
        "privacy",
        ("privacy", "attacks", "worst_tpr_at_1pct_fpr"),
        "<=",
        help="worst attack's true-positive rate at 1% false positives",
    ),
    # the attack on the .onnx file itself (latent search; what sharing the file adds)
    "max_file_attack_auc": Gate(
        "file_attack_auc",
        "privacy",
        _FILE_ATTACK + ("auc",),
        "<=",
        help="the attack on the generator file",
    ),
    "max_file_attack_tpr_at_1pct_fpr": Gate(
        "file_attack_tpr_at_1pct_fpr",
        "privacy",
        _FILE_ATTACK + ("tpr_at_1pct_fpr",),
        "<=",
        help="the file attack's true-positive rate at 1% false positives",
    ),
    "max_closer_to_train": Gate(
        "closer_to_train_share",
        "privacy",
        ("privacy", "closer_to_train_share"),
        "<=",
        help="share of synthetic profiles nearest a training profile",
    ),
    "min_dcr_ratio": Gate(
        "dcr_median_ratio",
        "privacy",
        ("privacy", "dcr_median_ratio"),
        ">=",
        0.0,
        float("inf"),
        "median distance to the closest training record, over the held-out one",
    ),
    "max_dcr_below_p5": Gate(
        "dcr_below_holdout_p5",
        "privacy",
        ("privacy", "dcr_below_holdout_p5"),
        "<=",
        help="share closer to training than the held-out 5th percentile",
    ),
    "min_std_ratio": Gate(
        "std_ratio_median",
        "dispersion",
        ("dispersion", "std_ratio_median"),
        ">=",
        0.0,
        float("inf"),
        "median synthetic / real per-gene std",
    ),
    "min_tstr_ratio": Gate(
        "tstr_ratio",
        "tstr",
        ("tstr", "worst_ratio"),
        ">=",
        0.0,
        float("inf"),
        "lowest train-on-synthetic / train-on-real balanced accuracy over the labels",
        derive=lambda m: worst_tstr_ratio(m.get("tstr")),
    ),
    "min_lfc_r": Gate("lfc_r", "de", ("de", "lfc_r"), ">=", -1.0, 1.0, "fold-change correlation"),
    "min_top50_recall": Gate(
        "top50_recall", "de", ("de", "top50_recall"), ">=", help="top-50 DE gene overlap"
    ),
    "max_mmd": Gate("mmd", "de", ("de", "mmd"), "<=", 0.0, float("inf"), "RBF MMD"),
    "min_augmentation_gain": Gate(
        "augmentation_gain",
        "augmentation",
        ("augmentation", "mean_gain"),
        ">=",
        -1.0,
        1.0,
        "balanced-accuracy gain from synthetic profiles",
    ),
}


@dataclass(frozen=True)
class ThresholdCheck:
    name: str  # metric name, e.g. "gamma"
    value: float
    op: str  # ">=" or "<="
    threshold: float
    passed: bool
    reference: float | None = None  # the same figure's reference (ceiling, chance), if any

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        ref = "" if self.reference is None else f"; reference {self.reference:.4f}"
        return (
            f"{verdict} {self.name} = {self.value:.4f} (required {self.op} {self.threshold:g}{ref})"
        )


@dataclass(frozen=True)
class CheckResult:
    checks: list[ThresholdCheck]
    metrics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. not the training cohort

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "checks": [asdict(c) for c in self.checks],
            "metrics": self.metrics,
            "warnings": self.warnings,
        }


def _lookup(metrics: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _reference(metrics: dict[str, Any], gate: Gate) -> float | None:
    """The figure a gated value is read against: gamma's ceiling, a section's reference."""
    if gate.name == "gamma":
        value = _lookup(metrics, ("gamma_ceiling", "gamma"))
    elif gate.path[:3] == _FILE_ATTACK:  # the Gaussian attacked the same way
        value = _lookup(metrics, (*_FILE_ATTACK, "reference", "gaussian", gate.path[-1]))
    elif gate.path[:2] == ("privacy", "attacks"):  # the Gaussian's worst attack
        value = _lookup(metrics, ("privacy", "attacks", "reference", "gaussian", gate.path[-1]))
    elif gate.metric == "privacy":
        value = _lookup(metrics, ("privacy", "reference", "gaussian", gate.path[-1]))
    else:
        value = _lookup(metrics, (*gate.path[:-1], "reference", gate.path[-1]))
    return float(value) if isinstance(value, (int, float)) else None


def _thresholds(min_gamma: float | None, given: dict[str, float | None]) -> dict[str, float]:
    unknown = sorted(set(given) - set(GATES))
    if unknown:
        raise GexgenError(f"unknown threshold(s) {unknown}; valid: {', '.join(GATES)}")
    chosen = {k: float(v) for k, v in {"min_gamma": min_gamma, **given}.items() if v is not None}
    if not chosen:
        raise GexgenError("no threshold given; set at least one, e.g. min_gamma=0.95")
    for key, value in chosen.items():
        gate = GATES[key]
        if not gate.low <= value <= gate.high:
            raise GexgenError(f"{key} must be in [{gate.low:g}, {gate.high:g}], got {value:g}")
    missing = sorted({GATES[k].metric for k in chosen} - set(ALL_METRICS) - {"augmentation"})
    if missing:
        raise GexgenError(
            f"this gexgen computes no {missing} metric (it has {list(ALL_METRICS)}); "
            "drop the threshold(s) that need it"
        )
    return chosen


def check_generator(
    model: str | os.PathLike[str],
    real: str | os.PathLike[str],
    *,
    min_gamma: float | None = 0.95,
    seed: int = 0,
    n_synthetic: int | None = DEFAULT_CHECK_SYNTHETIC,
    space: str | None = None,
    strict: bool = False,
    **thresholds: float | None,
) -> CheckResult:
    """Sample ``model`` matched to ``real`` and test the thresholds.

    A cohort ``real`` whose content hash differs from the generator's training
    cohort gives a warning (an error with ``strict``; see
    :mod:`gexgen.metrics.training_data_check`).

    Parameters
    ----------
    model
        A generator ``.onnx`` file.
    real
        A cohort ``.h5ad`` (its test split is the reference; its train split
        is needed for the privacy gates) or a profile file.
    min_gamma
        gamma must be at least this (None: not checked).
    seed
        Seeds generation, subsampling and folds.
    n_synthetic
        Profiles to generate, labels cycling through the real reference rows;
        None = one per real row. The default keeps gamma's seed-to-seed spread
        below 0.002 (see the module docstring).
    space
        The real file's value space when it records none (expression, log2, ln1p).
    **thresholds
        Any other key of :data:`GATES` (``max_detection_auc``, ``max_mia_auc``,
        ``max_closer_to_train``, ``min_std_ratio``, ...); None = not checked.

    Examples
    --------
    >>> result = check_generator("generator.onnx", "cohort.h5ad", max_mia_auc=0.6)  # doctest: +SKIP
    >>> result.passed, [c.line() for c in result.checks]  # doctest: +SKIP
    """
    from gexgen.metrics.training_data_check import check_training_data

    chosen = _thresholds(min_gamma, thresholds)
    warnings = check_training_data(model, real, strict)
    needed = {GATES[k].metric for k in chosen}
    config = EvaluateConfig(
        seed=seed,
        metrics=tuple(m for m in ALL_METRICS if m in needed),
        n_synthetic=n_synthetic,
        space=space,
        augmentation="augmentation" in needed,  # opt-in: not one of ALL_METRICS
        attack_generator=any(GATES[k].path[:3] == _FILE_ATTACK for k in chosen),
    )
    m = compute_metrics(real, model=model, config=config).metrics
    checks = []
    summary: dict[str, Any] = {
        "n_real": m["n_real"],
        "n_synthetic": m["n_synthetic"],
        "genes": m["genes"]["shared"],
        "seed": seed,
    }
    for key, threshold in chosen.items():
        gate = GATES[key]
        value = _lookup(m, gate.path) if gate.derive is None else gate.derive(m)
        if not isinstance(value, (int, float)):
            why = _lookup(m, (gate.path[0], "skipped")) or "not computed"
            raise GexgenError(f"{gate.name} is not available for {key}: {why}")
        value = float(value)
        passed = value >= threshold if gate.op == ">=" else value <= threshold
        ref = _reference(m, gate)
        checks.append(ThresholdCheck(gate.name, value, gate.op, threshold, passed, ref))
        summary[gate.name] = value
        if ref is not None:
            summary[f"{gate.name}_reference"] = ref
    if "gamma" in needed:
        summary["gamma_ceiling"] = _lookup(m, ("gamma_ceiling", "gamma"))
    return CheckResult(checks, summary, warnings)


def junit_xml(result: CheckResult | None, error: str | None = None, seconds: float = 0.0) -> str:
    """JUnit XML for CI: one test case per threshold (a failure when missed), or one error.

    Examples
    --------
    >>> check = ThresholdCheck("gamma", 0.9, ">=", 0.95, False)
    >>> "<failure" in junit_xml(CheckResult([check]))
    True
    """
    import xml.etree.ElementTree as ET

    checks = [] if result is None else result.checks
    failures = sum(not c.passed for c in checks)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="gexgen check",
        tests=str(len(checks) if error is None else 1),
        failures=str(failures),
        errors="0" if error is None else "1",
        time=f"{seconds:.3f}",
    )
    for c in checks:
        case = ET.SubElement(
            suite, "testcase", classname="gexgen.check", name=f"{c.name} {c.op} {c.threshold:g}"
        )
        if not c.passed:
            ET.SubElement(case, "failure", message=c.line(), type="threshold").text = c.line()
        ET.SubElement(case, "system-out").text = c.line()
    if error is not None:
        case = ET.SubElement(suite, "testcase", classname="gexgen.check", name="evaluation")
        ET.SubElement(case, "error", message=error, type="error").text = error
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def write_junit(
    path: str | os.PathLike[str],
    result: CheckResult | None,
    error: str | None = None,
    seconds: float = 0.0,
) -> None:
    """Write :func:`junit_xml` to ``path`` (atomically)."""
    from gexgen._atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(junit_xml(result, error, seconds), encoding="utf-8")


def refuse_junit_over_inputs(junit: Any, generator: Any, real: Any) -> None:
    """Refuse a ``--junit`` path that is the generator, its sidecar or the real cohort."""
    from gexgen._outputs import refuse_input_as_output
    from gexgen.generator_format import metadata_sidecar

    side = metadata_sidecar(generator) if isinstance(generator, (str, os.PathLike)) else None
    refuse_input_as_output(junit, [generator, side, real], option="--junit")
