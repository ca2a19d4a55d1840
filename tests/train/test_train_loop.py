"""The training loop on a small synthetic cohort: files, split, reproducibility, resume."""

from __future__ import annotations

import csv
import json

import anndata
import numpy as np
import pytest
import torch

from gexgen.data.cohort import cohort_split
from gexgen.data.preprocess import LogStandardScaler
from gexgen.train import (
    TrainConfig,
    decoder_from_checkpoint,
    load_checkpoint,
    load_training_state,
    one_hot_conditions,
    train_cvae,
)
from gexgen.train.checkpoint import build_model, save_dict


def _decode(ckpt: dict, n: int = 9, seed: int = 0) -> torch.Tensor:
    decoder = decoder_from_checkpoint(ckpt)
    g = torch.Generator().manual_seed(seed)
    sizes = ckpt["model_config"]["label_sizes"]
    codes = torch.stack([torch.randint(0, s, (n,), generator=g) for s in sizes], dim=1)
    z = torch.randn(n, ckpt["model_config"]["n_latent"], generator=g)
    with torch.no_grad():
        return decoder(z, one_hot_conditions(codes, sizes))


def test_run_writes_checkpoint_history_and_config(tiny_cohort, tiny_config, tmp_path):
    config = tiny_config.replace(epochs=6)
    result = train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {
        "checkpoint.pt",
        "training_state.pt",
        "config.json",
        "history.csv",
    }
    assert TrainConfig.from_dict(json.loads((run / "config.json").read_text())) == config
    with open(run / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])  # it learns
    val = [float(r["val_loss"]) for r in rows]
    assert result.best_epoch == int(np.argmin(val)) + 1
    assert result.best_val_loss == pytest.approx(min(val))
    assert result.epochs_run == 6 and not result.stopped_early

    ckpt = load_checkpoint(run)  # a directory works as well as the file
    assert ckpt["model_type"] == "cvae"
    assert ckpt["training"]["best_epoch"] == result.best_epoch
    assert ckpt["genes"]["symbols"][:2] == ["G0", "G1"]
    assert ckpt["genes"]["entrez_ids"][:2] == [100, 101]
    assert [label["name"] for label in ckpt["labels"]] == ["tissue", "status"]
    assert ckpt["labels"][0]["values"] == ["kidney", "liver", "lung"]
    assert ckpt["versions"]["torch"] == str(torch.__version__)


def test_split_is_respected_and_scaler_fit_on_training_part(tiny_cohort, tiny_config, tmp_path):
    train_cvae(tiny_cohort, tmp_path / "run", tiny_config, progress=False)
    ckpt = load_checkpoint(tmp_path / "run")
    adata = anndata.read_h5ad(tiny_cohort)
    train_idx, test_idx = cohort_split(adata)
    names = adata.obs_names
    split = ckpt["split"]
    assert set(split["test"]) == set(names[test_idx])
    assert set(split["train"]) | set(split["val"]) == set(names[train_idx])
    assert not set(split["train"]) & set(split["val"])
    assert len(split["val"]) >= 6  # one per tissue x status combination at least
    # label counts are those of the train split, in code order
    tissue = adata.obs["tissue"].astype(str).to_numpy()[train_idx]
    assert ckpt["labels"][0]["counts"] == [
        int((tissue == v).sum()) for v in ["kidney", "liver", "lung"]
    ]
    assert sum(c["count"] for c in ckpt["combinations"]) == len(train_idx)
    # the scaler is fitted on the fitted part only (not val, not test)
    fit_rows = np.flatnonzero(np.isin(names, split["train"]))
    want = LogStandardScaler().fit(adata.X[fit_rows])
    got = LogStandardScaler.from_dict(ckpt["scaler"])
    np.testing.assert_allclose(got.mean_, want.mean_, rtol=1e-6)
    np.testing.assert_allclose(got.std_, want.std_, rtol=1e-6)


def test_same_seed_same_weights_other_seed_other_weights(tiny_cohort, tiny_config, tmp_path):
    states = []
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        train_cvae(tiny_cohort, tmp_path / name, tiny_config.replace(seed=seed), progress=False)
        states.append(load_checkpoint(tmp_path / name)["model_state"])
    a, b, c = states
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_checkpoint_round_trip_gives_identical_decoder_outputs(tiny_cohort, tiny_config, tmp_path):
    train_cvae(tiny_cohort, tmp_path / "run", tiny_config, progress=False)
    ckpt = load_checkpoint(tmp_path / "run")
    # the decoder of the saved best state, rebuilt by hand
    state = load_training_state(tmp_path / "run")
    model = build_model(ckpt["model_config"])
    model.load_state_dict(state["kept_state"])
    model.eval()
    g = torch.Generator().manual_seed(0)
    sizes = ckpt["model_config"]["label_sizes"]
    codes = torch.stack([torch.randint(0, s, (9,), generator=g) for s in sizes], dim=1)
    z = torch.randn(9, 4, generator=g)
    with torch.no_grad():
        want = model.decoder(z, one_hot_conditions(codes, sizes))
    assert torch.equal(_decode(ckpt), want)
    # save -> load again: bit-identical
    save_dict(ckpt, tmp_path / "copy.pt")
    assert torch.equal(_decode(load_checkpoint(tmp_path / "copy.pt")), want)


def test_resume_continues_from_saved_epoch(tiny_cohort, tiny_config, tmp_path):
    config = tiny_config.replace(epochs=5, checkpoint_every=1)
    straight = train_cvae(tiny_cohort, tmp_path / "straight", config, progress=False)
    first = train_cvae(tiny_cohort, tmp_path / "resumed", config.replace(epochs=2), progress=False)
    assert first.epochs_run == 2
    assert load_training_state(tmp_path / "resumed")["epoch"] == 2
    resumed = train_cvae(tiny_cohort, tmp_path / "resumed", config, resume=True, progress=False)
    assert resumed.epochs_run == 5
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4, 5]
    # continuing gives exactly the uninterrupted run: weights, optimizer, RNG all restored
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
    a = load_training_state(tmp_path / "straight")["model_state"]
    b = load_training_state(tmp_path / "resumed")["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.best_epoch == straight.best_epoch


def test_zero_epochs_saves_the_untrained_model(tiny_cohort, tiny_config, tmp_path):
    result = train_cvae(
        tiny_cohort, tmp_path / "run", tiny_config.replace(epochs=0), progress=False
    )
    assert result.best_epoch == 0 and result.epochs_run == 0 and result.history == []
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt["training"]["epochs"] == 0
    assert _decode(ckpt).shape == (9, 24)


def test_early_stopping_stops_after_patience(tiny_cohort, tiny_config, tmp_path):
    # a learning rate this small barely moves: val loss stalls, patience 1 stops soon
    config = tiny_config.replace(epochs=50, patience=1, lr=1e-9)
    result = train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    assert result.stopped_early
    assert result.epochs_run < 50
    assert result.epochs_run - result.best_epoch == 1


@pytest.mark.parametrize("variant", ["learned_variance", "conditional_prior", "log_scaled"])
def test_model_variants_train(variant, tiny_config, tmp_path):
    from cohort_factory import make_cohort

    cohort = make_cohort(tmp_path / "c.h5ad", log_scaled=variant == "log_scaled")
    config = tiny_config if variant == "log_scaled" else tiny_config.replace(**{variant: True})
    train_cvae(cohort, tmp_path / "run", config, progress=False)
    ckpt = load_checkpoint(tmp_path / "run")
    decoder = decoder_from_checkpoint(ckpt)
    assert (decoder.logvar is not None) == (variant == "learned_variance")
    assert (decoder.prior is not None) == (variant == "conditional_prior")
    assert ckpt["scaler"]["log_input"] == (variant == "log_scaled")
    assert torch.isfinite(_decode(ckpt)).all()


def test_keep_last_and_cosine_schedule(tiny_cohort, tiny_config, tmp_path):
    config = tiny_config.replace(epochs=4, lr_schedule="cosine", keep="last", lr=1e-2)
    result = train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    lrs = [row["lr"] for row in result.history]
    assert lrs[0] == pytest.approx(1e-2) and lrs[-1] == pytest.approx(2e-4)
    assert lrs == sorted(lrs, reverse=True)
    ckpt = load_checkpoint(tmp_path / "run")
    assert result.kept_epoch == 4 and ckpt["training"]["kept_epoch"] == 4
    assert ckpt["training"]["val_loss"] == pytest.approx(result.history[-1]["val_loss"])
    last = load_training_state(tmp_path / "run")["model_state"]
    assert all(torch.equal(ckpt["model_state"][k], last[k]) for k in last)
