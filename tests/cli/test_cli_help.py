"""Every command has help text with an example, and the root options work."""

from __future__ import annotations

import subprocess
import sys

import typer.main
from typer.testing import CliRunner

from gexgen import __version__
from gexgen.cli import app

runner = CliRunner()


def _all_commands() -> list[tuple[str, ...]]:
    """Paths of every leaf command, e.g. ("data", "rnaseqdb")."""
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        subcommands = getattr(cmd, "commands", None)  # a group has sub-commands
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return found


def test_expected_commands_are_registered():
    names = {" ".join(p) for p in _all_commands()}
    expected = {
        "data rnaseqdb",
        "data import",
        "train",
        "tune",
        "export",
        "generate",
        "info",
        "evaluate",
        "check",
        "benchmark",
        "demo",
    }
    assert expected <= names, f"missing commands: {sorted(expected - names)}"


def test_every_command_has_help_with_an_example():
    commands = _all_commands()
    assert commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.output, f"`gexgen {' '.join(path)} --help` shows no example"


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"gexgen {__version__}"


def test_help_does_not_import_torch():
    code = (
        "import sys; from typer.testing import CliRunner; from gexgen.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
