"""The challenge's multivariate normal against a direct numpy reference."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gexgen.baselines import MultivariateNormalBaseline
from gexgen.errors import GexgenError


def _standardize(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / x.std(axis=0)


def _data(n_a: int = 60, n_b: int = 40, genes: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    mix_a, mix_b = rng.normal(0, 0.6, (genes, genes)), rng.normal(0, 0.4, (genes, genes))
    a = 10 + rng.standard_normal((n_a, genes)) @ mix_a
    b = 12 + rng.standard_normal((n_b, genes)) @ mix_b
    labels = pd.DataFrame({"tissue": ["a"] * n_a + ["b"] * n_b, "status": "t"})
    return np.vstack([a, b]), labels


def test_means_and_covariances_equal_numpy_on_standardized_log2():
    x, labels = _data()
    model = MultivariateNormalBaseline.fit(x, labels, ["tissue", "status"])
    z = _standardize(x)
    assert model.combinations.keys == ["a|t", "b|t"] and model.pooled == [False, False]
    for key, rows in (("a|t", slice(0, 60)), ("b|t", slice(60, 100))):
        c = model.combinations.keys.index(key)
        np.testing.assert_allclose(model.means[c], z[rows].mean(axis=0), atol=1e-12)
        np.testing.assert_allclose(model.covariance(key), np.cov(z[rows].T), atol=1e-10)
    np.testing.assert_allclose(model.center, x.mean(axis=0))
    np.testing.assert_allclose(model.scale, x.std(axis=0))


def test_samples_converge_to_the_mean_and_one_and_a_half_times_the_covariance():
    x, labels = _data()
    model = MultivariateNormalBaseline.fit(x, labels, ["tissue"])
    n = 40_000
    s = model.sample(pd.DataFrame({"tissue": ["a"] * n, "status": "t"}), seed=3)
    assert s.dtype == np.float32 and s.shape == (n, 5) and s.min() > 0  # floor not reached
    want_cov = 1.5 * np.cov(x[:60].T)  # affine per gene: log2 covariance = scaled z covariance
    got_cov = np.cov(s.astype(np.float64).T)
    scale = np.abs(want_cov).max()
    assert np.abs(got_cov - want_cov).max() < 0.04 * scale
    # the plain covariance (no 0.5 x noise) is clearly rejected at this sample size
    assert np.abs(got_cov - want_cov / 1.5).max() > 0.15 * scale
    se = np.sqrt(np.diag(want_cov) / n)
    assert (np.abs(s.mean(axis=0) - x[:60].mean(axis=0)) < 5 * se).all()


def test_rank_deficient_covariance_is_psd_with_rank_rows_minus_one():
    rng = np.random.default_rng(1)
    genes = 30
    x = 8 + rng.normal(0, 1, (6, genes))  # 6 rows, 30 genes: rank 5
    model = MultivariateNormalBaseline.fit(x, None, ())
    cov = model.covariance("(all)")
    ref = np.cov(_standardize(x).T)
    lam, vec = np.linalg.eigh(ref)
    clipped = (vec * np.maximum(lam, 0.0)) @ vec.T  # the eigenvalue clip at 0
    np.testing.assert_allclose(cov, clipped, atol=1e-10)
    assert np.linalg.eigvalsh(cov).min() > -1e-10
    assert len(model.factors[0]) == 5 and np.linalg.matrix_rank(cov) == 5
    s = model.sample(None, seed=0, n=200).astype(np.float64)
    # the draws stay in the 5-dimensional span of the training rows around their mean
    assert np.linalg.matrix_rank(s - x.mean(axis=0), tol=1e-3) == 5


def test_a_one_row_combination_takes_the_pooled_within_covariance():
    x, labels = _data()
    lone = 11 + np.arange(5.0)[None, :] / 10
    x = np.vstack([x, lone])
    labels = pd.concat(
        [labels, pd.DataFrame({"tissue": ["c"], "status": ["t"]})], ignore_index=True
    )
    model = MultivariateNormalBaseline.fit(x, labels, ["tissue"])
    assert model.pooled == [False, False, True]
    z = _standardize(x)
    res = np.vstack([z[:60] - z[:60].mean(axis=0), z[60:100] - z[60:100].mean(axis=0)])
    pooled = res.T @ res / (100 - 2)
    np.testing.assert_allclose(model.covariance("c"), pooled, atol=1e-10)
    np.testing.assert_allclose(model.means[2], z[100], atol=1e-12)
    s = model.sample(pd.DataFrame({"tissue": ["c"] * 3}), seed=0)
    assert np.isfinite(s).all() and not np.allclose(s, lone)  # noise, never the row itself


def test_same_seed_same_rows_and_floor_at_zero():
    x, labels = _data()
    model = MultivariateNormalBaseline.fit(x - 11.5, labels, ["tissue"])  # near 0: floor binds
    want = pd.DataFrame({"tissue": ["b", "a", "b", "a"] * 50})
    one, two = model.sample(want, seed=7), model.sample(want, seed=7)
    assert one.tobytes() == two.tobytes()
    assert not np.array_equal(one, model.sample(want, seed=8))
    assert one.min() == 0.0 and (one == 0).mean() > 0.05
    x2, lab2 = model.sample_like_training(300, seed=1)
    assert x2.shape == (300, 5) and set(lab2["tissue"]) == {"a", "b"}
    assert (lab2["tissue"] == "a").mean() == pytest.approx(0.6, abs=0.1)


def test_user_errors_say_what_was_received():
    x, labels = _data()
    model = MultivariateNormalBaseline.fit(x, labels, ["tissue"])
    with pytest.raises(GexgenError, match="'z'.*not in the training rows"):
        model.sample(pd.DataFrame({"tissue": ["z"]}))
    with pytest.raises(GexgenError, match="at least 2 rows"):
        MultivariateNormalBaseline.fit(x[:1], labels[:1], ["tissue"])
    with pytest.raises(GexgenError, match="NaN"):
        MultivariateNormalBaseline.fit(np.full((3, 2), np.nan))
    with pytest.raises(GexgenError, match="lack column"):
        MultivariateNormalBaseline.fit(x, labels, ["sex"])


def test_the_numpy_gaussians_import_without_torch():
    code = (
        "import sys; import gexgen.baselines.mvn, gexgen.baselines.lowrank_gaussian; "
        "from gexgen.baselines import LowRankGaussian; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
