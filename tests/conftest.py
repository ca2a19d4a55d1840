"""Shared fixtures: the real data (../shared/data or $GEXGEN_DATA) and its cohort."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("GEXGEN_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real TCGA + GTEx mirror. Missing data is a failure, never a skip."""
    path = _shared_data_dir()
    if not (path / "rnaseqdb").is_dir() or not (path / "l1000").is_dir():
        pytest.fail(
            f"real data not found at {path}: set GEXGEN_DATA to the folder holding "
            "rnaseqdb/ and l1000/ (../shared/data in CI)"
        )
    return path


@pytest.fixture(scope="session")
def real_cohort_path(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RNAseqDB L1000 cohort built once per test session from the shared mirror."""
    from gexgen.data.rnaseqdb import build_rnaseqdb_cohort

    out = tmp_path_factory.mktemp("cohort") / "rnaseqdb_l1000.h5ad"
    build_rnaseqdb_cohort(
        source=shared_data / "rnaseqdb",
        landmarks=shared_data / "l1000" / "landmark_genes.tsv",
        out=out,
    )
    return out
