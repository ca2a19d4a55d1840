"""augmentation_scores: the k-shot curve, its gain, the reference and the k rule."""

from __future__ import annotations

import numpy as np
import pytest

from gexgen.errors import GexgenError
from gexgen.metrics.augmentation import augmentation_scores, fit_score


def _draw(rng, centres, n, scale=2.5):
    y = rng.integers(0, len(centres), n)
    return centres[y] + rng.normal(scale=scale, size=(n, centres.shape[1])), y.astype(str)


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 30))
    return {
        "train": _draw(rng, centres, 400),
        "test": _draw(rng, centres, 400),
        "good": _draw(rng, centres, 800),
        "rng": rng,
    }


def test_fit_score_is_balanced_accuracy_of_the_fitted_classifier():
    x = np.r_[np.zeros((30, 2)), np.ones((10, 2)) * 5]
    y = np.array(["a"] * 30 + ["b"] * 10)
    # predicting everything right: 1; the test set of one class only, all right: 1
    assert fit_score(x, y, x, y) == 1.0
    # a test set with the labels swapped: every prediction wrong, per-class recall 0
    assert fit_score(x, y, x, np.where(y == "a", "b", "a")) == 0.0


def test_faithful_synthetic_rows_help_and_wrong_labels_hurt(sets):
    (tr, ytr), (te, yte), (sy, ysy) = sets["train"], sets["test"], sets["good"]
    good = augmentation_scores(tr, ytr, te, yte, sy, ysy, ks=(5, 10), n_seeds=2)
    wrong = augmentation_scores(tr, ytr, te, yte, sy, sets["rng"].permutation(ysy), ks=(5, 10),
                                n_seeds=2)  # fmt: skip
    assert [c["k"] for c in good["curve"]] == [5, 10]
    assert good["mean_gain"] > 0.05 and wrong["mean_gain"] < -0.05
    first = good["curve"][0]
    assert first["gain"] == pytest.approx(first["augmented"] - first["real_only"])
    assert good["mean_gain"] == pytest.approx(np.mean([c["gain"] for c in good["curve"]]))
    assert good["reference"]["all_real_train"] == pytest.approx(fit_score(tr, ytr, te, yte))
    assert good["n_synthetic_used"] == 4 * 100 and good["n_test"] == 400
    again = augmentation_scores(tr, ytr, te, yte, sy, ysy, ks=(5, 10), n_seeds=2)
    assert again == good  # seeded


def test_k_equal_to_every_class_size_is_the_all_real_reference():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 10))
    tr, ytr = _draw(rng, centres, 300)
    keep = np.concatenate([np.flatnonzero(ytr == c)[:20] for c in np.unique(ytr)])
    tr, ytr = tr[keep], ytr[keep]
    te, yte = _draw(rng, centres, 200)
    sy, ysy = _draw(rng, centres, 200)
    out = augmentation_scores(tr, ytr, te, yte, sy, ysy, ks=(20, 50), n_seeds=1)
    assert out["curve"][0]["real_only"] == pytest.approx(out["reference"]["all_real_train"])
    assert out["skipped_k"][0]["k"] == 50 and "20" in out["skipped_k"][0]["reason"]


def test_classes_outside_train_test_or_synthetic_are_left_out(sets):
    (tr, ytr), (te, yte), (sy, ysy) = sets["train"], sets["test"], sets["good"]
    yte2 = yte.copy()
    yte2[:5] = "unseen"
    keep = ysy != "3"
    out = augmentation_scores(tr, ytr, te, yte2, sy[keep], ysy[keep], ks=(5,), n_seeds=1)
    assert out["classes"] == ["0", "1", "2"]
    assert out["test_classes_left_out"] == ["3", "unseen"]
    assert out["n_test"] == int(np.isin(yte2, ["0", "1", "2"]).sum())
    one = augmentation_scores(tr, ytr, te, yte, sy[ysy == "0"], ysy[ysy == "0"], ks=(5,))
    assert one["mean_gain"] is None and "fewer than 2 classes" in one["skipped"]
    with pytest.raises(GexgenError, match="labels"):
        augmentation_scores(tr, ytr[:-1], te, yte, sy, ysy)
