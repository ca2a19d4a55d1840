"""gamma score and its numba kernel against plain numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.correlation import gene_correlation
from gexgen.metrics.gamma import (
    _upper_triangle_pearson,
    gamma_ceiling,
    gamma_score,
    upper_triangle_pearson,
)


def reference_upper_pearson(a: np.ndarray, b: np.ndarray) -> float:
    iu = np.triu_indices(a.shape[0], k=1)
    return float(np.corrcoef(a[iu], b[iu])[0, 1])


def reference_gamma(x: np.ndarray, y: np.ndarray) -> float:
    """DESIGN.md: D = 1 - corrcoef, Pearson of the strict upper triangles; constant genes out."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    keep = (x.max(0) > x.min(0)) & (y.max(0) > y.min(0))
    dx = 1.0 - np.corrcoef(x[:, keep].T)
    dy = 1.0 - np.corrcoef(y[:, keep].T)
    return reference_upper_pearson(dx, dy)


def factor_data(rng, n, g, w=None, noise=1.0):
    w = rng.normal(size=(5, g)) if w is None else w
    return rng.normal(size=(n, 5)) @ w + noise * rng.normal(size=(n, g)) + 6.0, w


@pytest.mark.parametrize("n", [3, 4, 5, 8, 101, 400])
def test_kernel_matches_numpy_to_1e9(n):
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, n))
    b = 0.3 * a + rng.normal(size=(n, n))
    sab, saa, sbb, _, _ = _upper_triangle_pearson(a, b)
    assert abs(sab / np.sqrt(saa * sbb) - reference_upper_pearson(a, b)) < 1e-9
    assert abs(upper_triangle_pearson(a, b) - reference_upper_pearson(a, b)) < 1e-9


def test_kernel_ignores_diagonal_and_lower_triangle():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 30))
    b = rng.normal(size=(30, 30))
    a2, b2 = a.copy(), b.copy()
    lower = np.tril_indices(30)
    a2[lower] = 1e6 * rng.normal(size=len(lower[0]))
    b2[lower] = -7.0
    assert upper_triangle_pearson(a2, b2) == pytest.approx(upper_triangle_pearson(a, b), abs=1e-12)


def test_wrapper_validates_shape_dtype_nan_and_constant():
    with pytest.raises(GexgenError, match="square"):
        upper_triangle_pearson(np.zeros((3, 4)), np.zeros((3, 4)))
    with pytest.raises(GexgenError, match="differ in shape"):
        upper_triangle_pearson(np.zeros((3, 3)), np.zeros((4, 4)))
    with pytest.raises(GexgenError, match="at least 3"):
        upper_triangle_pearson(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(GexgenError, match="numbers"):
        upper_triangle_pearson(np.full((3, 3), "x"), np.zeros((3, 3)))
    a = np.random.default_rng(0).normal(size=(5, 5))
    bad = a.copy()
    bad[1, 3] = np.nan
    with pytest.raises(GexgenError, match="NaN"):
        upper_triangle_pearson(a, bad)
    with pytest.raises(GexgenError, match="constant"):
        upper_triangle_pearson(a, np.ones((5, 5)))


@pytest.mark.parametrize(("n_real", "n_synth"), [(50, 50), (40, 333), (500, 21)])
def test_gamma_matches_reference_with_different_sample_counts(n_real, n_synth):
    rng = np.random.default_rng(n_real + n_synth)
    x, w = factor_data(rng, n_real, 37)
    y, _ = factor_data(rng, n_synth, 37, w=w, noise=1.5)
    got = gamma_score(x, y, precision="float64")
    assert abs(got.gamma - reference_gamma(x, y)) < 1e-9
    assert (got.n_real, got.n_synthetic, got.n_genes) == (n_real, n_synth, 37)
    # the fast float32 path stays close
    assert abs(gamma_score(x, y).gamma - reference_gamma(x, y)) < 1e-6


def test_constant_genes_are_reported_and_excluded_never_nan():
    rng = np.random.default_rng(7)
    x, w = factor_data(rng, 120, 20)
    y, _ = factor_data(rng, 90, 20, w=w)
    x[:, 3] = 1.0
    y[:, 11] = 0.0
    y[:, 3] = 2.0
    genes = [f"g{i}" for i in range(20)]
    got = gamma_score(x, y, genes=genes, precision="float64")
    assert np.isfinite(got.gamma)
    assert abs(got.gamma - reference_gamma(x, y)) < 1e-9
    assert got.zero_variance_real == ["g3"]
    assert got.zero_variance_synthetic == ["g3", "g11"]
    assert got.n_genes == 18


def test_streamed_chunks_equal_in_memory_arrays():
    rng = np.random.default_rng(8)
    x, w = factor_data(rng, 700, 25)
    y, _ = factor_data(rng, 2500, 25, w=w, noise=2.0)
    whole = gamma_score(x, y).gamma
    streamed = gamma_score(iter(np.array_split(x, 3)), iter(np.array_split(y, 11))).gamma
    # the default path sums float32 chunk products in float64: other chunk boundaries are
    # not bit-exact (9.9e-9 apart with numpy 2.4.6 / OpenBLAS Haswell kernels)
    assert abs(whole - streamed) < 2e-8
    precomputed = gamma_score(gene_correlation(x), gene_correlation(y)).gamma
    assert precomputed == whole


def test_identical_structure_scores_one_and_unrelated_scores_low():
    rng = np.random.default_rng(9)
    x, _ = factor_data(rng, 3000, 30)
    y, _ = factor_data(rng, 3000, 30)  # other factor loadings
    assert gamma_score(x, x).gamma == pytest.approx(1.0, abs=1e-12)
    assert gamma_score(x, y).gamma < 0.5


def test_gamma_errors_are_clear():
    rng = np.random.default_rng(10)
    with pytest.raises(GexgenError, match="real has 5 genes but synthetic has 6"):
        gamma_score(rng.normal(size=(9, 5)), rng.normal(size=(9, 6)))
    flat = rng.normal(size=(9, 4))
    flat[:, :2] = 1.0
    with pytest.raises(GexgenError, match="only 2 of 4 genes vary"):
        gamma_score(flat, rng.normal(size=(9, 4)))
    with pytest.raises(GexgenError, match="gene names"):
        gamma_score(rng.normal(size=(9, 4)), rng.normal(size=(9, 4)), genes=["a"])


def test_ceiling_is_gamma_between_the_splits():
    rng = np.random.default_rng(11)
    x, _ = factor_data(rng, 300, 15)
    train, test = x[:200], x[200:]
    assert gamma_ceiling(train, test).gamma == pytest.approx(reference_gamma(train, test), abs=1e-6)
