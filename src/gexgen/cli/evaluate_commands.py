"""CLI commands for the evaluate step: ``gexgen evaluate`` and ``gexgen check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gexgen.cli._errors import safe_echo, user_errors
from gexgen.errors import GexgenError

# = gexgen.metrics.detection (kept import-free)
_CLASSIFIERS = ("logistic", "random_forest", "gradient_boosting")
_DEFAULT_CHECK_SYNTHETIC = 20_000  # = gexgen.metrics.check.DEFAULT_CHECK_SYNTHETIC
_SpaceOption = Annotated[
    str | None,
    typer.Option(
        metavar="expression|log2|ln1p",
        help="Value space of the real file when it records none (gexgen files and scanpy's "
        "uns['log1p'] record theirs): expression units, log2(x + 1) or ln(1 + x).",
    ),
]


def parse_labels(text: str | None) -> tuple[str, ...] | None:
    """``"tissue,status"`` -> ``("tissue", "status")``; None/empty -> None (auto)."""
    if text is None or not text.strip():
        return None
    labels = tuple(part.strip() for part in text.split(",") if part.strip())
    if len(set(labels)) != len(labels):
        raise GexgenError(f"--labels lists a label twice: {text!r}")
    return labels


@user_errors
def evaluate(
    real: Annotated[
        Path,
        typer.Option(
            help="Real profiles: a cohort .h5ad (scored on its test split) or any "
            "profile file gexgen reads (.parquet, .h5ad, .npy, .csv)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Report folder: metrics.json, report.html, figures/.")],
    synthetic: Annotated[
        Path | None, typer.Option(help="Synthetic profile file (from gexgen generate).")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="Generator .onnx: generate the synthetic set on the fly, one "
            "profile per real profile with its labels."
        ),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(help="Condition labels, comma-separated (default: those both sides have)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for generation, subsampling, folds, UMAP.")] = 0,
    k: Annotated[int, typer.Option(help="PRDC neighbourhood size.")] = 5,
    max_samples: Annotated[
        int, typer.Option(help="Rows per set for PRDC, detection and TSTR (seeded subsample).")
    ] = 5_000,
    umap_max_samples: Annotated[
        int, typer.Option(help="Rows per set in the UMAP figures (seeded subsample).")
    ] = 2_000,
    detection_classifier: Annotated[
        str,
        typer.Option(
            help="Classifier of detection.auc: 'logistic', 'random_forest' or "
            "'gradient_boosting' (detection.nonlinear is always gradient-boosted)."
        ),
    ] = "logistic",
    n_synthetic: Annotated[
        int | None,
        typer.Option(
            help="With --model: profiles to generate, labels cycling through the "
            "real rows (default: one per real profile)."
        ),
    ] = None,
    report: Annotated[bool, typer.Option(help="Write report.html with the figures.")] = True,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="Fewer repeats: 2 PRDC and privacy draws, no UMAP figures, no real-vs-real "
            "reference for the gradient-boosted probe (read against 0.5 instead); about half "
            "the time. For a first look; gate and publish with the full evaluation.",
        ),
    ] = False,
    umap: Annotated[
        bool | None,
        typer.Option(
            help="UMAP figures in the report (umap-learn; the slowest figures; default: "
            "yes, no with --quick)."
        ),
    ] = None,
    progress: Annotated[
        bool, typer.Option(help="Print each stage and a reading progress bar on stderr.")
    ] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
    space: _SpaceOption = None,
    synthetic_space: Annotated[
        str | None,
        typer.Option(
            metavar="expression|log2|ln1p",
            help="Value space of the synthetic file when it records none.",
        ),
    ] = None,
    augmentation: Annotated[
        bool,
        typer.Option(
            help="Also score augmentation: a classifier of the most-valued label (tissue) "
            "trained on k = 5, 10, 20, 50 real profiles per class, alone and with 100 "
            "synthetic ones per class, 5 seeds (about 20 s on the demo cohort)."
        ),
    ] = False,
    attack_generator: Annotated[
        bool,
        typer.Option(
            "--attack-generator",
            help="With --model: also attack the .onnx file itself (the nearest of 5,000 "
            "decoder outputs per label combination, members vs held-out; about 10 s on the "
            "L1000 cohort) into privacy.attacks.generator_file.",
        ),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --synthetic DIR/: Dask scheduler address (tcp://HOST:8786) or "
            "'local'; default a local process pool. Needs gexgen\\[dask].",
            metavar="ADDRESS|local",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Local processes for --synthetic DIR/ (default: cores)."),
    ] = None,
) -> None:
    """Score synthetic profiles against real ones; write metrics.json and an HTML report.

    A --synthetic dataset folder (from gexgen generate --out DIR/) is scanned one
    partition per task, on local processes or a Dask cluster (--scheduler).

    Example: gexgen evaluate --real cohort.h5ad --model generator.onnx --out report/
    --augmentation

    Example: gexgen evaluate --real cohort.h5ad --synthetic synthetic.h5ad --out report/
    --quick

    Example: gexgen evaluate --real cohort.h5ad --synthetic synthetic/ --out report/
    --scheduler tcp://10.0.0.5:8786
    """
    if (synthetic is None) == (model is None):
        raise GexgenError("give exactly one of --synthetic FILE or --model GENERATOR.onnx")
    if detection_classifier not in _CLASSIFIERS:
        raise GexgenError(
            f"--detection-classifier must be one of {list(_CLASSIFIERS)}, "
            f"got {detection_classifier!r}"
        )
    from gexgen.metrics import EvaluateConfig
    from gexgen.metrics import evaluate as run_evaluation

    preset = EvaluateConfig.quick if quick else EvaluateConfig
    config = preset(
        seed=seed,
        labels=parse_labels(labels),
        k=k,
        max_samples=max_samples,
        umap_max_samples=umap_max_samples,
        detection_classifier=detection_classifier,  # type: ignore[arg-type]
        n_synthetic=n_synthetic,
        space=space,
        synthetic_space=synthetic_space,
        augmentation=augmentation,
        attack_generator=attack_generator,
        **({} if umap is None else {"umap": umap}),
    )
    if scheduler is not None or (synthetic is not None and synthetic.is_dir()):
        if synthetic is None or not synthetic.is_dir():
            raise GexgenError(
                f"--scheduler scores a dataset folder: give --synthetic DIR/ (from gexgen "
                f"generate --out DIR/), got {str(synthetic or model)!r}"
            )
        from gexgen.distributed import evaluate as evaluate_dataset

        metrics = evaluate_dataset(
            real, synthetic, out, config, scheduler=scheduler, workers=workers,
            report=report, progress=progress, overwrite=overwrite,
        )  # fmt: skip
    else:
        metrics = run_evaluation(
            real,
            synthetic=synthetic,
            model=model,
            out_dir=out,
            config=config,
            report=report,
            progress=progress,
            overwrite=overwrite,
        )
    from gexgen._text import printable
    from gexgen.metrics.summary import summary_lines
    from gexgen.metrics.verdict import line_colour, verdict_recap

    for line in summary_lines(metrics):
        if line_colour(line):  # a verdict: green / yellow / red on a terminal
            typer.secho(printable(line, keep_newlines=True), fg=line_colour(line))
        else:
            safe_echo(line)  # label names come from the data
    typer.echo(f"wrote {out / 'metrics.json'}" + (f" and {out / 'report.html'}" if report else ""))
    recap = verdict_recap(metrics)  # the last line: the verdict at a glance
    typer.secho(recap, fg=line_colour(recap))


def _gate(help_text: str) -> Any:
    return typer.Option(help=help_text, rich_help_panel="Thresholds (unset: not checked)")


@user_errors
def check(
    generator: Annotated[Path, typer.Argument(help="Generator .onnx file to test.")],
    real: Annotated[
        Path,
        typer.Option(
            help="Real profiles: a cohort .h5ad (its test split is the reference; its train "
            "split is needed for the privacy thresholds) or a profile file."
        ),
    ],
    min_gamma: Annotated[float, _gate("Fail when gamma is below this.")] = 0.95,
    max_detection_auc: Annotated[
        float | None, _gate("Fail when the detection AUC is above this (0.5 ideal).")
    ] = None,
    max_detection_auc_nonlinear: Annotated[
        float | None, _gate("Fail when the gradient-boosted detection AUC is above this.")
    ] = None,
    max_marginal_ks: Annotated[
        float | None, _gate("Fail when the median per-gene KS statistic is above this.")
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the result (or the error) as one JSON object."),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed for generation and detection folds.")] = 0,
    n_synthetic: Annotated[
        int | None,
        typer.Option(
            help="Profiles to generate, labels cycling through the real rows. The default "
            "keeps gamma's seed-to-seed spread below 0.002: on the demo generator (322 test "
            "profiles) gamma over seeds 0-5 spread 0.0077 at 322 profiles, 0.0015 at 5,000 "
            "and 0.0005 at 20,000 (decoder means; 0.0015 and 0.0005 again with the default "
            "recipe's observation noise)."
        ),
    ] = _DEFAULT_CHECK_SYNTHETIC,
    max_mia_auc: Annotated[
        float | None, _gate("Fail when the membership-inference AUC is above this (0.5 = no leak).")
    ] = None,
    max_attack_auc: Annotated[
        float | None,
        _gate("Fail when the worst membership-inference attack's AUC is above this (0.5 ideal)."),
    ] = None,
    max_attack_tpr_at_1pct_fpr: Annotated[
        float | None,
        _gate("Fail when the worst attack's true-positive rate at 1% false positives is above."),
    ] = None,
    max_file_attack_auc: Annotated[
        float | None,
        _gate(
            "Fail when the attack on the generator file itself (latent search through the "
            ".onnx; what sharing the file adds) has an AUC above this."
        ),
    ] = None,
    max_file_attack_tpr_at_1pct_fpr: Annotated[
        float | None,
        _gate("Fail when the file attack's true-positive rate at 1% false positives is above."),
    ] = None,
    max_closer_to_train: Annotated[
        float | None,
        _gate("Fail when the share of synthetic profiles nearest a training profile is above."),
    ] = None,
    min_dcr_ratio: Annotated[
        float | None,
        _gate(
            "Fail when the median distance to the closest training record, over the "
            "held-out one, is below this."
        ),
    ] = None,
    max_dcr_below_p5: Annotated[
        float | None,
        _gate(
            "Fail when the share of synthetic profiles closer to training than the "
            "held-out 5th percentile is above this (reference 0.05)."
        ),
    ] = None,
    min_precision: Annotated[float | None, _gate("Fail when precision is below this.")] = None,
    min_recall: Annotated[float | None, _gate("Fail when recall is below this.")] = None,
    min_coverage: Annotated[float | None, _gate("Fail when coverage is below this.")] = None,
    min_std_ratio: Annotated[
        float | None, _gate("Fail when the median synthetic/real per-gene std is below this.")
    ] = None,
    min_tstr_ratio: Annotated[
        float | None,
        _gate(
            "Fail when a label's classifier trained on synthetic profiles, over the same "
            "classifier trained on real ones (balanced accuracy on the test split), is below."
        ),
    ] = None,
    min_lfc_r: Annotated[
        float | None, _gate("Fail when the real-vs-synthetic fold-change r is below this.")
    ] = None,
    min_top50_recall: Annotated[
        float | None, _gate("Fail when the top-50 DE gene recall is below this.")
    ] = None,
    max_mmd: Annotated[float | None, _gate("Fail when the RBF MMD is above this.")] = None,
    min_augmentation_gain: Annotated[
        float | None, _gate("Fail when the augmentation gain is below this.")
    ] = None,
    space: _SpaceOption = None,
    junit: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Also write the result as JUnit XML to FILE."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(help="Fail (exit 2) when --real is not the generator's training cohort."),
    ] = False,
) -> None:
    """Gate a generator in CI: exit 0 when every threshold holds, 1 when one fails, 2 on error.

    Only the metrics a threshold needs are computed; each line shows the figure's reference.

    Exit codes: 0 pass, 1 a threshold failed, 2 the check could not run (bad input).

    Other gexgen commands exit 1 on errors. With --json, errors are printed as JSON too.

    Example: gexgen check generator.onnx --real cohort.h5ad --min-gamma 0.95
    --max-mia-auc 0.6 --junit check.xml
    """
    import time

    thresholds = {
        "max_detection_auc": max_detection_auc,
        "max_detection_auc_nonlinear": max_detection_auc_nonlinear,
        "max_marginal_ks": max_marginal_ks,
        "max_mia_auc": max_mia_auc,
        "max_attack_auc": max_attack_auc,
        "max_attack_tpr_at_1pct_fpr": max_attack_tpr_at_1pct_fpr,
        "max_file_attack_auc": max_file_attack_auc,
        "max_file_attack_tpr_at_1pct_fpr": max_file_attack_tpr_at_1pct_fpr,
        "max_closer_to_train": max_closer_to_train,
        "min_dcr_ratio": min_dcr_ratio,
        "max_dcr_below_p5": max_dcr_below_p5,
        "min_precision": min_precision,
        "min_recall": min_recall,
        "min_coverage": min_coverage,
        "min_std_ratio": min_std_ratio,
        "min_tstr_ratio": min_tstr_ratio,
        "min_lfc_r": min_lfc_r,
        "min_top50_recall": min_top50_recall,
        "max_mmd": max_mmd,
        "min_augmentation_gain": min_augmentation_gain,
    }
    start = time.perf_counter()
    from gexgen.metrics.check import check_generator, refuse_junit_over_inputs

    try:  # before anything runs, and never writing the refused path
        refuse_junit_over_inputs(junit, generator, real)
    except GexgenError as exc:
        _check_error(exc, json_output, None, 0.0)
    try:
        result = check_generator(
            generator,
            real,
            min_gamma=min_gamma,
            seed=seed,
            n_synthetic=n_synthetic,
            space=space,
            strict=strict,
            **{k: v for k, v in thresholds.items() if v is not None},
        )
    except (GexgenError, ValueError, OSError) as exc:
        _check_error(exc, json_output, junit, time.perf_counter() - start)
    if junit is not None:
        from gexgen.metrics.check import write_junit

        try:
            write_junit(junit, result, seconds=time.perf_counter() - start)
        except (GexgenError, OSError) as exc:  # the check ran; its report could not be written
            _check_error(exc, json_output, None, time.perf_counter() - start)
    for warning in result.warnings:
        typer.echo(f"Warning: {warning}", err=True)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for c in result.checks:
            typer.echo(c.line())
    if not result.passed:
        raise typer.Exit(code=1)


def _check_error(exc: Exception, json_output: bool, junit: Path | None, seconds: float) -> None:
    """Report an error of `gexgen check` (JSON on stdout with --json) and exit 2."""
    message = (
        str(exc)
        if not isinstance(exc, OSError) or not exc.filename
        else (f"{exc.strerror or exc}: {exc.filename}")
    )
    if junit is not None:
        from gexgen.metrics.check import write_junit

        try:
            write_junit(junit, None, error=message, seconds=seconds)
        except OSError as write_exc:  # the error to report is the first one
            message += f" (and --junit could not be written: {write_exc})"
    if json_output:
        typer.echo(json.dumps({"passed": False, "error": message, "checks": []}, indent=2))
    else:
        typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=2)
