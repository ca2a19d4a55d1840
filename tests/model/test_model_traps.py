"""Evaluation traps of the object API: the fitted split is remembered, sample() seeds afresh."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import anndata
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from cohort_factory import make_cohort  # noqa: E402

from gexgen.model import CVAE  # noqa: E402
from gexgen.model._split_memory import TrainingRowsWarning  # noqa: E402

TINY = dict(
    encoder_hidden=(16,), n_latent=3, decoder_hidden=(16,), batch_size=16,
    epochs=2, device="cpu", threads=1,
)  # fmt: skip
METRICS = ["gamma", "moments"]


@pytest.fixture(scope="module")
def unsplit(tmp_path_factory) -> anndata.AnnData:
    """A cohort without its split column: fit() makes (and must remember) one."""
    adata = anndata.read_h5ad(make_cohort(tmp_path_factory.mktemp("traps") / "c.h5ad"))
    adata.uns["gexgen"] = {"log_scaled": False}
    del adata.obs["split"]
    return adata


@pytest.fixture(scope="module")
def model(unsplit) -> CVAE:
    return CVAE(**TINY).fit(unsplit, test_fraction=0.3)


def test_evaluate_scores_against_the_rows_fit_held_out(model, unsplit):
    n_test = int((model._split == "test").sum())
    assert 0 < n_test < unsplit.n_obs
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingRowsWarning)
        metrics = model.evaluate(unsplit, metrics=METRICS)
    assert metrics["n_real"] == n_test  # not all rows, training ones included
    assert metrics["inputs"]["real_rows"] == "test split"
    assert metrics["gamma_ceiling"]["gamma"] is not None  # the training rows: the ceiling
    frame = unsplit.to_df()
    for col in ("tissue", "status"):
        frame[col] = unsplit.obs[col].astype(str).to_numpy()
    assert model.evaluate(frame, metrics=METRICS)["n_real"] == n_test  # a DataFrame too


def test_training_rows_that_cannot_be_held_apart_warn_loudly(model, unsplit, tmp_path):
    train_only = unsplit[(model._split.reindex(unsplit.obs_names) == "train").to_numpy()].copy()
    with pytest.warns(TrainingRowsWarning, match=f"{train_only.n_obs} of the"):
        model.evaluate(train_only, metrics=METRICS)
    model.save(tmp_path / "saved")
    loaded = CVAE.load(tmp_path / "saved")  # a loaded model knows no split
    with pytest.warns(TrainingRowsWarning, match="does not know its training split"):
        loaded.evaluate(unsplit, metrics=METRICS)


def test_sample_draws_a_fresh_seed_and_records_it(model):
    a, b = model.sample(20), model.sample(20)
    seed_a, seed_b = a.uns["gexgen"]["seed"], b.uns["gexgen"]["seed"]
    assert seed_a != seed_b and not np.array_equal(a.X, b.X)
    assert a.obs_names[0] == f"syn-{seed_a}-0" and not set(a.obs_names) & set(b.obs_names)
    again = model.sample(20, seed=seed_a)  # the recorded seed draws the same rows
    np.testing.assert_array_equal(again.X, a.X)
    frame = model.sample(20, as_="frame")
    np.testing.assert_array_equal(
        model.sample(20, seed=frame.attrs["gexgen"]["seed"], as_="frame").to_numpy(),
        frame.to_numpy(),
    )
