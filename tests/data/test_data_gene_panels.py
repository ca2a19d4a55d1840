"""``gexgen data rnaseqdb --genes l1000|all|top-variable:N`` against simple references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gexgen.data import cohort_split
from gexgen.data.rnaseqdb import build_rnaseqdb_cohort, parse_gene_panel, top_variable_genes
from gexgen.errors import GexgenError


def test_parse_gene_panel():
    assert parse_gene_panel("l1000") == ("l1000", None)
    assert parse_gene_panel("ALL") == ("all", None)
    assert parse_gene_panel("top-variable:3000") == ("top-variable", 3000)
    for bad in ("top-variable", "top-variable:x", "top-variable:2", "landmarks", ""):
        with pytest.raises(GexgenError, match="--genes must be one of"):
            parse_gene_panel(bad)


def test_top_variable_genes_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8)) * np.array([1, 5, 2, 0.1, 3, 3, 0.5, 4])
    got = top_variable_genes(x, 3)
    assert got.tolist() == sorted(np.argsort(-x.var(axis=0))[:3].tolist())


def test_l1000_without_the_panel_file_is_an_error(shared_data: Path):
    with pytest.raises(GexgenError, match="--genes l1000 needs the landmark file"):
        build_rnaseqdb_cohort(shared_data / "rnaseqdb", None, None, genes="l1000", progress=False)


@pytest.mark.slow
def test_all_and_top_variable_on_the_real_files(shared_data: Path):
    source = shared_data / "rnaseqdb"
    panel = shared_data / "l1000" / "landmark_genes.tsv"
    every, _ = build_rnaseqdb_cohort(source, panel, None, genes="all", progress=False)
    assert every.n_vars > 15_000  # every Entrez gene in all files, the panel ignored
    top, summary = build_rnaseqdb_cohort(
        source, None, None, genes="top-variable:40", progress=False
    )
    assert top.n_vars == 40
    assert (top.obs_names == every.obs_names).all()
    assert (top.obs["split"] == every.obs["split"]).all()  # the split does not depend on genes
    train_idx, _ = cohort_split(every)
    log_train = np.log2(np.asarray(every.X[train_idx], dtype=np.float64) + 1)
    expected = every.var_names[np.sort(np.argsort(-log_train.var(axis=0), kind="stable")[:40])]
    assert list(top.var_names) == list(expected)  # chosen on the train split only
    assert any("train split" in note for note in summary.notes)
