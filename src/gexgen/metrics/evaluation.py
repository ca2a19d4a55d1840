"""Score synthetic profiles against real ones and write metrics.json + report.html.

Real: a cohort ``.h5ad`` (its test split is the reference and its train split
gives the real-vs-real ceiling) or any profile file gexgen reads. Synthetic: a
profile file, or a generator ``.onnx`` sampled on the fly with the real
reference's label rows (same labels, row for row, seeded).

Every metric is computed on log2(x + 1) values over the genes both sides
share. Correlations and per-gene moments stream over all rows; PRDC,
detection, TSTR and UMAP use a seeded subsample of at most ``max_samples``
rows per set, and ``metrics["notes"]`` says when that happened.

PRDC is reported at equal sizes: the larger of the two subsamples is cut to
the smaller one's count over ``prdc_draws`` seeded draws (mean and sd); the
figure at unequal sizes stays under ``prdc["unequal_sizes"]``.

Privacy (``metrics["privacy"]``, see :mod:`gexgen.metrics.privacy`) needs the
cohort's train split: it scores the synthetic subsample above (at most
``max_samples`` profiles, seeded) against all training rows (up to
``PRIVACY_MAX_TRAIN``) and the real test subsample, in log2 space standardized
with training statistics, beside a class-conditional Gaussian fitted on the
training rows and sampled with the same labels and count. The
membership-inference AUC grows with the number of synthetic profiles scored,
so compare figures at the same ``max_samples``.

The value space of each input is read, never guessed: gexgen's own metadata
(profile files, cohorts' ``log_scaled``) or scanpy's ``uns["log1p"]`` (with
its base); ``space`` / ``synthetic_space`` state it for files that record
none (see :func:`gexgen.metrics._sources.load_profiles`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen import __version__
from gexgen._atomic import atomic_path
from gexgen._json import json_default
from gexgen._outputs import check_output_folder, refuse_linked_folder
from gexgen.errors import GexgenError
from gexgen.metrics._detection_section import detection_extras
from gexgen.metrics._sections import (
    RealTrain,
    augmentation_section,
    de_section,
    dispersion_section,
    read_train,
)
from gexgen.metrics._sources import (
    ProfileSet,
    check_label_columns,
    default_label_columns,
    group_keys,
    load_profiles,
    shared_genes,
)
from gexgen.metrics.correlation import CorrelationAccumulator, GeneCorrelation
from gexgen.metrics.detection import DetectionClassifier, detection_auc
from gexgen.metrics.gamma import gamma_score
from gexgen.metrics.gene_moments import GroupMoments, moment_agreement
from gexgen.metrics.label_coverage import coverage_notes, label_coverage
from gexgen.metrics.marginals import marginal_scores
from gexgen.metrics.precision_recall import prdc, standardize_with
from gexgen.metrics.tstr import tstr_scores

__all__ = ["EvaluateConfig", "Evaluation", "compute_metrics", "evaluate", "generate_matched"]
__all__ += ["QUICK"]

ALL_METRICS = ("gamma", "prdc", "detection", "tstr", "moments", "privacy", "dispersion", "de")
ALL_METRICS += ("marginals",)
PRIVACY_MAX_TRAIN = 50_000  # training rows scored for privacy (seeded subsample beyond)


@dataclass(frozen=True)
class EvaluateConfig:
    """Settings of an evaluation; the CLI options map onto these fields."""

    seed: int = 0  # seeds generation, subsampling, folds and UMAP
    labels: tuple[str, ...] | None = None  # condition labels; None = those both sides have
    k: int = 5  # PRDC neighbourhood size (Naeem et al.)
    max_samples: int = 5_000  # rows per set for PRDC, detection and TSTR
    umap_max_samples: int = 2_000  # rows per set in the UMAP figures
    detection_classifier: DetectionClassifier = "logistic"
    n_folds: int = 5  # detection AUC folds
    n_synthetic: int | None = None  # profiles generated with --model; None = one per real row
    chunk_rows: int = 65_536  # rows per streamed chunk
    min_group_samples: int = 3  # smallest label combination scored for moments
    metrics: tuple[str, ...] = ALL_METRICS  # which metrics to compute
    space: str | None = None  # real file's values: expression|log2|ln1p; None = as recorded
    synthetic_space: str | None = None  # the same for the synthetic file
    prdc_draws: int = 5  # seeded equal-size draws averaged into PRDC
    privacy_draws: int = 5  # seeded member / non-member draws averaged into mia_auc
    augmentation: bool = False  # also score augmentation (a few-shot classifier; slower)
    augmentation_per_class: int = 100  # synthetic profiles added per class
    augmentation_seeds: int = 5  # seeded draws averaged per k
    attack_generator: bool = False  # with a model: also attack the .onnx file (latent search)
    umap: bool = True  # UMAP figures in the report (umap-learn; the slowest figures)
    # the gradient-boosted probe's real-vs-real reference (half of the probe's time);
    # without it the verdict reads the probe against 0.5, never more lenient
    probe_reference: bool = True

    def __post_init__(self) -> None:
        """Refuse bad sizes at once, before any data is read."""
        for name, minimum in (
            ("k", 1),
            ("max_samples", self.k + 1 if _is_int(self.k) else 2),
            ("umap_max_samples", 2),
            ("n_folds", 2),
            ("chunk_rows", 1),
            ("min_group_samples", 1),
        ):
            value = getattr(self, name)
            if not _is_int(value) or value < minimum:
                option = "--" + name.replace("_", "-")
                raise GexgenError(
                    f"{option} must be an integer >= {minimum}, got {value!r}"
                    + (f" (PRDC needs more rows than k={self.k})" if name == "max_samples" else "")
                )
        if self.n_synthetic is not None and (not _is_int(self.n_synthetic) or self.n_synthetic < 1):
            raise GexgenError(f"--n-synthetic must be >= 1, got {self.n_synthetic!r}")
        for name in ("prdc_draws", "privacy_draws"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise GexgenError(f"{name} must be an integer >= 1, got {value!r}")

    @classmethod
    def quick(cls, **changes: Any) -> EvaluateConfig:
        """The ``--quick`` preset (:data:`QUICK`: fewer draws, no UMAP), then ``changes``.

        The same figures against the same references, each from fewer seeded
        repeats (so with a wider spread), in about half the time.
        """
        return cls(**{**QUICK, **changes})

    def fewer_repeats(self) -> str | None:
        """A note when folds or draws are below the full evaluation's (None when they are not)."""
        full = EvaluateConfig()
        parts = [
            f"{label} {getattr(self, name)} (full: {getattr(full, name)})"
            for name, label in (
                ("n_folds", "detection folds"),
                ("prdc_draws", "PRDC draws"),
                ("privacy_draws", "privacy draws"),
            )
            if getattr(self, name) < getattr(full, name)
        ]
        if not self.probe_reference:
            parts.append("no real-vs-real reference for the gradient-boosted probe")
        if not parts:
            return None
        return (
            "a quicker evaluation than the full one (" + ", ".join(parts) + "): the same "
            "figures with a wider spread; run without --quick for the full evaluation"
        )


# ``gexgen evaluate --quick``: about half the time of the full evaluation on the L1000 cohort
# (the probes keep 5 folds: with fewer, each fold model sees fewer rows and the AUC drops,
# 0.716 at 3 folds against 0.754 at 5 on the 20-epoch quickstart generator)
QUICK: dict[str, Any] = {
    "prdc_draws": 2,
    "privacy_draws": 2,
    "umap": False,
    "probe_reference": False,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _reporter(enabled: bool) -> Callable[[str], None]:
    """Stage messages on stderr (``evaluate: ...``) when ``enabled``; silent otherwise."""

    def say(message: str) -> None:
        if enabled:
            print(f"evaluate: {message}", file=sys.stderr, flush=True)

    return say


@dataclass
class _Scan:
    correlation: GeneCorrelation
    moments: GroupMoments
    sample: np.ndarray  # log2 values of a seeded subsample of rows
    sample_labels: pd.DataFrame
    n: int


@dataclass
class Evaluation:
    """Metrics (JSON-able) plus the subsamples the report draws."""

    metrics: dict[str, Any]
    genes: list[str]
    label_columns: list[str]
    real: _Scan
    synthetic: _Scan
    notes: list[str] = field(default_factory=list)
    train_moments: GroupMoments | None = None  # the real train split's, for the report


def subsample_rows(n: int, max_rows: int, seed: int, stream: int) -> np.ndarray:
    """The sorted seeded subsample of at most ``max_rows`` of ``n`` rows that a scan keeps
    (one definition for the one-pass and the partitioned scans, which must agree)."""
    rng = np.random.default_rng([seed, stream])
    return np.sort(rng.choice(n, size=min(n, max_rows), replace=False))


def _scan(
    s: ProfileSet,
    columns: np.ndarray | None,
    n_genes: int,
    label_columns: list[str],
    max_rows: int,
    seed: int,
    stream: int,
    chunk_rows: int,
    progress: bool = False,
) -> _Scan:
    """One pass over ``s``: correlation, group moments and a seeded row subsample."""
    from tqdm.auto import tqdm

    n = s.n
    if n == 0:
        raise GexgenError(f"{s.name} holds no profiles")
    keys = group_keys(s, label_columns)
    pick = subsample_rows(n, max_rows, seed, stream)
    acc = CorrelationAccumulator(n_genes)
    moments = GroupMoments(n_genes)
    sample = np.empty((len(pick), n_genes), dtype=np.float32)
    start = 0
    bar = tqdm(
        total=n,
        desc=f"reading {s.name}",
        unit=" profiles",
        unit_scale=True,
        disable=not progress or n <= chunk_rows,  # one chunk: nothing to follow
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )
    with bar:
        for chunk in s.log_chunks(columns, chunk_rows):
            stop = start + chunk.shape[0]
            try:
                acc.update(chunk)
            except GexgenError as exc:
                raise _bad_values(s, chunk, start, exc) from exc
            moments.update(chunk, None if keys is None else keys[start:stop])
            lo, hi = np.searchsorted(pick, [start, stop])
            sample[lo:hi] = chunk[pick[lo:hi] - start]
            start = stop
            bar.update(chunk.shape[0])
    if start != n:
        raise GexgenError(f"{s.name}: read {start} rows, expected {n}")
    labels = s.labels.iloc[pick].reset_index(drop=True)
    return _Scan(acc.result(), moments, sample, labels, n)


def _bad_values(s: ProfileSet, chunk: np.ndarray, start: int, exc: Exception) -> GexgenError:
    """Name the file and rows of non-finite values, and say when negatives caused them."""
    bad = ~np.isfinite(chunk)
    if not bad.any():
        return GexgenError(f"{s.name}: {exc}")
    rows = (start + np.flatnonzero(bad.any(axis=1))[:3]).tolist()
    if s.space == "expression":
        return GexgenError(
            f"{s.name} has {int(bad.sum())} value(s) that are NaN, infinite or negative "
            f"(log2(x + 1) of a value <= -1 is not a number), e.g. in row(s) {rows}; "
            "expression values must be finite and >= 0: fix the file, or regenerate it"
        )
    return GexgenError(
        f"{s.name} has {int(bad.sum())} NaN or infinite value(s), e.g. in row(s) {rows}; "
        "fill or drop them before scoring"
    )


def generate_matched(
    model: str | os.PathLike[str], real: ProfileSet, seed: int, n: int | None = None
) -> ProfileSet:
    """Sample the generator with the real rows' labels (seeded).

    ``n=None`` draws one profile per real row; otherwise ``n`` profiles whose
    labels cycle through the real rows (row i gets real row ``i % n_real``'s),
    so the label proportions follow the real set.
    """
    from gexgen.runtime import GeneratorSession

    session = GeneratorSession(model)
    vocab = {str(k): [str(v) for v in vals] for k, vals in dict(session.labels).items()}
    missing = [name for name in vocab if name not in real.labels.columns]
    if missing:
        raise GexgenError(
            f"the generator conditions on label(s) {missing}, which {real.name} lacks "
            f"(it has {list(real.labels.columns)})"
        )
    for name, values in vocab.items():
        unknown = sorted(set(real.labels[name].astype(str)) - set(values))
        if unknown:
            raise GexgenError(
                f"{real.name} has {name} value(s) {unknown} the generator does not know "
                f"(it knows {values}); evaluate on a cohort with the training labels"
            )
    n = real.n if n is None else int(n)
    if n < 2:
        raise GexgenError(f"the number of synthetic profiles must be at least 2, got {n}")
    rows = np.arange(n) % real.n
    conditions = real.labels[list(vocab)].astype(str).iloc[rows].reset_index(drop=True)
    matrix, labels = session.sample(
        n, conditions=conditions, seed=seed, space="log2", as_frame=False
    )
    return ProfileSet.from_array(
        np.asarray(matrix),
        list(session.genes),
        pd.DataFrame(labels),
        "log2",
        name=f"synthetic from {Path(model).name!r}",
    )


def _gamma_ceiling(
    train: ProfileSet | None,
    test_scan: _Scan,
    real: ProfileSet,
    cols: Any,
    n_genes: int,
    genes: list[str],
    config: EvaluateConfig,
) -> dict[str, Any]:
    if train is None:
        return {"gamma": None, "skipped": f"{real.name} has no train/test split column 'split'"}
    if train.n < 2:
        return {"gamma": None, "skipped": "the train split has fewer than 2 rows"}
    acc = CorrelationAccumulator(n_genes)
    for chunk in train.log_chunks(cols, config.chunk_rows):
        acc.update(chunk)
    result = gamma_score(acc.result(), test_scan.correlation, genes=genes)
    return {
        "gamma": result.gamma,
        "n_genes": result.n_genes,
        "n_train": result.n_real,
        "n_test": result.n_synthetic,
        "zero_variance_train": result.zero_variance_real,
        "zero_variance_test": result.zero_variance_synthetic,
        "method": "real train split vs real test split",
    }


def _prdc_equal_sizes(real_z: np.ndarray, synth_z: np.ndarray, config: EvaluateConfig) -> dict:
    """PRDC with both sets at the smaller one's count: mean and sd over seeded draws.

    Recall and coverage depend on the two counts (5,000 synthetic against 300
    real profiles says more about the sizes than the model), so the larger
    set is subsampled to the smaller one's size ``prdc_draws`` times.
    """
    if config.prdc_draws < 1:
        raise GexgenError(f"prdc_draws must be at least 1, got {config.prdc_draws}")
    unequal = prdc(real_z, synth_z, k=config.k, max_samples=config.max_samples, seed=config.seed)
    n = min(len(real_z), len(synth_z))
    keys = ("precision", "recall", "density", "coverage")
    draws: dict[str, list[float]] = {key: [] for key in keys}
    for draw in range(config.prdc_draws):
        rng = np.random.default_rng([config.seed, 404, draw])
        r = real_z if len(real_z) == n else real_z[np.sort(rng.choice(len(real_z), n, False))]
        s = synth_z if len(synth_z) == n else synth_z[np.sort(rng.choice(len(synth_z), n, False))]
        result = prdc(r, s, k=config.k, max_samples=n, seed=config.seed)
        for key in keys:
            draws[key].append(getattr(result, key))
    sd = config.prdc_draws > 1
    out: dict[str, Any] = {key: float(np.mean(v)) for key, v in draws.items()}
    out["sd"] = {key: float(np.std(v, ddof=1)) if sd else 0.0 for key, v in draws.items()}
    out.update(
        k=config.k,
        n_real=n,
        n_synthetic=n,
        n_draws=config.prdc_draws,
        equal_sizes=True,
        n_real_total=unequal.n_real_total,
        n_synthetic_total=unequal.n_synthetic_total,
        unequal_sizes=unequal.to_dict(),
    )
    return out


def _privacy_section(
    train: ProfileSet | None,
    real_train: RealTrain | None,
    real_scan: _Scan,
    synth_scan: _Scan,
    label_cols: list[str],
    config: EvaluateConfig,
) -> dict[str, Any]:
    """metrics["privacy"]: the synthetic subsample vs the train split and the test subsample."""
    from gexgen.metrics.privacy import gaussian_privacy_reference, privacy_metrics

    if train is None:
        return {"skipped": "the real file has no train/test split column 'split' (a cohort has)"}
    if real_train is None or real_scan.n < 2:
        return {"skipped": f"need 2 train and 2 test rows, got {train.n} and {real_scan.n}"}
    rows = None
    if train.n > PRIVACY_MAX_TRAIN:
        rng = np.random.default_rng([config.seed, 505])
        rows = np.sort(rng.choice(train.n, PRIVACY_MAX_TRAIN, replace=False))
    train_x = real_train.values if rows is None else real_train.values[rows]
    train_labels = real_train.labels if rows is None else real_train.labels.iloc[rows]
    train_labels = train_labels.reset_index(drop=True)
    draws = config.privacy_draws
    result = privacy_metrics(
        train_x, real_scan.sample, synth_scan.sample, seed=config.seed, n_draws=draws
    )
    section = result.to_dict()
    section["n_train_total"] = train.n
    section["n_holdout_total"] = real_scan.n
    section["n_synthetic_total"] = synth_scan.n
    section["subsampled"] = synth_scan.n > result.n_synthetic or rows is not None
    try:
        section["reference"]["gaussian"] = gaussian_privacy_reference(
            train_x,
            train_labels,
            real_scan.sample,
            synth_scan.sample_labels,
            label_cols,
            n=result.n_synthetic,
            seed=config.seed,
            n_draws=draws,
        )
    except GexgenError as exc:
        section["reference"]["gaussian"] = {"skipped": str(exc)}
    from gexgen.metrics._attack_section import attack_section  # the attack family

    section["attacks"] = attack_section(
        train_x, train_labels, real_scan.sample, real_scan.sample_labels, synth_scan.sample,
        synth_scan.sample_labels, label_cols, seed=config.seed, n_draws=draws,
    )  # fmt: skip
    return section


def _privacy_notes(section: dict[str, Any]) -> list[str]:
    """A note when the membership-inference AUC stands out from both references."""
    auc = section.get("mia_auc")
    if auc is None:
        return []
    gaussian = (section.get("reference") or {}).get("gaussian") or {}
    half = (section.get("reference") or {}).get("holdout_half") or {}
    refs = [0.5] + [r["mia_auc"] for r in (gaussian, half) if r.get("mia_auc") is not None]
    if auc < max(refs) + 0.05:
        return []
    gauss = gaussian.get("mia_auc")
    return [
        f"privacy: membership-inference AUC {auc:.3f} (0.5 = no leakage; "
        + (f"class-conditional Gaussian {gauss:.3f}; " if gauss is not None else "")
        + f"held-out real profiles {half.get('mia_auc', float('nan')):.3f}): training "
        "patients are told apart from held-out ones by their distance to the synthetic "
        "profiles; the generator memorizes part of its training set"
    ]


def compute_metrics(
    real: Any,
    synthetic: Any = None,
    model: str | os.PathLike[str] | None = None,
    config: EvaluateConfig = EvaluateConfig(),
    *,
    progress: bool = False,
    scan_synthetic: Callable[..., _Scan] | None = None,
) -> Evaluation:
    """Load, align and score; see the module docstring. Nothing is written.

    ``progress`` prints each stage on stderr and a bar while large sets are read.
    ``scan_synthetic`` replaces the one pass over the synthetic set (same arguments and
    result as ``_scan``; ``gexgen.distributed`` maps it over partitions).
    """
    say = _reporter(progress)
    unknown = sorted(set(config.metrics) - set(ALL_METRICS))
    if unknown:
        raise GexgenError(f"unknown metric(s) {unknown}; choose from {list(ALL_METRICS)}")
    if (synthetic is None) == (model is None):
        raise GexgenError("give exactly one of synthetic (a profile file) or model (.onnx)")
    if config.n_synthetic is not None and model is None:
        raise GexgenError("n_synthetic applies to a model (.onnx) only, not a synthetic file")
    real_set = load_profiles(real, "real", space=config.space, flag="--space")
    train, test = real_set.split()
    if model is not None:
        say(f"generating {config.n_synthetic or test.n:,} profiles with {Path(model).name}")
        synth = generate_matched(model, test, config.seed, config.n_synthetic)
        default_labels = list(synth.labels.columns)
    else:
        synth = load_profiles(
            synthetic, "synthetic", space=config.synthetic_space, flag="--synthetic-space"
        )
        default_labels = default_label_columns(test, synth)
    label_cols = list(config.labels) if config.labels is not None else default_labels
    check_label_columns([test, synth], label_cols)
    genes, r_cols, s_cols = shared_genes(test, synth)
    n_genes = len(genes)
    notes: list[str] = [note] if (note := config.fewer_repeats()) else []
    if n_genes < len(test.genes) or n_genes < len(synth.genes):
        notes.append(
            f"scored on the {n_genes} genes both sides share "
            f"(real {len(test.genes)}, synthetic {len(synth.genes)})"
        )
    args = (n_genes, label_cols, config.max_samples, config.seed)
    say(f"reading {test.n:,} real and {synth.n:,} synthetic profiles ({n_genes} genes)")
    real_scan = _scan(test, r_cols, *args, stream=1, chunk_rows=config.chunk_rows)
    synth_scan = (scan_synthetic or _scan)(
        synth, s_cols, *args, stream=2, chunk_rows=config.chunk_rows, progress=progress
    )
    for name, scan in (("real", real_scan), ("synthetic", synth_scan)):
        if len(scan.sample) < scan.n:
            notes.append(
                f"PRDC, detection, TSTR and privacy use a seeded subsample of "
                f"{len(scan.sample)} of the {scan.n} {name} profiles"
            )
    metrics: dict[str, Any] = {
        "gexgen_version": __version__,
        "inputs": {
            "real": _describe(real, real_set),
            "real_rows": "test split" if train is not None else "all rows",
            "synthetic": None if synthetic is None else _describe(synthetic, synth),
            "model": None if model is None else str(model),
            "seed": config.seed,
        },
        "n_real": real_scan.n,
        "n_synthetic": synth_scan.n,
        "genes": {"real": len(test.genes), "synthetic": len(synth.genes), "shared": n_genes},
        "labels": label_cols,
        "config": asdict(config),
    }
    metrics["label_coverage"] = label_coverage(test.labels, synth.labels, label_cols)
    notes.extend(coverage_notes(metrics["label_coverage"]))
    if "gamma" in config.metrics:
        say("gamma score and its real-vs-real ceiling")
        metrics["gamma"] = gamma_score(
            real_scan.correlation, synth_scan.correlation, genes=genes
        ).to_dict()
        metrics["gamma_ceiling"] = _gamma_ceiling(
            train, real_scan, real_set, r_cols, n_genes, genes, config
        )
    if "prdc" in config.metrics:
        say(f"precision / recall / density / coverage (k={config.k})")
        real_z, synth_z = standardize_with(real_scan.sample, synth_scan.sample)
        metrics["prdc"] = _prdc_equal_sizes(real_z, synth_z, config)
    if "detection" in config.metrics:
        say(f"detection AUC ({config.detection_classifier}, {config.n_folds} folds)")
        metrics["detection"] = detection_auc(
            real_scan.sample,
            synth_scan.sample,
            classifier=config.detection_classifier,
            n_folds=config.n_folds,
            max_per_class=config.max_samples,
            seed=config.seed,
        ).to_dict()
        if metrics["detection"]["auc"] < 0.4:
            notes.append(
                "detection AUC well below 0.5: synthetic profiles pair up with individual real "
                "ones (each is easier to place next to its twin than by chance); check for "
                "copies of real profiles"
            )
    # the real train split, read once for TSTR, privacy, dispersion, DE and augmentation
    real_train = None
    readers = {"tstr", "privacy", "dispersion", "de", "detection", "marginals"}
    if readers & set(config.metrics) or config.augmentation:
        real_train = read_train(train, r_cols, n_genes, label_cols)
    train_rows = None if real_train is None else real_train.values
    no_train = "the real file has no train/test split column 'split' (a cohort has)"
    if train is not None and real_train is None:
        no_train = f"the train split has {train.n} row(s); the references need 2"
    if "detection" in config.metrics:
        say(
            "detection: gradient-boosted probe, and "
            + ("both probes" if config.probe_reference else "the logistic probe")
            + " on real train vs test"
        )
        metrics["detection"].update(
            detection_extras(
                real_scan.sample, synth_scan.sample, train_rows, genes, no_train=no_train,
                classifier=config.detection_classifier, n_folds=config.n_folds,
                max_per_class=config.max_samples, seed=config.seed,
                probe_reference=config.probe_reference,
            )
        )  # fmt: skip
    if "marginals" in config.metrics:
        say("marginals: per-gene KS and Wasserstein-1")
        metrics["marginals"] = marginal_scores(
            real_scan.sample,
            synth_scan.sample,
            genes,
            train_rows,
            seed=config.seed,
            no_train=no_train,
        )
    if "tstr" in config.metrics:
        if label_cols:
            say(f"train on synthetic, test on real ({', '.join(label_cols)})")
            train_x = train_labels = None
            if real_train is not None:
                train_x, train_labels = real_train.values, real_train.labels
            elif train is not None:  # a one-row train split (read_train keeps none)
                train_x, train_labels = train.read_log(columns=r_cols), train.labels
            metrics["tstr"] = tstr_scores(
                synth_scan.sample,
                synth_scan.sample_labels,
                real_scan.sample,
                real_scan.sample_labels,
                columns=label_cols,
                real_train=train_x,
                real_train_labels=train_labels,
                max_train=config.max_samples,
                seed=config.seed,
            )
        else:
            metrics["tstr"] = {"skipped": "no condition labels shared by real and synthetic"}
    if "moments" in config.metrics:
        say("per-gene mean and std agreement")
        metrics["gene_moments"] = moment_agreement(
            real_scan.moments, synth_scan.moments, min_samples=config.min_group_samples
        )
    if "privacy" in config.metrics:
        say("privacy: membership inference and distance to the closest record")
        metrics["privacy"] = _privacy_section(
            train, real_train, real_scan, synth_scan, label_cols, config
        )
        notes.extend(_privacy_notes(metrics["privacy"]))
        if config.attack_generator and "attacks" in metrics["privacy"]:
            from gexgen.metrics._attack_section import generator_file_section

            say("privacy: the attack on the generator file (latent search through the graph)")
            metrics["privacy"]["attacks"]["generator_file"] = generator_file_section(
                model, real_train, real_scan.sample, real_scan.sample_labels, genes,
                seed=config.seed, n_draws=config.privacy_draws,
            )  # fmt: skip
    # dispersion, differential expression, augmentation (each beside train vs test)
    if "dispersion" in config.metrics:
        say("dispersion: synthetic / real per-gene standard deviation")
        metrics["dispersion"] = dispersion_section(
            real_scan.moments, synth_scan.moments, real_train, config.min_group_samples
        )
    if "de" in config.metrics:
        say("differential expression (fold changes, top-50 by Welch t) and RBF MMD")
        metrics["de"] = de_section(
            test,
            label_cols,
            real_scan.moments,
            synth_scan.moments,
            real_scan.sample,
            synth_scan.sample,
            real_train,
            config.min_group_samples,
            config.seed,
        )
    if config.augmentation:
        metrics["augmentation"] = augmentation_section(
            test,
            test.read_log(columns=r_cols),
            label_cols,
            real_train,
            synth_scan.sample,
            synth_scan.sample_labels,
            model,
            per_class=config.augmentation_per_class,
            n_seeds=config.augmentation_seeds,
            seed=config.seed,
            say=say,
        )
    metrics["notes"] = notes
    return Evaluation(
        metrics,
        genes,
        label_cols,
        real_scan,
        synth_scan,
        notes,
        train_moments=None if real_train is None else real_train.moments,
    )


def evaluate(
    real: Any,
    synthetic: Any = None,
    model: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] = "report",
    config: EvaluateConfig = EvaluateConfig(),
    *,
    report: bool = True,
    progress: bool = False,
    overwrite: bool = False,
    scan_synthetic: Callable[..., _Scan] | None = None,
) -> dict[str, Any]:
    """Score synthetic against real profiles; write ``metrics.json`` and ``report.html``.

    ``out_dir`` is checked first: a file there, or a folder already holding
    ``metrics.json`` or ``report.html`` without ``overwrite``, is refused
    before anything is computed.

    Parameters
    ----------
    real
        Cohort ``.h5ad`` (scored against its test split; its train split gives
        the ceiling) or any profile file.
    synthetic, model
        Exactly one: a profile file, or a generator ``.onnx`` sampled with the
        real rows' labels.
    out_dir
        Folder for ``metrics.json`` and (``report=True``) ``report.html``.
    progress
        Print each stage on stderr, with a bar while large sets are read.
    scan_synthetic
        See :func:`compute_metrics`.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.

    Examples
    --------
    >>> m = evaluate("cohort.h5ad", model="generator.onnx", out_dir="report")  # doctest: +SKIP
    >>> m["gamma"]["gamma"], m["gamma_ceiling"]["gamma"]  # doctest: +SKIP
    """
    out = check_output_folder(out_dir, overwrite, names=("metrics.json", "report.html", "figures"))
    refuse_linked_folder(out / "figures", "--out")
    evaluation = compute_metrics(
        real, synthetic, model, config, progress=progress, scan_synthetic=scan_synthetic
    )
    out.mkdir(parents=True, exist_ok=True)
    if report:
        evaluation.metrics["report"] = "report.html"
    # before any figure is drawn; without overwrite only created (a racing run's file is kept)
    _write_metrics(evaluation.metrics, out / "metrics.json", exclusive=not overwrite)
    if report:
        from gexgen.metrics.report import write_report

        _reporter(progress)("report.html" + (" with UMAP figures" if config.umap else ""))
        write_report(evaluation, out / "report.html", config, overwrite=overwrite)
        _write_metrics(evaluation.metrics, out / "metrics.json")  # + the report's notes
    return evaluation.metrics


def _write_metrics(metrics: dict[str, Any], path: Path, exclusive: bool = False) -> None:
    with atomic_path(path, exclusive=exclusive) as tmp:
        text = json.dumps(_finite(metrics), indent=2, default=json_default)
        tmp.write_text(text + "\n")


def _finite(value: Any) -> Any:
    """NaN/inf -> None, recursively, so metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def _describe(source: Any, loaded: ProfileSet) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else loaded.name
