"""The real RNAseqDB L1000 cohort, checked against a plain independent parse of the raw files."""

from __future__ import annotations

import csv
import gzip
import os
from collections import Counter
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest

from gexgen.data import cohort_split, label_columns, read_cohort
from gexgen.data.rnaseqdb import build_rnaseqdb_cohort


def _tcga_tissues(conf: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in conf.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        out.setdefault(fields[3], []).append(fields[1])
    return out


@pytest.fixture(scope="module")
def reference(shared_data: Path) -> dict:
    """Sample counts per (tissue, status), Entrez IDs per file, header per file: by hand."""
    root = shared_data / "rnaseqdb"
    tcga = _tcga_tissues(root / "configuration" / "tissue-conf.txt")
    counts: Counter = Counter()
    ids_per_file, headers = [], {}
    for path in sorted((root / "data" / "normalized").glob("*.txt.gz")):
        project, kind = path.name.split("-rsem-fpkm-")
        kind = kind.removesuffix(".txt.gz")
        with gzip.open(path, "rt") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            ids_per_file.append({int(line.split("\t", 2)[1]) for line in fh})
        headers[path.name] = header
        if kind == "gtex":
            tissue = project
        else:
            names = tcga[project]
            tissue = names[0] if len(set(names)) == 1 else os.path.commonprefix(names).rstrip("_")
        counts[(tissue, "tumor" if kind == "tcga-t" else "normal")] += len(header) - 2
    with open(shared_data / "l1000" / "landmark_genes.tsv") as fh:
        landmark_ids = {int(row["Entrez ID"]) for row in csv.DictReader(fh, delimiter="\t")}
    in_all = set.intersection(*ids_per_file)
    return {
        "counts": counts,
        "genes": landmark_ids & in_all,
        "missing": landmark_ids - in_all,
        "headers": headers,
        "root": root,
    }


@pytest.fixture(scope="module")
def cohort(real_cohort_path: Path) -> anndata.AnnData:
    return read_cohort(real_cohort_path, require=["tissue", "status"])


def test_counts_match_the_raw_files(cohort, reference):
    assert cohort.n_obs == 1078 == sum(reference["counts"].values())
    assert cohort.n_vars == 975 == len(reference["genes"])
    assert set(cohort.var["entrez_id"].astype(int)) == reference["genes"]
    assert len(reference["missing"]) == 3
    got = Counter(
        zip(cohort.obs["tissue"].astype(str), cohort.obs["status"].astype(str), strict=True)
    )
    assert got == reference["counts"]
    assert cohort.X.dtype == np.float32


def test_labels(cohort, reference):
    obs = cohort.obs
    assert list(obs.index) == list(obs["barcode"])  # no barcode is repeated upstream
    assert obs.index.is_unique
    expected_ids = [b for h in reference["headers"].values() for b in h[2:]]
    assert sorted(obs.index) == sorted(expected_ids)
    gtex = obs["source"] == "GTEx"
    assert obs.index[gtex].str.startswith("GTEX-").all()
    assert obs.index[~gtex].str.startswith("TCGA-").all()
    assert set(obs.loc[obs["project"] == "esca", "tissue"]) == {"esophagus"}
    assert set(obs.loc[obs["project"] == "kich", "tissue"]) == {"kidney"}
    assert set(obs.loc[obs["status"] == "tumor", "project"]) == {"chol", "kich", "read", "ucs"}
    assert label_columns(cohort) == ["tissue", "status", "source", "project"]
    assert not cohort.uns["gexgen"]["log_scaled"]


def test_values_match_the_raw_files(cohort, reference):
    rng = np.random.default_rng(1)
    var_of = {int(e): i for i, e in enumerate(cohort.var["entrez_id"])}
    row_of = {b: i for i, b in enumerate(cohort.obs_names)}
    for name in rng.choice(sorted(reference["headers"]), size=4, replace=False):
        header = reference["headers"][name]
        cols = rng.choice(np.arange(2, len(header)), size=min(3, len(header) - 2), replace=False)
        with gzip.open(reference["root"] / "data" / "normalized" / name, "rt") as fh:
            rows = [line.rstrip("\n").split("\t") for line in fh][1:]
        for row in rows:
            entrez = int(row[1])
            if entrez not in var_of or entrez in (3303, 375346):  # duplicated IDs: below
                continue
            for c in cols:
                got = cohort.X[row_of[header[c]], var_of[entrez]]
                assert got == np.float32(float(row[c])), (name, row[0], header[c])
        # Entrez 3303 has rows HSPA1A and HSPA1B: the landmark symbol HSPA1A is kept
        hspa1a = next(r for r in rows if r[0] == "HSPA1A")
        got = cohort.X[row_of[header[cols[0]]], var_of[3303]]
        assert got == np.float32(float(hspa1a[cols[0]]))


def test_split_is_stratified_on_tissue_x_status(cohort):
    train, test = cohort_split(cohort)
    assert len(train) + len(test) == cohort.n_obs and not set(train) & set(test)
    keys = cohort.obs["tissue"].astype(str) + "|" + cohort.obs["status"].astype(str)
    is_test = np.zeros(cohort.n_obs, bool)
    is_test[test] = True
    for key, n in keys.value_counts().items():
        n_test = int(is_test[(keys == key).to_numpy()].sum())
        assert n_test == int(np.clip(round(n * 0.3), 1, n - 1)), key
    assert list(cohort.uns["gexgen"]["split"]["stratify"]) == ["tissue", "status"]


def test_rebuild_is_deterministic_and_out_none_writes_nothing(
    shared_data, cohort, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    adata, summary = build_rnaseqdb_cohort(
        shared_data / "rnaseqdb", shared_data / "l1000" / "landmark_genes.tsv", progress=False
    )
    assert list(tmp_path.iterdir()) == []
    np.testing.assert_array_equal(adata.X, cohort.X)
    assert (adata.obs["split"].astype(str) == cohort.obs["split"].astype(str)).all()
    assert summary.n_samples == 1078 and summary.n_genes == 975
    assert {e for e, _ in summary.genes_missing} == {808, 23338, 50810}
    assert summary.counts.to_numpy().sum() == 1078
    text = summary.format()
    assert "975 of 978" in text and "JADE2 (23338)" in text
    assert "TCGA tumor: chol, kich, read, ucs" in text
    assert len(summary.files_used) == 27
    table = pd.crosstab(adata.obs["tissue"], adata.obs["status"])
    assert (summary.counts.to_numpy() == table.to_numpy()).all()


def test_other_seed_changes_the_split_only(shared_data, cohort):
    adata, _ = build_rnaseqdb_cohort(
        shared_data / "rnaseqdb",
        shared_data / "l1000" / "landmark_genes.tsv",
        seed=1,
        test_fraction=0.5,
        progress=False,
    )
    np.testing.assert_array_equal(adata.X, cohort.X)
    assert (adata.obs["split"] != cohort.obs["split"]).any()
    assert abs((adata.obs["split"] == "test").mean() - 0.5) < 0.02
