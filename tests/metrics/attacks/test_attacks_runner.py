"""The seeded draws and the known answers: copies score ~1, an independent Gaussian ~0.5."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics._attack_section import attack_section
from gexgen.metrics.attacks import ATTACKS, label_keys
from gexgen.metrics.attacks.runner import attack_draws, run_attacks, standardize_by_train
from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian
from gexgen.metrics.privacy import privacy_metrics

CLASSES = ["a", "b", "c"]


def _cohort(n, seed, d=30):
    """Three classes with their own means; labels as a DataFrame."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 2.0, size=(3, d))
    pick = rng.integers(0, 3, n)
    x = centres[pick] + rng.normal(size=(n, d))
    return x + 10.0, pd.DataFrame({"tissue": np.array(CLASSES)[pick]})


def _keys(labels):
    return label_keys(labels, ["tissue"], len(labels))


def test_draws_are_disjoint_equal_and_seeded():
    draws = attack_draws(50, 31, seed=3, n_draws=4)
    for d in draws:
        assert len(d.members) == len(d.non_members) == len(d.reference) == 15
        assert not set(d.non_members) & set(d.reference)
        assert len(set(d.members)) == 15 and max(d.members) < 50
    again = attack_draws(50, 31, seed=3, n_draws=4)
    assert all((a.members == b.members).all() for a, b in zip(draws, again, strict=True))
    assert not (draws[0].members == draws[1].members).all()
    with pytest.raises(GexgenError, match="4 held-out"):
        attack_draws(50, 3, seed=0, n_draws=1)


def test_standardize_by_train_matches_privacy_space():
    rng = np.random.default_rng(0)
    train, other = rng.normal(3, 2, (40, 5)), rng.normal(size=(10, 5))
    train[:, 2] = 1.0  # constant gene keeps scale 1
    tz, oz = standardize_by_train(train, other)
    mean, std = train.mean(0), train.std(0)
    std[2] = 1.0
    np.testing.assert_allclose(oz, (other - mean) / std)
    np.testing.assert_allclose(tz.mean(0), 0, atol=1e-12)


def test_copies_of_training_rows_score_one_on_the_distance_attacks():
    train, tl = _cohort(300, 1)
    holdout, hl = _cohort(300, 2)
    z = standardize_by_train(train, holdout, train)
    out = run_attacks(z[0], _keys(tl), z[1], _keys(hl), z[2], _keys(tl), seed=0, n_draws=3)
    a = out["attacks"]
    assert set(a) == {attack.name for attack in ATTACKS}
    assert a["gan_leaks"]["auc"] == 1.0 and a["gan_leaks"]["tpr_at_1pct_fpr"] == 1.0
    assert a["gan_leaks_calibrated"]["auc"] > 0.99
    assert a["monte_carlo"]["auc"] > 0.6  # a density attack: copies raise the local share
    assert out["worst_auc"] == 1.0 and out["n_per_group"] == 150 and out["n_draws"] == 3
    # the same figure as privacy.mia_auc when every non-member is a candidate
    assert privacy_metrics(train, holdout, train).mia_auc == 1.0


def test_a_gaussian_fitted_on_independent_rows_scores_chance_on_every_attack():
    train, tl = _cohort(400, 3)
    holdout, hl = _cohort(400, 4)
    other, ol = _cohort(400, 5)  # never a candidate nor the reference
    model = ClassConditionalGaussian.fit(other, ol, ["tissue"])
    sample_labels = pd.DataFrame({"tissue": np.array(CLASSES)[np.arange(2000) % 3]})
    sample = model.sample(sample_labels, seed=0)
    z = standardize_by_train(train, holdout, sample)
    out = run_attacks(
        z[0], _keys(tl), z[1], _keys(hl), z[2], _keys(sample_labels), seed=0, n_draws=5
    )
    for name, figures in out["attacks"].items():
        assert abs(figures["auc"] - 0.5) < 0.04, (name, figures["auc"])
        assert figures["tpr_at_10pct_fpr"] < 0.2, name
    assert out["worst_auc"] < 0.55


def test_attack_section_reads_beside_its_references():
    train, tl = _cohort(200, 6)
    holdout, hl = _cohort(120, 7)
    section = attack_section(train, tl, holdout, hl, train.copy(), tl, ["tissue"], n_draws=2)
    assert section["worst_auc"] == 1.0 and section["worst_auc_attack"] == "gan_leaks"
    gauss, half = section["reference"]["gaussian"], section["reference"]["holdout_half"]
    assert gauss["worst_auc"] < 0.9 and half["worst_auc"] < 0.85
    assert section["worst_auc_above_gaussian"] == pytest.approx(1.0 - gauss["worst_auc"])
    assert half["n_per_group"] == 30 and section["n_per_group"] == 60
    roc = section["attacks"]["gan_leaks"]["roc"]
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0
    tiny = attack_section(train, tl, holdout[:3], hl[:3], train, tl, ["tissue"], n_draws=1)
    assert "4 held-out" in tiny["skipped"]


def test_attack_section_without_label_columns():
    train, tl = _cohort(120, 8)
    holdout, hl = _cohort(60, 9)
    section = attack_section(train, tl, holdout, hl, train + 0.01, tl, [], n_draws=1)
    assert section["attacks"]["confidence"]["auc"] == 0.5  # one class: every score 1
    assert section["worst_auc"] > 0.95 and "worst_auc" in section["reference"]["gaussian"]
    assert section["n_train"] == 120 and section["seconds"] >= 0
