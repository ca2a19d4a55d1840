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
) -> None:
    """Export a trained generator to one self-describing .onnx file, checked against torch.

    Example: gexgen export runs/cvae --out generator.onnx
    """
    from gexgen.export import export_generator

    report = export_generator(run, out, opset=opset, tolerance=tolerance, overwrite=overwrite)
    if report.note:
        typer.echo(f"note: {report.note}", err=True)
    typer.echo(
        f"wrote {report.path} (+ {report.path.name}.json, the metadata for runtimes without "
        f"a metadata API) ({report.exporter} exporter, opset {report.opset}); "
        f"onnxruntime vs torch: max abs diff {report.max_abs_diff:.3g} (log2), "
        f"max rel diff {report.max_rel_diff:.3g} (expression)"
    )
