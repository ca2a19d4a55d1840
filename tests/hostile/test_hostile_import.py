"""W3, W4, W5, D2 and the import messages of T3: hostile matrices and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import one_error_line
from gexgen.data import combination_keys, import_matrix, stratified_split
from gexgen.data.split import combination_rows
from gexgen.errors import GexgenError


def _matrix(path: Path, tissues: list[str], sep: str = ",", extra: dict | None = None) -> Path:
    n = len(tissues)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.gamma(2.0, 10.0, (n, 3)), columns=["G1", "G2", "G3"], index=[f"s{i}" for i in range(n)]
    )
    frame["tissue"] = tissues
    for name, values in (extra or {}).items():
        frame[name] = values
    frame.to_csv(path, sep=sep, index_label="id")
    return path


# ---------------------------------------------------------------- W3 spaces in labels
def test_labels_are_stripped_so_generate_matches_them(tmp_path):
    matrix = _matrix(tmp_path / "m.csv", ["  lung", "kidney "] * 4)
    adata, _ = import_matrix(matrix, labels=["tissue"])
    assert sorted(adata.obs["tissue"].cat.categories) == ["kidney", "lung"]


def test_values_that_differ_only_by_spaces_are_refused(cli, tmp_path):
    matrix = _matrix(tmp_path / "m.csv", ["  lung", "lung", "kidney", "kidney"] * 2)
    err = one_error_line(
        cli("data", "import", matrix, "--label", "tissue", "--out", tmp_path / "c.h5ad")
    )
    assert "differ only by surrounding spaces" in err and "'  lung'" in err


# ---------------------------------------------------------------- W4 float32 range
def test_values_beyond_float32_are_refused(cli, tmp_path):
    matrix = tmp_path / "m.csv"
    rows = "".join(f"s{i},{1e39 if i == 2 else 1.0},2.0,{'ab'[i % 2]}\n" for i in range(8))
    matrix.write_text("id,G1,G2,tissue\n" + rows)
    err = one_error_line(
        cli("data", "import", matrix, "--label", "tissue", "--out", tmp_path / "c.h5ad")
    )
    assert "float32" in err and "'G1'" in err
    assert not (tmp_path / "c.h5ad").exists()


# ---------------------------------------------------------------- D2 reserved names
def test_a_label_named_split_is_refused(cli, tmp_path):
    matrix = _matrix(tmp_path / "m.csv", ["a", "b"] * 4, extra={"split": ["x", "y"] * 4})
    err = one_error_line(
        cli(
            "data",
            "import",
            matrix,
            "--label",
            "tissue",
            "--label",
            "split",
            "--out",
            tmp_path / "c.h5ad",
        )
    )
    assert "'split'" in err and "train/test split" in err


def test_a_labels_file_with_a_split_column_is_refused(tmp_path):
    matrix = _matrix(tmp_path / "m.csv", ["a", "b"] * 4)
    labels = tmp_path / "labels.csv"
    ids = [f"s{i}" for i in range(8)]
    pd.DataFrame({"id": ids, "tissue": ["a", "b"] * 4, "split": ["p", "q"] * 4}).to_csv(
        labels, index=False
    )
    with pytest.raises(GexgenError, match="train/test split"):
        import_matrix(matrix, labels_file=labels)


# ---------------------------------------------------------------- W5 tuple keys
def test_labels_containing_the_separator_do_not_collide():
    labels = pd.DataFrame({"a": ["a|b"] * 3 + ["a"] * 3, "b": ["c"] * 3 + ["b|c"] * 3})
    keys = combination_keys(labels, ["a", "b"])
    assert keys.nunique() == 2
    groups = combination_rows(labels, ["a", "b"])
    assert sorted(len(r) for r in groups.values()) == [3, 3]
    is_test = stratified_split(labels, ["a", "b"], test_fraction=0.34, seed=0)
    # each combination gets its own test row: the rule holds per tuple
    assert is_test[:3].sum() == 1 and is_test[3:].sum() == 1


def test_a_single_sample_combination_hidden_by_a_collision_is_reported():
    labels = pd.DataFrame({"a": ["a|b", "a", "a"], "b": ["c", "b|c", "b|c"]})
    with pytest.raises(GexgenError, match=r"a\|b\|c \(1\)"):
        stratified_split(labels, ["a", "b"], 0.5)


def test_split_is_unchanged_for_ordinary_labels():
    """Same seed, same split as the joined-string keys gave (no existing cohort changes)."""
    rng = np.random.default_rng(1)
    labels = pd.DataFrame(
        {"t": rng.choice(["kidney", "kidney2", "lung"], 200), "s": rng.choice(["n", "t"], 200)}
    )
    keys = (labels["t"] + "|" + labels["s"]).to_numpy()
    expected = np.zeros(200, bool)
    gen = np.random.default_rng(7)
    for key in sorted(set(keys)):
        rows = np.flatnonzero(keys == key)
        n_test = int(np.clip(round(len(rows) * 0.3), 1, len(rows) - 1))
        expected[gen.choice(rows, size=n_test, replace=False)] = True
    assert (stratified_split(labels, ["t", "s"], 0.3, seed=7) == expected).all()


# ---------------------------------------------------------------- T3 import messages
def test_tab_separated_csv_says_so(cli, tmp_path):
    matrix = _matrix(tmp_path / "m.csv", ["a", "b"] * 4, sep="\t")
    err = one_error_line(
        cli("data", "import", matrix, "--label", "tissue", "--out", tmp_path / "c.h5ad")
    )
    assert "tabs" in err and ".tsv" in err


def test_a_label_given_twice_says_so(cli, tmp_path):
    matrix = _matrix(tmp_path / "m.csv", ["a", "b"] * 4)
    err = one_error_line(
        cli(
            "data",
            "import",
            matrix,
            "--label",
            "tissue",
            "--label",
            "tissue",
            "--out",
            tmp_path / "c.h5ad",
        )
    )
    assert "given twice" in err and "not found" not in err


def test_na_and_none_labels_are_said_to_be_read_as_missing(cli, tmp_path):
    matrix = _matrix(tmp_path / "m.csv", ["NA", "None", "a", "b"] * 2)
    err = one_error_line(
        cli("data", "import", matrix, "--label", "tissue", "--out", tmp_path / "c.h5ad")
    )
    assert "missing" in err and "NA" in err and "None" in err
