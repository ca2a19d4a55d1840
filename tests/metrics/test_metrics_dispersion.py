"""dispersion_scores against a plain numpy computation of per-gene std ratios."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.dispersion import dispersion_scores, std_ratios
from gexgen.metrics.gene_moments import GroupMoments


def _naive(real, real_keys, synth, synth_keys, key=None):
    """Median of std(synth, ddof=1) / std(real, ddof=1) and share within 10%, in numpy."""
    r = real if key is None else real[real_keys == key]
    s = synth if key is None else synth[synth_keys == key]
    ratio = s.std(axis=0, ddof=1) / r.std(axis=0, ddof=1)
    return float(np.median(ratio)), float(np.mean(np.abs(ratio - 1) <= 0.1 + 1e-12))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    genes = 40
    scale = rng.uniform(0.5, 2.0, genes)
    real_keys = rng.choice(["a", "b", "c"], size=300)
    synth_keys = rng.choice(["a", "b", "c"], size=900)
    real = rng.normal(size=(300, genes)) * scale + 5
    shrink = np.where(synth_keys == "b", 0.6, 0.95)[:, None]
    synth = rng.normal(size=(900, genes)) * scale * shrink + 5
    return real, real_keys, synth, synth_keys


def test_overall_and_group_figures_match_numpy(data):
    real, rk, synth, sk = data
    r = GroupMoments(real.shape[1]).update(real, rk)
    s = GroupMoments(real.shape[1]).update(synth, sk)
    out = dispersion_scores(r, s)
    median, share = _naive(real, rk, synth, sk)
    assert out["std_ratio_median"] == pytest.approx(median, rel=1e-9)
    assert out["within_10pct_share"] == pytest.approx(share)
    for key in "abc":
        median, share = _naive(real, rk, synth, sk, key)
        assert out["groups"][key]["std_ratio_median"] == pytest.approx(median, rel=1e-9)
        assert out["groups"][key]["within_10pct_share"] == pytest.approx(share)
    # group b is shrunk to 0.6: the lowest combination, and the median over groups is not it
    assert out["group_std_ratio_min"] == pytest.approx(out["groups"]["b"]["std_ratio_median"])
    assert out["groups"]["b"]["std_ratio_median"] < 0.7 < out["group_std_ratio_median"]
    assert out["reference"] is None and out["n_genes"] == real.shape[1]


def test_reference_scores_train_against_test(data):
    real, rk, synth, sk = data
    r = GroupMoments(real.shape[1]).update(real, rk)
    s = GroupMoments(real.shape[1]).update(synth, sk)
    rng = np.random.default_rng(1)
    train = rng.normal(size=(600, real.shape[1])) * real.std(axis=0) + 5
    t = GroupMoments(real.shape[1]).update(train, rng.choice(["a", "b", "c"], size=600))
    out = dispersion_scores(r, s, t)
    ref = out["reference"]
    assert ref["std_ratio_median"] == pytest.approx(_naive(real, None, train, None)[0], rel=1e-9)
    assert abs(ref["std_ratio_median"] - 1) < 0.1 and (ref["n_test"], ref["n_train"]) == (300, 600)
    assert "groups" not in ref


def test_constant_genes_have_no_ratio_and_small_groups_are_skipped():
    real = np.c_[np.arange(6.0), np.full(6, 2.0)]
    synth = np.c_[2 * np.arange(6.0), np.arange(6.0)]
    keys = np.array(["x"] * 4 + ["y"] * 2)
    r, s = GroupMoments(2).update(real, keys), GroupMoments(2).update(synth, keys)
    ratios = std_ratios(r, s)
    assert ratios[0] == pytest.approx(2.0) and np.isnan(ratios[1])
    out = dispersion_scores(r, s, min_samples=3)
    assert out["n_genes"] == 1 and out["std_ratio_median"] == pytest.approx(2.0)
    assert "skipped" in out["groups"]["y"] and "skipped" not in out["groups"]["x"]


def test_mismatched_genes_are_refused():
    r = GroupMoments(3).update(np.ones((4, 3)))
    s = GroupMoments(2).update(np.ones((4, 2)))
    with pytest.raises(GexgenError, match="genes"):
        dispersion_scores(r, s)
