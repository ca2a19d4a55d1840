"""Stratified, seeded train/test split and the cohort file around it."""

from __future__ import annotations

import anndata
import numpy as np
import pandas as pd
import pytest

from gexgen.data import (
    assemble_cohort,
    cohort_split,
    combination_keys,
    is_log_scaled,
    label_columns,
    read_cohort,
    stratified_split,
    write_cohort,
)
from gexgen.errors import GexgenError


@pytest.fixture
def labels() -> pd.DataFrame:
    tissue = ["a"] * 30 + ["b"] * 20 + ["c"] * 7
    status = (["normal", "tumor"] * 15) + ["normal"] * 20 + ["tumor"] * 7
    return pd.DataFrame({"tissue": tissue, "status": status})


def test_each_combination_is_split_in_proportion(labels):
    is_test = stratified_split(labels, ["tissue", "status"], test_fraction=0.3, seed=0)
    keys = labels["tissue"] + "|" + labels["status"]
    for key, n in keys.value_counts().items():
        got = int(is_test[(keys == key).to_numpy()].sum())
        assert got == min(max(round(n * 0.3), 1), n - 1), key


def test_seeded_and_deterministic(labels):
    a = stratified_split(labels, ["tissue", "status"], seed=3)
    b = stratified_split(labels, ["tissue", "status"], seed=3)
    c = stratified_split(labels, ["tissue", "status"], seed=4)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any() and a.sum() == c.sum()


def test_too_small_combination_is_named(labels):
    labels.loc[0, "tissue"] = "lonely"
    with pytest.raises(GexgenError, match=r"lonely\|normal \(1\)"):
        stratified_split(labels, ["tissue", "status"])


def test_missing_column_and_bad_fraction(labels):
    with pytest.raises(GexgenError, match="not found"):
        combination_keys(labels, ["sex"])
    with pytest.raises(GexgenError, match="test_fraction"):
        stratified_split(labels, ["tissue"], test_fraction=1.0)


def _small_cohort(labels: pd.DataFrame, **kwargs) -> anndata.AnnData:
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 10.0, size=(len(labels), 4))
    obs = labels.set_axis([f"s{i}" for i in range(len(labels))])
    var = pd.DataFrame({"symbol": list("ABCD"), "entrez_id": [1, 2, 3, None]}, index=list("ABCD"))
    return assemble_cohort(x, obs, var, stratify=["tissue", "status"], **kwargs)


def test_cohort_round_trip_records_the_split(labels, tmp_path):
    adata = _small_cohort(labels, seed=5)
    path = write_cohort(adata, tmp_path / "c.h5ad")
    back = read_cohort(path, require=["tissue"])
    train, test = cohort_split(back)
    expected = stratified_split(labels, ["tissue", "status"], seed=5)
    np.testing.assert_array_equal(np.flatnonzero(expected), test)
    assert len(train) + len(test) == len(labels)
    assert label_columns(back) == ["tissue", "status"] and not is_log_scaled(back)
    assert back.X.dtype == np.float32 and back.var["entrez_id"].isna().tolist() == [0, 0, 0, 1]
    assert [p.name for p in tmp_path.iterdir()] == ["c.h5ad"]


def test_write_failure_leaves_nothing(labels, tmp_path):
    adata = _small_cohort(labels)
    adata.uns["bad"] = object()  # h5ad cannot store it
    with pytest.raises(Exception):  # noqa: B017 - any writer error
        write_cohort(adata, tmp_path / "c.h5ad")
    assert list(tmp_path.iterdir()) == []


def test_read_cohort_errors(labels, tmp_path):
    with pytest.raises(GexgenError, match="not found"):
        read_cohort(tmp_path / "nope.h5ad")
    (tmp_path / "junk.h5ad").write_text("junk")
    with pytest.raises(GexgenError, match="cannot read"):
        read_cohort(tmp_path / "junk.h5ad")
    path = write_cohort(_small_cohort(labels), tmp_path / "c.h5ad")
    with pytest.raises(GexgenError, match="sex"):
        read_cohort(path, require=["sex"])


def test_assemble_rejects_negatives_unless_log_scaled(labels):
    var = pd.DataFrame({"symbol": ["A"], "entrez_id": [1]}, index=["A"])
    x = -np.ones((len(labels), 1))
    with pytest.raises(GexgenError, match="--log-scaled"):
        assemble_cohort(x, labels, var, stratify=["tissue"])
    adata = assemble_cohort(x, labels, var, stratify=["tissue"], log_scaled=True)
    assert is_log_scaled(adata)
