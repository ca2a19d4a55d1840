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


MATCHED_LABELS = {"tissue": ["kidney", "liver", "lung"], "status": ["normal", "tumor"]}


@pytest.fixture(scope="session")
def matched_generator(tmp_path_factory: pytest.TempPathFactory, small_cohort: Path) -> Path:
    """A generator whose genes and labels are small_cohort's, recording its training hash."""
    import anndata

    sha = training_hash(anndata.read_h5ad(small_cohort))
    return write_generator(
        tmp_path_factory.mktemp("matched") / "generator.onnx",
        labels=MATCHED_LABELS,
        seed=2,
        metadata_overrides={"training": {"data_sha256": sha, "n_train": 36}},
    ).path


def training_hash(adata) -> str:
    """The cohort content hash training records (a copy of gexgen's, as the reference)."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(np.asarray(adata.X), dtype=np.float32).tobytes())
    h.update("\n".join(map(str, adata.obs_names)).encode())
    h.update("\n".join(map(str, adata.var_names)).encode())
    for col in sorted(adata.obs.columns):
        h.update(col.encode())
        h.update("\n".join(adata.obs[col].astype(str)).encode())
    h.update(b"split")
    return h.hexdigest()
