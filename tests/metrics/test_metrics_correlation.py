"""The streaming correlation accumulator against np.corrcoef (a plain numpy reference)."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.correlation import (
    CorrelationAccumulator,
    _shift_block,
    gene_correlation,
)


def reference_correlation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.corrcoef in float64 with constant genes' rows/columns set to NaN, and the mask."""
    x = np.asarray(x, dtype=np.float64)
    constant = x.max(axis=0) == x.min(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(x.T)
    r[constant, :] = np.nan
    r[:, constant] = np.nan
    return r, constant


def structured(rng: np.random.Generator, n: int, g: int, offset: float = 8.0) -> np.ndarray:
    """Correlated log-like values (a low-rank factor model plus noise, around ``offset``)."""
    w = rng.normal(size=(4, g))
    return rng.normal(size=(n, 4)) @ w + rng.normal(size=(n, g)) + offset


def test_shift_kernel_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1300, 17)).astype(np.float32)
    cols = rng.permutation(17)[:11].astype(np.int64)
    shift = rng.normal(size=11).astype(np.float32)
    for identity in (False, True):
        c = np.arange(17, dtype=np.int64) if identity else cols
        sh = rng.normal(size=len(c)).astype(np.float32) if identity else shift
        out = np.empty((1300, len(c)), np.float32)
        sums, mins, maxs = _shift_block(x, c, identity, sh, out)
        expected = x[:, c] - sh
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_allclose(sums.sum(0), expected.astype(np.float64).sum(0), rtol=1e-12)
        np.testing.assert_array_equal(mins.min(0), expected.min(0))
        np.testing.assert_array_equal(maxs.max(0), expected.max(0))


@pytest.mark.parametrize("n", [2, 3, 57, 1000])
def test_float64_matches_corrcoef_to_1e9_with_constant_genes(n):
    rng = np.random.default_rng(n)
    x = structured(rng, n, 23)
    x[:, 4] = 2.5  # constant genes
    x[:, 17] = 0.0
    ref, constant = reference_correlation(x)
    got = gene_correlation(x, precision="float64")
    np.testing.assert_array_equal(got.zero_variance, constant)
    np.testing.assert_allclose(got.correlation, ref, atol=1e-9, rtol=0, equal_nan=True)
    np.testing.assert_allclose(got.mean, x.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(got.std, x.std(axis=0), atol=1e-9)
    assert got.n_samples == n


def test_float32_products_stay_close_to_float64():
    rng = np.random.default_rng(1)
    x = structured(rng, 5000, 40, offset=12.0).astype(np.float32)
    ref, _ = reference_correlation(x)
    got = gene_correlation(x, precision="float32")
    assert np.nanmax(np.abs(got.correlation - ref)) < 1e-5


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_streaming_equals_in_memory(precision):
    rng = np.random.default_rng(2)
    x = structured(rng, 3001, 31).astype(np.float32)
    whole = gene_correlation(x, precision=precision, chunk_rows=10**6)
    sizes = [1, 999, 1000, 2, 999]  # uneven chunks, a single-row first chunk
    chunks = np.split(x, np.cumsum(sizes)[:-1])
    streamed = gene_correlation(iter(chunks), precision=precision)
    tol = 1e-12 if precision == "float64" else 1e-6
    np.testing.assert_allclose(streamed.correlation, whole.correlation, atol=tol)
    np.testing.assert_allclose(streamed.mean, whole.mean, atol=1e-9)
    assert streamed.n_samples == whole.n_samples == 3001


def test_small_blocks_inside_a_chunk_give_the_same_result():
    rng = np.random.default_rng(3)
    x = structured(rng, 777, 9)
    ref, _ = reference_correlation(x)
    acc = CorrelationAccumulator(9, precision="float64", block_rows=50)
    got = acc.update(x).result()
    np.testing.assert_allclose(got.correlation, ref, atol=1e-9)


def test_columns_select_and_reorder_genes():
    rng = np.random.default_rng(4)
    x = structured(rng, 400, 12)
    cols = np.array([5, 0, 11, 3])
    got = CorrelationAccumulator(4, precision="float64").update(x, cols).result()
    ref, _ = reference_correlation(x[:, cols])
    np.testing.assert_allclose(got.correlation, ref, atol=1e-9)


def test_integer_and_float64_inputs_are_accepted():
    x = np.random.default_rng(5).integers(0, 50, size=(300, 6))
    got = gene_correlation(x, precision="float64")
    ref, _ = reference_correlation(x)
    np.testing.assert_allclose(got.correlation, ref, atol=1e-9)


def test_nan_is_an_error_naming_the_chunk():
    x = np.ones((10, 3), np.float32)
    x[:, 1] = np.arange(10)
    x[7, 2] = np.nan
    with pytest.raises(GexgenError, match="chunk 1 has 1 NaN"):
        gene_correlation(x)


def test_too_few_samples_and_empty_input_are_errors():
    with pytest.raises(GexgenError, match="at least 2 samples"):
        gene_correlation(np.ones((1, 4)))
    with pytest.raises(GexgenError, match="no chunks"):
        gene_correlation(iter([]))
    with pytest.raises(GexgenError, match="2-d"):
        gene_correlation(np.ones(5))


def test_chunks_with_a_different_gene_count_are_rejected():
    acc = CorrelationAccumulator(3)
    acc.update(np.random.default_rng(0).normal(size=(5, 3)))
    with pytest.raises(GexgenError, match="has 4 genes, expected 3"):
        acc.update(np.zeros((5, 4)))


def test_invalid_precision_lists_choices():
    with pytest.raises(GexgenError, match="float32"):
        CorrelationAccumulator(3, precision="float16")  # type: ignore[arg-type]
