"""Small trained runs for export tests (synthetic cohort; the real one: tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gexgen.train.config import TrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from cohort_factory import make_cohort  # noqa: E402

TINY = TrainConfig(
    encoder_hidden=(32, 16),
    n_latent=4,
    decoder_hidden=(16, 32),
    batch_size=16,
    lr=1e-2,
    epochs=3,
    device="cpu",
    patience=None,
    threads=1,
)


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("tiny") / "tiny.h5ad")


@pytest.fixture(scope="session")
def tiny_run(tiny_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained run with the paper's model shape (small widths), N(0, I) prior."""
    from gexgen.train import train_cvae

    out = tmp_path_factory.mktemp("runs") / "cvae"
    train_cvae(tiny_cohort, out, TINY, progress=False)
    return out


@pytest.fixture(scope="session")
def noisy_run(tiny_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Learned per-gene variance and a conditional prior: the graph takes ``eps``."""
    from gexgen.train import train_cvae

    out = tmp_path_factory.mktemp("runs") / "cvae_lv"
    config = TINY.replace(learned_variance=True, conditional_prior=True)
    train_cvae(tiny_cohort, out, config, progress=False)
    return out
