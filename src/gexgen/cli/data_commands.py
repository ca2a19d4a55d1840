"""CLI commands for the data step: ``gexgen data rnaseqdb`` and ``gexgen data import``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gexgen.cli._errors import safe_echo, user_errors

data_app = typer.Typer(
    name="data",
    help=(
        "Build a cohort (.h5ad) from RNAseqDB or from your own matrix.\n\n"
        "Example: gexgen data rnaseqdb --landmarks l1000/landmark_genes.tsv --out cohort.h5ad"
    ),
    no_args_is_help=True,
)

_TEST_FRACTION = typer.Option(help="Fraction of each label combination held out as test.")
_SEED = typer.Option(help="Seed of the stratified train/test split.")


def _default_source() -> str:
    """``$GEXGEN_DATA/rnaseqdb`` when GEXGEN_DATA is set, else the pinned upstream URL."""
    env = os.environ.get("GEXGEN_DATA")
    if env:
        return str(Path(env) / "rnaseqdb")
    from gexgen.data.download import UPSTREAM_URL

    return UPSTREAM_URL


@data_app.command("rnaseqdb")
@user_errors
def rnaseqdb(
    source: Annotated[
        str | None,
        typer.Option(
            help="Folder in the mskcc/RNAseqDB layout or base URL "
            "(default: $GEXGEN_DATA/rnaseqdb, else upstream at a pinned commit)."
        ),
    ] = None,
    landmarks: Annotated[
        Path | None,
        typer.Option(help="Gene panel: L1000 landmark TSV/CSV or LINCS gene_info (Entrez IDs)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output cohort .h5ad.")] = Path("cohort.h5ad"),
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Download cache (default: $GEXGEN_CACHE or ~/.cache/gexgen)."),
    ] = None,
    test_fraction: Annotated[float, _TEST_FRACTION] = 0.3,
    seed: Annotated[int, _SEED] = 0,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
    genes: Annotated[
        str | None,
        typer.Option(
            metavar="PANEL",
            help="l1000 (the --landmarks panel), all (every gene in all files, ~18k), or "
            "top-variable:N (the N genes of largest log2 variance on the train split); "
            "default l1000 with --landmarks, else all.",
        ),
    ] = None,
) -> None:
    """Build a TCGA + GTEx cohort from RNAseqDB (local folder or download) and print its summary.

    Example: gexgen data rnaseqdb --landmarks l1000/landmark_genes.tsv --out cohort.h5ad
    (or --genes top-variable:3000 --out cohort3k.h5ad)
    """
    from gexgen.data.rnaseqdb import build_rnaseqdb_cohort

    _, summary = build_rnaseqdb_cohort(
        source or _default_source(),
        landmarks,
        out,
        cache_dir=cache_dir,
        test_fraction=test_fraction,
        seed=seed,
        progress=progress,
        overwrite=overwrite,
        genes=genes,
    )
    safe_echo(summary.format())


@data_app.command("import")
@user_errors
def import_(
    matrix: Annotated[
        Path, typer.Argument(help="CSV / TSV / parquet / h5ad: samples as rows, genes as columns.")
    ],
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Label column (repeatable), e.g. --label tissue."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="Labels file (CSV/TSV/parquet), first column = sample id."),
    ] = None,
    log_scaled: Annotated[
        bool, typer.Option("--log-scaled", help="Values are already log2(x + 1).")
    ] = False,
    out: Annotated[Path, typer.Option(help="Output cohort .h5ad.")] = Path("cohort.h5ad"),
    test_fraction: Annotated[float, _TEST_FRACTION] = 0.3,
    seed: Annotated[int, _SEED] = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
    units: Annotated[
        str | None,
        typer.Option(
            help="Units of the raw values (e.g. TPM, FPKM), recorded in the cohort and carried "
            "into the generator file and every profile file."
        ),
    ] = None,
) -> None:
    """Build a cohort from your own samples x genes matrix and print its summary.

    Example: gexgen data import expr.csv --label tissue --label status --units TPM --out cohort.h5ad
    """
    from gexgen.data.importer import import_matrix

    _, summary = import_matrix(
        matrix,
        out,
        labels=label or (),
        labels_file=labels,
        log_scaled=log_scaled,
        test_fraction=test_fraction,
        seed=seed,
        overwrite=overwrite,
        units=units,
    )
    safe_echo(summary.format())
