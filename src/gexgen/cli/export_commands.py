"""CLI command for the export step: ``gexgen export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gexgen.cli._errors import user_errors


@user_errors
def export(
    run: Annotated[Path, typer.Argument(help="Run directory (or its checkpoint.pt).")],
    out: Annotated[Path, typer.Option(help="Generator file to write (.onnx).")],
    opset: Annotated[int, typer.Option(help="ONNX opset (17 or newer).")] = 18,
    tolerance: Annotated[
        float, typer.Option(help="Largest onnxruntime-vs-torch difference accepted.")
    ] = 1e-4,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
    precision: Annotated[
        str,
        typer.Option(
            help="'fp32' (default) or 'int8' (int8 weights, ~2x faster on CPUs with VNNI; "
            "checked against fp32 and refused when gamma moves by more than 0.002)."
        ),
    ] = "fp32",
    cohort: Annotated[
        Path | None,
        typer.Option(help="int8: the training cohort (.h5ad); gamma is checked on its test split."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="int8: write the file even when the gamma check fails.")
    ] = False,
) -> None:
    """Export a trained generator to one self-describing .onnx file, checked against torch.

    Example: gexgen export runs/cvae --out generator.onnx
    (int8: gexgen export runs/cvae --out generator_int8.onnx --precision int8
    --cohort cohort.h5ad)
    """
    from gexgen.export import export_generator

    report = export_generator(
        run,
        out,
        opset=opset,
        tolerance=tolerance,
        overwrite=overwrite,
        precision=precision,
        cohort=cohort,
        force=force,
    )
    if report.note:
        typer.echo(f"note: {report.note}", err=True)
    typer.echo(
        f"wrote {report.path} (+ {report.path.name}.json, the metadata for runtimes without "
        f"a metadata API) ({report.exporter} exporter, opset {report.opset}); "
        f"onnxruntime vs torch: max abs diff {report.max_abs_diff:.3g} (log2), "
        f"max rel diff {report.max_rel_diff:.3g} (expression)"
    )
    if report.int8 is not None:
        q = report.int8
        typer.echo(
            f"int8 vs fp32 on {q.n_check:,} seeded profiles: max |Δ log2| {q.max_abs_log2:.3g}, "
            f"mean {q.mean_abs_log2:.3g}; gamma {q.gamma_int8:.4f} vs {q.gamma_fp32:.4f} "
            f"(Δ {q.gamma_diff:+.4f}, against {q.reference})"
            + ("; written with --force although |Δgamma| > 0.002" if q.forced else "")
        )
