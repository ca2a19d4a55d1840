"""Shared pieces of the hostile-input tests: a tiny generator, a small cohort, the CLI runner."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable
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


@pytest.fixture
def lose_the_race(monkeypatch: pytest.MonkeyPatch):
    """``lose_the_race(module, name, plant)``: another run writes its output meanwhile.

    ``module.name`` is patched so that ``plant()`` runs right after it (``before=True``:
    right before it), as when a run started at the same time passes the same point
    first: the early existence check has passed, the output has not been claimed yet.
    """

    def patch(module: str, name: str, plant: Callable[[], object], *, before: bool = False):
        target = importlib.import_module(module)
        original = getattr(target, name)

        def racing(*args, **kwargs):
            if before:
                plant()
            result = original(*args, **kwargs)
            if not before:
                plant()
            return result

        monkeypatch.setattr(target, name, racing)

    return patch


@contextlib.contextmanager
def _flock_held(lock: Path):
    import fcntl

    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield lock
    finally:
        os.close(fd)


@pytest.fixture
def held_lock():
    """``with held_lock(folder / ".gexgen-run.lock"):`` as a running gexgen command holds it."""
    return _flock_held
