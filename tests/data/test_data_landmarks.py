"""Landmark files: the two L1000 formats in ../shared/data/l1000 and LINCS gene_info."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gexgen.data.landmarks import read_landmarks
from gexgen.errors import GexgenError


def _tsv_reference(path: Path) -> dict[int, str]:
    with open(path) as fh:
        return {int(r["Entrez ID"]): r["Symbol"] for r in csv.DictReader(fh, delimiter="\t")}


def test_landmark_tsv(shared_data):
    path = shared_data / "l1000" / "landmark_genes.tsv"
    lm = read_landmarks(path)
    assert dict(zip(lm["entrez_id"], lm["symbol"], strict=True)) == _tsv_reference(path)
    assert len(lm) == 978 and lm["entrez_id"].dtype == "int64"


def test_probes_csv_has_the_same_genes_with_older_symbols(shared_data):
    ref = _tsv_reference(shared_data / "l1000" / "landmark_genes.tsv")
    lm = read_landmarks(shared_data / "l1000" / "landmark_genes_probes.csv")
    assert set(lm["entrez_id"]) == set(ref)
    symbols = dict(zip(lm["entrez_id"], lm["symbol"], strict=True))
    assert symbols[976] == "CD97" and ref[976] == "ADGRE5"  # renamed since the probes file


def test_lincs_gene_info_keeps_only_landmarks(shared_data, tmp_path):
    ref = _tsv_reference(shared_data / "l1000" / "landmark_genes.tsv")
    path = tmp_path / "GSE92742_Broad_LINCS_gene_info.txt"
    rows = ["pr_gene_id\tpr_gene_symbol\tpr_gene_title\tpr_is_lm\tpr_is_bing"]
    rows += [f"{e}\t{s}\ttitle\t1\t1" for e, s in ref.items()]
    rows += ["999999\tNOTLM\ttitle\t0\t1", "999998\tNOTLM2\ttitle\t0\t0"]
    path.write_text("\n".join(rows) + "\n")
    lm = read_landmarks(path)
    assert dict(zip(lm["entrez_id"], lm["symbol"], strict=True)) == ref


def test_repeated_ids_keep_the_first_row(tmp_path):
    path = tmp_path / "lm.csv"
    path.write_text("Entrez ID,Symbol\n5,A\n7,B\n5,C\n")
    lm = read_landmarks(path)
    assert lm["entrez_id"].tolist() == [5, 7] and lm["symbol"].tolist() == ["A", "B"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Symbol\tName\nTP53\tx\n", "no recognizable Entrez ID column"),
        ("Entrez ID\tSymbol\nabc\tTP53\n", "non-integer IDs"),
        ("", "is empty"),
        ("Entrez ID\tSymbol\n", "no rows"),
    ],
)
def test_bad_landmark_files(tmp_path, content, message):
    path = tmp_path / "lm.tsv"
    path.write_text(content)
    with pytest.raises(GexgenError, match=message):
        read_landmarks(path)


def test_missing_landmark_file(tmp_path):
    with pytest.raises(GexgenError, match="not found"):
        read_landmarks(tmp_path / "nope.tsv")
