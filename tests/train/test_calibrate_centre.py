"""The calibrated centre and the decoder-aware noise correlation against simple references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gexgen.train.calibrate as calibrate
from gexgen.export.graph import GeneratorGraph
from gexgen.train.calibrate import (
    calibrate_noise,
    combination_index,
    decoded_moments,
    explained_rows,
    mean_offset,
    noise_factors,
)
from gexgen.train.cvae import joint_one_hot


class _LinearDecoder(torch.nn.Module):
    """``table[combination] + z @ w``: decoded means with a known mean and covariance."""

    def __init__(self, table: np.ndarray, w: np.ndarray, sizes: list[int]) -> None:
        super().__init__()
        self.sizes = sizes
        self.n_latent, self.n_genes = w.shape
        self.table = torch.nn.Parameter(torch.from_numpy(table).float())
        self.w = torch.nn.Parameter(torch.from_numpy(w).float())

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return joint_one_hot(c, self.sizes) @ self.table + z @ self.w


def test_decoded_moments_match_the_linear_decoder():
    rng = np.random.default_rng(0)
    sizes = [3]
    table, w = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    dec = _LinearDecoder(table, w, sizes)
    mean, var, centred = decoded_moments(dec, sizes, n_draws=20_000, seed=1, batch=700, keep=50)
    np.testing.assert_allclose(mean, table, atol=0.05)
    np.testing.assert_allclose(var, np.tile((w**2).sum(0), (3, 1)), rtol=0.05)
    assert centred.shape == (3, 50, 4)
    np.testing.assert_allclose(centred + mean[:, None], centred + mean[:, None])  # finite
    # the kept draws are the first draws of the seeded stream, centred on the mean
    again, _, first = decoded_moments(dec, sizes, n_draws=20_000, seed=1, batch=700, keep=50)
    np.testing.assert_array_equal(first, centred)
    np.testing.assert_array_equal(again, mean)
    assert dec.training


def test_mean_offset_reference():
    rng = np.random.default_rng(1)
    n_comb, g = 4, 3
    counts = [200, 150, 4, 0]  # combination 2 is too small for an offset of its own
    combo = np.repeat(np.arange(n_comb), counts)
    x = rng.normal(size=(len(combo), g)) + rng.normal(size=(n_comb, g))[combo]
    decoded = rng.normal(size=(n_comb, g))
    out = mean_offset(x, combo, decoded, min_rows=5)
    delta = [x[combo == k].mean(0) - decoded[k] for k in range(3)]
    np.testing.assert_allclose(out[0], delta[0])
    np.testing.assert_allclose(out[1], delta[1])
    glob = (200 * delta[0] + 150 * delta[1] + 4 * delta[2]) / 354  # all fitted rows
    np.testing.assert_allclose(out[2], glob)  # fewer than min_rows rows: global
    np.testing.assert_allclose(out[3], glob)  # no rows: global
    np.testing.assert_allclose(mean_offset(x, combo, decoded, min_rows=355), np.tile(glob, (4, 1)))


def test_explained_rows_gram_is_the_pooled_covariance():
    rng = np.random.default_rng(2)
    combo = np.repeat([0, 2], [30, 10])
    centred = rng.normal(size=(3, 40, 5))
    centred -= centred.mean(axis=1, keepdims=True)
    rows = explained_rows(centred, combo, len(combo))
    cov = [np.cov(centred[k], rowvar=False) for k in range(3)]
    expected = (30 * cov[0] + 10 * cov[2]) / (40 - 2)
    np.testing.assert_allclose(rows.T @ rows, expected)


def _residual_correlation(x, combo, explained):
    resid = np.concatenate([x[combo == k] - x[combo == k].mean(0) for k in np.unique(combo)])
    r = resid.T @ resid / (len(x) - len(np.unique(combo))) - explained.T @ explained
    d = np.sqrt(np.diag(r))
    return r / np.outer(d, d)


def test_noise_factors_model_what_the_decoder_leaves_out():
    rng = np.random.default_rng(3)
    n, g = 4000, 6
    combo = rng.integers(0, 2, n)
    loadings = rng.normal(size=(2, g))
    x = rng.normal(size=(n, 2)) @ loadings + rng.normal(size=(n, g)) + 3 * combo[:, None]
    explained = 0.5 * loadings[:1]  # the decoder already makes half of the first factor
    p, c, inflation = noise_factors(x, combo, 2, explained)
    # the model (I + P C P.T)^2 / inflation = the top-2 principal part of the residual
    # correlation left after subtracting what the decoder explains, off the diagonal
    sqrt_model = np.eye(g) + (p * c) @ p.T
    model = sqrt_model @ sqrt_model / np.sqrt(np.outer(inflation, inflation))
    target = _residual_correlation(x, combo, explained)
    values, vectors = np.linalg.eigh(target)
    principal = (vectors[:, -2:] * values[-2:]) @ vectors[:, -2:].T
    off = ~np.eye(g, dtype=bool)
    np.testing.assert_allclose(model[off], principal[off], atol=0.02)
    assert np.abs(model[off] - target[off]).max() < 0.15  # close to the correlation itself
    without = _residual_correlation(x, combo, np.zeros((0, g)))
    assert np.abs(target[off] - without[off]).max() > 0.05  # the subtraction mattered


def test_noise_factors_lanczos_path_matches_dense(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40))
    combo = rng.integers(0, 3, 300)
    explained = rng.normal(size=(12, 40)) * 0.1
    dense = noise_factors(x, combo, 5, explained)
    monkeypatch.setattr(calibrate, "_DENSE_GENES", 10)
    lanczos = noise_factors(x, combo, 5, explained)
    np.testing.assert_allclose(lanczos[1], dense[1], rtol=1e-5)
    np.testing.assert_allclose(lanczos[2], dense[2], rtol=1e-5)
    # same subspace (eigenvectors up to sign)
    np.testing.assert_allclose(np.abs(lanczos[0].T @ dense[0]), np.eye(5), atol=1e-4)


def test_calibrated_generator_has_the_real_centre_and_spread():
    """A decoder off-centre by a known bias gets it back as the offset (graph, eps = 0 too)."""
    rng = np.random.default_rng(5)
    sizes = [2]
    n, g = 3000, 4
    codes = rng.integers(0, 2, (n, 1))
    centre = np.array([[1.0, 0.0, -1.0, 2.0], [0.0, 1.0, 1.0, -2.0]])
    x = centre[codes[:, 0]] + rng.normal(size=(n, g))
    w = np.full((2, g), 0.3)
    dec = _LinearDecoder(centre + 0.4, w, sizes)  # biased by +0.4 everywhere
    noise = calibrate_noise(dec, x, codes, sizes, n_factors=2, n_draws=4096)
    graph = GeneratorGraph(
        dec, sizes, np.zeros(g), np.ones(g), logvar=noise.logvar, factors=noise.factors,
        gains=noise.gains, offset=noise.offset,
    )  # fmt: skip
    m = 40_000
    code = torch.from_numpy(np.repeat([0, 1], m // 2))
    with torch.no_grad():
        sample, _ = graph(torch.randn(m, 2), code, torch.randn(m, g))
        mean, _ = graph(torch.zeros(m, 2), code, torch.zeros(m, g))
    sample, mean = sample.numpy(), mean.numpy()
    for k in (0, 1):
        rows = code.numpy() == k
        real = x[codes[:, 0] == k]
        np.testing.assert_allclose(sample[rows].mean(0), real.mean(0), atol=0.04)
        np.testing.assert_allclose(sample[rows].var(0), real.var(0), rtol=0.08)
        np.testing.assert_allclose(mean[rows][0], real.mean(0), atol=0.04)  # z = 0, eps = 0
    combo = combination_index(codes, sizes)
    assert noise.offset.shape == (2, g) and combo.max() == 1


@pytest.mark.parametrize("offset", [None, torch.arange(8.0).reshape(2, 4)])
def test_graph_adds_the_offset_of_each_row(offset):
    sizes = [2]
    dec = _LinearDecoder(np.zeros((2, 4)), np.ones((2, 4)), sizes)
    graph = GeneratorGraph(dec, sizes, np.zeros(4), np.ones(4), offset=offset)
    z, codes = torch.ones(3, 2), torch.tensor([1, 0, 1])
    with torch.no_grad():
        out, _ = graph(z, codes)
    expected = torch.full((3, 4), 2.0)
    if offset is not None:
        expected = expected + offset[codes]
    torch.testing.assert_close(out, expected)
