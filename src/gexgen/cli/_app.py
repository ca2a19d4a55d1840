"""The typer application: it imports each command module and registers its commands.

The command modules never import this one back, so the imports point one way.
``build_app(only=NAME)`` registers one command (or group) only: the console
entry point (:func:`main`) uses it when the first word of the command line
names one, so a ``gexgen generate`` run neither imports the other command
modules nor has typer read their signatures (about 0.05 s of start-up). typer
parses the command line either way.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from gexgen.cli._help import hide_flag_types

# name -> (command module, attribute), in the order of the data flow:
# data -> train -> export -> generate -> evaluate
_GROUPS = {"data": ("data_commands", "data_app")}
_COMMANDS = {
    "train": ("train_commands", "train"),
    "tune": ("train_commands", "tune"),
    "export": ("export_commands", "export"),
    "info": ("generate_commands", "info"),
    "generate": ("generate_commands", "generate"),
    "evaluate": ("evaluate_commands", "evaluate"),
    "check": ("evaluate_commands", "check"),
    "benchmark": ("benchmark_commands", "benchmark"),
    "demo": ("demo_commands", "demo"),
}
COMMAND_NAMES = frozenset(_GROUPS) | frozenset(_COMMANDS)


def _version(value: bool) -> None:
    if value:
        from gexgen import __version__

        typer.echo(f"gexgen {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gexgen: learn, ship and score synthetic gene-expression generators."""


def _load(module: str, attribute: str) -> object:
    return getattr(import_module(f"gexgen.cli.{module}"), attribute)


def build_app(only: str | None = None) -> typer.Typer:
    """The gexgen typer app with every command, or with the command or group ``only``."""
    hide_flag_types()
    app = typer.Typer(
        name="gexgen",
        help=(
            "Generate realistic synthetic bulk gene-expression profiles conditioned on "
            "labels.\n\n"
            "Example: gexgen data rnaseqdb --landmarks l1000/landmark_genes.tsv --out cohort.h5ad"
        ),
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name, (module, attribute) in _GROUPS.items():
        if only in (None, name):
            app.add_typer(_load(module, attribute), name=name)  # type: ignore[arg-type]
    for name, (module, attribute) in _COMMANDS.items():
        if only in (None, name):
            app.command(name=name)(_load(module, attribute))  # type: ignore[arg-type]
    return app


def main() -> None:  # pragma: no cover - console entry point (tests run it in a subprocess)
    """The ``gexgen`` console command."""
    first = sys.argv[1] if len(sys.argv) > 1 else None
    build_app(first if first in COMMAND_NAMES else None)()
    sys.exit(0)
