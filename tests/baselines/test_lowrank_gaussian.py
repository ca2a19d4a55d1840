"""The class-conditional low-rank Gaussian against a direct numpy reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gexgen.baselines import LowRankGaussian
from gexgen.errors import GexgenError

GENES = 12


def _data(n: int = 300, seed: int = 0):
    """3 combinations with their own means and shared 2-factor within-class structure."""
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % 3
    means = rng.normal(10, 1.5, (3, GENES))
    w = rng.normal(0, 0.8, (GENES, 2))
    x = means[codes] + rng.standard_normal((n, 2)) @ w.T + rng.normal(0, 0.3, (n, GENES))
    labels = pd.DataFrame({"tissue": np.array(["a", "b", "c"])[codes]})
    return x, labels, codes


def _reference(x: np.ndarray, codes: np.ndarray, k: int):
    """Means, and top-k eigenpairs of the pooled within covariance + residual diagonal."""
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    mu = np.stack([z[codes == c].mean(axis=0) for c in range(codes.max() + 1)])
    res = z - mu[codes]
    s = res.T @ res / (len(z) - len(mu))
    lam, vec = np.linalg.eigh(s)
    lam, vec = lam[::-1][:k], vec[:, ::-1][:, :k]
    low = (vec * lam) @ vec.T
    psi = np.diag(s) - np.diag(low)
    return mu, s, low + np.diag(psi), psi


def test_fit_equals_the_pca_reference():
    x, labels, codes = _data()
    model = LowRankGaussian.fit(x, labels, ["tissue"], n_factors=3)
    mu, s, cov, psi = _reference(x, codes, 3)
    np.testing.assert_allclose(model.means, mu, atol=1e-12)
    np.testing.assert_allclose(model.covariance(), cov, atol=1e-10)
    np.testing.assert_allclose(model.psi, psi, atol=1e-10)
    # W W^T + diag(psi) keeps every gene's pooled within-combination variance
    np.testing.assert_allclose(np.diag(model.covariance()), np.diag(s), atol=1e-10)
    assert model.n_factors == 3 and 0.5 < model.explained < 1
    assert model.explained == pytest.approx(np.trace(cov - np.diag(psi)) / np.trace(s))


def test_samples_converge_to_the_means_and_the_low_rank_covariance():
    x, labels, codes = _data()
    model = LowRankGaussian.fit(x, labels, ["tissue"], n_factors=2)
    _, _, cov_z, _ = _reference(x, codes, 2)
    n = 40_000
    s = model.sample(pd.DataFrame({"tissue": ["b"] * n}), seed=5).astype(np.float64)
    assert s.min() > 0  # floor not reached
    sd = x.std(axis=0)
    want_cov = sd[:, None] * cov_z * sd[None, :]  # back in log2 units
    got_cov = np.cov(s.T)
    assert np.abs(got_cov - want_cov).max() < 0.04 * np.abs(want_cov).max()
    want_mean = x[codes == 1].mean(axis=0)
    assert (np.abs(s.mean(axis=0) - want_mean) < 5 * np.sqrt(np.diag(want_cov) / n)).all()
    # within-class correlations are there: a diagonal model would give ~0 off-diagonal
    off = ~np.eye(GENES, dtype=bool)
    corr_want = np.corrcoef(x[codes == 1].T)[off]
    assert np.corrcoef(np.corrcoef(s.T)[off], corr_want)[0, 1] > 0.8


def test_factors_are_capped_at_the_residual_rank():
    rng = np.random.default_rng(2)
    x = 6 + rng.normal(0, 1, (8, 40))  # 8 rows, 2 combinations: rank 6
    labels = pd.DataFrame({"tissue": ["a", "b"] * 4})
    model = LowRankGaussian.fit(x, labels, ["tissue"])  # k = 32 asked
    assert model.n_factors == 6 and model.loadings.shape == (40, 6)
    assert np.allclose(model.psi, 0, atol=1e-10)  # the factors hold all of it
    assert np.linalg.eigvalsh(model.covariance()).min() > -1e-10


def test_seeded_reproducible_and_a_one_row_combination_keeps_its_mean():
    x, labels, codes = _data(n=90)
    x = np.vstack([x, np.full((1, GENES), 9.0)])
    labels = pd.concat([labels, pd.DataFrame({"tissue": ["lone"]})], ignore_index=True)
    model = LowRankGaussian.fit(x, labels, ["tissue"], n_factors=2)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    np.testing.assert_allclose(model.means[model.combinations.keys.index("lone")], z[-1])
    want = pd.DataFrame({"tissue": ["lone", "a", "c"] * 20})
    one = model.sample(want, seed=11)
    assert one.tobytes() == model.sample(want, seed=11).tobytes()
    assert not np.array_equal(one, model.sample(want, seed=12))
    lone = one[::3].astype(np.float64)
    assert lone.std(axis=0).min() > 0.05  # pooled within-class noise around the lone mean
    x2, lab2 = model.sample_like_training(50, seed=0)
    assert x2.shape == (50, GENES) and len(lab2) == 50


def test_bad_factor_counts_are_refused():
    x, labels, _ = _data(n=30)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(GexgenError, match="n_factors must be a positive integer"):
            LowRankGaussian.fit(x, labels, ["tissue"], n_factors=bad)
