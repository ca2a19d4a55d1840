"""`gexgen data rnaseqdb` and `gexgen data import`: results, and every bad input.

Each bad input must give exit code 1, one "Error: ..." line on stderr saying
what is wrong, and leave no output (or temporary) file behind.
"""

from __future__ import annotations

from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gexgen.cli import app

runner = CliRunner()


def _frame(n: int = 24, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        rng.gamma(2.0, 5.0, size=(n, 6)).round(3),
        columns=[f"G{i}" for i in range(6)],
        index=pd.Index([f"s{i}" for i in range(n)], name="sample"),
    )
    df.insert(0, "tissue", (["liver", "lung"] * n)[:n])
    df["status"] = (["normal"] * 2 + ["tumor"] * 2) * (n // 4)
    return df


def _run_error(args: list[str], folder: Path, message: str) -> None:
    before = sorted(p.name for p in folder.iterdir())
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written, no temp left


def test_rnaseqdb_default_source_from_gexgen_data(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("GEXGEN_DATA", str(shared_data))
    out = tmp_path / "c.h5ad"
    lm = shared_data / "l1000" / "landmark_genes.tsv"
    result = runner.invoke(
        app, ["data", "rnaseqdb", "--landmarks", str(lm), "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "samples: 1078" in result.stdout and "genes kept: 975 of 978" in result.stdout
    assert "genes missing (3): CALM3 (808), HDGFRP3 (50810), JADE2 (23338)" in result.stdout
    adata = anndata.read_h5ad(out)
    counts = pd.crosstab(adata.obs["tissue"], adata.obs["status"])
    for tissue, row in counts.iterrows():  # the printed table is the file's table
        line = next(x for x in result.stdout.splitlines() if x.split()[:1] == [tissue])
        assert [int(v) for v in line.split()[1:]] == [*row.tolist(), int(row.sum())]
    assert str(shared_data / "rnaseqdb") == adata.uns["gexgen"]["source"]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "h5ad"])
def test_import_formats(tmp_path, fmt):
    df = _frame()
    path = tmp_path / f"m.{fmt}"
    if fmt == "csv":
        df.to_csv(path)
    elif fmt == "tsv":
        df.to_csv(path, sep="\t")
    elif fmt == "parquet":
        df.to_parquet(path)
    else:
        genes = df.drop(columns=["tissue", "status"])
        var = pd.DataFrame(index=genes.columns)
        anndata.AnnData(genes.to_numpy(), obs=df[["tissue", "status"]], var=var).write_h5ad(path)
    out = tmp_path / "c.h5ad"
    args = ["data", "import", str(path), "--label", "tissue", "--label", "status"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "samples: 24" in result.stdout and "genes: 6" in result.stdout
    adata = anndata.read_h5ad(out)
    genes = df.drop(columns=["tissue", "status"])
    np.testing.assert_allclose(adata.X, genes.to_numpy(np.float32))
    assert adata.obs_names.tolist() == df.index.tolist()
    assert adata.var_names.tolist() == genes.columns.tolist()
    assert (adata.obs["tissue"].astype(str) == df["tissue"]).all()
    assert sorted(set(adata.obs["split"])) == ["test", "train"]
    is_test = adata.obs["split"] == "test"
    per_group = is_test.groupby([adata.obs["tissue"], adata.obs["status"]], observed=True).sum()
    assert (per_group == round(6 * 0.3)).all()  # 4 groups of 6 samples


def test_import_with_labels_file_and_log_scaled(tmp_path):
    df = _frame()
    genes = np.log2(df.drop(columns=["tissue", "status"]) + 1) - 2.0  # has negatives
    genes.to_csv(tmp_path / "m.csv")
    df[["status", "tissue"]].iloc[::-1].to_csv(tmp_path / "labels.tsv", sep="\t")  # other order
    out = tmp_path / "c.h5ad"
    args = ["data", "import", str(tmp_path / "m.csv"), "--labels", str(tmp_path / "labels.tsv")]
    result = runner.invoke(app, [*args, "--log-scaled", "--out", str(out)])
    assert result.exit_code == 0, result.output
    adata = anndata.read_h5ad(out)
    assert bool(adata.uns["gexgen"]["log_scaled"])
    assert (adata.obs["tissue"].astype(str) == df["tissue"]).all()
    assert list(adata.uns["gexgen"]["label_columns"]) == ["status", "tissue"]


def _bad_csv(tmp_path: Path, case: str) -> Path:
    df = _frame()
    path = tmp_path / "m.csv"
    if case == "nan":
        df.iloc[3, 2] = np.nan
    elif case == "inf":
        df.iloc[3, 2] = np.inf
    elif case == "negative":
        df.iloc[3, 2] = -1.0
    elif case == "text":
        df["G2"] = df["G2"].astype(object)
        df.iloc[3, df.columns.get_loc("G2")] = "high"
    elif case == "dup_gene":
        df = df.rename(columns={"G3": "G2"})
    elif case == "dup_sample":
        df.index = ["s0", *df.index[1:-1], "s0"]
    elif case == "single":
        df.iloc[0, 0] = "kidney"
    elif case == "label_nan":
        df.iloc[5, 0] = np.nan
    df.to_csv(path)
    return path


BAD_IMPORTS = [
    ("nan", [], "NaN or infinite value(s) in gene(s) 'G1'"),
    ("inf", [], "NaN or infinite"),
    ("negative", [], "declare it with --log-scaled"),
    ("text", [], "non-numeric column(s) ['G2']"),
    ("dup_gene", [], "duplicate column names ['G2']"),
    ("dup_sample", [], "duplicate sample ids ['s0']"),
    ("ok", ["--label", "sex"], "label column 'sex' not found"),
    ("single", [], "fewer than 2 samples cannot be split: kidney|normal (1)"),
    ("label_nan", [], "label column 'tissue' has 1 missing value(s)"),
    ("ok", ["--test-fraction", "1.5"], "test_fraction must be in (0, 1)"),
]


@pytest.mark.parametrize(("case", "extra", "message"), BAD_IMPORTS, ids=[c[0] for c in BAD_IMPORTS])
def test_import_bad_matrix(tmp_path, case, extra, message):
    path = _bad_csv(tmp_path, case)
    labels = [] if extra[:1] == ["--label"] else ["--label", "tissue", "--label", "status"]
    out = tmp_path / "c.h5ad"
    _run_error(["data", "import", str(path), *labels, *extra, "--out", str(out)], tmp_path, message)


def test_negative_values_pass_when_declared_log_scaled(tmp_path):
    path = _bad_csv(tmp_path, "negative")
    args = ["data", "import", str(path), "--label", "tissue", "--label", "status", "--log-scaled"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "c.h5ad")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.csv", b"", "m.csv is empty"),
        ("m.csv", b"sample,G1,tissue\n", "has no data (0 rows"),
        ("m.parquet", b"PAR1 this is not parquet", "cannot read"),
        ("m.h5ad", b"not hdf5", "cannot read"),
        ("m.csv.gz", b"not gzip", "cannot read"),
        ("m.xlsx", b"x", "cannot tell the format"),
        (None, None, "not found"),
    ],
)
def test_import_unreadable_or_empty(tmp_path, name, content, message):
    path = tmp_path / (name or "missing.csv")
    if content is not None:
        path.write_bytes(content)
    args = ["data", "import", str(path), "--label", "tissue", "--out", str(tmp_path / "c.h5ad")]
    _run_error(args, tmp_path, message)


def test_import_needs_labels_and_matching_labels_file(tmp_path):
    df = _frame()
    df.drop(columns=["tissue", "status"]).to_csv(tmp_path / "m.csv")
    out = str(tmp_path / "c.h5ad")
    _run_error(["data", "import", str(tmp_path / "m.csv"), "--out", out], tmp_path, "--label")
    df[["tissue"]].iloc[2:].to_csv(tmp_path / "labels.csv")
    args = ["data", "import", str(tmp_path / "m.csv"), "--labels", str(tmp_path / "labels.csv")]
    _run_error([*args, "--out", out], tmp_path, "has no row for 2 sample(s) such as ['s0', 's1']")


def test_rnaseqdb_bad_landmarks_and_source(shared_data, tmp_path):
    bad = tmp_path / "lm.tsv"
    bad.write_text("Symbol\tName\nTP53\ttumor protein p53\n")
    out = str(tmp_path / "c.h5ad")
    src = str(shared_data / "rnaseqdb")
    args = ["data", "rnaseqdb", "--source", src, "--landmarks", str(bad), "--out", out]
    _run_error(args, tmp_path, "no recognizable Entrez ID column")
    args = ["data", "rnaseqdb", "--source", str(tmp_path / "nope"), "--out", out]
    _run_error(args, tmp_path, "is not a folder")
    args = ["data", "rnaseqdb", "--source", src, "--out", str(tmp_path / "c.csv")]
    _run_error(args, tmp_path, "must end in .h5ad")
