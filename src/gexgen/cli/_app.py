"""The typer application and the one-line error handling shared by all commands."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from gexgen import __version__
from gexgen.errors import GexgenError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="gexgen",
    help=(
        "Generate realistic synthetic bulk gene-expression profiles conditioned on labels.\n\n"
        "Example: gexgen data rnaseqdb --landmarks l1000/landmark_genes.tsv --out cohort.h5ad"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gexgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gexgen: learn, ship and score synthetic gene-expression generators."""


def user_errors(func: F) -> F:
    """Report GexgenError / ValueError / FileNotFoundError as one stderr line, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (GexgenError, ValueError, FileNotFoundError) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def main() -> None:  # pragma: no cover - console entry point
    app()
    sys.exit(0)


# Register every command group (each module adds its commands to `app`).
from gexgen.cli import (  # noqa: E402,F401
    benchmark_commands,
    data_commands,
    demo_commands,
    evaluate_commands,
    export_commands,
    generate_commands,
    train_commands,
)
