"""Exact nearest neighbours (blocked float32 GEMM + numba minima) against brute-force numpy."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics import nearest
from gexgen.metrics.nearest import cross_nearest, nearest_neighbours


def brute(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All pairwise distances in float64, the plain way."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


@pytest.mark.parametrize("shape", [(37, 53, 5), (300, 41, 120), (5, 400, 969)])
def test_cross_nearest_matches_brute_force(shape):
    n, m, d = shape
    rng = np.random.default_rng(n + m)
    # a shifted, scaled cloud: float32 rounding must not decide the neighbours
    a = rng.normal(loc=8.0, scale=2.0, size=(n, d))
    b = rng.normal(loc=8.0, scale=2.0, size=(m, d))
    dist = brute(a, b)
    r = cross_nearest(a, b)
    np.testing.assert_array_equal(r.a_index, dist.argmin(axis=1))
    np.testing.assert_array_equal(r.b_index, dist.argmin(axis=0))
    np.testing.assert_allclose(r.a_distance, dist.min(axis=1), rtol=1e-12)
    np.testing.assert_allclose(r.b_distance, dist.min(axis=0), rtol=1e-12)


def test_blocks_and_column_chunks_are_stitched(monkeypatch):
    """Several row blocks: column minima must carry over blocks with global row indices."""
    monkeypatch.setattr(nearest, "_BLOCK_ROWS", 7)
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(50, 6)), rng.normal(size=(130, 6))
    dist = brute(a, b)
    r = cross_nearest(a, b)
    np.testing.assert_array_equal(r.a_index, dist.argmin(axis=1))
    np.testing.assert_array_equal(r.b_index, dist.argmin(axis=0))


def test_copies_have_distance_exactly_zero():
    rng = np.random.default_rng(1)
    b = rng.normal(loc=5.0, size=(80, 200)).astype(np.float32)
    a = b[[3, 10, 79]]
    d, i = nearest_neighbours(a, b)
    assert i.tolist() == [3, 10, 79]
    assert d.tolist() == [0.0, 0.0, 0.0]


def test_one_way_returns_no_back_direction():
    r = cross_nearest(np.zeros((2, 3)), np.ones((4, 3)), both_ways=False)
    assert r.b_distance is None and r.b_index is None
    np.testing.assert_allclose(r.a_distance, np.sqrt(3.0))


def test_bad_inputs_raise():
    with pytest.raises(GexgenError, match="features"):
        cross_nearest(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(GexgenError, match="NaN"):
        cross_nearest(np.full((2, 3), np.nan), np.zeros((2, 3)))
    with pytest.raises(GexgenError, match="no rows"):
        cross_nearest(np.zeros((0, 3)), np.zeros((2, 3)))
