"""ProfileSet hands out float32 log2(x + 1) values and never changes the caller's matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gexgen.data.preprocess import log2p1
from gexgen.metrics._sources import ProfileSet, load_profiles
from gexgen.runtime.profile_writers import profile_writer


@pytest.fixture
def expression() -> np.ndarray:
    return np.random.default_rng(2).gamma(2.0, 50.0, (40, 6)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matrix_set_logs_without_touching_the_matrix(expression, dtype):
    matrix = expression.astype(dtype)
    before = matrix.copy()
    s = ProfileSet.from_array(matrix, list("ABCDEF"), space="expression")
    expected = log2p1(expression.astype(dtype))
    cols = np.array([5, 0, 2])
    np.testing.assert_array_equal(np.concatenate(list(s.log_chunks(None, 7))), expected)
    np.testing.assert_array_equal(np.concatenate(list(s.log_chunks(cols, 7))), expected[:, cols])
    np.testing.assert_array_equal(s.read_log(), expected)
    np.testing.assert_array_equal(s.read_log(slice(3, 9)), expected[3:9])
    np.testing.assert_array_equal(s.read_log(np.array([4, 1])), expected[[4, 1]])
    assert all(c.dtype == np.float32 for c in s.log_chunks(None, 7))
    np.testing.assert_array_equal(matrix, before)


def test_log2_set_is_passed_through(expression):
    s = ProfileSet.from_array(expression, list("ABCDEF"), space="log2")
    np.testing.assert_array_equal(np.concatenate(list(s.log_chunks(None, 9))), expression)


def test_file_set_gives_the_same_log_values(expression, tmp_path):
    path = tmp_path / "p.parquet"
    genes = list("ABCDEF")
    with profile_writer(path, len(expression), genes, {}, {"space": "expression"}) as writer:
        writer.write(0, expression, {})
    s = load_profiles(path, "file")
    assert isinstance(s.labels, pd.DataFrame) and s.n == len(expression)
    expected = log2p1(expression)
    np.testing.assert_array_equal(np.concatenate(list(s.log_chunks(None, 16))), expected)
    np.testing.assert_array_equal(s.read_log(np.array([7, 2])), expected[[7, 2]])
