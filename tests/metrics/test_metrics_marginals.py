"""Per-gene KS and Wasserstein-1: the numba kernel against scipy, and the summary."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from gexgen.errors import GexgenError
from gexgen.metrics.marginals import marginal_distances, marginal_scores


@pytest.mark.parametrize(("n", "m"), [(40, 40), (37, 91), (1, 5)])
def test_kernel_matches_scipy_with_ties_and_unequal_sizes(n, m):
    rng = np.random.default_rng(n + m)
    a = rng.normal(size=(n, 6)).astype(np.float32)
    b = (rng.normal(size=(m, 6)) + 0.4).astype(np.float32)
    a[:, 2], b[:, 2] = np.round(a[:, 2]), np.round(b[:, 2])  # many ties
    b[:, 4] = a[0, 4]  # one column constant
    ks, w1 = marginal_distances(a, b)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    for g in range(6):
        assert ks[g] == pytest.approx(ks_2samp(a64[:, g], b64[:, g]).statistic, abs=1e-12)
        assert w1[g] == pytest.approx(wasserstein_distance(a64[:, g], b64[:, g]), abs=1e-12)


def test_known_answers():
    x = np.arange(10.0)[:, None]
    ks, w1 = marginal_distances(x, x[::-1])
    assert (ks[0], w1[0]) == (0.0, 0.0)
    ks, w1 = marginal_distances(x, x + 100)
    assert ks[0] == 1.0 and w1[0] == pytest.approx(100.0)


def test_wrapper_validates():
    good = np.zeros((4, 3))
    with pytest.raises(GexgenError, match="NaN"):
        marginal_distances(np.full((4, 3), np.nan), good)
    with pytest.raises(GexgenError, match="3 genes but synthetic has 2"):
        marginal_distances(good, np.zeros((4, 2)))
    with pytest.raises(GexgenError, match="at least 1 row"):
        marginal_distances(np.zeros(3), good)
    with pytest.raises(GexgenError, match="numbers"):
        marginal_distances(good.astype(str), good)


def test_scores_name_the_shifted_gene_beside_an_equal_size_reference():
    rng = np.random.default_rng(9)
    genes = [f"g{j}" for j in range(20)]
    real, train = rng.normal(size=(150, 20)), rng.normal(size=(400, 20))
    synth = rng.normal(size=(200, 20))
    synth[:, 7] += 3.0
    out = marginal_scores(real, synth, genes, train, seed=1)
    assert out["worst_genes"][0]["gene"] == "g7" and len(out["worst_genes"]) == 5
    assert out["ks_max"] == out["worst_genes"][0]["ks"] > 0.8
    assert out["worst_genes"][0]["w1"] == pytest.approx(3.0, abs=0.3)
    ref = out["reference"]
    assert out["n_synthetic"] == ref["n_train"] == 200  # train cut to the synthetic count
    assert ref["ks_max"] < 0.3 and ref["ks_median"] == pytest.approx(out["ks_median"], abs=0.05)
    assert marginal_scores(real, synth, genes, train, seed=1) == out
    alone = marginal_scores(real, synth, genes)
    assert alone["reference"]["ks_median"] is None and alone["reference"]["skipped"]
    assert alone["n_synthetic"] == 200
