"""CLI commands for the evaluate step: ``gexgen evaluate`` and ``gexgen check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gexgen.cli._errors import user_errors
from gexgen.errors import GexgenError

_CLASSIFIERS = ("logistic", "random_forest")  # = gexgen.metrics.detection (kept import-free)


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
        str, typer.Option(help="Detection classifier: 'logistic' or 'random_forest'.")
    ] = "logistic",
    n_synthetic: Annotated[
        int | None,
        typer.Option(
            help="With --model: profiles to generate, labels cycling through the "
            "real rows (default: one per real profile)."
        ),
    ] = None,
    report: Annotated[bool, typer.Option(help="Write report.html with the figures.")] = True,
    progress: Annotated[
        bool, typer.Option(help="Print each stage and a reading progress bar on stderr.")
    ] = True,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --synthetic DIR/: Dask scheduler address (tcp://HOST:8786) or "
            "'local'; default a local process pool. Needs gexgen[dask].",
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

    config = EvaluateConfig(
        seed=seed,
        labels=parse_labels(labels),
        k=k,
        max_samples=max_samples,
        umap_max_samples=umap_max_samples,
        detection_classifier=detection_classifier,  # type: ignore[arg-type]
        n_synthetic=n_synthetic,
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
            report=report, progress=progress,
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
        )
    from gexgen.metrics.summary import summary_lines

    for line in summary_lines(metrics):
        typer.echo(line)
    typer.echo(f"wrote {out / 'metrics.json'}" + (f" and {out / 'report.html'}" if report else ""))


@user_errors
def check(
    generator: Annotated[Path, typer.Argument(help="Generator .onnx file to test.")],
    real: Annotated[
        Path,
        typer.Option(help="Real profiles: a cohort .h5ad (its test split) or a profile file."),
    ],
    min_gamma: Annotated[float, typer.Option(help="Fail when gamma is below this.")] = 0.95,
    max_detection_auc: Annotated[
        float | None,
        typer.Option(help="Fail when the detection AUC is above this (not checked if unset)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed for generation and detection folds.")] = 0,
    n_synthetic: Annotated[
        int | None,
        typer.Option(
            help="Profiles to generate, labels cycling through the real rows "
            "(default: one per real profile)."
        ),
    ] = None,
) -> None:
    """Exit 0 when a generator meets every fidelity threshold, 1 otherwise (for CI).

    Example: gexgen check generator.onnx --real cohort.h5ad --min-gamma 0.95
    --max-detection-auc 0.7
    """
    from gexgen.metrics import check_generator

    result = check_generator(
        generator,
        real,
        min_gamma=min_gamma,
        max_detection_auc=max_detection_auc,
        seed=seed,
        n_synthetic=n_synthetic,
    )
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for c in result.checks:
            typer.echo(c.line())
        ceiling = result.metrics.get("gamma_ceiling")
        if ceiling is not None:
            typer.echo(f"(real-vs-real gamma ceiling {ceiling:.4f})")
    if not result.passed:
        raise typer.Exit(code=1)
