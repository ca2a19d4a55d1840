"""import_matrix / read_table on small matrices, checked against pandas directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gexgen.data import read_cohort
from gexgen.data.download import default_cache_dir
from gexgen.data.importer import import_matrix, read_table
from gexgen.errors import GexgenError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    df = pd.DataFrame(rng.gamma(2.0, 3.0, size=(12, 3)), columns=["A", "B", "C"])
    df.insert(0, "sample_id", [f"x{i}" for i in range(12)])
    df["group"] = ["g1", "g2", "g3"] * 4
    return df


def test_parquet_without_index_uses_first_column(frame, tmp_path):
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    table = read_table(tmp_path / "m.parquet")
    assert table.index.tolist() == frame["sample_id"].tolist()
    assert table.columns.tolist() == ["A", "B", "C", "group"]


def test_import_writes_cohort_and_summary(frame, tmp_path):
    frame.to_csv(tmp_path / "m.csv", index=False)
    out = tmp_path / "c.h5ad"
    adata, summary = import_matrix(tmp_path / "m.csv", out, labels=["group"], seed=1)
    back = read_cohort(out, require=["group"])
    np.testing.assert_allclose(back.X, frame[["A", "B", "C"]].to_numpy(np.float32))
    assert back.var["entrez_id"].isna().all() and back.var["symbol"].tolist() == ["A", "B", "C"]
    assert summary.n_samples == 12 and summary.counts["samples"].tolist() == [4, 4, 4]
    assert summary.n_test == 3 * round(4 * 0.3)
    assert "samples per group" in summary.format()
    assert back.uns["gexgen"]["split"]["seed"] == 1


def test_import_rejects_bad_output_name_before_reading(tmp_path):
    with pytest.raises(GexgenError, match=r"\.h5ad"):
        import_matrix(tmp_path / "missing.csv", tmp_path / "out.csv", labels=["g"])


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GEXGEN_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("GEXGEN_CACHE")
    assert default_cache_dir().parts[-2:] == (".cache", "gexgen")
