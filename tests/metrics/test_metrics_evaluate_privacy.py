"""The privacy section, PRDC at equal sizes and the value space in compute_metrics."""

from __future__ import annotations

import anndata
import numpy as np
import pandas as pd
import pytest
from toy_data import ToyModel, toy_labels, write_profiles_csv, write_profiles_h5ad, write_toy_cohort

from gexgen.data.preprocess import log2p1
from gexgen.errors import GexgenError
from gexgen.metrics import EvaluateConfig, compute_metrics, privacy_metrics
from gexgen.metrics._sources import load_profiles

PRIVACY = EvaluateConfig(metrics=("privacy",))


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy_privacy")
    model = ToyModel(seed=2)
    cohort = write_toy_cohort(root / "cohort.h5ad", n=400, model=model, seed=2)
    a = anndata.read_h5ad(cohort)
    is_train = (a.obs["split"] == "train").to_numpy()
    train_log = log2p1(np.asarray(a.X)[is_train])
    test_log = log2p1(np.asarray(a.X)[~is_train])
    train_labels = a.obs.loc[is_train, ["tissue", "status"]].reset_index(drop=True)
    rng = np.random.default_rng(9)
    fresh_labels = toy_labels(300, rng)
    fresh = model.log_values(fresh_labels, rng)
    return {
        "root": root,
        "model": model,
        "cohort": cohort,
        "train_log": train_log,
        "test_log": test_log,
        "copies": write_profiles_h5ad(root / "copies.h5ad", train_log, model.genes, train_labels),
        "fresh": write_profiles_h5ad(root / "fresh.h5ad", fresh, model.genes, fresh_labels),
        "fresh_values": fresh,
        "fresh_labels": fresh_labels,
    }


def test_copies_of_training_rows_are_flagged(toy):
    m = compute_metrics(toy["cohort"], toy["copies"], config=PRIVACY).metrics
    p = m["privacy"]
    assert p["mia_auc"] == 1.0 and p["closer_to_train_share"] == 1.0
    assert p["n_train"] == len(toy["train_log"]) and p["n_holdout"] == len(toy["test_log"])
    assert set(p["reference"]) == {"chance", "holdout_half", "gaussian"}
    assert abs(p["reference"]["gaussian"]["mia_auc"] - 0.5) < 0.12
    assert any(n.startswith("privacy: membership-inference AUC 1.000") for n in m["notes"])


def test_fresh_profiles_match_privacy_metrics_and_raise_no_flag(toy):
    m = compute_metrics(toy["cohort"], toy["fresh"], config=PRIVACY).metrics
    p = m["privacy"]
    direct = privacy_metrics(toy["train_log"], toy["test_log"], toy["fresh_values"], seed=0)
    for key in ("mia_auc", "closer_to_train_share", "dcr_median_ratio", "dcr_below_holdout_p5"):
        assert p[key] == pytest.approx(getattr(direct, key), abs=1e-5), key
    assert abs(p["mia_auc"] - 0.5) < 0.12
    assert not any(n.startswith("privacy:") for n in m["notes"])


def test_privacy_scores_a_seeded_subsample_of_synthetic_rows(toy):
    cfg = EvaluateConfig(metrics=("privacy",), max_samples=100)
    p = compute_metrics(toy["cohort"], toy["fresh"], config=cfg).metrics["privacy"]
    assert p["n_synthetic"] == 100 and p["n_synthetic_total"] == 300 and p["subsampled"]
    assert p["reference"]["gaussian"]["n_synthetic"] == 100


def test_privacy_without_a_split_is_skipped(toy):
    p = compute_metrics(toy["fresh"], toy["copies"], config=PRIVACY).metrics["privacy"]
    assert "split" in p["skipped"]


def test_prdc_is_reported_at_equal_sizes(toy):
    cfg = EvaluateConfig(metrics=("prdc",), prdc_draws=3)
    p = compute_metrics(toy["cohort"], toy["fresh"], config=cfg).metrics["prdc"]
    n_test = len(toy["test_log"])
    assert p["n_real"] == p["n_synthetic"] == n_test and p["n_draws"] == 3
    assert p["unequal_sizes"]["n_synthetic"] == 300
    assert set(p["sd"]) == {"precision", "recall", "density", "coverage"}
    assert p["sd"]["recall"] > 0  # three different synthetic draws
    assert 0.5 < p["recall"] <= 1.0


# -- the value space is read or stated, never guessed ---------------------------------------


def _scanpy_like(path, values, genes, labels, base):
    """An .h5ad as scanpy leaves it after sc.pp.log1p (uns['log1p'] = {'base': base})."""
    obs = labels.reset_index(drop=True).astype("category")
    obs.index = obs.index.astype(str)
    adata = anndata.AnnData(X=values.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes))
    adata.uns["log1p"] = {"base": base}  # scanpy's default base=None: natural log
    adata.write_h5ad(path)
    return path


def test_scanpy_log1p_files_are_read_in_their_base(toy):
    log2 = toy["fresh_values"].astype(np.float64)
    expression = np.exp2(log2) - 1.0
    genes, labels, root = toy["model"].genes, toy["fresh_labels"], toy["root"]
    ln = _scanpy_like(root / "ln.h5ad", np.log1p(expression), genes, labels, None)
    two = _scanpy_like(root / "two.h5ad", log2, genes, labels, 2)
    ten = _scanpy_like(root / "ten.h5ad", np.log10(expression + 1), genes, labels, 10)
    assert load_profiles(ln, "x").space == "ln1p"
    np.testing.assert_allclose(load_profiles(ln, "x").read_log(), log2, rtol=1e-5, atol=1e-5)
    assert load_profiles(two, "x").space == "log2"
    with pytest.raises(GexgenError, match="base 10"):
        load_profiles(ten, "x")
    gamma = EvaluateConfig(metrics=("gamma",))
    a = compute_metrics(toy["cohort"], toy["fresh"], config=gamma).metrics["gamma"]["gamma"]
    b = compute_metrics(toy["cohort"], ln, config=gamma).metrics["gamma"]["gamma"]
    assert b == pytest.approx(a, abs=1e-5)


def test_a_file_without_a_recorded_space_needs_one_stated(toy):
    root = toy["root"]
    csv = write_profiles_csv(
        root / "plain.csv", toy["fresh_values"], toy["model"].genes, toy["fresh_labels"]
    )
    with pytest.raises(GexgenError, match="records no value space.*--space"):
        load_profiles(csv, "real")
    assert load_profiles(csv, "real", space="expression").space == "expression"
    with pytest.raises(GexgenError, match="one of expression, log2, ln1p"):
        load_profiles(csv, "real", space="log10")


def test_log1p_on_top_of_log2_is_refused(toy):
    path = toy["root"] / "twice.h5ad"
    write_profiles_h5ad(path, toy["fresh_values"], toy["model"].genes, toy["fresh_labels"])
    a = anndata.read_h5ad(path)
    a.uns["log1p"] = {"base": 2}  # what gexgen's own log2 files carry: the two records agree
    a.write_h5ad(path)
    assert load_profiles(path, "x").space == "log2"
    a.uns["log1p"] = {"base": None}  # sc.pp.log1p (natural log) on top of log2 values
    a.write_h5ad(path)
    with pytest.raises(GexgenError, match="twice"):
        load_profiles(path, "x")
    assert load_profiles(path, "x", space="log2").space == "log2"


def test_summary_lines_show_privacy_beside_its_references(toy):
    from gexgen.metrics.summary import summary_lines

    m = compute_metrics(
        toy["cohort"], toy["copies"], config=EvaluateConfig(metrics=("privacy", "prdc"))
    ).metrics
    lines = summary_lines(m)
    mia = next(line for line in lines if line.startswith("privacy: membership-inference AUC"))
    assert "AUC 1.0000" in mia and "Gaussian 0." in mia and "held-out real 0." in mia
    assert any("closer to train 1.0000 (chance 0." in line for line in lines)
    assert any("mean of 5 draws" in line for line in lines)
