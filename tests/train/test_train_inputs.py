"""Config validation and bad inputs: one clear error, nothing written or overwritten."""

from __future__ import annotations

import dataclasses

import anndata
import numpy as np
import pytest
import torch

from gexgen.data.cohort import write_cohort
from gexgen.errors import GexgenError
from gexgen.train import TrainConfig, resolve_device, train_cvae
from gexgen.train.checkpoint import save_dict
from gexgen.train.config import hidden_for_depth
from gexgen.train.data import validation_mask


def _snapshot(folder):
    """Names and bytes of every file under ``folder``."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_defaults_are_the_papers():
    c = TrainConfig()
    assert c.encoder_hidden == (1000, 512, 256) and c.decoder_hidden == (256, 512, 1000)
    assert c.n_latent == 50 and c.batch_norm and c.lr == 1e-4 and c.batch_size == 50
    assert c.epochs == 1400 and c.conditions == ("tissue", "status") and c.seed == 0
    assert c.device == "auto" and c.kl_weight == 1.0 and not c.learned_variance
    assert not c.conditional_prior


def test_config_dict_round_trip_and_unknown_key():
    c = TrainConfig(encoder_hidden=[64, 32], conditions=["tissue"], patience=None)
    assert c.encoder_hidden == (64, 32)  # lists become tuples
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(GexgenError, match="unknown training config key.*valid"):
        TrainConfig.from_dict({**c.to_dict(), "learning_rate": 1.0})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lr", 0.0, "lr must be > 0"),
        ("batch_size", 0, "batch_size must be a positive integer"),
        ("epochs", -1, "epochs must be >= 0"),
        ("val_fraction", 1.0, r"val_fraction must be in \(0, 1\)"),
        ("encoder_hidden", (), "encoder_hidden must be one or more"),
        ("conditions", ("tissue", "tissue"), "must not repeat"),
        ("patience", 0, "patience must be >= 1"),
        ("device", "tpu", "unknown device 'tpu'"),
        ("threads", 0, "threads must be >= 1"),
    ],
)
def test_invalid_config_values_name_the_field(field, value, message):
    with pytest.raises(GexgenError, match=message):
        dataclasses.replace(TrainConfig(), **{field: value})


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == want
    if not torch.cuda.is_available():
        with pytest.raises(GexgenError, match="CUDA is not available"):
            resolve_device("cuda")


def test_hidden_for_depth():
    assert hidden_for_depth(3) == ((1000, 512, 256), (256, 512, 1000))
    assert [len(hidden_for_depth(d)[0]) for d in (2, 3, 4)] == [2, 3, 4]
    with pytest.raises(GexgenError, match="one of"):
        hidden_for_depth(5)


def test_validation_mask_is_stratified_and_seeded():
    codes = np.repeat(np.array([[0, 0], [0, 1], [1, 0], [2, 1]]), [40, 20, 10, 1], axis=0)
    mask = validation_mask(codes, 0.25, seed=1)
    keys = codes[:, 0] * 10 + codes[:, 1]
    assert [int(mask[keys == k].sum()) for k in (0, 1, 10, 21)] == [10, 5, 2, 0]
    assert np.array_equal(mask, validation_mask(codes, 0.25, seed=1))
    assert not np.array_equal(mask, validation_mask(codes, 0.25, seed=2))


def _cohort_variant(src, path, change):
    adata = anndata.read_h5ad(src)
    change(adata)
    return write_cohort(adata, path)


@pytest.mark.parametrize(
    ("change", "config_change", "message"),
    [
        (lambda a: None, {"conditions": ("tissue", "grade")}, r"no label column\(s\) \['grade'\]"),
        (
            lambda a: a.obs.__setitem__("status", "normal"),
            {},
            "'status' has a single value",
        ),
        (lambda a: None, {"batch_size": 500}, "fewer than batch size 500"),
        (
            lambda a: a.obs.__setitem__("split", "train"),
            {"device": "cpu", "epochs": 1},
            None,  # no test split is fine for training; checked below to pass
        ),
    ],
)
def test_bad_cohorts_fail_before_writing(
    tiny_cohort, tiny_config, tmp_path, change, config_change, message
):
    cohort = _cohort_variant(tiny_cohort, tmp_path / "c.h5ad", change)
    out = tmp_path / "run"
    config = tiny_config.replace(**config_change)
    if message is None:
        train_cvae(cohort, out, config, progress=False)
        return
    with pytest.raises(GexgenError, match=message):
        train_cvae(cohort, out, config, progress=False)
    assert not out.exists()


def test_missing_label_values_are_reported(tiny_cohort, tiny_config, tmp_path):
    def blank(adata):
        tissue = adata.obs["tissue"].astype(object)
        tissue.iloc[[3, 7]] = np.nan
        adata.obs["tissue"] = tissue

    cohort = _cohort_variant(tiny_cohort, tmp_path / "c.h5ad", blank)
    with pytest.raises(GexgenError, match="2 missing value.*s0003, s0007"):
        train_cvae(cohort, tmp_path / "run", tiny_config, progress=False)


def test_existing_run_dir_is_not_overwritten(tiny_cohort, tiny_config, tmp_path):
    out = tmp_path / "run"
    train_cvae(tiny_cohort, out, tiny_config, progress=False)
    before = _snapshot(out)
    with pytest.raises(GexgenError, match="already exists.*--overwrite"):
        train_cvae(tiny_cohort, out, tiny_config.replace(seed=5), progress=False)
    assert _snapshot(out) == before
    train_cvae(tiny_cohort, out, tiny_config.replace(seed=5), overwrite=True, progress=False)
    assert _snapshot(out) != before


def test_resume_refuses_corrupt_or_mismatched_state(tiny_cohort, tiny_config, tmp_path):
    out = tmp_path / "run"
    train_cvae(tiny_cohort, out, tiny_config, progress=False)
    before = _snapshot(out)

    with pytest.raises(GexgenError, match="config differs.*lr: saved 0.001, asked 0.01"):
        train_cvae(tiny_cohort, out, tiny_config.replace(lr=1e-2), resume=True, progress=False)
    other = _cohort_variant(tiny_cohort, tmp_path / "other.h5ad", lambda a: a.X.__imul__(2))
    with pytest.raises(GexgenError, match="sha256 mismatch"):
        train_cvae(other, out, tiny_config.replace(epochs=5), resume=True, progress=False)
    with pytest.raises(GexgenError, match="exclude each other"):
        train_cvae(tiny_cohort, out, tiny_config, resume=True, overwrite=True, progress=False)
    assert _snapshot(out) == before

    state = out / "training_state.pt"
    state.write_bytes(state.read_bytes()[:1000])  # truncated
    damaged = _snapshot(out)
    with pytest.raises(GexgenError, match="corrupt or not a gexgen file"):
        train_cvae(tiny_cohort, out, tiny_config.replace(epochs=5), resume=True, progress=False)
    assert _snapshot(out) == damaged
    with pytest.raises(GexgenError, match="does not exist"):
        train_cvae(tiny_cohort, tmp_path / "nowhere", tiny_config, resume=True, progress=False)


def test_resume_refuses_a_state_of_another_shape(tiny_cohort, tiny_config, tmp_path):
    out = tmp_path / "run"
    train_cvae(tiny_cohort, out, tiny_config, progress=False)
    state = torch.load(out / "training_state.pt", weights_only=True)
    state["model_state"] = {k: v[:1] if v.ndim else v for k, v in state["model_state"].items()}
    save_dict(state, out / "training_state.pt")  # a valid file (checksums match), wrong shape
    before = _snapshot(out)
    with pytest.raises(GexgenError, match="does not match this model"):
        train_cvae(tiny_cohort, out, tiny_config.replace(epochs=5), resume=True, progress=False)
    assert _snapshot(out) == before


def test_recipes():
    fast = TrainConfig.recipe("fast", seed=4)
    assert (fast.lr, fast.lr_schedule, fast.epochs, fast.batch_size) == (3e-3, "cosine", 250, 64)
    assert fast.conditional_prior and fast.keep == "last" and fast.patience is None
    assert fast.kl_weight == 2.0 and fast.seed == 4
    assert fast.encoder_hidden == TrainConfig().encoder_hidden  # the paper's architecture
    assert TrainConfig.recipe() == TrainConfig.recipe("paper") == TrainConfig()
    with pytest.raises(GexgenError, match=r"unknown recipe 'slow'; choose from \['paper'"):
        TrainConfig.recipe("slow")
