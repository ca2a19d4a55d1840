"""Detection AUC: ~0.5 when real and synthetic share a distribution, ~1 when shifted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gexgen.errors import GexgenError
from gexgen.metrics.detection import detection_auc


def test_same_distribution_scores_about_one_half():
    rng = np.random.default_rng(0)
    result = detection_auc(rng.normal(size=(600, 20)), rng.normal(size=(600, 20)), seed=1)
    assert abs(result.auc - 0.5) < 0.07
    assert len(result.fold_aucs) == 5


@pytest.mark.parametrize("classifier", ["logistic", "random_forest"])
def test_shifted_distribution_scores_about_one(classifier):
    rng = np.random.default_rng(1)
    result = detection_auc(
        rng.normal(size=(300, 10)), rng.normal(size=(300, 10)) + 1.5, classifier=classifier
    )
    assert result.auc > 0.97


def test_matches_a_plain_sklearn_reference_and_is_seeded():
    rng = np.random.default_rng(2)
    real, synth = rng.normal(size=(200, 6)), rng.normal(size=(200, 6)) + 0.2
    x = np.r_[real, synth]
    y = np.r_[np.zeros(200), np.ones(200)]
    aucs = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=3).split(x, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x[tr], y[tr])
        aucs.append(roc_auc_score(y[te], model.predict_proba(x[te])[:, 1]))
    got = detection_auc(real, synth, seed=3)
    assert got.auc == pytest.approx(np.mean(aucs), abs=1e-12)
    assert detection_auc(real, synth, seed=3) == got


def test_classes_are_balanced_and_subsampled():
    rng = np.random.default_rng(4)
    got = detection_auc(rng.normal(size=(500, 4)), rng.normal(size=(80, 4)), max_per_class=60)
    assert got.n_per_class == 60 and got.subsampled
    assert (got.n_real_total, got.n_synthetic_total) == (500, 80)


def test_detection_errors():
    rng = np.random.default_rng(5)
    with pytest.raises(GexgenError, match="at least 5 rows"):
        detection_auc(rng.normal(size=(3, 4)), rng.normal(size=(30, 4)))
    with pytest.raises(GexgenError, match="features"):
        detection_auc(rng.normal(size=(30, 4)), rng.normal(size=(30, 5)))
    with pytest.raises(GexgenError, match="logistic"):
        detection_auc(rng.normal(size=(30, 4)), rng.normal(size=(30, 4)), classifier="svm")
