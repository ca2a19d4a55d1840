"""Fixtures for fast training tests on a small synthetic cohort (real one: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cohort_factory import make_cohort

from gexgen.train.config import TrainConfig


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("tiny") / "tiny.h5ad")


@pytest.fixture
def tiny_config() -> TrainConfig:
    """Small widths and a few epochs: a run takes well under a second."""
    return TrainConfig(
        encoder_hidden=(32, 16),
        n_latent=4,
        decoder_hidden=(16, 32),
        batch_size=16,
        lr=1e-3,
        epochs=3,
        device="cpu",
        patience=None,
        threads=1,  # a tiny model gains nothing from a second thread
    )
