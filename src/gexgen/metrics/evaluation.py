"""Score synthetic profiles against real ones and write metrics.json + report.html.

Real: a cohort ``.h5ad`` (its test split is the reference and its train split
gives the real-vs-real ceiling) or any profile file gexgen reads. Synthetic: a
profile file, or a generator ``.onnx`` sampled on the fly with the real
reference's label rows (same labels, row for row, seeded).

Every metric is computed on log2(x + 1) values over the genes both sides
share. Correlations and per-gene moments stream over all rows; PRDC,
detection, TSTR and UMAP use a seeded subsample of at most ``max_samples``
rows per set, and ``metrics["notes"]`` says when that happened.
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
from gexgen.errors import GexgenError
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
from gexgen.metrics.precision_recall import prdc, standardize_with
from gexgen.metrics.tstr import tstr_scores

__all__ = ["EvaluateConfig", "Evaluation", "compute_metrics", "evaluate", "generate_matched"]

ALL_METRICS = ("gamma", "prdc", "detection", "tstr", "moments")


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
    rng = np.random.default_rng([seed, stream])
    pick = np.sort(rng.choice(n, size=min(n, max_rows), replace=False))
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
            acc.update(chunk)
            moments.update(chunk, None if keys is None else keys[start:stop])
            lo, hi = np.searchsorted(pick, [start, stop])
            sample[lo:hi] = chunk[pick[lo:hi] - start]
            start = stop
            bar.update(chunk.shape[0])
    if start != n:
        raise GexgenError(f"{s.name}: read {start} rows, expected {n}")
    labels = s.labels.iloc[pick].reset_index(drop=True)
    return _Scan(acc.result(), moments, sample, labels, n)


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
    real_set = load_profiles(real, "real")
    train, test = real_set.split()
    if model is not None:
        say(f"generating {config.n_synthetic or test.n:,} profiles with {Path(model).name}")
        synth = generate_matched(model, test, config.seed, config.n_synthetic)
        default_labels = list(synth.labels.columns)
    else:
        synth = load_profiles(synthetic, "synthetic")
        default_labels = default_label_columns(test, synth)
    label_cols = list(config.labels) if config.labels is not None else default_labels
    check_label_columns([test, synth], label_cols)
    genes, r_cols, s_cols = shared_genes(test, synth)
    n_genes = len(genes)
    notes: list[str] = []
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
                f"PRDC, detection and TSTR use a seeded subsample of {len(scan.sample)} of "
                f"the {scan.n} {name} profiles"
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
        metrics["prdc"] = prdc(
            real_z, synth_z, k=config.k, max_samples=config.max_samples, seed=config.seed
        ).to_dict()
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
    if "tstr" in config.metrics:
        if label_cols:
            say(f"train on synthetic, test on real ({', '.join(label_cols)})")
            train_x = train_labels = None
            if train is not None:
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
    metrics["notes"] = notes
    return Evaluation(metrics, genes, label_cols, real_scan, synth_scan, notes)


def evaluate(
    real: Any,
    synthetic: Any = None,
    model: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] = "report",
    config: EvaluateConfig = EvaluateConfig(),
    *,
    report: bool = True,
    progress: bool = False,
    scan_synthetic: Callable[..., _Scan] | None = None,
) -> dict[str, Any]:
    """Score synthetic against real profiles; write ``metrics.json`` and ``report.html``.

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
    evaluation = compute_metrics(
        real, synthetic, model, config, progress=progress, scan_synthetic=scan_synthetic
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if report:
        from gexgen.metrics.report import write_report

        _reporter(progress)("report.html with UMAP figures")
        evaluation.metrics["report"] = "report.html"
        write_report(evaluation, out / "report.html", config)
    with atomic_path(out / "metrics.json") as tmp:
        text = json.dumps(_finite(evaluation.metrics), indent=2, default=json_default)
        tmp.write_text(text + "\n")
    return evaluation.metrics


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
