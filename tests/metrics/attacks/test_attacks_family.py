"""Each attack against a brute-force reference on small data (plain loops, explicit formulas)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from gexgen.metrics.attacks import (
    ATTACKS,
    calibrated_gan_leaks,
    confidence,
    domias,
    gan_leaks,
    label_keys,
    logan_d1,
    monte_carlo,
)


def _data(seed=0, n=30, m=80, r=25, d=8):
    rng = np.random.default_rng(seed)
    scale = np.linspace(3.0, 0.5, d)  # distinct variances: a well-defined PCA
    cand, synth, ref = (rng.normal(size=(k, d)) * scale for k in (n, m, r))
    classes = np.array(["a|x", "b|x", "c|y"], dtype=object)
    cand_l, synth_l, ref_l = (classes[rng.integers(0, 3, k)] for k in (n, m, r))
    synth[synth_l == "b|x"] += 2.0  # the labels carry signal
    return cand, cand_l, synth, synth_l, ref, ref_l


def _min_dist(x, ys):
    return np.array([min(np.sqrt(((a - b) ** 2).sum()) for b in ys) for a in x])


def test_gan_leaks_and_calibrated_are_nearest_distances():
    cand, cl, synth, sl, ref, rl = _data()
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(
        gan_leaks(cand, cl, synth, sl, ref, rl, rng), -_min_dist(cand, synth)
    )
    expected = _min_dist(cand, ref) - _min_dist(cand, synth)
    np.testing.assert_allclose(calibrated_gan_leaks(cand, cl, synth, sl, ref, rl, rng), expected)


def test_monte_carlo_is_the_share_within_the_median_reference_radius():
    cand, cl, synth, sl, ref, rl = _data(1)
    eps = np.median(_min_dist(ref, synth))
    expected = [np.mean([np.sqrt(((a - b) ** 2).sum()) < eps for b in synth]) for a in cand]
    got = monte_carlo(cand, cl, synth, sl, ref, rl, np.random.default_rng(0))
    np.testing.assert_allclose(got, expected)
    assert 0 < got.max() <= 1


def test_logan_d1_is_a_balanced_logistic_synthetic_vs_reference():
    cand, cl, synth, sl, ref, rl = _data(2)
    x, y = np.r_[synth, ref], np.r_[np.ones(len(synth)), np.zeros(len(ref))]
    clf = LogisticRegression(C=0.01, max_iter=1000, class_weight="balanced").fit(x, y)
    got = logan_d1(cand, cl, synth, sl, ref, rl, np.random.default_rng(0))
    np.testing.assert_allclose(got, clf.predict_proba(cand)[:, 1], rtol=1e-6)


def _kde_logpdf(data, points):
    """Gaussian KDE by its formula: covariance = cov(data) * n^(-2 / (d + 4)) (Scott)."""
    n, d = data.shape
    cov = np.cov(data.T) * n ** (-2.0 / (d + 4))
    inv, (_, logdet) = np.linalg.inv(cov), np.linalg.slogdet(2 * np.pi * cov)
    out = []
    for p in points:
        q = np.array([(p - x) @ inv @ (p - x) for x in data])
        out.append(np.log(np.mean(np.exp(-0.5 * q))) - 0.5 * logdet)
    return np.array(out)


@pytest.mark.parametrize("k", [2, 4])
def test_domias_is_the_kde_log_density_ratio_on_exact_principal_components(k):
    cand, cl, synth, sl, ref, rl = _data(3, d=6)
    both = np.r_[synth, ref]
    mean = both.mean(0)
    axes = np.linalg.svd(both - mean, full_matrices=False)[2][:k]
    proj = lambda x: (x - mean) @ axes.T  # noqa: E731
    expected = _kde_logpdf(proj(synth), proj(cand)) - _kde_logpdf(proj(ref), proj(cand))
    got = domias(cand, cl, synth, sl, ref, rl, np.random.default_rng(0), n_components=k)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_confidence_is_the_probability_of_the_own_label():
    cand, cl, synth, sl, ref, rl = _data(4)
    cl = cl.copy()
    cl[0] = "z|z"  # a combination the synthetic set lacks scores 0
    clf = LogisticRegression(C=0.1, max_iter=1000).fit(synth, sl.astype(str))
    proba = clf.predict_proba(cand)
    classes = list(clf.classes_)
    expected = [proba[i, classes.index(c)] if c in classes else 0.0 for i, c in enumerate(cl)]
    got = confidence(cand, cl, synth, sl, ref, rl, np.random.default_rng(0))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got[0] == 0.0


def test_confidence_with_one_synthetic_class():
    cand, cl, synth, _, ref, rl = _data(5)
    one = np.full(len(synth), "a|x", dtype=object)
    got = confidence(cand, cl, synth, one, ref, rl, np.random.default_rng(0))
    np.testing.assert_array_equal(got, (cl == "a|x").astype(float))


def test_every_attack_follows_the_interface():
    cand, cl, synth, sl, ref, rl = _data(6)
    names = [a.name for a in ATTACKS]
    assert len(set(names)) == len(names) >= 6
    for attack in ATTACKS:
        scores = attack.score(cand, cl, synth, sl, ref, rl, np.random.default_rng(1))
        assert scores.shape == (len(cand),) and np.isfinite(scores).all(), attack.name
        again = attack.score(cand, cl, synth, sl, ref, rl, np.random.default_rng(1))
        np.testing.assert_array_equal(scores, again)  # seeded: same rng, same scores
        assert attack.what


def test_label_keys():
    import pandas as pd

    labels = pd.DataFrame({"tissue": ["lung", "liver"], "status": ["tumor", "normal"]})
    assert label_keys(labels, ["tissue", "status"], 2).tolist() == ["lung|tumor", "liver|normal"]
    assert label_keys(None, [], 3).tolist() == ["(all)"] * 3
