"""WGAN-GP baseline: module shapes, penalty, gamma, a tiny run, reproducibility, checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest
import torch

from gexgen.data.cohort import write_cohort
from gexgen.errors import GexgenError
from gexgen.train.checkpoint import load_checkpoint
from gexgen.train.cvae import one_hot_conditions
from gexgen.train.wgan import (
    WGANGP,
    Critic,
    Generator,
    LabelEmbeddings,
    embedding_size,
    generator_from_checkpoint,
    gradient_penalty,
)
from gexgen.train.wgan_loop import WGANConfig, gamma_numpy, train_wgan

TINY = {"epochs": 2, "eval_every": 1, "batch_size": 8, "val_synthetic": 20, "device": "cpu"}


def make_tiny_cohort(path: Path, n: int = 72, n_genes: int = 12, seed: int = 0) -> Path:
    """A small cohort file with 3 tissues x 2 statuses and a recorded split."""
    rng = np.random.default_rng(seed)
    tissue = np.array(["kidney", "liver", "lung"])[np.arange(n) % 3]
    status = np.array(["normal", "tumor"])[(np.arange(n) // 3) % 2]
    base = rng.gamma(2.0, 20.0, size=(6, n_genes))
    group = (np.arange(n) % 3) * 2 + (np.arange(n) // 3) % 2
    x = (base[group] * rng.lognormal(0, 0.3, size=(n, n_genes))).astype(np.float32)
    split = np.where(np.arange(n) % 4 == 0, "test", "train")
    obs = pd.DataFrame(
        {"tissue": pd.Categorical(tissue), "status": pd.Categorical(status), "split": split},
        index=[f"s{i}" for i in range(n)],
    )
    var = pd.DataFrame(
        {"symbol": [f"G{i}" for i in range(n_genes)], "entrez_id": pd.array(range(n_genes))},
        index=[f"G{i}" for i in range(n_genes)],
    )
    adata = anndata.AnnData(X=x, obs=obs, var=var)
    adata.uns["gexgen"] = {"log_scaled": False}
    return write_cohort(adata, path)


@pytest.fixture(scope="module")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_cohort(tmp_path_factory.mktemp("wgan") / "tiny.h5ad")


def test_embedding_size_rule():
    assert [embedding_size(v) for v in (1, 2, 3, 4, 15, 16)] == [2, 2, 2, 3, 4, 5]


def test_label_embeddings_equal_a_lookup_per_label():
    torch.manual_seed(0)
    emb = LabelEmbeddings([4, 2])
    codes = torch.tensor([[0, 1], [3, 0], [2, 1]])
    out = emb(one_hot_conditions(codes, [4, 2]))
    assert out.shape == (3, embedding_size(4) + embedding_size(2))
    # a lookup: column `code` of each table's weight
    w0, w1 = emb.tables[0].weight, emb.tables[1].weight
    expected = torch.cat([w0[:, codes[:, 0]].T, w1[:, codes[:, 1]].T], dim=1)
    torch.testing.assert_close(out, expected)


def test_module_shapes_and_initialization():
    model = WGANGP(n_genes=30, label_sizes=[5, 2], n_latent=64)
    g, d = model.generator, model.critic
    assert isinstance(g, Generator) and isinstance(d, Critic)
    assert (g.n_latent, g.n_condition, g.n_genes, g.logvar) == (64, 7, 30, None)
    c = one_hot_conditions(torch.tensor([[0, 0], [4, 1], [2, 1]]), [5, 2])
    x = g(torch.randn(3, 64), c)
    assert x.shape == (3, 30) and x.dtype == torch.float32
    assert d(x, c).shape == (3,)
    # the reference code's layout: 2 hidden layers of 256, embeddings 3 + 2 wide
    widths = [m.out_features for m in g.net if isinstance(m, torch.nn.Linear)]
    assert widths == [256, 256, 30]
    assert g.net[0].in_features == 64 + 3 + 2
    assert all(
        float(m.bias.detach().abs().max()) == 0 for m in g.net if isinstance(m, torch.nn.Linear)
    )
    assert float(g.embeddings.tables[0].weight.detach().abs().max()) <= 0.05


def test_gradient_penalty_of_a_linear_critic():
    # a linear critic has gradient w everywhere: penalty = (||w|| - 1)^2
    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))

        def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return x @ self.w

    critic = Linear()
    real, fake = torch.randn(5, 2), torch.randn(5, 2)
    gp = gradient_penalty(critic, real, fake, torch.zeros(5, 1), torch.rand(5, 1))
    assert float(gp.detach()) == pytest.approx(16.0)
    gp.backward()  # the penalty trains the critic: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    torch.testing.assert_close(critic.w.grad, torch.tensor([4.8, 6.4]))


def _gamma_reference(x: np.ndarray, y: np.ndarray) -> float:
    n = x.shape[1]
    dx = [1 - np.corrcoef(x[:, i], x[:, j])[0, 1] for i in range(n) for j in range(i + 1, n)]
    dy = [1 - np.corrcoef(y[:, i], y[:, j])[0, 1] for i in range(n) for j in range(i + 1, n)]
    return float(np.corrcoef(dx, dy)[0, 1])


def test_gamma_numpy_matches_a_pairwise_reference_and_skips_constant_genes():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 6))
    y = x[:25] + rng.normal(scale=0.5, size=(25, 6))
    assert gamma_numpy(x, y) == pytest.approx(_gamma_reference(x, y), abs=1e-12)
    assert gamma_numpy(x, x) == pytest.approx(1.0)
    y_const = np.column_stack([y, np.ones(25)])
    x_extra = np.column_stack([x, rng.normal(size=40)])
    assert gamma_numpy(x_extra, y_const) == pytest.approx(_gamma_reference(x, y), abs=1e-12)
    assert math.isnan(gamma_numpy(x, np.full_like(y, np.nan)))


def test_config_rejects_bad_values():
    with pytest.raises(GexgenError, match="n_critic"):
        WGANConfig(n_critic=0)
    with pytest.raises(GexgenError, match="device"):
        WGANConfig(device="tpu")
    with pytest.raises(GexgenError, match="unknown WGAN-GP config key"):
        WGANConfig.from_dict({"epochs": 1, "lr_g": 1.0})
    assert WGANConfig.from_dict(WGANConfig().to_dict()) == WGANConfig()


def test_tiny_run_writes_a_loadable_checkpoint(tiny_cohort: Path, tmp_path: Path):
    threads = torch.get_num_threads()
    config = WGANConfig(**TINY, threads=1)
    result = train_wgan(tiny_cohort, tmp_path / "run", config, progress=False)
    assert torch.get_num_threads() == threads  # threads apply during the run only
    assert result.epochs_run == 2 and len(result.history) == 2
    assert all(math.isfinite(r["critic_loss"]) for r in result.history)
    assert {"checkpoint.pt", "history.csv", "config.json"} <= {
        p.name for p in (tmp_path / "run").iterdir()
    }
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt["model_type"] == "wgan-gp"
    assert ckpt["model_config"]["label_sizes"] == [3, 2]
    assert [lab["name"] for lab in ckpt["labels"]] == ["tissue", "status"]
    assert len(ckpt["split"]["test"]) == 18 and ckpt["training"]["epochs"] == 2
    assert ckpt["training"]["best_epoch"] == result.best_epoch
    generator = generator_from_checkpoint(ckpt)
    c = one_hot_conditions(torch.tensor([[0, 1], [2, 0], [1, 1], [0, 0]]), [3, 2])
    out = generator(torch.randn(4, 64), c)
    assert out.shape == (4, 12)
    # the same run directory is not overwritten without overwrite=True
    with pytest.raises(GexgenError, match="already exists"):
        train_wgan(tiny_cohort, tmp_path / "run", WGANConfig(**TINY), progress=False)


def test_same_seed_gives_the_same_weights(tiny_cohort: Path, tmp_path: Path):
    config = WGANConfig(**TINY)
    train_wgan(tiny_cohort, tmp_path / "a", config, progress=False)
    train_wgan(tiny_cohort, tmp_path / "b", config, progress=False)
    train_wgan(tiny_cohort, tmp_path / "c", config.__class__(**{**TINY, "seed": 1}), progress=False)
    a, b, c = (load_checkpoint(tmp_path / k)["model_state"] for k in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_generator_from_checkpoint_rejects_other_models():
    with pytest.raises(GexgenError, match="wgan-gp"):
        generator_from_checkpoint({"model_type": "cvae"})


def test_one_epoch_on_the_real_cohort(real_cohort_path: Path, tmp_path: Path):
    config = WGANConfig(epochs=1, eval_every=1, val_synthetic=200, device="cpu")
    result = train_wgan(real_cohort_path, tmp_path / "run", config, progress=False)
    ckpt = load_checkpoint(result.run_dir)
    assert ckpt["model_config"]["n_genes"] == 975
    assert ckpt["training"]["n_train"] + ckpt["training"]["n_val"] == 756
    # one epoch of training already beats the untrained generator on validation gamma
    assert result.best_epoch == 1 and 0.0 < result.best_val_gamma < 1.0


def test_export_then_generator_session_samples(tiny_cohort: Path, tmp_path: Path):
    import onnxruntime as ort

    from gexgen.data.preprocess import LogStandardScaler
    from gexgen.export import export_generator
    from gexgen.runtime import GeneratorSession

    run = train_wgan(tiny_cohort, tmp_path / "run", WGANConfig(**TINY), progress=False)
    report = export_generator(run.run_dir, tmp_path / "wgan.onnx")
    assert report.max_abs_diff < 1e-4
    session = GeneratorSession(tmp_path / "wgan.onnx")
    assert session.info.metadata["model_type"] == "wgan-gp" and session.info.n_latent == 64
    frame = session.sample(6, conditions={"tissue": "liver", "status": "tumor"}, seed=3)
    assert frame.shape == (6, 12 + 2) and set(frame["tissue"]) == {"liver"}
    assert (frame.iloc[:, :12].to_numpy() >= 0).all()
    # the graph = generator + inverse standardization, fed the integer codes directly
    ckpt = load_checkpoint(run.run_dir)
    z = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    codes = np.array([[0, 1], [2, 0], [1, 1], [0, 0], [2, 1]])
    ort_log = ort.InferenceSession(str(tmp_path / "wgan.onnx")).run(
        ["log_expression"],
        {"z": z, "tissue_code": codes[:, 0], "status_code": codes[:, 1]},
    )[0]
    with torch.no_grad():
        standardized = generator_from_checkpoint(ckpt)(
            torch.from_numpy(z), one_hot_conditions(torch.from_numpy(codes), [3, 2])
        ).numpy()
    expected = LogStandardScaler.from_dict(ckpt["scaler"]).inverse_transform(standardized, "log2")
    np.testing.assert_allclose(ort_log, expected, atol=1e-4)
