"""The default recipe's parts against simple references: calibrated noise, selection, DP, resume."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from gexgen.errors import GexgenError
from gexgen.export.graph import GeneratorGraph
from gexgen.train import load_checkpoint, train_cvae
from gexgen.train.calibrate import (
    calibrate_noise,
    combination_index,
    within_combination_variance,
)
from gexgen.train.checkpoint import build_model, load_training_state
from gexgen.train.config import DEFAULT_RECIPE, PAPER_SETTINGS, RECIPES, TrainConfig
from gexgen.train.cvae import joint_one_hot, one_hot_conditions, temper_prior
from gexgen.train.data import prepare_training_data
from gexgen.train.loop import _Trainer, balance_weights, epoch_order
from gexgen.train.selection import nearest_distance, rank_auc
from gexgen.train.trainer_common import torch_threads


def test_combination_index_matches_joint_one_hot():
    sizes = [3, 2, 4]
    rng = np.random.default_rng(0)
    codes = np.stack([rng.integers(0, s, 50) for s in sizes], axis=1)
    joint = joint_one_hot(one_hot_conditions(torch.from_numpy(codes), sizes), sizes)
    assert combination_index(codes, sizes).tolist() == joint.argmax(dim=1).tolist()


def test_within_combination_variance_reference():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    combo = np.array([0] * 30 + [2] * 10)
    out = within_combination_variance(x, combo, 3, shrink=0.0 + 1e-12)
    assert out[0] == pytest.approx(x[:30].var(axis=0, ddof=1), rel=1e-6)
    assert out[2] == pytest.approx(x[30:].var(axis=0, ddof=1), rel=1e-6)
    ss = ((x[:30] - x[:30].mean(0)) ** 2).sum(0) + ((x[30:] - x[30:].mean(0)) ** 2).sum(0)
    pooled = ss / 38
    assert out[1] == pytest.approx(pooled)  # an empty combination gets the pooled value
    shrunk = within_combination_variance(x, combo, 3, shrink=10.0)
    expected = (29 * x[:30].var(axis=0, ddof=1) + 10 * pooled) / 39
    assert shrunk[0] == pytest.approx(expected)


class _ConstantDecoder(torch.nn.Module):
    """Decodes every latent to its combination's fixed mean (no spread of its own)."""

    def __init__(self, n_genes: int, sizes: list[int]) -> None:
        super().__init__()
        self.n_latent, self.n_genes, self.sizes = 2, n_genes, sizes
        self.table = torch.nn.Parameter(
            torch.arange(np.prod(sizes) * n_genes).reshape(-1, n_genes).float()
        )

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return joint_one_hot(c, self.sizes) @ self.table + 0 * z[:, :1]


def test_calibrated_noise_restores_the_real_spread():
    sizes = [2, 2]
    rng = np.random.default_rng(2)
    codes = np.stack([rng.integers(0, 2, 400), rng.integers(0, 2, 400)], axis=1)
    sd = np.array([0.5, 1.0, 2.0])
    x = rng.normal(size=(400, 3)) * sd
    dec = _ConstantDecoder(3, sizes)
    noise = calibrate_noise(dec, x, codes, sizes, shrink=10.0, n_factors=0)
    # the decoder has no spread: the noise must carry all of the real variance
    target = within_combination_variance(x, combination_index(codes, sizes), 4, 10.0)
    assert noise.logvar.shape == (4, 3) and noise.factors.shape == (3, 0)
    np.testing.assert_allclose(np.exp(noise.logvar.numpy()), target, rtol=1e-5)
    assert dec.training  # its mode is restored


def test_correlated_noise_has_the_target_variance_and_correlation():
    sizes = [2]
    rng = np.random.default_rng(5)
    n, g = 3000, 6
    codes = rng.integers(0, 2, (n, 1))
    loadings = rng.normal(size=(2, g))
    x = rng.normal(size=(n, 2)) @ loadings + 0.5 * rng.normal(size=(n, g)) + 3 * codes
    dec = _ConstantDecoder(g, sizes)
    noise = calibrate_noise(dec, x, codes, sizes, n_factors=2)
    p, c = noise.factors.double(), noise.gains.double()
    eps = torch.from_numpy(rng.normal(size=(200_000, g)))
    y = eps + ((eps @ p) * c) @ p.T  # what the generator graph computes
    sample = (y * torch.exp(0.5 * noise.logvar.double())[0]).numpy()
    target = within_combination_variance(x, combination_index(codes, sizes), 2, 10.0)[0]
    np.testing.assert_allclose(sample.var(axis=0), target, rtol=0.03)
    # the model: the top-2 principal part of the pooled within-combination correlation
    resid = np.concatenate([x[codes[:, 0] == k] - x[codes[:, 0] == k].mean(0) for k in (0, 1)])
    real_corr = np.corrcoef(resid, rowvar=False)
    w, v = np.linalg.eigh((resid / resid.std(0)).T @ (resid / resid.std(0)) / (n - 2))
    model = (v[:, -2:] * w[-2:]) @ v[:, -2:].T
    off = ~np.eye(g, dtype=bool)
    got = np.corrcoef(sample, rowvar=False)
    np.testing.assert_allclose(got[off], model[off], atol=0.02)
    assert np.abs(got[off] - real_corr[off]).max() < 0.15  # close to the real correlation


def test_rank_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    pos, neg = rng.normal(0.3, 1, 40).round(1), rng.normal(0, 1, 60).round(1)  # with ties
    y = np.r_[np.ones(40), np.zeros(60)]
    assert rank_auc(pos, neg) == pytest.approx(roc_auc_score(y, np.r_[pos, neg]))


def test_nearest_distance_matches_brute_force():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(11, 5))
    brute = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)).min(1)
    got = nearest_distance(torch.from_numpy(a), torch.from_numpy(b), chunk=3).numpy()
    np.testing.assert_allclose(got, brute, rtol=1e-6)


def test_graph_adds_per_combination_noise():
    sizes = [2, 3]
    dec = _ConstantDecoder(4, sizes)
    logvar = torch.log(torch.arange(1, 25, dtype=torch.float32).reshape(6, 4))
    graph = GeneratorGraph(dec, sizes, np.zeros(4), np.ones(4), logvar=logvar)
    codes = [torch.tensor([0, 1, 1]), torch.tensor([2, 0, 1])]
    eps = torch.ones(3, 4)
    log_expr, _ = graph(torch.zeros(3, 2), *codes, eps)
    combo = [0 * 3 + 2, 1 * 3 + 0, 1 * 3 + 1]
    expected = dec.table.detach()[combo] + torch.exp(0.5 * logvar)[combo]
    torch.testing.assert_close(log_expr, expected)
    # with factors: eps -> eps + ((eps @ P) * C) @ P.T before the scale; eps = 0 is the mean
    p = torch.linalg.qr(torch.randn(4, 2))[0]
    c = torch.tensor([0.5, 2.0])
    graph = GeneratorGraph(dec, sizes, np.zeros(4), np.ones(4), logvar=logvar, factors=p, gains=c)
    eps = torch.randn(3, 4)
    log_expr, _ = graph(torch.zeros(3, 2), *codes, eps)
    mixed = eps + ((eps @ p) * c) @ p.T
    torch.testing.assert_close(
        log_expr, dec.table.detach()[combo] + mixed * torch.exp(0.5 * logvar)[combo]
    )
    mean, _ = graph(torch.zeros(3, 2), *codes, torch.zeros(3, 4))
    torch.testing.assert_close(mean, dec.table.detach()[combo])


def test_paper_recipe_is_explicit_and_default_differs():
    paper = TrainConfig.recipe("paper")
    assert paper == TrainConfig(**PAPER_SETTINGS)
    assert paper.lr == 1e-4 and paper.batch_size == 50 and paper.epochs == 1400
    assert paper.observation_noise == "none" and paper.keep == "best"
    default = TrainConfig.recipe(DEFAULT_RECIPE)
    assert default.observation_noise == "calibrated" and default.keep == "balanced"
    assert paper.latent_temperature == 1.0 and default.latent_temperature > 1.0
    assert paper.latent_temperature_below == 0 and default.latent_temperature_below > 0
    assert default.refit and not paper.refit and not TrainConfig.recipe("fast").refit
    assert set(RECIPES) >= {"paper", "fast", DEFAULT_RECIPE}


def test_config_rejects_bad_regularization():
    for bad in ({"dropout": 1.0}, {"mixup": 2.0}, {"observation_noise": "x"},
                {"dp_epsilon": 0.0}, {"dp_delta": 1e-5}, {"balance": 1.5},
                {"balance": -0.1}, {"latent_temperature": 0.0},
                {"latent_temperature": float("nan")}, {"latent_temperature_below": -1},
                {"latent_temperature_below": 2.5}):  # fmt: skip
        with pytest.raises(GexgenError):
            TrainConfig(**bad)
    with pytest.raises(GexgenError, match="needs conditional_prior"):
        TrainConfig(latent_temperature=1.5)
    with pytest.raises(GexgenError, match="refit needs an epoch chosen.*--no-refit"):
        TrainConfig(refit=True, keep="last")


@pytest.fixture
def default_tiny(tiny_config):
    return tiny_config.replace(
        keep="balanced",
        select_every=1,
        observation_noise="calibrated",
        dropout=0.1,
        mixup=0.5,
        input_noise=0.2,
        balance=1.0,
        conditional_prior=True,
        latent_temperature=1.5,
        epochs=4,
        checkpoint_every=2,
    )


def test_default_parts_train_record_selection_and_resume_bit_exact(
    tiny_cohort, default_tiny, tmp_path
):
    full = train_cvae(tiny_cohort, tmp_path / "full", default_tiny, progress=False)
    ckpt = load_checkpoint(tmp_path / "full")
    sel = ckpt["training"]["selection"]
    assert sel["keep"] == "balanced" and "val_mia_auc" in sel and "criterion" in sel
    scores = [r["selection_score"] for r in full.history]
    assert sel["kept_epoch"] == 1 + int(np.argmin(scores))
    assert ckpt["training"]["observation_noise"] == "calibrated"
    noise = ckpt["model_state"]["decoder.noise_logvar"]
    assert torch.isfinite(noise).all() and noise.std() > 0
    assert ckpt["model_state"]["decoder.noise_factors"].abs().sum() > 0
    calibration = ckpt["training"]["calibration"]
    assert ckpt["model_config"]["calibrated_mean"] and "centre" in calibration
    assert "validation rows" in calibration and "1.5x the prior's sd" in calibration
    offset = ckpt["model_state"]["decoder.noise_offset"]
    assert torch.isfinite(offset).all() and offset.abs().sum() > 0
    # what ships: the kept weights with the prior's sd times 1.5 and the noise calibrated
    # on every training row (fitted and validation), as calibrate_noise gives it
    kept = load_training_state(tmp_path / "full")["kept_state"]
    model = build_model(ckpt["model_config"])
    model.load_state_dict(kept)
    temper_prior(model.decoder.prior, 1.5)
    data = prepare_training_data(tiny_cohort, default_tiny)
    x, codes = np.r_[data.x_fit, data.x_val], np.r_[data.codes_fit, data.codes_val]
    want = {
        **{f"decoder.prior.{k}": v for k, v in model.decoder.prior.state_dict().items()},
        **calibrate_noise(model.decoder, x, codes, data.label_sizes, seed=0).decoder_state(),
    }
    for key, value in want.items():
        torch.testing.assert_close(ckpt["model_state"][key], value, rtol=1e-5, atol=1e-6)
    n = default_tiny.n_latent
    bias, kept_bias = (
        ckpt["model_state"]["decoder.prior.linear.bias"],
        kept["decoder.prior.linear.bias"],
    )
    torch.testing.assert_close(bias[:n], kept_bias[:n])
    torch.testing.assert_close(bias[n:], kept_bias[n:] + 2 * math.log(1.5))
    # interrupted at epoch 2, resumed: the same weights, noise table and history
    train_cvae(tiny_cohort, tmp_path / "half", default_tiny.replace(epochs=2), progress=False)
    train_cvae(tiny_cohort, tmp_path / "half", default_tiny, resume=True, progress=False)
    resumed = load_checkpoint(tmp_path / "half")
    assert resumed["training"]["selection"]["kept_epoch"] == sel["kept_epoch"]
    for key, value in ckpt["model_state"].items():
        assert torch.equal(value, resumed["model_state"][key]), key


def test_rare_combinations_alone_are_drawn_wider(tiny_cohort, default_tiny, tmp_path):
    data = prepare_training_data(tiny_cohort, default_tiny)
    codes = np.r_[data.codes_fit, data.codes_val]
    n_comb = int(np.prod(data.label_sizes))
    counts = np.bincount(combination_index(codes, data.label_sizes), minlength=n_comb)
    below = int(np.sort(counts[counts > 0])[len(counts[counts > 0]) // 2])  # about half rare
    config = default_tiny.replace(latent_temperature_below=below, refit=False, epochs=2)
    train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    ckpt = load_checkpoint(tmp_path / "run")
    kept = load_training_state(tmp_path / "run")["kept_state"]
    n = config.n_latent
    ratio = torch.exp(
        0.5 * (ckpt["model_state"]["decoder.prior.linear.weight"][n:]
               - kept["decoder.prior.linear.weight"][n:])
    )  # fmt: skip
    # reference: 1.5 for each combination with 1 to below - 1 training rows, else 1
    rare = (counts > 0) & (counts < below)
    want = torch.tensor(np.where(rare, 1.5, 1.0), dtype=ratio.dtype)
    assert 0 < int(rare.sum()) < int((counts > 0).sum())
    torch.testing.assert_close(ratio, want.expand_as(ratio))
    torch.testing.assert_close(
        ckpt["model_state"]["decoder.prior.linear.bias"], kept["decoder.prior.linear.bias"]
    )
    seen = int((counts > 0).sum())
    assert (
        f"for the {int(rare.sum())} of {seen} label combinations with fewer than {below}"
        in (ckpt["training"]["calibration"])
    )


def test_refit_retrains_the_kept_epoch_count_on_every_training_row(
    tiny_cohort, default_tiny, tmp_path
):
    config = default_tiny.replace(refit=True, epochs=3)
    result = train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    ckpt = load_checkpoint(tmp_path / "run")
    data = prepare_training_data(tiny_cohort, config)
    n_all = len(data.x_fit) + len(data.x_val)
    refit = ckpt["training"]["selection"]["refit"]
    assert refit["epochs"] == result.kept_epoch >= 1 and refit["rows"] == n_all
    assert result.refit_rows == n_all
    # the reference: a fresh trainer (same seed, lr schedule and draws) whose fitted rows
    # are every training row, stepped by hand for the kept epoch count
    every_row = dataclasses.replace(
        data, x_fit=np.r_[data.x_fit, data.x_val], codes_fit=np.r_[data.codes_fit, data.codes_val]
    )
    reference = _Trainer(
        config.replace(keep="last", refit=False, patience=None),
        every_row,
        torch.device("cpu"), tmp_path / "unused", None, False,
    )  # fmt: skip
    with torch_threads(config.threads):  # as the run: the thread count changes sums
        for _ in range(result.kept_epoch):
            for group in reference.optimizer.param_groups:
                group["lr"] = config.lr_at(reference.epoch + 1)
            with reference._epoch_rng():
                reference._train_epoch()
            reference.epoch += 1
    want = reference.model.state_dict()
    kept = load_training_state(tmp_path / "run")["kept_state"]  # the selection's weights
    for key, value in ckpt["model_state"].items():
        if key.startswith(("decoder.noise", "decoder.prior")):
            continue  # calibrated and tempered (checked in the test above)
        torch.testing.assert_close(value, want[key], rtol=0, atol=0, msg=key)
    assert any(not torch.equal(kept[k], want[k]) for k in kept if "weight" in k)
    model = build_model(ckpt["model_config"])
    model.load_state_dict(want)
    temper_prior(model.decoder.prior, config.latent_temperature)
    for key, value in model.decoder.prior.state_dict(prefix="decoder.prior.").items():
        torch.testing.assert_close(ckpt["model_state"][key], value)
    assert "fitted + validation" in refit["rows_used"]
    # resumed after an interruption at epoch 2: the same refit, bit for bit
    train_cvae(tiny_cohort, tmp_path / "half", config.replace(epochs=2), progress=False)
    train_cvae(tiny_cohort, tmp_path / "half", config, resume=True, progress=False)
    resumed = load_checkpoint(tmp_path / "half")
    for key, value in ckpt["model_state"].items():
        assert torch.equal(value, resumed["model_state"][key]), key


def test_dp_training_records_epsilon_and_uses_layer_norm(tiny_cohort, tiny_config, tmp_path):
    pytest.importorskip("opacus")
    config = tiny_config.replace(
        dp_epsilon=10.0, observation_noise="calibrated", epochs=2, refit=True
    )
    train_cvae(tiny_cohort, tmp_path / "dp", config, progress=False)
    ckpt = load_checkpoint(tmp_path / "dp")
    assert "refit" not in ckpt["training"]["selection"]  # a second training: not under DP
    privacy = ckpt["training"]["privacy"]
    assert privacy["dp_epsilon"] == 10.0 and 0 < privacy["dp_delta"] < 1e-2
    assert 0 < privacy["epsilon_spent"] <= 10.0 + 1e-6
    assert ckpt["model_config"]["batch_norm"] == "layer"
    assert not any("running_mean" in k for k in ckpt["model_state"])
    offset = ckpt["model_state"]["decoder.noise_offset"]  # one global centre under DP
    assert offset.abs().sum() > 0 and torch.equal(offset, offset[:1].expand_as(offset))
    with pytest.raises(GexgenError, match="--resume does not work with --dp-epsilon"):
        train_cvae(tiny_cohort, tmp_path / "dp", config, resume=True, progress=False)


def test_balance_weights_and_epoch_order_against_counting():
    combo = np.array([0] * 90 + [1] * 10)
    assert balance_weights(combo, 0.0) is None
    np.testing.assert_allclose(
        balance_weights(combo, 0.5).numpy(), np.r_[[90**-0.5] * 90, [10**-0.5] * 10]
    )
    order = epoch_order(100, None, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(100))  # a shuffle
    rng = torch.Generator().manual_seed(0)
    rows = torch.cat([epoch_order(100, balance_weights(combo, 1.0), rng) for _ in range(200)])
    rare = float((rows >= 90).double().mean())  # each combination half the draws
    assert abs(rare - 0.5) < 5 * (0.25 / len(rows)) ** 0.5
    rng = torch.Generator().manual_seed(0)
    rows = torch.cat([epoch_order(100, balance_weights(combo, 0.5), rng) for _ in range(200)])
    expected = 10**0.5 / (90**0.5 + 10**0.5)  # n_k^(1 - 0.5) shares
    assert abs(float((rows >= 90).double().mean()) - expected) < 5 * (0.25 / len(rows)) ** 0.5
    again = epoch_order(100, balance_weights(combo, 1.0), torch.Generator().manual_seed(3))
    assert torch.equal(
        again, epoch_order(100, balance_weights(combo, 1.0), torch.Generator().manual_seed(3))
    )
