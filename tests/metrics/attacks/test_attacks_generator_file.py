"""The attack on the generator file: nearest generated profile per row, members vs held-out."""

from __future__ import annotations

import sys
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest

from gexgen.data.preprocess import log2p1
from gexgen.errors import GexgenError
from gexgen.metrics.attacks.generator_file import generator_file_attack, nearest_generated
from gexgen.metrics.attacks.runner import attack_draws

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "metrics"))
from toy_data import ToyModel, write_toy_cohort, write_toy_generator  # noqa: E402

generator_file = sys.modules["gexgen.metrics.attacks.generator_file"]


def _fake_draws(n, conditions, seed):
    """Deterministic 'generator': profiles around a per-tissue centre, seeded."""
    rng = np.random.default_rng(seed)
    centre = {"a": 0.0, "b": 3.0}[conditions["tissue"]]
    return {"decoder_mean": centre + rng.normal(size=(n, 4)), "sampled": rng.normal(size=(n, 4))}


def test_nearest_generated_matches_brute_force():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(20, 4)) + 1.0
    labels = pd.DataFrame({"tissue": np.array(["a", "b"])[rng.integers(0, 2, 20)]})
    got = nearest_generated(_fake_draws, rows, labels, ["tissue"], lambda m: m, 50, seed=3)
    combos = sorted(set(labels["tissue"]))
    for i, (row, tissue) in enumerate(zip(rows, labels["tissue"], strict=True)):
        c = combos.index(tissue)
        s = int(np.random.default_rng([3, 808, c]).integers(2**31 - 1))
        drawn = _fake_draws(50, {"tissue": tissue}, s)
        for mode, values in drawn.items():
            assert got[mode][i] == pytest.approx(np.sqrt(((values - row) ** 2).sum(1)).min())


def test_a_generator_that_reproduces_its_training_rows_scores_one():
    rng = np.random.default_rng(1)
    train, holdout = rng.normal(size=(60, 5)), rng.normal(size=(40, 5))
    # nearest generated distance: 0 for every training row (copies), > 0 for held-out ones
    d = np.r_[np.zeros(60), rng.uniform(0.5, 2.0, 40)]
    draws = attack_draws(60, 40, seed=0, n_draws=3)
    out = generator_file._figures({"decoder_mean": d}, train, holdout, 60, draws)
    assert out["decoder_mean"]["auc"] == 1.0 and out["decoder_mean"]["tpr_at_1pct_fpr"] == 1.0
    assert out["decoder_mean_calibrated"]["auc"] > 0.9


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("file_attack")
    model = ToyModel(seed=4)
    cohort = write_toy_cohort(root / "cohort.h5ad", n=400, model=model, seed=4)
    a = anndata.read_h5ad(cohort)
    is_train = (a.obs["split"] == "train").to_numpy()
    x = log2p1(np.asarray(a.X))
    obs = a.obs[["tissue", "status"]].astype(str).reset_index(drop=True)
    return {
        "onnx": write_toy_generator(root / "good.onnx", model, good=True),
        "genes": list(model.genes),
        "train": (x[is_train], obs[is_train].reset_index(drop=True)),
        "holdout": (x[~is_train], obs[~is_train].reset_index(drop=True)),
    }


def test_the_true_distribution_as_a_generator_scores_near_chance(toy):
    (tr, tl), (ho, hl) = toy["train"], toy["holdout"]
    out = generator_file_attack(
        toy["onnx"], tr, tl, ho, hl, seed=0, n_draws=3, draws_per_combination=500
    )
    assert set(out["modes"]) == {"decoder_mean", "sampled", "decoder_mean_calibrated"}
    assert abs(out["modes"]["decoder_mean"]["auc"] - 0.5) < 0.15
    assert out["auc"] == max(m["auc"] for m in out["modes"].values())
    assert 0 <= out["tpr_at_1pct_fpr"] <= out["tpr_at_10pct_fpr"] <= 1
    gauss = out["reference"]["gaussian"]
    assert 0.0 <= gauss["auc"] <= 1.0 and gauss["mode"] in gauss["modes"]
    assert out["draws_per_combination"] == 500 and out["n_per_group"] == len(ho) // 2
    # the gene order is read from the file: reversed columns with their names give the same
    flipped = generator_file_attack(
        toy["onnx"], tr[:, ::-1], tl, ho[:, ::-1], hl, genes=toy["genes"][::-1],
        seed=0, n_draws=3, draws_per_combination=500,
    )  # fmt: skip
    assert flipped["modes"]["decoder_mean"] == pytest.approx(out["modes"]["decoder_mean"])


def test_missing_genes_and_labels_are_refused(toy):
    (tr, tl), (ho, hl) = toy["train"], toy["holdout"]
    with pytest.raises(GexgenError, match="lack 1 generator gene"):
        generator_file_attack(toy["onnx"], tr[:, 1:], tl, ho[:, 1:], hl, genes=toy["genes"][1:])
    with pytest.raises(GexgenError, match="conditions on"):
        generator_file_attack(toy["onnx"], tr, tl[["tissue"]], ho, hl)
