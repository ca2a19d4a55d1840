"""Every output format written chunk by chunk, read back, and compared with ``sample``."""

from __future__ import annotations

import json

import anndata
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from tiny_generator import write_generator

from gexgen.errors import GexgenError
from gexgen.runtime import GeneratorSession, ParquetOptions, open_profiles, write_profiles
from gexgen.runtime.profile_format import PROFILE_SUFFIXES
from gexgen.runtime.profile_writers import ProfileLayout, profile_writer, sidecars_of

N = 2500


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    tiny = write_generator(tmp_path_factory.mktemp("g") / "g.onnx", noise_input=True, seed=4)
    return GeneratorSession(tiny.path)


@pytest.mark.parametrize("suffix", PROFILE_SUFFIXES)
@pytest.mark.parametrize("space", ["expression", "log2"])
def test_written_file_reads_back_as_sample(gen, tmp_path, suffix, space):
    expected, labels = gen.sample(
        N, conditions={"status": "tumor"}, seed=7, space=space, as_frame=False
    )
    out = write_profiles(
        gen,
        tmp_path / f"synthetic{suffix}",
        N,
        conditions={"status": "tumor"},
        seed=7,
        space=space,
        chunk_size=700,
        progress=False,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name, *(p.name for p in sidecars_of(out))]
    )  # no temporary files left
    table = open_profiles(out)
    assert (table.n, table.space, table.genes) == (N, space, gen.genes)
    assert table.metadata["seed"] == 7 and table.metadata["space"] == space
    assert np.array_equal(table.read(), expected)
    chunks = list(table.iter_chunks(1000))
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    assert all(c.dtype == np.float32 and c.flags.c_contiguous and c.flags.writeable for c in chunks)
    assert np.array_equal(np.concatenate(chunks), expected)
    rows = np.array([N - 1, 3, 3, 1700])
    assert np.array_equal(table.read(rows), expected[rows])
    assert np.array_equal(table.read(slice(650, 1450)), expected[650:1450])
    mask = np.zeros(N, bool)
    mask[::7] = True
    assert np.array_equal(table.read(mask), expected[mask])
    assert list(table.labels.columns) == ["tissue", "status"]
    assert (table.labels.astype(str).to_numpy() == labels.astype(str).to_numpy()).all()


def test_h5ad_is_valid_anndata(gen, tmp_path):
    expected, labels = gen.sample(N, seed=1, space="log2", as_frame=False)
    out = write_profiles(
        gen, tmp_path / "s.h5ad", N, seed=1, space="log2", chunk_size=999, progress=False
    )
    adata = anndata.read_h5ad(out)
    assert adata.shape == (N, len(gen.genes))
    assert np.array_equal(adata.X, expected)
    assert list(adata.var_names) == gen.genes
    assert adata.var["entrez_id"].tolist() == gen.entrez_ids
    assert adata.obs["tissue"].tolist() == labels["tissue"].astype(str).tolist()
    assert list(adata.obs_names[:3]) == ["syn-1-0", "syn-1-1", "syn-1-2"]
    assert adata.obs_names[-1] == f"syn-1-{N - 1}" and adata.obs_names.is_unique
    assert adata.uns["gexgen"]["space"] == "log2" and adata.uns["gexgen"]["log_scaled"]


def test_npy_and_csv_are_plain_files(gen, tmp_path):
    expected, labels = gen.sample(N, seed=2, as_frame=False)
    npy = write_profiles(gen, tmp_path / "s.npy", N, seed=2, progress=False)
    assert np.array_equal(np.load(npy), expected)
    side = pd.read_parquet(tmp_path / "s.labels.parquet")
    assert side["tissue"].astype(str).tolist() == labels["tissue"].astype(str).tolist()
    meta = json.loads(pq.read_schema(tmp_path / "s.labels.parquet").metadata[b"gexgen"])
    assert meta["space"] == "expression" and meta["genes"] == gen.genes
    csv = write_profiles(gen, tmp_path / "s.csv", N, seed=2, progress=False)
    frame = pd.read_csv(csv)
    assert list(frame.columns) == [*gen.genes, "tissue", "status"]
    assert np.array_equal(frame[gen.genes].to_numpy(np.float32), expected)
    assert json.loads((tmp_path / "s.meta.json").read_text())["space"] == "expression"


@pytest.mark.parametrize(
    "options",
    [
        ParquetOptions(compression="zstd", byte_stream_split=True, statistics=True),
        ParquetOptions(compression="snappy"),
    ],
)
def test_parquet_options_round_trip(gen, tmp_path, options):
    expected = gen.sample(900, seed=3, as_frame=False)[0]
    out = write_profiles(gen, tmp_path / "o.parquet", 900, seed=3, parquet=options, progress=False)
    assert np.array_equal(open_profiles(out).read(), expected)
    column = pq.ParquetFile(out).metadata.row_group(0).column(0)
    assert column.compression.lower() == options.compression
    assert ("BYTE_STREAM_SPLIT" in column.encodings) == options.byte_stream_split


def test_failed_generation_leaves_no_file(gen, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = gen._run_into

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(gen, "_run_into", failing)
    for suffix in PROFILE_SUFFIXES:
        calls["n"] = 0
        with pytest.raises(RuntimeError, match="disk full"):
            write_profiles(gen, tmp_path / f"x{suffix}", 5000, chunk_size=1000, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_requests_write_nothing(gen, tmp_path):
    with pytest.raises(GexgenError, match="use one of .parquet, .h5ad, .npy, .csv"):
        write_profiles(gen, tmp_path / "x.xlsx", 10, progress=False)
    with pytest.raises(GexgenError, match="unknown value 'lung'"):
        write_profiles(
            gen, tmp_path / "x.parquet", 10, conditions={"tissue": "lung"}, progress=False
        )
    assert list(tmp_path.iterdir()) == []


def test_cohort_h5ad_reads_obs_and_log_scale(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 50.0, (40, 6)).astype(np.float32)
    obs = pd.DataFrame(
        {
            "tissue": pd.Categorical(rng.choice(["a", "b"], 40)),
            "split": pd.Categorical(rng.choice(["train", "test"], 40)),
        },
        index=[f"S{i}" for i in range(40)],
    )
    var = pd.DataFrame({"symbol": [f"g{j}" for j in range(6)]}, index=[f"g{j}" for j in range(6)])
    for log_scaled in (False, True):
        adata = anndata.AnnData(x, obs=obs, var=var, uns={"gexgen": {"log_scaled": log_scaled}})
        path = tmp_path / f"cohort_{log_scaled}.h5ad"
        adata.write_h5ad(path)
        table = open_profiles(path)
        assert table.space == ("log2" if log_scaled else "expression")
        assert table.genes == list(var.index) and table.n == 40
        pd.testing.assert_frame_equal(table.labels, obs)
        assert np.array_equal(table.read(), x)
        assert np.array_equal(np.concatenate(list(table.iter_chunks(16))), x)


def test_real_cohort_reads_like_anndata(real_cohort_path):
    table = open_profiles(real_cohort_path)
    adata = anndata.read_h5ad(real_cohort_path)
    assert (table.n, len(table.genes)) == adata.shape
    assert table.genes == list(adata.var_names)
    assert table.space == ("log2" if adata.uns["gexgen"].get("log_scaled") else "expression")
    pd.testing.assert_frame_equal(table.labels, adata.obs)
    assert "split" in table.labels.columns
    assert np.array_equal(np.concatenate(list(table.iter_chunks(300))), np.asarray(adata.X))


def test_foreign_tables_without_metadata(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        rng.gamma(2.0, 60.0, (30, 4)).astype(np.float32), columns=["A", "B", "C", "D"]
    )
    frame["tissue"] = rng.choice(["x", "y"], 30)
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv", index=False)
    for name in ("f.parquet", "f.csv"):
        table = open_profiles(tmp_path / name)
        assert table.genes == ["A", "B", "C", "D"] and table.n == 30
        assert table.space == "expression"  # guessed: values above 64
        assert list(table.labels.columns) == ["tissue"]
        np.testing.assert_allclose(table.read(), frame[["A", "B", "C", "D"]].to_numpy(), rtol=1e-6)
        assert open_profiles(tmp_path / name, space="log2").space == "log2"
    np.save(tmp_path / "bare.npy", np.log2(frame[["A", "B"]].to_numpy() + 1))
    bare = open_profiles(tmp_path / "bare.npy")
    assert bare.space == "log2" and bare.genes == ["gene_0", "gene_1"]


def test_open_profiles_errors(tmp_path):
    with pytest.raises(GexgenError, match="not found"):
        open_profiles(tmp_path / "missing.parquet")
    with pytest.raises(GexgenError, match="use one of"):
        open_profiles(tmp_path / "data.tsv")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(GexgenError, match="cannot read .* as a .parquet profile file"):
        open_profiles(tmp_path / "broken.parquet")
    np.save(tmp_path / "ok.npy", np.zeros((5, 2), np.float32))
    table = open_profiles(tmp_path / "ok.npy", space="log2")
    with pytest.raises(GexgenError, match="out of range"):
        table.read([5])
    with pytest.raises(GexgenError, match="boolean row mask needs 5"):
        table.read(np.ones(3, bool))
    with pytest.raises(GexgenError, match="chunk_rows must be a positive integer"):
        table.iter_chunks(0)


@pytest.mark.parametrize("suffix", PROFILE_SUFFIXES)
def test_zero_profiles(gen, tmp_path, suffix):
    table = open_profiles(write_profiles(gen, tmp_path / f"e{suffix}", 0, progress=False))
    assert table.n == 0 and table.read().shape == (0, len(gen.genes))
    assert list(table.iter_chunks(10)) == [] and len(table.labels) == 0


def test_label_free_table_has_one_label_row_per_profile(tmp_path):
    frame = pd.DataFrame(np.ones((7, 3), np.float32), columns=["A", "B", "C"])
    frame.to_parquet(tmp_path / "nolabels.parquet")
    table = open_profiles(tmp_path / "nolabels.parquet", space="log2")
    assert table.labels.shape == (7, 0)
    assert "ProfileTable(" in repr(table)


@pytest.mark.parametrize("shape", [(1500, 37), (37, 1500), (512, 512), (0, 4)])
def test_blocked_transpose_matches_numpy(shape):
    from gexgen.runtime._transpose import transpose_into

    source = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    target = np.empty(shape[::-1], np.float32)
    assert np.array_equal(transpose_into(source, target, block=100), source.T)


@pytest.mark.parametrize("suffix", PROFILE_SUFFIXES)
def test_unconditional_generator(tmp_path, suffix):
    gen = GeneratorSession(write_generator(tmp_path / "u.onnx", labels={}).path)
    expected, labels = gen.sample(1500, seed=5, as_frame=False)
    assert labels.shape == (1500, 0)
    table = open_profiles(
        write_profiles(gen, tmp_path / f"u{suffix}", 1500, seed=5, chunk_size=600, progress=False)
    )
    assert np.array_equal(table.read(), expected)
    assert table.labels.shape == (1500, 0)


def test_profile_layout_normalizes_and_refuses_labels_named_like_genes():
    table = ProfileLayout.of(3, np.array(["A", "B"]), {"tissue": np.array(["lung", "skin"])}, {})
    assert table.genes == ("A", "B") and table.label_values == {"tissue": ("lung", "skin")}
    with pytest.raises(GexgenError, match=r"label name\(s\) \['B'\] are also gene symbols"):
        ProfileLayout.of(3, ["A", "B"], {"B": ["x"]}, {})


def test_writer_refuses_a_label_named_like_a_gene_and_leaves_no_file(tmp_path):
    out = tmp_path / "clash.parquet"
    with (
        pytest.raises(GexgenError, match="also gene symbols"),
        profile_writer(out, 2, ["A", "B"], {"A": ["x"]}, {}),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("max_row_group", [1_000, 5])  # whole row groups, or record batches
def test_parquet_reader_assembles_chunks_across_row_groups(tmp_path, monkeypatch, max_row_group):
    import pyarrow as pa

    from gexgen.runtime import profile_readers

    monkeypatch.setattr(profile_readers, "_MAX_ROW_GROUP", max_row_group)
    monkeypatch.setattr(profile_readers, "_READ_BATCH", 7)
    rng = np.random.default_rng(5)
    values = rng.gamma(2.0, 60.0, (53, 2)).astype(np.float32)
    table = pa.table(
        {
            "A": pa.array(values[:, 0], mask=np.arange(53) % 10 == 3),  # nulls -> NaN
            "B": pa.array(values[:, 1].astype(np.float64)),  # float64 -> float32
            "tissue": pa.array(rng.choice(["x", "y"], 53)),
        }
    )
    pq.write_table(table, tmp_path / "groups.parquet", row_group_size=11)
    opened = open_profiles(tmp_path / "groups.parquet", space="expression")
    expected = values.copy()
    expected[np.arange(53) % 10 == 3, 0] = np.nan
    assert opened.genes == ["A", "B"] and list(opened.labels.columns) == ["tissue"]
    chunks = list(opened.iter_chunks(16))
    assert [len(c) for c in chunks] == [16, 16, 16, 5]
    assert all(c.dtype == np.float32 and c.flags.c_contiguous for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), expected)
    np.testing.assert_array_equal(opened.read(np.array([50, 3, 12])), expected[[50, 3, 12]])
