"""Every written .h5ad carries the fields scanpy and anndata read; parquet the same provenance."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gexgen.runtime import GeneratorSession, write_profiles
from gexgen.runtime.anndata_conventions import (
    anndata_uns,
    obs_names,
    profiles_anndata,
    units_of,
    var_frame,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tiny_generator import write_generator  # noqa: E402


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    path = write_generator(
        tmp_path_factory.mktemp("g") / "g.onnx", seed=2, metadata_overrides={"units": "FPKM"}
    ).path
    with GeneratorSession(path, providers="cpu", threads=1) as session:
        yield session


@pytest.mark.parametrize("space", ["log2", "expression"])
def test_h5ad_fields_scanpy_reads(gen, tmp_path, space):
    out = write_profiles(gen, tmp_path / "s.h5ad", 1500, seed=9, space=space, progress=False)
    adata = anndata.read_h5ad(out)
    # scanpy's log1p / rank_genes_groups read uns["log1p"]["base"]; absent = natural log
    if space == "log2":
        assert dict(adata.uns["log1p"]) == {"base": 2}
    else:
        assert "log1p" not in adata.uns
    assert adata.obs_names.is_unique
    assert adata.obs_names[0] == "syn-9-0" and adata.obs_names[-1] == "syn-9-1499"
    meta = adata.uns["gexgen"]
    assert meta["synthetic"] is True or meta["synthetic"] == np.True_
    assert meta["units"] == ("log2(FPKM + 1)" if space == "log2" else "FPKM")
    assert meta["generator"]["units"] == "FPKM" and meta["obs_names"] == "syn-9-<row>"
    assert list(adata.var_names) == gen.genes
    assert adata.var["symbol"].tolist() == gen.genes
    assert adata.var["entrez_id"].tolist() == gen.entrez_ids
    assert str(adata.var["entrez_id"].dtype) == "Int64"


def test_two_generations_concatenate_with_distinct_names(gen, tmp_path):
    a = anndata.read_h5ad(write_profiles(gen, tmp_path / "a.h5ad", 50, seed=1, progress=False))
    b = anndata.read_h5ad(write_profiles(gen, tmp_path / "b.h5ad", 50, seed=2, progress=False))
    both = anndata.concat([a, b])
    assert both.obs_names.is_unique and both.n_obs == 100


def test_parquet_npy_csv_carry_the_same_provenance(gen, tmp_path):
    write_profiles(gen, tmp_path / "s.parquet", 20, seed=4, space="log2", progress=False)
    parquet = json.loads(pq.read_schema(tmp_path / "s.parquet").metadata[b"gexgen"])
    write_profiles(gen, tmp_path / "s.npy", 20, seed=4, space="log2", progress=False)
    npy = json.loads(pq.read_schema(tmp_path / "s.labels.parquet").metadata[b"gexgen"])
    write_profiles(gen, tmp_path / "s.csv", 20, seed=4, space="log2", progress=False)
    csv = json.loads((tmp_path / "s.meta.json").read_text())
    for meta in (parquet, npy, csv):
        assert meta["synthetic"] is True and meta["units"] == "log2(FPKM + 1)"
        assert meta["obs_names"] == "syn-4-<row>" and meta["generator"]["units"] == "FPKM"
        assert meta["entrez_ids"] == gen.entrez_ids


def test_in_memory_anndata_matches_the_file_and_writes(gen, tmp_path):
    from gexgen.runtime.write_profiles import profile_metadata

    matrix, labels = gen.sample(30, seed=5, space="log2", as_frame=False)
    metadata = profile_metadata(gen, 30, 5, "log2", {"mix": "training"})
    adata = profiles_anndata(matrix, labels, gen.genes, gen.entrez_ids, metadata)
    written = anndata.read_h5ad(
        write_profiles(gen, tmp_path / "s.h5ad", 30, seed=5, space="log2", progress=False)
    )
    np.testing.assert_array_equal(adata.X, written.X)
    assert list(adata.obs_names) == list(written.obs_names)
    assert adata.uns["log1p"] == {"base": 2}
    adata.write_h5ad(tmp_path / "again.h5ad")  # in-memory uns holds only storable types
    again = anndata.read_h5ad(tmp_path / "again.h5ad")
    assert again.uns["gexgen"]["units"] == "log2(FPKM + 1)"


def test_info_names_the_units(gen):
    assert "units: FPKM" in gen.info.describe()


def test_helpers_against_plain_references():
    assert obs_names(3, 8, 11).tolist() == ["syn-3-8", "syn-3-9", "syn-3-10"]
    assert units_of("log2", "TPM") == "log2(TPM + 1)" and units_of("expression", "TPM") == "TPM"
    var = var_frame(["A", "B"], [7, None])
    assert var.index.tolist() == ["A", "B"] and var["entrez_id"].isna().tolist() == [False, True]
    uns = anndata_uns({"space": "expression", "seed": 0, "genes": ["A"], "x": None, "l": [1, 2]})
    assert "log1p" not in uns and "genes" not in uns["gexgen"] and "x" not in uns["gexgen"]
    assert uns["gexgen"]["log_scaled"] is False and list(uns["gexgen"]["l"]) == [1, 2]
    assert isinstance(pd.Index(obs_names(0, 0, 3)), pd.Index)
