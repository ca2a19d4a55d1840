"""RNAseqDB naming, tissue table and gene/sample rules, on small synthetic sources."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gexgen.data.rnaseqdb import build_rnaseqdb_cohort
from gexgen.data.rnaseqdb_layout import (
    candidate_files,
    parse_file_name,
    project_tissues,
    read_matrix_file,
    read_tissue_conf,
)
from gexgen.errors import GexgenError

CONF = """#Cluster\tGTEx_Tissue\tGTEx_Batch\tTCGA_Tissue\tTCGA_Batch\tTissue_Type
9\tkidney\t1\tkirc\t2
9\tkidney\t1\tkich\t2
12\tesophagus_gas\t1\tesca\t2
12\tesophagus_muc\t1\tesca\t2
"""


def _write_matrix(path: Path, rows: list[tuple[str, int]], barcodes: list[str], seed: int) -> None:
    values = np.random.default_rng(seed).gamma(2.0, 5.0, size=(len(rows), len(barcodes)))
    lines = ["\t".join(["Hugo_Symbol", "Entrez_Gene_Id", *barcodes])]
    for (sym, e), v in zip(rows, values, strict=True):
        lines.append("\t".join([sym, str(e), *(f"{x:.2f}" for x in v)]))
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


GENES = [("G1", 1), ("G2", 2), ("HSPA1B", 3303), ("HSPA1A", 3303), ("AL1", 0), ("G4", 4)]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "rnaseqdb"
    (root / "configuration").mkdir(parents=True)
    (root / "configuration" / "tissue-conf.txt").write_text(CONF)
    data = root / "data" / "normalized"
    data.mkdir(parents=True)
    _write_matrix(data / "kidney-rsem-fpkm-gtex.txt.gz", GENES, [f"GTEX-{i}" for i in range(6)], 0)
    _write_matrix(data / "kirc-rsem-fpkm-tcga.txt.gz", GENES, [f"TCGA-{i}" for i in range(4)], 1)
    # the same barcode twice: the obs index must become unique
    _write_matrix(data / "kirc-rsem-fpkm-tcga-t.txt.gz", GENES[1:], ["TCGA-0", "T-1", "T-2"], 2)
    _write_matrix(data / "esca-rsem-fpkm-tcga.txt.gz", GENES, ["E-1", "E-2", "E-3"], 3)
    (data / "README.txt").write_text("not a matrix")
    return root


def test_parse_file_name():
    f = parse_file_name("kich-rsem-fpkm-tcga-t.txt.gz")
    assert (f.project, f.source, f.status) == ("kich", "TCGA", "tumor")
    f = parse_file_name("esophagus_gas-rsem-fpkm-gtex.txt.gz")
    assert (f.project, f.source, f.status) == ("esophagus_gas", "GTEx", "normal")
    assert parse_file_name("kich-rsem-count-tcga.txt.gz") is None


def test_tissue_table(source):
    conf = read_tissue_conf(source / "configuration" / "tissue-conf.txt")
    assert project_tissues(conf) == {"kirc": "kidney", "kich": "kidney", "esca": "esophagus"}
    names = candidate_files(conf)
    assert len(names) == 3 + 2 * 3 and len(set(names)) == len(names)
    assert "esca-rsem-fpkm-tcga-t.txt.gz" in names and "kidney-rsem-fpkm-gtex.txt.gz" in names


def test_read_matrix_file_filters_rows(source):
    path = source / "data" / "normalized" / "kidney-rsem-fpkm-gtex.txt.gz"
    m = read_matrix_file(path, {2, 3303})
    assert sorted(m.entrez.tolist()) == [2, 3303, 3303] and m.values.shape == (3, 6)
    m = read_matrix_file(path, None)
    assert 0 not in m.entrez and m.n_entrez_zero == 1
    ref = pd.read_csv(path, sep="\t")
    np.testing.assert_array_equal(m.values, ref[ref.Entrez_Gene_Id != 0].iloc[:, 2:].to_numpy())


def test_build_rules(source, tmp_path):
    lm = tmp_path / "lm.tsv"
    lm.write_text("Entrez ID\tSymbol\n3303\tHSPA1A\n2\tG2new\n99\tABSENT\n1\tG1\n")
    adata, summary = build_rnaseqdb_cohort(source, lm, tmp_path / "c.h5ad", progress=False)
    # gene 1 is missing from the tumor file: dropped; landmark order kept; landmark symbols
    assert adata.var_names.tolist() == ["HSPA1A", "G2new"]
    assert adata.var["source_symbol"].tolist() == ["HSPA1A", "G2"]
    assert summary.genes_missing == [(99, "ABSENT"), (1, "G1")]
    raw = pd.read_csv(source / "data" / "normalized" / "kirc-rsem-fpkm-tcga.txt.gz", sep="\t")
    row = raw[raw.Hugo_Symbol == "HSPA1A"].iloc[0]
    np.testing.assert_allclose(adata["TCGA-1"].X[0, 0], row["TCGA-1"], rtol=1e-6)
    obs = adata.obs
    assert obs.index.is_unique and obs.index.tolist().count("TCGA-0") == 1
    twice = obs[obs["barcode"] == "TCGA-0"]
    assert sorted(twice.index) == ["TCGA-0", "TCGA-0-1"]
    assert sorted(twice["status"]) == ["normal", "tumor"]
    assert set(obs.loc[obs["project"] == "esca", "tissue"]) == {"esophagus"}
    assert obs.groupby(["tissue", "status"], observed=True).size().to_dict() == {
        ("esophagus", "normal"): 3,
        ("kidney", "normal"): 10,
        ("kidney", "tumor"): 3,
    }
    text = summary.format()
    assert "kept HSPA1A (landmark symbol)" in text and "suffix" in text
    assert len(summary.files_absent) == 9 - 4


def test_build_without_landmarks(source):
    adata, summary = build_rnaseqdb_cohort(source, progress=False)
    # genes in every file, by Entrez ID, Entrez 0 dropped; no landmark symbol: sorted first
    assert adata.var["entrez_id"].tolist() == [2, 4, 3303]
    assert adata.var_names.tolist() == ["G2", "G4", "HSPA1A"]
    assert any("Entrez ID 0" in n for n in summary.notes)


def _corrupt(path: Path, how: str) -> None:
    if how == "gzip":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return
    with gzip.open(path, "rt") as fh:
        lines = [line.split("\t") for line in fh.read().splitlines()]
    g2 = next(row for row in lines if row[0] == "G2")
    g2[2] = "NaN" if how == "nan" else "-1.5"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join("\t".join(row) for row in lines) + "\n")


@pytest.mark.parametrize(
    ("how", "message"),
    [("gzip", "cannot read"), ("nan", "NaN or infinite"), ("neg", "negative values")],
)
def test_bad_source_files_write_nothing(source, tmp_path, how, message):
    path = source / "data" / "normalized" / "kirc-rsem-fpkm-tcga.txt.gz"
    _corrupt(path, how)
    out = tmp_path / "out" / "c.h5ad"
    with pytest.raises(GexgenError, match=message):
        build_rnaseqdb_cohort(source, out=out, progress=False)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_bad_layouts(source, tmp_path):
    with pytest.raises(GexgenError, match="not a folder"):
        build_rnaseqdb_cohort(tmp_path / "nope", progress=False)
    with pytest.raises(GexgenError, match=r"\.h5ad"):
        build_rnaseqdb_cohort(source, out=tmp_path / "c.csv", progress=False)
    (source / "configuration" / "tissue-conf.txt").unlink()
    with pytest.raises(GexgenError, match="tissue-conf.txt"):
        build_rnaseqdb_cohort(source, progress=False)
