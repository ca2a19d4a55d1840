"""Round 2, silent wrong results: names, manifests, partitions, training hash, labels, ids."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import MATCHED_LABELS, one_error_line, write_generator
from gexgen.errors import GexgenError


# ------------------------------------------------ duplicate names are refused on every read
def test_evaluate_refuses_a_cohort_with_duplicate_var_names(
    cli, matched_generator, small_cohort, tmp_path
):
    adata = anndata.read_h5ad(small_cohort)
    names = list(adata.var_names)
    names[5] = names[4]
    adata.var_names = names
    cohort = tmp_path / "dup.h5ad"
    adata.write_h5ad(cohort)
    err = one_error_line(
        cli(
            "evaluate",
            "--real",
            cohort,
            "--model",
            matched_generator,
            "--out",
            tmp_path / "rep",
            "--n-synthetic",
            40,
            "--no-progress",
            "--no-report",
        )  # fmt: skip
    )
    assert "more than once" in err and "G4" in err


def test_a_parquet_file_with_duplicate_columns_is_refused(tmp_path):
    from gexgen.runtime import open_profiles

    table = pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0]), pa.array([5.0, 6.0])],
                     names=["A", "B", "A"])  # fmt: skip
    path = tmp_path / "dup.parquet"
    pq.write_table(table, path)
    with pytest.raises(GexgenError, match="more than once"):
        open_profiles(path).read()


def test_a_csv_file_with_a_duplicate_header_is_refused(tmp_path):
    from gexgen.runtime import open_profiles

    path = tmp_path / "dup.csv"
    path.write_text("A,B,A\n1,2,3\n4,5,6\n")
    with pytest.raises(GexgenError, match="more than once"):
        open_profiles(path).read()


# ------------------------------------------------ partitioned datasets
def _dataset(cli, generator, folder: Path) -> dict:
    ok = cli("generate", generator, "--n", 30, "--partition-rows", 10, "--out", f"{folder}/",
             "--no-progress", "--workers", 1)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    return json.loads((folder / "_manifest.json").read_text())


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "_manifest.json").write_text(json.dumps(manifest))


def test_a_partition_listing_its_genes_in_another_order_is_refused(cli, generator, tmp_path):
    from gexgen.distributed import open_dataset

    folder = tmp_path / "ds"
    manifest = _dataset(cli, generator, folder)
    part = folder / "part-000001.parquet"
    table = pq.read_table(part)
    meta = json.loads(table.schema.metadata[b"gexgen"])
    genes = meta["genes"]
    meta["genes"] = [genes[1], genes[0], *genes[2:]]
    table = table.replace_schema_metadata({**table.schema.metadata, b"gexgen": json.dumps(meta)})
    pq.write_table(table, part)
    manifest["partitions"][1]["bytes"] = part.stat().st_size
    _write_manifest(folder, manifest)
    with pytest.raises(GexgenError, match="another order"):
        open_dataset(folder)


@pytest.mark.parametrize("name", ["absolute", "parent", "duplicate"])
def test_manifest_file_names_are_confined_and_unique(cli, generator, tmp_path, name):
    from gexgen.distributed import open_dataset

    folder = tmp_path / "ds"
    manifest = _dataset(cli, generator, folder)
    outside = tmp_path / "x.parquet"
    shutil.copy(folder / "part-000000.parquet", outside)
    manifest["partitions"][1]["file"] = {
        "absolute": str(outside),
        "parent": "../x.parquet",
        "duplicate": "part-000000.parquet",
    }[name]
    _write_manifest(folder, manifest)
    with pytest.raises(GexgenError, match="expected 'part-000001.parquet'"):
        open_dataset(folder)


def test_swapped_partitions_are_not_taken_as_complete(cli, generator, tmp_path):
    from gexgen.distributed import open_dataset
    from gexgen.runtime import open_profiles

    folder = tmp_path / "ds"
    manifest = _dataset(cli, generator, folder)
    a, b = folder / "part-000000.parquet", folder / "part-000001.parquet"
    tmp = folder / "swap"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    p0, p1 = manifest["partitions"][0], manifest["partitions"][1]
    p0["bytes"], p1["bytes"] = a.stat().st_size, b.stat().st_size
    _write_manifest(folder, manifest)
    with pytest.raises(GexgenError, match="records partition"):
        open_dataset(folder)
    ok = cli("generate", generator, "--n", 30, "--partition-rows", 10, "--out", f"{folder}/",
             "--no-progress", "--workers", 1, "--resume")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    starts = [open_profiles(p).metadata["partition"]["start"] for p in (a, b)]
    assert starts == [0, 10]  # regenerated in place, rows in order
    open_dataset(folder)


# ------------------------------------------------ check compares the training-data hash
def _resplit(small_cohort: Path, tmp_path: Path) -> Path:
    adata = anndata.read_h5ad(small_cohort)
    split = adata.obs["split"].astype(str).to_numpy()
    adata.obs["split"] = pd.Categorical(np.roll(split, 1))
    path = tmp_path / "resplit.h5ad"
    adata.write_h5ad(path)
    return path


def _check_resplit(cli, generator: Path, cohort: Path, tmp_path: Path, *extra: object):
    """``gexgen check`` of ``generator`` against ``cohort`` re-split with another seed."""
    return cli("check", generator, "--real", _resplit(cohort, tmp_path),
               "--n-synthetic", 40, "--min-gamma", -1, *extra)  # fmt: skip


def test_check_warns_when_real_is_not_the_training_cohort(
    cli, matched_generator, small_cohort, tmp_path
):
    result = _check_resplit(cli, matched_generator, small_cohort, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    assert "not the cohort the generator was trained on" in result.stderr
    assert json.loads(result.stdout)["warnings"]


def test_check_strict_fails_when_real_is_not_the_training_cohort(
    cli, matched_generator, small_cohort, tmp_path
):
    result = _check_resplit(cli, matched_generator, small_cohort, tmp_path, "--strict")
    assert result.exit_code == 2, result.output
    assert "not the cohort the generator was trained on" in result.stderr


def test_check_is_silent_on_the_training_cohort(cli, matched_generator, small_cohort):
    result = cli("check", matched_generator, "--real", small_cohort,
                 "--n-synthetic", 40, "--min-gamma", -1, "--strict", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"] == []


# ------------------------------------------------ import keeps what was written
def _import_csv(tmp_path: Path, header: str, row, labels: list[str]):
    """``import_matrix`` of a 12-row CSV: ``header``, then ``row(i)`` for each row."""
    from gexgen.data.importer import import_matrix

    matrix = tmp_path / "m.csv"
    matrix.write_text(header + "\n" + "".join(row(i) + "\n" for i in range(12)))
    return import_matrix(matrix, labels=labels)


def test_import_keeps_label_values_as_written(tmp_path):
    adata, _ = _import_csv(
        tmp_path, "id,G1,G2,batch", lambda i: f"s{i},{i},{i + 1},{['01', '1'][i % 2]}", ["batch"]
    )
    assert sorted(adata.obs["batch"].astype(str).unique()) == ["01", "1"]


def test_import_refuses_a_float_first_column_taken_as_ids(tmp_path):
    with pytest.raises(GexgenError, match="fractional numbers"):
        _import_csv(tmp_path, "G0,G1,tissue", lambda i: f"{i + 0.37},{i},{'ab'[i % 2]}", ["tissue"])


def test_import_refuses_an_empty_gene_name(tmp_path):
    with pytest.raises(GexgenError, match="empty"):
        _import_csv(
            tmp_path, "id,G1, ,tissue", lambda i: f"s{i},{i},{i + 2},{'ab'[i % 2]}", ["tissue"]
        )


# ------------------------------------------------ generator metadata: numeric ranges
def test_a_generator_with_astronomic_counts_is_refused(cli, tmp_path):

    gen = write_generator(
        tmp_path / "g.onnx",
        labels=MATCHED_LABELS,
        combinations={("kidney", "normal"): 10**308, ("liver", "tumor"): 5},
    ).path
    err = one_error_line(cli("generate", gen, "--n", 20, "--out", tmp_path / "x.parquet"))
    assert "count" in err and "integer in" in err
