"""Train-on-synthetic-test-on-real scores against a plain scikit-learn reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gexgen.errors import GexgenError
from gexgen.metrics.tstr import label_classification_scores, tstr_scores


def labelled(rng, n, shift):
    tissue = rng.choice(["kidney", "liver", "lung"], size=n)
    status = rng.choice(["normal", "tumor"], size=n)
    centre = {"kidney": 0.0, "liver": 3.0, "lung": -3.0}
    x = rng.normal(size=(n, 8))
    x[:, 0] += [centre[t] for t in tissue]
    x[:, 1] += np.where(status == "tumor", 2.5, 0.0) + shift
    return x, pd.DataFrame({"tissue": tissue, "status": status})


def test_scores_match_sklearn_reference():
    rng = np.random.default_rng(0)
    x_tr, l_tr = labelled(rng, 300, 0.0)
    x_te, l_te = labelled(rng, 200, 0.0)
    got = label_classification_scores(x_tr, l_tr["tissue"], x_te, l_te["tissue"])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pred = model.fit(x_tr, l_tr["tissue"]).predict(x_te)
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(l_te["tissue"], pred))
    assert got["accuracy"] == pytest.approx(np.mean(pred == l_te["tissue"]))
    assert (got["n_train"], got["n_test"]) == (300, 200)


def test_faithful_synthetic_teaches_like_real_and_broken_does_not():
    rng = np.random.default_rng(1)
    x_syn, l_syn = labelled(rng, 400, 0.0)
    x_tr, l_tr = labelled(rng, 300, 0.0)
    x_te, l_te = labelled(rng, 200, 0.0)
    good = tstr_scores(
        x_syn,
        l_syn,
        x_te,
        l_te,
        columns=["tissue", "status"],
        real_train=x_tr,
        real_train_labels=l_tr,
    )
    for col in ("tissue", "status"):
        syn, real = good[col]["train_synthetic"], good[col]["train_real"]
        assert syn["balanced_accuracy"] > 0.8
        assert abs(syn["balanced_accuracy"] - real["balanced_accuracy"]) < 0.1
    shuffled = l_syn.sample(frac=1.0, random_state=0).reset_index(drop=True)  # labels broken
    bad = tstr_scores(x_syn, shuffled, x_te, l_te, columns=["tissue"])
    assert bad["tissue"]["train_synthetic"]["balanced_accuracy"] < 0.6
    assert bad["tissue"]["train_real"] is None


def test_single_class_training_is_skipped_with_reason():
    rng = np.random.default_rng(2)
    x, labels = labelled(rng, 50, 0.0)
    got = label_classification_scores(x, ["a"] * 50, x, labels["status"])
    assert "one class" in got["skipped"]


def test_unknown_label_columns_are_errors():
    rng = np.random.default_rng(3)
    x, labels = labelled(rng, 40, 0.0)
    with pytest.raises(GexgenError, match=r"no column\(s\) \['organ'\]"):
        tstr_scores(x, labels, x, labels, columns=["organ"])


def test_worst_tstr_ratio_is_the_lowest_label_ratio_and_skips_incomplete_labels():
    from gexgen.metrics.tstr import worst_tstr_ratio

    def entry(synth, real):
        return {
            "train_synthetic": {"balanced_accuracy": synth},
            "train_real": None if real is None else {"balanced_accuracy": real},
        }

    section = {"tissue": entry(0.8, 0.9), "status": entry(0.99, 1.0), "sex": entry(0.5, None)}
    assert worst_tstr_ratio(section) == pytest.approx(0.8 / 0.9)
    assert worst_tstr_ratio({"sex": entry(0.5, None)}) is None
    assert worst_tstr_ratio({"skipped": "no labels"}) is None
    assert worst_tstr_ratio(None) is None
