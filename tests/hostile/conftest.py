"""Shared pieces of the hostile-input tests: a tiny generator, a small cohort, the CLI runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "runtime"))
sys.path.insert(0, str(TESTS / "train"))

from cohort_factory import make_cohort  # noqa: E402
from tiny_generator import write_generator  # noqa: E402

from gexgen.cli import app  # noqa: E402


class Cli:
    """``gexgen ARGS`` in-process: exit code, stdout, stderr."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: object):
        return self.runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()


@pytest.fixture(scope="session")
def generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_generator(tmp_path_factory.mktemp("gen") / "generator.onnx", seed=1).path


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("cohort") / "cohort.h5ad", n=48, n_genes=12)


def one_error_line(result) -> str:
    """The command failed with exit 1 and one 'Error:' line, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    # a progress bar may precede it; the error itself is the last line, and the only one
    lines = [line for line in result.stderr.replace("\r", "\n").splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line]
    assert lines and lines[-1].startswith("Error: ") and len(errors) == 1, result.stderr
    return lines[-1]
