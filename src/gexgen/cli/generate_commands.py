"""CLI commands for the generate step: ``gexgen generate`` and ``gexgen info``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from gexgen.cli._counts import count
from gexgen.cli._errors import safe_echo, user_errors
from gexgen.errors import GexgenError

_CHUNK_SIZE = 32_768  # = gexgen.runtime.write_profiles.DEFAULT_CHUNK_SIZE (kept import-free)


def parse_conditions(items: list[str]) -> dict[str, str]:
    """``["tissue=kidney", "status=tumor"]`` -> ``{"tissue": "kidney", "status": "tumor"}``."""
    conditions: dict[str, str] = {}
    for item in items:
        label, sep, value = item.partition("=")
        label, value = label.strip(), value.strip()
        if not sep or not label or not value:
            raise GexgenError(f"--condition {item!r} is not LABEL=VALUE (e.g. tissue=kidney)")
        if label in conditions:
            raise GexgenError(f"--condition gives label {label!r} twice")
        conditions[label] = value
    return conditions


@user_errors
def generate(
    generator: Annotated[Path, typer.Argument(help="Generator .onnx file (from gexgen export).")],
    n: Annotated[
        int,
        typer.Option(
            "--n",
            parser=count,
            metavar="<int>",
            help="Number of profiles to generate (100000, 1e5 or 100_000).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Output file; format by extension: .parquet, .h5ad, .npy, .csv; "
            "'-' streams to stdout in --format."
        ),
    ],
    condition: Annotated[
        list[str] | None,
        typer.Option(help="LABEL=VALUE, repeatable; labels left out are drawn by --mix."),
    ] = None,
    mix: Annotated[
        str,
        typer.Option(
            help="How free labels are drawn: 'training' (training proportions of "
            "seen combinations) or 'uniform' (uniform over seen combinations)."
        ),
    ] = "training",
    seed: Annotated[int, typer.Option(help="Random seed: same seed and n, same profiles.")] = 0,
    space: Annotated[
        str, typer.Option(help="'expression' (original units) or 'log2' (log2(x + 1)).")
    ] = "expression",
    chunk_size: Annotated[
        int,
        typer.Option(
            help="Profiles per chunk; memory grows with it (~0.5 GB at the default, 969 genes)."
        ),
    ] = _CHUNK_SIZE,
    providers: Annotated[
        str | None,
        typer.Option(
            help="onnxruntime providers, comma-separated (e.g. 'cuda,cpu'); "
            "default CUDA when available, else CPU."
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (default: every core this process may use).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Write even when the estimated size exceeds the free disk space."
        ),
    ] = False,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Format of --out - (stdout): parquet, csv or npy (the matrix alone).",
        ),
    ] = None,
    compression: Annotated[
        str | None,
        typer.Option(
            help="Parquet compression: none (default, fastest), lz4, zstd (smallest) or "
            "snappy; a codec also turns on BYTE_STREAM_SPLIT for the gene columns "
            "(zstd: 18% smaller than none on the demo generator)."
        ),
    ] = None,
    mean: Annotated[
        bool,
        typer.Option(
            help="Write the decoder mean (no observation noise) for generators with a "
            "noise input; same latent noise and labels as without."
        ),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://HOST:8786) or 'local' (a LocalCluster); "
            "writes a partitioned dataset (--out DIR/). Needs gexgen\\[dask].",
            metavar="ADDRESS|local",
        ),
    ] = None,
    partition_rows: Annotated[
        int | None,
        typer.Option(help="Rows per partition file of a DIR/ output (default 131,072)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Local processes for a DIR/ output or --scheduler local (default: cores)."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Finish an interrupted DIR/ output, keeping complete partitions.")
    ] = False,
) -> None:
    """Generate synthetic profiles from a generator file, streamed chunk by chunk to a file.

    An --out without extension (DIR/) writes a partitioned dataset: one parquet file per
    row range plus _manifest.json, on local processes or a Dask cluster (--scheduler),
    with the same rows as a single file.

    Example: gexgen generate generator.onnx --n 1000000 --condition tissue=kidney
    --condition status=tumor --seed 0 --out synthetic.parquet --compression zstd

    To stdout: gexgen generate generator.onnx --n 1000 --out - --format csv | head

    Example: gexgen generate generator.onnx --n 100000000 --seed 0 --out synthetic/
    --scheduler tcp://10.0.0.5:8786
    """
    from gexgen.distributed._layout import is_dataset_path

    conditions = parse_conditions(condition or [])
    if scheduler is not None or is_dataset_path(out):
        single_file_only = {
            "--mean": mean,
            "--format": format is not None,
            "--compression": compression is not None,
            "--force": force,
        }
        given = [name for name, used in single_file_only.items() if used]
        if given:
            raise GexgenError(
                f"{', '.join(given)} apply to a single output file, not to the dataset folder "
                f"{str(out)!r}; leave them out or give --out FILE.parquet"
            )
        _generate_dataset(
            generator, out, n, conditions, mix, seed, space, scheduler, partition_rows,
            workers, resume, overwrite, progress, providers, threads, chunk_size,
        )  # fmt: skip
        return
    if partition_rows is not None or resume:
        raise GexgenError(
            f"--partition-rows and --resume apply to a dataset folder, not {str(out)!r}; "
            "give --out DIR/ (no extension)"
        )
    from gexgen.runtime import GeneratorSession, ParquetOptions, write_profiles
    from gexgen.runtime.profile_writers import sidecars_of

    to_stdout = str(out) == "-"
    kind = format if to_stdout else out.suffix.lower().lstrip(".")
    if format is not None and not to_stdout:
        raise GexgenError(
            f"--format applies to --out - (stdout) only; {out} has its format in its extension"
        )
    if compression is not None and kind != "parquet":
        raise GexgenError(f"--compression applies to parquet output only, not {kind!r}")
    codecs = ("none", "lz4", "zstd", "snappy")
    if compression is not None and compression not in codecs:
        raise GexgenError(f"--compression must be one of {list(codecs)}, got {compression!r}")
    codec = compression or "none"
    parquet = ParquetOptions(compression=codec, byte_stream_split=codec != "none")  # type: ignore[arg-type]
    started = time.perf_counter()
    with GeneratorSession(generator, providers=providers, threads=threads) as session:
        write_profiles(
            session,
            out,
            n,
            conditions=conditions,
            seed=seed,
            space=space,  # type: ignore[arg-type]
            chunk_size=chunk_size,
            mix=mix,
            progress=progress,
            overwrite=overwrite,
            force=force,
            parquet=parquet,
            stream_format=format,
            mean=mean,
        )  # type: ignore[arg-type]
        n_genes = len(session.genes)
    seconds = time.perf_counter() - started
    beside = "" if to_stdout else "".join(f" (+ {p.name})" for p in sidecars_of(out))
    typer.echo(
        f"wrote {n:,} profiles x {n_genes} genes ({space}) to "
        f"{f'stdout ({format})' if to_stdout else out}{beside} in "
        f"{seconds:.1f} s ({n / max(seconds, 1e-9):,.0f} profiles/s)",
        err=to_stdout,  # stdout carries the profiles
    )


def _generate_dataset(
    generator: Path,
    out: Path,
    n: int,
    conditions: dict[str, str],
    mix: str,
    seed: int,
    space: str,
    scheduler: str | None,
    partition_rows: int | None,
    workers: int | None,
    resume: bool,
    overwrite: bool,
    progress: bool,
    providers: str | None,
    threads: int | None,
    chunk_size: int,
) -> None:
    """The DIR/ branch of ``generate``: each task runs one onnxruntime thread unless
    --threads says otherwise."""
    from gexgen.distributed import generate as generate_dataset

    started = time.perf_counter()
    manifest = generate_dataset(
        generator,
        out,
        n,
        conditions=conditions,
        seed=seed,
        space=space,  # type: ignore[arg-type]
        mix=mix,  # type: ignore[arg-type]
        partition_rows=partition_rows,
        scheduler=scheduler,
        workers=workers,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        providers=providers or "cpu",
        threads=threads or 1,
        chunk_rows=chunk_size,
    )
    seconds = time.perf_counter() - started
    typer.echo(
        f"wrote {n:,} profiles x {manifest['genes']} genes ({space}) to {out}/ as "
        f"{len(manifest['partitions'])} partitions in {seconds:.1f} s "
        f"({n / max(seconds, 1e-9):,.0f} profiles/s)"
    )


@user_errors
def info(
    generator: Annotated[Path, typer.Argument(help="Generator .onnx file.")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the full metadata JSON: the text of the GEN.onnx.json sidecar "
            "that export writes (`gexgen info GEN.onnx --json > GEN.onnx.json` remakes it).",
        ),
    ] = False,
) -> None:
    """Show a generator file's genes, labels with vocabularies and training counts, provenance.

    Example: gexgen info generator.onnx
    """
    from gexgen.runtime import GeneratorSession

    with GeneratorSession(generator, providers="cpu") as session:
        if as_json:  # the text of the GEN.onnx.json sidecar that export writes
            from gexgen.generator_format import sidecar_text

            typer.echo(sidecar_text(session.metadata), nl=False)  # JSON escapes controls
            return
        safe_echo(f"file: {generator}")
        safe_echo(session.info.describe())
