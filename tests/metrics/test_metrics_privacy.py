"""Privacy metrics against a brute-force numpy reference, and the reference cases of #11."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from toy_data import ToyModel, toy_labels

from gexgen.errors import GexgenError
from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian
from gexgen.metrics.privacy import gaussian_privacy_reference, privacy_metrics


def brute_privacy(train, holdout, synthetic, seed, n_draws):
    """The definitions, written out with full distance matrices."""
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    tr, ho, sy = ((m - mean) / std for m in (train, holdout, synthetic))

    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    s_tr, s_ho, h_tr = dist(sy, tr), dist(sy, ho), dist(ho, tr)
    member, non_member = s_tr.min(0), s_ho.min(0)
    n = min(len(tr), len(ho))
    aucs = []
    for draw in range(n_draws):
        rng = np.random.default_rng([seed, 202, draw])
        m = member[rng.choice(len(tr), n, replace=False)]
        h = non_member[rng.choice(len(ho), n, replace=False)]
        # P(member closer than non-member) + half the ties, over all pairs
        aucs.append(((m[:, None] < h[None, :]) + 0.5 * (m[:, None] == h[None, :])).mean())
    dcr_s, dcr_h = s_tr.min(1), h_tr.min(1)
    nearest_ho = s_ho.min(1)
    return {
        "mia_auc": np.mean(aucs),
        "mia_auc_sd": np.std(aucs, ddof=1),
        "closer_to_train_share": ((dcr_s < nearest_ho) + 0.5 * (dcr_s == nearest_ho)).mean(),
        "closer_to_train_chance": len(tr) / (len(tr) + len(ho)),
        "dcr_median_ratio": np.median(dcr_s) / np.median(dcr_h),
        "dcr_below_holdout_p5": (dcr_s < np.percentile(dcr_h, 5)).mean(),
    }


@pytest.fixture(scope="module")
def toy():
    """Train / held-out / a further held-out set, all from one class-conditional distribution."""
    model = ToyModel(seed=4, n_genes=40)
    rng = np.random.default_rng(0)
    sets = {}
    for name, n in (("train", 400), ("holdout", 300), ("fresh", 600)):
        labels = toy_labels(n, rng)
        sets[name] = (model.log_values(labels, rng).astype(np.float64), labels)
    return sets


def test_matches_brute_force_on_an_overfitting_generator(toy):
    train, holdout = toy["train"][0], toy["holdout"][0]
    rng = np.random.default_rng(5)
    # half near-copies of training rows, half fresh profiles: every figure away from chance
    synthetic = np.r_[train[:150] + rng.normal(scale=0.3, size=(150, 40)), toy["fresh"][0][:150]]
    result = privacy_metrics(train, holdout, synthetic, seed=3, n_draws=4)
    expected = brute_privacy(train, holdout, synthetic, seed=3, n_draws=4)
    for key, value in expected.items():
        assert getattr(result, key) == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert result.mia_auc > 0.6 and result.closer_to_train_share > 0.6


def test_copies_of_training_rows_score_one(toy):
    train, holdout = toy["train"][0], toy["holdout"][0]
    result = privacy_metrics(train, holdout, np.r_[train, train[:50]], seed=0)
    assert result.mia_auc == 1.0
    assert result.closer_to_train_share == 1.0
    assert result.dcr_median_ratio == 0.0
    assert result.dcr_below_holdout_p5 == 1.0


def test_copies_score_one_with_a_synthetic_subsample(toy):
    """Subsampling synthetic rows must not dilute copies (the naive version scores ~0.72)."""
    train, holdout = toy["train"][0], toy["holdout"][0]
    result = privacy_metrics(train, holdout, train[::2], max_synthetic=120, seed=1)
    assert result.n_synthetic == 120 and result.n_synthetic_total == 200
    assert result.closer_to_train_share == 1.0
    assert result.to_dict()["subsampled"] is True


def test_held_out_real_profiles_as_synthetic_score_at_chance(toy):
    train, holdout, fresh = toy["train"][0], toy["holdout"][0], toy["fresh"][0]
    result = privacy_metrics(train, holdout, fresh, seed=0)
    assert abs(result.mia_auc - 0.5) < 0.06
    assert abs(result.closer_to_train_share - result.closer_to_train_chance) < 0.06
    assert result.closer_to_train_chance == pytest.approx(400 / 700)
    assert abs(result.dcr_median_ratio - 1.0) < 0.06
    assert result.dcr_below_holdout_p5 < 0.12
    # the built-in real reference: half the held-out profiles as the synthetic set
    half = result.reference["holdout_half"]
    assert abs(half["mia_auc"] - 0.5) < 0.1
    assert result.reference["chance"]["mia_auc"] == 0.5


def test_class_conditional_gaussian_scores_near_chance(toy):
    (train, train_labels), holdout = toy["train"], toy["holdout"][0]
    fresh_labels = toy["fresh"][1]
    ref = gaussian_privacy_reference(
        train, train_labels, holdout, fresh_labels, ["tissue", "status"], seed=0
    )
    assert abs(ref["mia_auc"] - 0.5) < 0.07
    assert ref["n_synthetic"] == len(fresh_labels)
    # and the same Gaussian through privacy_metrics directly
    model = ClassConditionalGaussian.fit(train, train_labels, ["tissue", "status"])
    sample = model.sample(fresh_labels, seed=0)
    assert privacy_metrics(train, holdout, sample).mia_auc == pytest.approx(ref["mia_auc"])


def test_to_dict_carries_space_references_and_histogram(toy):
    train, holdout, fresh = toy["train"][0], toy["holdout"][0], toy["fresh"][0]
    d = privacy_metrics(train, holdout, fresh[:100], seed=0, n_draws=2).to_dict()
    assert "standardized" in d["space"] and "training" in d["space"]
    assert set(d["reference"]) == {"chance", "holdout_half"}
    h = d["dcr_histogram"]
    assert sum(h["synthetic"]) == 100 and sum(h["holdout"]) == 300
    assert len(h["edges"]) == len(h["synthetic"]) + 1
    assert d["mia_n_per_group"] == 300 and d["n_draws"] == 2


def test_seeded_and_reproducible(toy):
    train, holdout, fresh = toy["train"][0], toy["holdout"][0], toy["fresh"][0]
    a = privacy_metrics(train, holdout, fresh, seed=7, max_synthetic=200)
    b = privacy_metrics(train, holdout, fresh, seed=7, max_synthetic=200)
    assert a.to_dict() == b.to_dict()


def test_bad_inputs_raise(toy):
    train = toy["train"][0]
    with pytest.raises(GexgenError, match="genes"):
        privacy_metrics(train, train[:, :5], train)
    with pytest.raises(GexgenError, match="at least 2"):
        privacy_metrics(train, train[:1], train)
    with pytest.raises(GexgenError, match="n_draws"):
        privacy_metrics(train, train, train, n_draws=0)


def test_gaussian_baseline_fits_group_moments():
    rng = np.random.default_rng(0)
    labels = pd.DataFrame({"t": ["a"] * 50 + ["b"] * 30 + ["c"]})
    x = np.r_[rng.normal(5, 1, (50, 3)), rng.normal(9, 2, (30, 3)), [[7.0, 7.0, 7.0]]]
    model = ClassConditionalGaussian.fit(x, labels, ["t"])
    np.testing.assert_allclose(model.means["b"], x[50:80].mean(0))
    np.testing.assert_allclose(model.stds["a"], x[:50].std(0, ddof=1))
    # a single-row combination takes the pooled within-group std, never 0 (no copies)
    pooled = np.sqrt(
        (((x[:50] - x[:50].mean(0)) ** 2).sum(0) + ((x[50:80] - x[50:80].mean(0)) ** 2).sum(0)) / 78
    )
    np.testing.assert_allclose(model.stds["c"], pooled)
    draw = model.sample(pd.DataFrame({"t": ["b"] * 4000}), seed=1)
    assert draw.dtype == np.float32 and (draw >= 0).all()
    np.testing.assert_allclose(draw.mean(0), model.means["b"], atol=0.15)
    x2, lab2 = model.sample_like_training(200, seed=0)
    assert x2.shape == (200, 3) and set(lab2["t"]) <= {"a", "b", "c"}
    with pytest.raises(GexgenError, match="not in the training rows"):
        model.sample(pd.DataFrame({"t": ["zzz"]}))
