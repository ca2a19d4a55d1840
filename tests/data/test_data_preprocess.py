"""LogStandardScaler: log2(x + 1) then per-gene z-scores, fitted on train, exactly invertible."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gexgen.data import LogStandardScaler, cohort_split, inverse_log2p1, log2p1, read_cohort
from gexgen.errors import GexgenError


@pytest.fixture
def expr() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.lognormal(3.0, 1.5, size=(60, 12)).astype(np.float32)


def test_log2p1_round_trip(expr):
    np.testing.assert_allclose(log2p1(expr), np.log2(expr.astype(np.float64) + 1), rtol=1e-6)
    np.testing.assert_allclose(inverse_log2p1(log2p1(expr)), expr, rtol=1e-5)
    assert (inverse_log2p1(np.array([-5.0])) == 0).all()  # clipped at zero


def test_transform_matches_reference_and_inverts(expr):
    scaler = LogStandardScaler().fit(expr)
    z = scaler.transform(expr)
    logx = np.log2(expr.astype(np.float64) + 1)
    ref = (logx - logx.mean(0)) / logx.std(0)
    np.testing.assert_allclose(z, ref, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(z, space="log2"), logx, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(z), expr, rtol=1e-4, atol=1e-3)


def test_fit_uses_the_training_rows_only(expr):
    train, test = expr[:40], expr[40:] * 3.0
    scaler = LogStandardScaler().fit(train)
    logtrain = np.log2(train.astype(np.float64) + 1)
    np.testing.assert_allclose(scaler.mean_, logtrain.mean(0), rtol=1e-5)
    z_test = scaler.transform(test)
    ref = (np.log2(test.astype(np.float64) + 1) - logtrain.mean(0)) / logtrain.std(0)
    np.testing.assert_allclose(z_test, ref, atol=1e-4)
    assert abs(z_test.mean()) > 0.5  # the shifted test rows are not re-centred


def test_already_log_scaled_input(expr):
    logx = log2p1(expr) - 3.0  # negatives are fine here
    scaler = LogStandardScaler(log_input=True).fit(logx)
    z = scaler.transform(logx)
    np.testing.assert_allclose(scaler.inverse_transform(z, space="log2"), logx, atol=1e-5)


def test_constant_gene_and_dict_round_trip(expr):
    expr[:, 3] = 7.0
    scaler = LogStandardScaler().fit(expr)
    z = scaler.transform(expr)
    assert np.isfinite(z).all() and (z[:, 3] == 0).all()
    again = LogStandardScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(again.transform(expr), z)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0, -2.0]]), "log-scaled"),
        (np.array([1.0, 2.0]), "2-d"),
    ],
)
def test_bad_matrices(x, message):
    with pytest.raises(GexgenError, match=message):
        LogStandardScaler().fit(x)


def test_unfitted_and_wrong_width(expr):
    with pytest.raises(GexgenError, match="not fitted"):
        LogStandardScaler().transform(expr)
    with pytest.raises(GexgenError, match="12"):
        LogStandardScaler().fit(expr).transform(expr[:, :5])


def test_on_the_real_cohort_train_split(real_cohort_path):
    adata = read_cohort(real_cohort_path)
    train, test = cohort_split(adata)
    scaler = LogStandardScaler().fit(adata.X[train])
    z = scaler.transform(adata.X[test])
    assert z.shape == (len(test), adata.n_vars) and np.isfinite(z).all()
    back = scaler.inverse_transform(z)
    np.testing.assert_allclose(back, adata.X[test], rtol=1e-3, atol=1e-2)
