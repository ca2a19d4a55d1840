"""The typer application: it imports each command module and registers its commands.

The command modules never import this one back, so the imports point one way.
"""

from __future__ import annotations

import sys

import typer

from gexgen.cli import (
    benchmark_commands,
    data_commands,
    demo_commands,
    evaluate_commands,
    export_commands,
    generate_commands,
    train_commands,
)
from gexgen.cli._help import hide_flag_types

hide_flag_types()

app = typer.Typer(
    name="gexgen",
    help=(
        "Generate realistic synthetic bulk gene-expression profiles conditioned on labels.\n\n"
        "Example: gexgen data rnaseqdb --landmarks l1000/landmark_genes.tsv --out cohort.h5ad"
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from gexgen import __version__

        typer.echo(f"gexgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gexgen: learn, ship and score synthetic gene-expression generators."""


# The commands in the order of the data flow: data -> train -> export -> generate -> evaluate.
app.add_typer(data_commands.data_app, name="data")
for command in (
    train_commands.train,
    train_commands.tune,
    export_commands.export,
    generate_commands.info,
    generate_commands.generate,
    evaluate_commands.evaluate,
    evaluate_commands.check,
    benchmark_commands.benchmark,
    demo_commands.demo,
):
    app.command()(command)


def main() -> None:  # pragma: no cover - console entry point
    app()
    sys.exit(0)
