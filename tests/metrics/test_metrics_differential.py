"""Contrasts, fold changes, Welch t and top-50 recall against plain numpy / scipy."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gexgen.errors import GexgenError
from gexgen.metrics.differential import de_scores, find_contrasts, fold_changes, top_recall
from gexgen.metrics.gene_moments import GroupMoments


def _keys(labels):
    return (labels["tissue"].astype(str) + "|" + labels["status"].astype(str)).to_numpy()


def _cohort(rng, n, genes, effect):
    """tissue x status groups; status shifts genes by ``effect`` (per tissue sign flips)."""
    labels = pd.DataFrame(
        {
            "tissue": rng.choice(["kidney", "liver", "lung"], size=n),
            "status": rng.choice(["normal", "tumor"], size=n),
        }
    )
    labels.loc[labels["tissue"] == "lung", "status"] = "normal"  # lung has no tumors
    tissue = labels["tissue"].map({"kidney": 0, "liver": 1, "lung": 2}).to_numpy()
    tumor = (labels["status"] == "tumor").to_numpy()
    base = rng.normal(5, 1, size=(3, genes))
    x = base[tissue] + tumor[:, None] * effect[tissue] + rng.normal(size=(n, genes))
    return x, labels


def _naive_contrasts(labels, columns, min_samples):
    """Every pair of present combinations that differ in exactly one column."""
    counts = labels.groupby(columns, observed=True).size()
    combos = [c for c, n in counts.items() if n >= min_samples]
    found = set()
    for a, b in itertools.combinations(combos, 2):
        differ = [i for i in range(len(columns)) if a[i] != b[i]]
        if len(differ) == 1:
            lo, hi = sorted([a, b], key=lambda c: c[differ[0]])
            found.add(
                (columns[differ[0]], lo[differ[0]], hi[differ[0]], "|".join(lo), "|".join(hi))
            )
    return found


def test_contrasts_are_the_one_label_differences_with_enough_rows():
    rng = np.random.default_rng(0)
    _, labels = _cohort(rng, 200, 5, np.zeros((3, 5)))
    cols = ["tissue", "status"]
    got = find_contrasts(labels, cols, _keys(labels), min_samples=3)
    assert {(c.label, c.a, c.b, c.key_a, c.key_b) for c in got} == _naive_contrasts(labels, cols, 3)
    names = {c.name for c in got}
    assert "status: tumor vs normal (tissue=kidney)" in names
    assert not any("tissue=lung" in n for n in names)  # lung has normals only
    # a group below min_samples drops its contrasts
    few = labels[~((labels["tissue"] == "liver") & (labels["status"] == "tumor"))].copy()
    few = pd.concat(
        [few, labels[(labels["tissue"] == "liver") & (labels["status"] == "tumor")][:2]]
    )
    few_names = {c.name for c in find_contrasts(few, cols, _keys(few), min_samples=3)}
    assert "status: tumor vs normal (tissue=liver)" not in few_names


def test_single_label_gives_plain_pairs():
    labels = pd.DataFrame({"tissue": ["a"] * 3 + ["b"] * 3 + ["c"] * 3})
    got = find_contrasts(labels, ["tissue"], labels["tissue"].to_numpy())
    assert [(c.a, c.b, c.within) for c in got] == [("a", "b", ()), ("a", "c", ()), ("b", "c", ())]


def test_fold_changes_and_welch_t_match_scipy():
    rng = np.random.default_rng(1)
    effect = rng.normal(size=(3, 12))
    x, labels = _cohort(rng, 400, 12, effect)
    keys = _keys(labels)
    moments = GroupMoments(12).update(x, keys)
    contrast = next(
        c
        for c in find_contrasts(labels, ["tissue", "status"], keys)
        if c.name == "status: tumor vs normal (tissue=kidney)"
    )
    lfc, t = fold_changes(moments, contrast)
    a, b = x[keys == "kidney|normal"], x[keys == "kidney|tumor"]
    np.testing.assert_allclose(lfc, b.mean(0) - a.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(t, stats.ttest_ind(b, a, equal_var=False).statistic, rtol=1e-8)


def test_top_recall_is_the_overlap_of_top_lists():
    rng = np.random.default_rng(2)
    t1, t2 = rng.normal(size=200), rng.normal(size=200)
    naive = len(set(np.argsort(-np.abs(t1))[:50]) & set(np.argsort(-np.abs(t2))[:50])) / 50
    assert top_recall(t1, t2, 50) == pytest.approx(naive)
    assert top_recall(t1, -t1, 50) == 1.0


def test_de_scores_reward_kept_biology_and_give_a_reference():
    rng = np.random.default_rng(3)
    genes = 200
    effect = rng.normal(scale=2.0, size=(3, genes))
    real, real_labels = _cohort(rng, 600, genes, effect)
    good, good_labels = _cohort(rng, 2000, genes, effect)
    bad, bad_labels = _cohort(rng, 2000, genes, rng.permutation(effect.T).T)  # genes shuffled
    train, train_labels = _cohort(rng, 1200, genes, effect)
    keys = _keys(real_labels)
    contrasts = find_contrasts(real_labels, ["tissue", "status"], keys)

    def moments(x, labels):
        return GroupMoments(genes).update(x, _keys(labels))

    r = moments(real, real_labels)
    out_good = de_scores(r, moments(good, good_labels), contrasts, moments(train, train_labels))
    out_bad = de_scores(r, moments(bad, bad_labels), contrasts)
    status_good = out_good["by_label"]["status"]
    assert status_good["n_contrasts"] == 2  # kidney and liver
    assert status_good["lfc_r"] > 0.9 > 0.3 > out_bad["by_label"]["status"]["lfc_r"]
    assert status_good["top50_recall"] > 0.5 > out_bad["by_label"]["status"]["top50_recall"]
    ref = out_good["reference"]
    assert ref["by_label"]["status"]["lfc_r"] > 0.9 and ref["n_contrasts"] == len(contrasts)
    assert out_good["top_n"] == 50
    # each contrast's figure is the direct computation
    c = out_good["contrasts"][0]
    contrast = contrasts[0]
    direct = np.corrcoef(
        fold_changes(r, contrast)[0], fold_changes(moments(good, good_labels), contrast)[0]
    )[0, 1]
    assert c["lfc_r"] == pytest.approx(direct, rel=1e-9)
    assert out_good["lfc_r"] == pytest.approx(
        np.median([e["lfc_r"] for e in out_good["contrasts"]])
    )


def test_missing_synthetic_groups_are_skipped_and_no_contrast_is_explained():
    rng = np.random.default_rng(4)
    real, labels = _cohort(rng, 300, 10, np.ones((3, 10)))
    keys = _keys(labels)
    contrasts = find_contrasts(labels, ["tissue", "status"], keys)
    only_normal = labels["status"] == "normal"
    synth = GroupMoments(10).update(real[only_normal], keys[only_normal])
    out = de_scores(GroupMoments(10).update(real, keys), synth, contrasts)
    assert all(c["lfc_r"] is None for c in out["contrasts"] if c["label"] == "status")
    assert "skipped" in out["contrasts"][-1]
    empty = de_scores(GroupMoments(10).update(real, keys), synth, [])
    assert empty["lfc_r"] is None and "no label value pair" in empty["skipped"]
    with pytest.raises(GexgenError, match="genes"):
        de_scores(GroupMoments(10).update(real, keys), GroupMoments(3).update(real[:, :3]), [])
