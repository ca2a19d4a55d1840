"""CLI command for the whole pipeline on real data: ``gexgen demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gexgen.cli._counts import count
from gexgen.cli._errors import safe_echo, user_errors
from gexgen.train.config import DEFAULT_RECIPE, RECIPES


@user_errors
def demo(
    out: Annotated[
        Path, typer.Option(help="Folder for the cohort, run, generator, profiles, report.")
    ] = Path("demo_out"),
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding rnaseqdb/ and l1000/ (default: $GEXGEN_DATA, else download)."
        ),
    ] = None,
    n_profiles: Annotated[
        int, typer.Option(parser=count, metavar="<int>", help="Profiles to generate (or 1e6).")
    ] = 1_000_000,
    epochs: Annotated[
        int,
        typer.Option(
            help="Training epochs of gexgen's default recipe (what `gexgen train` runs "
            "without options; its cosine lr schedule spans them)."
        ),
    ] = RECIPES[DEFAULT_RECIPE]["epochs"],
    device: Annotated[str, typer.Option(help="Training device: auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of split, training and generation.")] = 0,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for training (1 is fastest on a busy machine).")
    ] = 1,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
) -> None:
    """Run the whole pipeline on real TCGA + GTEx data: cohort, CVAE, ONNX, 1M profiles, report.

    Example: GEXGEN_DATA=../shared/data gexgen demo --out demo_out
    """
    from gexgen.demo import DemoConfig, run_demo

    if n_profiles < 1 or epochs < 0:
        raise ValueError(f"--n-profiles must be >= 1 and --epochs >= 0, got {n_profiles}, {epochs}")
    config = DemoConfig(
        n_profiles=n_profiles, epochs=epochs, device=device, seed=seed, threads=threads
    )
    run_demo(out, data, config, echo=safe_echo, overwrite=overwrite)
