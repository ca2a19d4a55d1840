"""Per-gene moment agreement against numpy means, stds and np.corrcoef."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.gene_moments import (
    GroupMoments,
    group_sums,
    moment_agreement,
    pearson,
    score_groups,
)


def test_streamed_group_moments_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 7)) * 3 + 10
    keys = rng.choice(["a|x", "b|x", "b|y"], size=500)
    gm = GroupMoments(7)
    for rows in np.array_split(np.arange(500), 6):
        gm.update(x[rows], keys[rows])
    np.testing.assert_allclose(gm.mean("all"), x.mean(0), atol=1e-10)
    np.testing.assert_allclose(gm.std("all"), x.std(0), atol=1e-10)
    for key in ("a|x", "b|x", "b|y"):
        np.testing.assert_allclose(gm.mean(key), x[keys == key].mean(0), atol=1e-10)
        np.testing.assert_allclose(gm.std(key), x[keys == key].std(0), atol=1e-10)
        assert gm.count(key) == int((keys == key).sum())


def test_agreement_is_pearson_of_moments_overall_and_per_group():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(300, 40)) * rng.uniform(0.5, 2, 40) + rng.uniform(0, 10, 40)
    synth = rng.normal(size=(200, 40)) * rng.uniform(0.5, 2, 40) + rng.uniform(0, 10, 40)
    rk = rng.choice(["a", "b", "c"], size=300)
    sk = rng.choice(["a", "b", "d"], size=200)
    sk[:2] = "c"  # only 2 synthetic rows of c: skipped
    got = moment_agreement(real, synth, rk, sk)
    ref_mean = np.corrcoef(real.mean(0), synth.mean(0))[0, 1]
    ref_std = np.corrcoef(real.std(0), synth.std(0))[0, 1]
    assert got["overall"]["mean_r"] == pytest.approx(ref_mean, abs=1e-10)
    assert got["overall"]["std_r"] == pytest.approx(ref_std, abs=1e-10)
    a = got["groups"]["a"]
    assert a["mean_r"] == pytest.approx(
        np.corrcoef(real[rk == "a"].mean(0), synth[sk == "a"].mean(0))[0, 1], abs=1e-10
    )
    assert "skipped" in got["groups"]["c"] and "skipped" in got["groups"]["d"]
    assert got["median_mean_r"] == pytest.approx(
        np.median([got["groups"][k]["mean_r"] for k in ("a", "b")])
    )


def test_pearson_of_constant_vector_is_none():
    assert pearson(np.ones(5), np.arange(5)) is None
    assert pearson(np.arange(5), 2 * np.arange(5) + 1) == pytest.approx(1.0)


def test_errors():
    with pytest.raises(GexgenError, match="genes"):
        moment_agreement(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(GexgenError, match="keys"):
        GroupMoments(2).update(np.ones((3, 2)), ["a"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 5000])
def test_group_sums_kernel_matches_numpy(dtype, n):
    rng = np.random.default_rng(n)
    x = (rng.normal(size=(n, 9)) * 2 + 7).astype(dtype)
    group = rng.integers(0, 4, size=n)
    shift = rng.normal(size=9) + 7
    s1, s2 = group_sums(x, group, 5, shift)  # group 4 has no rows
    d = x.astype(np.float64) - shift
    for k in range(5):
        np.testing.assert_allclose(s1[k], d[group == k].sum(0), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(s2[k], (d[group == k] ** 2).sum(0), rtol=1e-12, atol=1e-9)
    assert not s1[4].any() and not s2[4].any()


def test_group_sums_rejects_bad_input():
    x = np.ones((4, 3))
    with pytest.raises(GexgenError, match="group indices must lie in 0..1"):
        group_sums(x, np.array([0, 1, 2, 0]), 2, np.zeros(3))
    with pytest.raises(GexgenError, match="3 group indices for 4 rows"):
        group_sums(x, np.array([0, 1, 0]), 2, np.zeros(3))
    with pytest.raises(GexgenError, match="shift has shape"):
        group_sums(x, np.zeros(4), 1, np.zeros(2))
    x[2, 1] = np.nan
    with pytest.raises(GexgenError, match="NaN or infinite"):
        GroupMoments(3).update(x)


def test_float32_chunks_give_float64_moments():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(20_000, 5)) + 12).astype(np.float32)
    gm = GroupMoments(5)
    for rows in np.array_split(np.arange(len(x)), 3):
        gm.update(x[rows])
    np.testing.assert_allclose(gm.mean("all"), x.astype(np.float64).mean(0), atol=1e-10)
    np.testing.assert_allclose(gm.std("all"), x.astype(np.float64).std(0), atol=1e-10)


def test_score_groups_scores_each_combination_and_skips_small_ones():
    rng = np.random.default_rng(0)
    real, synth = GroupMoments(3), GroupMoments(3)
    real.update(rng.normal(size=(7, 3)).astype(np.float32), np.array(["a"] * 5 + ["b"] * 2))
    synth.update(rng.normal(size=(6, 3)).astype(np.float32), np.array(["a"] * 3 + ["c"] * 3))
    groups = score_groups(real, synth, 3, lambda key: {"n": real.count(key) + synth.count(key)})
    assert list(groups) == ["a", "b", "c"]
    assert groups["a"] == {"n": 8}
    assert groups["b"]["skipped"] == "fewer than 3 rows (real 2, synthetic 0)"
    assert (groups["c"]["n_real"], groups["c"]["n_synthetic"]) == (0, 3)
