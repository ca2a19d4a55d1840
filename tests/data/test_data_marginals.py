"""The per-gene quantile map (gexgen.data.marginals) against direct references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import ks_2samp

from gexgen.data.marginals import fit_quantiles, from_gaussian, knot_levels, to_gaussian
from gexgen.data.preprocess import LogStandardScaler
from gexgen.errors import GexgenError


def _cohort(n: int = 400, seed: int = 0) -> np.ndarray:
    """log2-like values: a skewed gene, a gene at 0 in 40% of rows, a Gaussian one."""
    rng = np.random.default_rng(seed)
    skewed = rng.gamma(2.0, 1.5, n)
    zeros = np.where(rng.uniform(size=n) < 0.4, 0.0, rng.normal(4.0, 1.0, n).clip(0.1))
    return np.stack([skewed, zeros, rng.normal(8.0, 2.0, n)], axis=1)


def test_knots_are_np_quantile_at_the_levels():
    x = _cohort()
    table = fit_quantiles(x, 16)
    assert table.shape == (3, 16) and table.dtype == np.float32
    np.testing.assert_allclose(table, np.quantile(x, knot_levels(16), axis=0).T, rtol=1e-6)
    with pytest.raises(GexgenError, match="at least 2 knots"):
        knot_levels(1)


def test_from_gaussian_interpolates_between_knots():
    x = _cohort()
    table = fit_quantiles(x, 32).astype(np.float64)
    levels = knot_levels(32)
    t = np.random.default_rng(1).normal(size=(200, 3)).clip(-1.5, 1.5)  # inside the knots
    direct = np.stack([np.interp(ndtr(t[:, g]), levels, table[g]) for g in range(3)], axis=1)
    np.testing.assert_allclose(from_gaussian(t, table), direct, rtol=1e-5, atol=1e-5)


def test_round_trip_is_exact_without_ties():
    x = _cohort()[:, [0, 2]]
    table = fit_quantiles(x, 64)
    back = from_gaussian(to_gaussian(x, table), table)
    inside = (x >= table[:, 0]) & (x <= table[:, -1])
    np.testing.assert_allclose(back[inside], x[inside], rtol=1e-4, atol=1e-4)


def test_a_point_mass_is_spread_then_restored():
    x = _cohort()
    table = fit_quantiles(x, 128)
    t = to_gaussian(x, table, seed=3)
    zeros = x[:, 1] == 0
    assert len(np.unique(t[zeros, 1])) == zeros.sum()  # spread, not piled on one score
    assert t[zeros, 1].max() < np.quantile(t[:, 1], 0.45)  # the lower tail
    np.testing.assert_array_equal(from_gaussian(t, table)[zeros, 1], 0.0)
    np.testing.assert_array_equal(to_gaussian(x, table, seed=3), t)  # seeded


def test_normal_draws_reproduce_the_marginals():
    x = _cohort(2000)
    table = fit_quantiles(x, 128)
    drawn = from_gaussian(np.random.default_rng(5).normal(size=(20_000, 3)), table)
    for g in range(3):
        assert ks_2samp(drawn[:, g], x[:, g]).statistic < 0.04
    # the point mass at 0, to within one knot's share of probability
    assert abs((drawn[:, 1] == 0).mean() - (x[:, 1] == 0).mean()) < 1 / 128 + 0.01


def test_quantile_scaler_round_trips_and_floors():
    expression = 2.0 ** _cohort() - 1.0
    scaler = LogStandardScaler(marginals="quantile").fit(expression)
    z = scaler.transform(expression)
    assert abs(float(z.mean())) < 0.05 and abs(float(z.std()) - 1) < 0.05
    again = LogStandardScaler.from_dict(scaler.to_dict())
    assert again.marginals == "quantile" and again.floor_ == 0.0
    np.testing.assert_array_equal(again.quantiles_, scaler.quantiles_)
    back = again.inverse_transform(z, space="log2")
    inside = (z > -2) & (z < 2)
    np.testing.assert_allclose(back[inside], np.log2(expression + 1)[inside], atol=1e-3)
    assert again.inverse_transform(z - 10.0, space="log2").min() >= 0.0  # never below 0


def test_gaussian_scaler_floors_non_negative_cohorts_only():
    logx = _cohort()
    raw = LogStandardScaler().fit(2.0**logx - 1.0)
    assert raw.floor_ == 0.0
    assert raw.inverse_transform(np.full((2, 3), -50.0), space="log2").min() == 0.0
    negative = LogStandardScaler(log_input=True).fit(logx - 1.0)
    assert negative.floor_ is None
    assert negative.inverse_transform(np.full((2, 3), -50.0), space="log2").min() < 0
    # checkpoints written before the floor was recorded: raw cohorts get the floor
    old = {k: v for k, v in raw.to_dict().items() if k not in ("floor", "marginals")}
    assert LogStandardScaler.from_dict(old).floor_ == 0.0
    with pytest.raises(GexgenError, match="marginals must be one of"):
        LogStandardScaler(marginals="uniform")
