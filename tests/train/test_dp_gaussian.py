"""The DP low-rank Gaussian: accounting, the no-noise limit, neighbouring cohorts, the CLI."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import anndata
import dp_accounting
import numpy as np
import onnx
import pytest
from cohort_factory import make_cohort
from onnx import numpy_helper
from typer.testing import CliRunner

from gexgen.data.cohort import write_cohort
from gexgen.errors import GexgenError
from gexgen.export.dp_gaussian_file import write_dp_gaussian_generator
from gexgen.generator_format import METADATA_KEY
from gexgen.runtime.session import GeneratorSession
from gexgen.train.dp_budget import calibrate_noise, default_delta, epsilon_spent
from gexgen.train.dp_gaussian import DEFAULT_SHARES, DPGaussianConfig, fit_dp_gaussian

# ------------------------------------------------------------------ accounting


@pytest.mark.parametrize("epsilon", [1.0, 10.0])
def test_calibrated_noise_spends_the_target_epsilon(epsilon: float) -> None:
    delta = 1e-4
    multipliers = calibrate_noise(DEFAULT_SHARES, epsilon, delta)
    # a direct dp_accounting computation: PLD accountant over the five Gaussian mechanisms
    accountant = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-4)
    accountant.compose(
        dp_accounting.ComposedDpEvent(
            [dp_accounting.GaussianDpEvent(s) for s in multipliers.values()]
        )
    )
    direct = accountant.get_epsilon(delta)
    assert direct == pytest.approx(epsilon, rel=0.01)
    assert epsilon_spent(multipliers, delta) == pytest.approx(epsilon, rel=0.01)
    # the RDP accountant (looser) never reports less than the target
    rdp = dp_accounting.rdp.RdpAccountant()
    for s in multipliers.values():
        rdp.compose(dp_accounting.GaussianDpEvent(s))
    assert rdp.get_epsilon(delta) >= 0.99 * epsilon
    # shares: 1 / sigma_i^2 proportional to the part's share
    inverse = {k: 1 / s**2 for k, s in multipliers.items()}
    total = sum(inverse.values())
    for name, share in DEFAULT_SHARES.items():
        assert inverse[name] / total == pytest.approx(share / sum(DEFAULT_SHARES.values()))


def test_default_delta_is_below_one_over_n() -> None:
    assert default_delta(756) < 1 / 756
    assert default_delta(756) == pytest.approx(1 / 7560)


def test_calibration_refuses_bad_budgets() -> None:
    with pytest.raises(GexgenError, match="epsilon must be > 0"):
        calibrate_noise(DEFAULT_SHARES, 0.0, 1e-5)
    with pytest.raises(GexgenError, match="delta must be in"):
        calibrate_noise(DEFAULT_SHARES, 1.0, 1.5)
    with pytest.raises(GexgenError, match="shares must"):
        DPGaussianConfig(shares={"centre": 1.0})


# ------------------------------------------------------------------ no-noise limit


def _toy(n: int = 300, d: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    combo = rng.integers(0, 3, n)
    centres = rng.uniform(3, 9, (3, d))
    loadings = rng.normal(0, 0.6, (2, d))
    x = centres[combo] + rng.normal(size=(n, 2)) @ loadings + rng.normal(0, 0.3, (n, d))
    return np.clip(x, 0, None), combo


def _reference(x: np.ndarray, combo: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The plain low-rank Gaussian: class means, and within-class covariance on the top-k
    eigenvectors of the second moment about the grand mean, plus per-gene residual."""
    mean = x.mean(0)
    y = x - mean
    means = np.stack([y[combo == c].mean(0) for c in range(3)])
    _, vectors = np.linalg.eigh(y.T @ y / len(x))
    v = vectors[:, ::-1][:, :k]
    dev = y - means[combo]
    within = v.T @ (dev.T @ dev / len(x)) @ v
    residual = dev - dev @ v @ v.T
    return {
        "centre": mean,
        "means": means,
        "covariance": v @ within @ v.T,
        "psi": np.abs(residual).mean(0),  # mean absolute residual
    }


def test_without_noise_it_is_the_plain_low_rank_gaussian() -> None:
    x, combo = _toy()
    big = {"centre_clip": 1e6, "row_clip": 1e6, "residual_clip": 1e6}
    fit = fit_dp_gaussian(x, combo, 3, DPGaussianConfig(epsilon=None, max_rank=3, **big))
    ref = _reference(x, combo, 3)
    np.testing.assert_allclose(fit.centre, ref["centre"], atol=1e-9)
    np.testing.assert_allclose(fit.means, ref["means"], atol=1e-9)
    np.testing.assert_allclose(fit.factors @ fit.factors.T, ref["covariance"], atol=1e-9)
    spread = np.maximum(ref["psi"], 0.1 * ref["psi"].mean())
    np.testing.assert_allclose(fit.psi, math.pi / 2 * spread**2, atol=1e-9)
    np.testing.assert_array_equal(fit.counts, np.bincount(combo, minlength=3))
    assert fit.privacy is None


def test_a_huge_epsilon_approaches_the_plain_statistics() -> None:
    x, combo = _toy(n=4000)
    bounds = {"centre_clip": 40.0, "row_clip": 12.0, "residual_clip": 8.0, "max_rank": 3}
    ref = fit_dp_gaussian(x, combo, 3, DPGaussianConfig(epsilon=None, **bounds))
    fits = [fit_dp_gaussian(x, combo, 3, DPGaussianConfig(epsilon=e, **bounds)) for e in (10, 1e4)]
    errors = [np.abs(f.means - ref.means).max() for f in fits]
    assert errors[1] < 0.01 < errors[0]  # noise shrinks with epsilon
    cov = [f.factors @ f.factors.T for f in (ref, *fits)]
    assert np.abs(cov[2] - cov[0]).max() < 0.02
    assert fits[1].privacy is not None and fits[1].privacy["rank"] == 3


# ------------------------------------------------------------------ the file


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(value, list):
        out = {f"{path}[#]": len(value)}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{path}[{i}]"))
        return out
    return {path: value}


def _file_numbers(path: Path) -> dict[str, Any]:
    """Every metadata field and every graph tensor of a generator file, by name."""
    model = onnx.load(path)
    meta = next(p.value for p in model.metadata_props if p.key == METADATA_KEY)
    import json

    numbers = _flatten(json.loads(meta))
    for tensor in model.graph.initializer:
        numbers[f"graph:{tensor.name}"] = numpy_helper.to_array(tensor).tobytes()
    return numbers


def _undeclared_differences(a: Path, b: Path) -> list[str]:
    one, two = _file_numbers(a), _file_numbers(b)
    declared = set()
    for numbers in (one, two):
        parts = {k: v for k, v in numbers.items() if k.startswith("training.privacy.parts")}
        declared |= {v for k, v in parts.items() if ".determines[" in k and isinstance(v, str)}
    bad = []
    for key in sorted(set(one) | set(two)):
        if key == "created" or one.get(key) == two.get(key):
            continue  # the clock is not data
        generic = re.sub(r"\[\d+\]", "[]", key)
        if not any(
            generic == f or generic.startswith(f + "[") or generic.startswith(f + ".")
            for f in declared
        ):
            bad.append(key)
    return bad


def _neighbour(src: Path, dst: Path) -> Path:
    """The same cohort with one training row replaced (new profile, other label values)."""
    adata = anndata.read_h5ad(src)
    row = int(np.flatnonzero(adata.obs["split"].to_numpy() == "train")[0])
    x = np.asarray(adata.X).copy()
    x[row] = np.exp2(np.random.default_rng(5).uniform(0, 12, x.shape[1])) - 1
    adata.X = x
    for column in ("tissue", "status"):
        values = list(adata.obs[column].cat.categories)
        current = adata.obs[column].iloc[row]
        adata.obs.iloc[row, adata.obs.columns.get_loc(column)] = values[
            (values.index(current) + 1) % len(values)
        ]
    return write_cohort(adata, dst)


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("dp_neighbours")
    cohort = make_cohort(folder / "a.h5ad", n=160, n_genes=16)
    return cohort, _neighbour(cohort, folder / "b.h5ad")


def test_one_replaced_row_changes_only_dp_noised_fields(
    neighbours: tuple[Path, Path], tmp_path: Path
) -> None:
    config = DPGaussianConfig(epsilon=10.0, seed=3, row_clip=12.0, residual_clip=8.0)
    a = write_dp_gaussian_generator(neighbours[0], tmp_path / "a.onnx", config)
    b = write_dp_gaussian_generator(neighbours[1], tmp_path / "b.onnx", config)
    assert _undeclared_differences(a.export.path, b.export.path) == []
    numbers = _file_numbers(a.export.path), _file_numbers(b.export.path)
    assert (
        numbers[0]["graph:decoder.combination_means"]
        != numbers[1]["graph:decoder.combination_means"]
    )  # the check compared something that moved
    privacy = a.fit.privacy
    assert privacy is not None and privacy["epsilon_spent"] == pytest.approx(10.0, rel=0.01)
    # each part's noise sd is its accountant-calibrated multiplier times its sensitivity
    multipliers = calibrate_noise(config.shares, 10.0, privacy["dp_delta"])
    for part in privacy["parts"]:
        assert part["noise_multiplier"] == pytest.approx(multipliers[part["name"]])
        assert part["noise_sd"] == pytest.approx(part["noise_multiplier"] * part["sensitivity"])
    assert numbers[0]["training.data_sha256"] is None  # a data hash is not DP


def test_the_non_dp_file_fails_the_same_check(
    neighbours: tuple[Path, Path], tmp_path: Path
) -> None:
    """Control: without DP the file carries the data hash and exact counts, undeclared."""
    config = DPGaussianConfig(epsilon=10.0, seed=3)
    a = write_dp_gaussian_generator(neighbours[0], tmp_path / "a.onnx", config)
    plain = write_dp_gaussian_generator(
        neighbours[1], tmp_path / "b.onnx", DPGaussianConfig(epsilon=None)
    )
    assert "training.data_sha256" in _undeclared_differences(a.export.path, plain.export.path)


def test_the_file_runs_in_the_runtime(neighbours: tuple[Path, Path], tmp_path: Path) -> None:
    out = write_dp_gaussian_generator(
        neighbours[0], tmp_path / "g.onnx", DPGaussianConfig(epsilon=10.0)
    )
    session = GeneratorSession(out.export.path)
    x, labels = session.sample(200, seed=1, space="log2", as_frame=False)
    assert x.shape == (200, 16) and np.isfinite(x).all()
    assert set(labels.columns) == {"tissue", "status"}
    again, _ = session.sample(200, seed=1, space="log2", as_frame=False)
    np.testing.assert_array_equal(x, again)
    assert "second_moment: share 0.65," in session.info.describe()


def test_top_variable_genes_are_refused_under_dp(tmp_path: Path) -> None:
    cohort = make_cohort(tmp_path / "c.h5ad", n=80, n_genes=8)
    adata = anndata.read_h5ad(cohort)
    adata.uns["gexgen"] = {**adata.uns["gexgen"], "genes": "top-variable:8 (train split)"}
    write_cohort(adata, cohort)
    with pytest.raises(GexgenError, match="selected on its training rows"):
        write_dp_gaussian_generator(cohort, tmp_path / "g.onnx", DPGaussianConfig(epsilon=1.0))
    from gexgen.cli import app

    result = CliRunner().invoke(
        app,
        [
            "train",
            str(cohort),
            "--out",
            str(tmp_path / "run"),
            "--model",
            "dp-gaussian",
            "--dp-epsilon",
            "1",
        ],
    )
    assert result.exit_code == 1
    assert "top-variable" in result.output and "Traceback" not in result.output
    from gexgen.train.config import TrainConfig
    from gexgen.train.data import prepare_training_data

    with pytest.raises(GexgenError, match="selected on its training rows"):  # DP-SGD too
        prepare_training_data(cohort, TrainConfig(dp_epsilon=1.0, batch_size=8))
    assert prepare_training_data(cohort, TrainConfig(batch_size=8)).n_genes == 8  # no DP: ok


def test_cli_writes_a_generator_and_refuses_cvae_options(
    neighbours: tuple[Path, Path], tmp_path: Path
) -> None:
    from gexgen.cli import app

    args = ["train", str(neighbours[0]), "--out", str(tmp_path / "run"), "--model", "dp-gaussian"]
    result = CliRunner().invoke(app, [*args, "--dp-epsilon", "5"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "generator.onnx").is_file()
    assert "(epsilon 5, delta" in result.output
    result = CliRunner().invoke(app, [*args, "--dp-epsilon", "5", "--epochs", "3", "--overwrite"])
    assert result.exit_code == 1 and "--epochs do not apply" in result.output
    result = CliRunner().invoke(
        app, [*args, "--dp-epsilon", "5", "--dp-public-counts", "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    cvae = ["train", str(neighbours[0]), "--out", str(tmp_path / "c"), "--dp-public-counts"]
    result = CliRunner().invoke(app, cvae)
    assert result.exit_code == 1 and "dp-gaussian only" in result.output
    assert math.isfinite(default_delta(10))


def test_public_counts_are_exact_and_spend_no_budget() -> None:
    x, combo = _toy()
    fit = fit_dp_gaussian(x, combo, 3, DPGaussianConfig(epsilon=10.0, public_counts=True))
    np.testing.assert_array_equal(fit.counts, np.bincount(combo, minlength=3))
    assert fit.privacy is not None and "counts (declared public)" in fit.privacy["public"]
    assert [p["name"] for p in fit.privacy["parts"]] == [
        "centre",
        "class_sums",
        "second_moment",
        "residual",
    ]
    assert sum(p["share"] for p in fit.privacy["parts"]) == pytest.approx(1.0)
    assert fit.privacy["epsilon_spent"] == pytest.approx(10.0, rel=0.01)


def test_the_noise_added_has_the_recorded_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Across noise seeds, the released centre and counts vary by the recorded noise sd."""
    import gexgen.train.dp_gaussian as module

    multipliers = calibrate_noise(DEFAULT_SHARES, 2.0, 1e-4)  # once: the accounting is above
    monkeypatch.setattr(module, "calibrate_noise", lambda *args: multipliers)
    monkeypatch.setattr(module, "epsilon_spent", lambda *args: 2.0)
    x, combo = _toy(n=300, d=10)
    fits = [fit_dp_gaussian(x, combo, 3, DPGaussianConfig(epsilon=2.0, seed=s)) for s in range(300)]
    parts = {p["name"]: p for p in fits[0].privacy["parts"]}
    counts = np.stack([f.counts for f in fits])
    assert counts.std(axis=0).mean() == pytest.approx(parts["counts"]["noise_sd"], rel=0.1)
    np.testing.assert_allclose(counts.mean(axis=0), np.bincount(combo), atol=2.0)
    centres = np.stack([f.centre for f in fits])  # centre = c0 + (clipped sum + noise) / n
    want = parts["centre"]["noise_sd"] / len(x)
    assert centres.std(axis=0).mean() == pytest.approx(want, rel=0.1)
