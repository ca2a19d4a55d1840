"""rbf_mmd against a brute-force double loop."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.mmd import median_bandwidth, rbf_mmd


def _naive_mmd2(x, y, sigma):
    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))

    n = len(x)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / (n * n)
    return xx + yy - 2 * xy


def _naive_median(*sets):
    pooled = np.concatenate(sets)
    d = [
        np.linalg.norm(pooled[i] - pooled[j])
        for i in range(len(pooled))
        for j in range(i + 1, len(pooled))
    ]
    return float(np.median(d))


def test_matches_brute_force_with_the_median_heuristic():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 4)), rng.normal(size=(25, 4)) + 0.5
    out = rbf_mmd(x, y, max_samples=25)
    sigma = _naive_median(x, y)
    assert out["bandwidth"] == pytest.approx(sigma, rel=1e-9)
    assert out["mmd2"] == pytest.approx(_naive_mmd2(x, y, sigma), rel=1e-9)
    assert out["n_per_set"] == 25
    assert median_bandwidth(x) == pytest.approx(_naive_median(x), rel=1e-9)


def test_subsamples_to_equal_sizes_and_is_seeded():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(90, 3))
    a = rbf_mmd(x, y, max_samples=30, seed=3, bandwidth=1.5)
    assert a == rbf_mmd(x, y, max_samples=30, seed=3, bandwidth=1.5) and a["n_per_set"] == 30
    assert rbf_mmd(x, y, max_samples=1000, bandwidth=1.5)["n_per_set"] == 40


def test_separates_shifted_sets_from_the_same_distribution():
    rng = np.random.default_rng(2)
    same = rbf_mmd(rng.normal(size=(300, 10)), rng.normal(size=(300, 10)))["mmd2"]
    far = rbf_mmd(rng.normal(size=(300, 10)), 0.7 * rng.normal(size=(300, 10)))["mmd2"]
    assert abs(same) < 0.01 < far


def test_bad_inputs_are_refused():
    with pytest.raises(GexgenError, match="same columns"):
        rbf_mmd(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(GexgenError, match="NaN"):
        rbf_mmd(np.full((5, 2), np.nan), np.zeros((5, 2)))
    with pytest.raises(GexgenError, match="2 rows"):
        rbf_mmd(np.zeros((1, 2)), np.zeros((5, 2)))
