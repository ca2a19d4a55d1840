"""Where DP noise comes from: the recorded seed by default (said in one line), os.urandom
with --dp-secure-rng (DP-SGD: Opacus' secure mode; the DP Gaussian: UrandomNormals)."""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings

import numpy as np
import pytest
import torch
from cohort_factory import make_cohort
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.errors import GexgenError
from gexgen.train import load_checkpoint, train_cvae
from gexgen.train.dp_gaussian import DPGaussianConfig, fit_dp_gaussian
from gexgen.train.dp_noise import NOISE_RNG_SECURE, SEEDED_NOTE, UrandomNormals

runner = CliRunner()


def _torchcsprng_found(monkeypatch, found: bool) -> None:
    """Make ``importlib.util.find_spec("torchcsprng")`` say it is (not) installed."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            (object() if found else None) if name == "torchcsprng" else real_find_spec(name, *a)
        ),
    )


def test_urandom_normals_are_standard_normal_and_never_repeat():
    draws = UrandomNormals().normal(0.0, 1.0, 200_000)
    assert draws.shape == (200_000,) and np.isfinite(draws).all()
    assert abs(draws.mean()) < 0.01 and abs(draws.std() - 1.0) < 0.01
    # against numpy's normal: the same distribution (two-sample KS distance, 5 sigma)
    reference = np.random.default_rng(0).normal(size=200_000)
    both = np.sort(np.r_[draws, reference])
    cdf = lambda x: np.searchsorted(np.sort(x), both, side="right") / len(x)  # noqa: E731
    assert np.abs(cdf(draws) - cdf(reference)).max() < 5 * np.sqrt(2 / 200_000)
    shaped = UrandomNormals().normal(3.0, 2.0, (4, 5))
    assert shaped.shape == (4, 5) and not np.array_equal(
        shaped, UrandomNormals().normal(3, 2, (4, 5))
    )
    assert UrandomNormals().normal(size=3).shape == (3,)


def _toy(n=200, d=6):
    rng = np.random.default_rng(0)
    combo = rng.integers(0, 2, n)
    return rng.normal(5.0, 1.0, (n, d)) + combo[:, None], combo


def test_dp_gaussian_secure_noise_is_fresh_and_recorded_as_such():
    x, combo = _toy()
    seeded = [fit_dp_gaussian(x, combo, 2, DPGaussianConfig(epsilon=5.0, seed=1)) for _ in "ab"]
    np.testing.assert_array_equal(seeded[0].centre, seeded[1].centre)  # the seed replays it
    assert seeded[0].privacy["noise_seed"] == 1 and "replayable" in seeded[0].privacy["noise_rng"]
    secure = [
        fit_dp_gaussian(x, combo, 2, DPGaussianConfig(epsilon=5.0, secure_rng=True)) for _ in "ab"
    ]
    assert not np.array_equal(secure[0].centre, secure[1].centre)  # nothing replays it
    assert "noise_seed" not in secure[0].privacy
    assert secure[0].privacy["noise_rng"] == NOISE_RNG_SECURE
    # the same noise scale either way: the released centre differs from the true one alike
    assert secure[0].privacy["parts"] == seeded[0].privacy["parts"]


def test_the_cli_says_where_the_noise_came_from(tmp_path):
    cohort = make_cohort(tmp_path / "c.h5ad", n=120, n_genes=8)
    args = ["train", str(cohort), "--model", "dp-gaussian", "--dp-epsilon", "5"]
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "seeded")])
    assert done.exit_code == 0, done.output
    assert SEEDED_NOTE in done.stdout
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "secure"), "--dp-secure-rng"])
    assert done.exit_code == 0, done.output
    assert "--dp-secure-rng" not in done.stdout
    info = runner.invoke(app, ["info", str(tmp_path / "secure" / "generator.onnx")])
    assert f"noise: {NOISE_RNG_SECURE}" in info.stdout, info.output
    no_dp = ["train", str(cohort), "--model", "dp-gaussian", "--dp-secure-rng"]
    done = runner.invoke(app, [*no_dp, "--out", str(tmp_path / "x")])
    assert done.exit_code == 1 and "--dp-secure-rng needs --dp-epsilon" in done.output


def test_dp_sgd_without_torchcsprng_refuses_the_secure_mode_in_one_line(
    tiny_cohort, tiny_config, tmp_path, monkeypatch
):
    pytest.importorskip("opacus")
    _torchcsprng_found(monkeypatch, False)
    config = tiny_config.replace(dp_epsilon=10.0, epochs=1, refit=False, dp_secure_rng=True)
    with pytest.raises(GexgenError, match="--dp-secure-rng needs torchcsprng"):
        train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    with pytest.raises(GexgenError, match="dp_secure_rng needs dp_epsilon"):
        tiny_config.replace(dp_secure_rng=True)


def test_dp_sgd_secure_mode_takes_opacus_secure_rng_and_says_so(
    tiny_cohort, tiny_config, tmp_path, monkeypatch
):
    """With torchcsprng present (a stand-in here), Opacus runs in secure mode: its noise
    generator is the secure device, not gexgen's seeded one; no Opacus warning escapes."""
    pytest.importorskip("opacus")
    drawn = []

    def device_generator(path):
        drawn.append(path)
        return torch.Generator().manual_seed(12345)  # a stand-in for the secure device

    fake = types.ModuleType("torchcsprng")
    fake.create_random_device_generator = device_generator
    monkeypatch.setitem(sys.modules, "torchcsprng", fake)
    _torchcsprng_found(monkeypatch, True)
    config = tiny_config.replace(dp_epsilon=10.0, epochs=1, refit=False, dp_secure_rng=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    assert not [w for w in caught if "Secure RNG" in str(w.message)]
    assert drawn == ["/dev/urandom"]
    privacy = load_checkpoint(tmp_path / "run")["training"]["privacy"]
    assert privacy["noise_rng"] == NOISE_RNG_SECURE


def test_dp_sgd_without_secure_mode_raises_no_opacus_rng_warning(
    tiny_cohort, tiny_config, tmp_path
):
    pytest.importorskip("opacus")
    config = tiny_config.replace(dp_epsilon=10.0, epochs=1, refit=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_cvae(tiny_cohort, tmp_path / "run", config, progress=False)
    assert not [w for w in caught if "Secure RNG" in str(w.message)]
    ckpt = load_checkpoint(tmp_path / "run")
    assert "seeded from the training seed" in ckpt["training"]["privacy"]["noise_rng"]
    # the quantile map is not noised, so DP trains (and records) standardized log2
    assert tiny_config.replace(marginals="quantile").marginals == "quantile"
    quantile = config.replace(marginals="quantile")
    train_cvae(tiny_cohort, tmp_path / "q", quantile, progress=False)
    assert load_checkpoint(tmp_path / "q")["config"]["marginals"] == "gaussian"


def test_gexgen_train_dp_sgd_says_the_noise_is_seeded(tiny_cohort, tmp_path):
    pytest.importorskip("opacus")
    tiny = ["--encoder-hidden", "32,16", "--n-latent", "4", "--decoder-hidden", "16,32",
            "--batch-size", "16", "--device", "cpu", "--threads", "1", "--no-progress"]  # fmt: skip
    args = ["train", str(tiny_cohort), "--out", str(tmp_path / "run"), "--dp-epsilon", "10"]
    done = runner.invoke(app, [*args, "--epochs", "1", "--no-refit", *tiny])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip().splitlines()[-1] == SEEDED_NOTE


def test_gexgen_train_dp_secure_rng_without_torchcsprng_is_one_line(
    tiny_cohort, tmp_path, monkeypatch
):
    pytest.importorskip("opacus")
    _torchcsprng_found(monkeypatch, False)
    run = tmp_path / "run"
    args = ["train", str(tiny_cohort), "--out", str(run), "--dp-epsilon", "10", "--epochs", "1"]
    done = runner.invoke(app, [*args, "--no-refit", "--dp-secure-rng", "--no-progress"])
    assert done.exit_code == 1
    errors = [line for line in done.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--dp-secure-rng needs torchcsprng" in errors[0], done.output
    assert not run.exists()  # refused before any work
