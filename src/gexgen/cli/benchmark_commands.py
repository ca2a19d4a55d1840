"""CLI command for the comparison: ``gexgen benchmark``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gexgen.cli._errors import user_errors

# = gexgen.benchmark.DEFAULT_MODELS (kept import-free)
_MODELS = "cvae,gexgen,wgan-gp,tvae,ctgan,mvn,lowrank,gaussian"


@user_errors
def benchmark(
    cohort: Annotated[Path, typer.Argument(help="Cohort .h5ad with a recorded train/test split.")],
    out: Annotated[
        Path,
        typer.Option(help="Folder for results.json, table.txt, benchmark.html and models/."),
    ],
    models: Annotated[
        str,
        typer.Option(
            help=f"Comma-separated models, in table order (of cvae-fast,{_MODELS}; cvae is "
            "the paper's CVAE, gexgen gexgen's default recipe, cvae-fast its decoder-means "
            "fast recipe, gaussian a class-conditional Gaussian (the privacy reference), mvn "
            "the 2025 Health Privacy Challenge's multivariate normal, lowrank a low-rank "
            "class-conditional Gaussian)."
        ),
    ] = _MODELS,
    quick: Annotated[
        bool,
        typer.Option(
            help="Small budgets that finish in minutes on 2 CPU cores (CVAE 150, WGAN-GP 40, "
            "CTGAN/TVAE 100 epochs) instead of the published ones (1400, 2000, 300, 300)."
        ),
    ] = False,
    epochs: Annotated[
        str | None,
        typer.Option(
            help="Maximum epochs: one number for every model, or pairs like "
            "'cvae=300,wgan-gp=100' (overrides the preset)."
        ),
    ] = None,
    cvae_patience: Annotated[
        int | None,
        typer.Option(help="CVAE: epochs without a better validation loss before stopping."),
    ] = None,
    wgan_patience: Annotated[
        int | None,
        typer.Option(
            help="WGAN-GP: validation-gamma evaluations (every 5 epochs) without improvement "
            "before stopping."
        ),
    ] = None,
    conditions: Annotated[
        str, typer.Option(help="Comma-separated label columns every model conditions on.")
    ] = "tissue,status",
    seed: Annotated[int, typer.Option(help="Seed of every model, the sampling and metrics.")] = 0,
    device: Annotated[
        str, typer.Option(help="Torch device for CVAE and WGAN-GP: auto, cpu, cuda, cuda:N.")
    ] = "auto",
    threads: Annotated[
        int | None,
        typer.Option(help="Torch / onnxruntime threads (default: the libraries' own choice)."),
    ] = None,
    throughput_samples: Annotated[
        int | None,
        typer.Option(help="Profiles drawn to time sampling (default 5,000; 2,000 with --quick)."),
    ] = None,
    tabular_batch_size: Annotated[
        int,
        typer.Option(
            help="CTGAN/TVAE batch size (the package's 500; a multiple of 10). One epoch is "
            "n_train / batch steps, so small cohorts get few steps per epoch."
        ),
    ] = 500,
    umap: Annotated[bool, typer.Option(help="Draw the UMAP panels (one per model).")] = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the results in an existing --out folder.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show training progress bars.")] = True,
) -> None:
    """Train CVAE, WGAN-GP, CTGAN and TVAE on one split and compare them with the same metrics.

    Example: gexgen benchmark cohort.h5ad --models cvae,wgan-gp,ctgan,tvae --out bench/ --quick
    """
    # torch and numba share an OpenMP runtime in this process; an idle OpenMP thread
    # that spins took ~40% of a core during WGAN-GP training. Passive waiting stops it
    # (read when the runtime loads, i.e. before torch / numba are imported below).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from gexgen.benchmark import BenchmarkConfig, parse_epochs, parse_models, run_benchmark
    from gexgen.benchmark.run import PAGE_NAME, RESULTS_NAME, command_line
    from gexgen.errors import GexgenError

    names = parse_models(models)
    changes: dict = {
        "models": names,
        "conditions": tuple(c.strip() for c in conditions.split(",") if c.strip()),
        "seed": seed,
        "device": device,
        "threads": threads,
        "umap": umap,
        "tabular_batch_size": tabular_batch_size,
    }
    if throughput_samples is not None:
        changes["throughput_samples"] = throughput_samples
    if cvae_patience is not None:
        changes["cvae_patience"] = cvae_patience
    if wgan_patience is not None:
        changes["wgan_patience"] = wgan_patience
    config = BenchmarkConfig.quick(**changes) if quick else BenchmarkConfig(**changes)
    if epochs is not None:
        config = config.with_epochs(parse_epochs(epochs, names))
    results = run_benchmark(
        cohort, out, config, overwrite=overwrite, progress=progress, command=command_line()
    )
    typer.echo(results["table_text"])
    for note in results["notes"]:
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {out / RESULTS_NAME} and {out / PAGE_NAME}")
    if results["failed"]:
        errors = "; ".join(f"{m}: {results['models'][m]['error']}" for m in results["failed"])
        raise GexgenError(f"{len(results['failed'])} model(s) failed: {errors}")
