"""Per-gene moment agreement against numpy means, stds and np.corrcoef."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.gene_moments import GroupMoments, moment_agreement, pearson


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
