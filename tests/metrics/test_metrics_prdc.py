"""PRDC and its k-NN kernels against a brute-force numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.precision_recall import (
    _ball_counts,
    _kth_smallest_rows,
    knn_radii,
    prdc,
    standardize_with,
)


def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def reference_prdc(real, fake, k):
    """Naeem et al. 2020 as in the authors' prdc package (strict <, k-th neighbour excl. self)."""
    real_r = np.sort(pairwise(real, real), axis=1)[:, k]
    fake_r = np.sort(pairwise(fake, fake), axis=1)[:, k]
    d = pairwise(real, fake)
    inside = d < real_r[:, None]
    return {
        "precision": inside.any(axis=0).mean(),
        "recall": (d < fake_r[None, :]).any(axis=1).mean(),
        "density": inside.sum(axis=0).mean() / k,
        "coverage": (d.min(axis=1) < real_r).mean(),
        "real_radii": real_r,
    }


def test_kth_smallest_kernel_matches_sort():
    rng = np.random.default_rng(0)
    d2 = rng.random((40, 70))
    for k in (1, 3, 7):
        np.testing.assert_array_equal(_kth_smallest_rows(d2, k, -1), np.sort(d2, axis=1)[:, k - 1])
        # skipping the "self" column start + i
        masked = d2.copy()
        masked[np.arange(40), 10 + np.arange(40)] = np.inf
        np.testing.assert_array_equal(
            _kth_smallest_rows(d2, k, 10), np.sort(masked, axis=1)[:, k - 1]
        )


def test_ball_counts_kernel_matches_numpy():
    rng = np.random.default_rng(1)
    d2 = rng.random((130, 90))  # synthetic rows x real rows
    real_r2 = rng.random(90) * 0.3
    fake_r2 = rng.random(130) * 0.3
    counts, covered, recalled = _ball_counts(d2, real_r2, fake_r2)
    np.testing.assert_array_equal(counts, (d2 < real_r2[None, :]).sum(axis=1))
    np.testing.assert_array_equal(covered.any(axis=0), (d2 < real_r2[None, :]).any(axis=0))
    np.testing.assert_array_equal(recalled.any(axis=0), (d2 < fake_r2[:, None]).any(axis=0))


@pytest.mark.parametrize(("n_real", "n_fake", "k"), [(120, 80, 5), (60, 200, 3), (1500, 1100, 5)])
def test_prdc_matches_brute_force(n_real, n_fake, k):
    rng = np.random.default_rng(n_real)
    real = rng.normal(size=(n_real, 12))
    fake = 1.2 * rng.normal(size=(n_fake, 12)) + 0.3
    ref = reference_prdc(real, fake, k)
    got = prdc(real, fake, k=k)
    for key in ("precision", "recall", "density", "coverage"):
        assert abs(getattr(got, key) - ref[key]) < 1e-12, key
    np.testing.assert_allclose(knn_radii(real, k), ref["real_radii"], atol=1e-9, rtol=0)
    assert not got.subsampled


def test_same_distribution_is_near_one_and_disjoint_is_zero():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(800, 5))
    same = prdc(real, rng.normal(size=(800, 5)))
    assert same.precision > 0.85 and same.recall > 0.85 and same.coverage > 0.85
    assert 0.7 < same.density < 1.3
    far = prdc(real, rng.normal(size=(800, 5)) + 50)
    assert far.precision == far.recall == far.density == far.coverage == 0.0


def test_large_sets_are_subsampled_deterministically_and_say_so():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(900, 4))
    fake = rng.normal(size=(700, 4))
    a = prdc(real, fake, max_samples=300, seed=5)
    b = prdc(real, fake, max_samples=300, seed=5)
    assert a == b
    assert a.subsampled and a.to_dict()["subsampled"]
    assert (a.n_real, a.n_real_total, a.n_synthetic, a.n_synthetic_total) == (300, 900, 300, 700)


def test_standardize_with_uses_reference_stats():
    rng = np.random.default_rng(4)
    ref = rng.normal(size=(50, 3)) * [1, 2, 0] + [0, 5, 7]
    other = rng.normal(size=(20, 3))
    z_ref, z_other = standardize_with(ref, other)
    np.testing.assert_allclose(z_ref[:, :2].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z_ref[:, :2].std(0), 1, atol=1e-12)
    np.testing.assert_allclose(z_other[:, 2], other[:, 2] - 7)  # constant column: scale 1


def test_prdc_errors():
    rng = np.random.default_rng(5)
    with pytest.raises(GexgenError, match="features"):
        prdc(rng.normal(size=(20, 3)), rng.normal(size=(20, 4)))
    with pytest.raises(GexgenError, match="needs more than 5"):
        prdc(rng.normal(size=(5, 3)), rng.normal(size=(20, 3)))
    bad = rng.normal(size=(20, 3))
    bad[2, 1] = np.inf
    with pytest.raises(GexgenError, match="NaN or infinite"):
        prdc(bad, rng.normal(size=(20, 3)))
