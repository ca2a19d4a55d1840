"""CTGAN / TVAE wrappers (tiny budgets) and matched rejection sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gexgen.baselines import (
    TabularBaseline,
    TabularConfig,
    TransformerCache,
    combination_counts,
    sample_matching,
)
from gexgen.errors import GexgenError

GENES = [f"G{i}" for i in range(5)]


def _data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    labels = pd.DataFrame(
        {
            "tissue": np.array(["kidney", "liver", "lung"])[np.arange(n) % 3],
            "status": np.array(["normal", "tumor"])[(np.arange(n) // 3) % 2],
        }
    )
    x = rng.gamma(2.0, 10.0, size=(n, len(GENES))) * (1 + (np.arange(n) % 3))[:, None]
    return x, labels


TINY = TabularConfig(epochs=2, batch_size=20, seed=0, n_jobs=1)


@pytest.mark.parametrize("kind", ["ctgan", "tvae"])
def test_fit_and_sample_shapes_labels_and_times(kind: str):
    x, labels = _data()
    model = TabularBaseline(kind, TINY)
    seconds = model.fit(x, GENES, labels)
    assert seconds > 0 and model.fit_seconds == seconds
    t = model.times
    assert (t.n_continuous, t.n_discrete) == (5, 2) and not t.reused
    assert t.fit_seconds > 0 and t.transform_seconds > 0 and t.fit_seconds < seconds
    synth, synth_labels = model.sample(30, condition=("tissue", "liver"))
    assert synth.shape == (30, 5) and synth.dtype == np.float32
    assert list(synth_labels.columns) == ["tissue", "status"]
    assert set(synth_labels["tissue"]) <= {"kidney", "liver", "lung"}
    assert model.times.inverse_rows == 30 and model.times.inverse_seconds > 0


def test_same_seed_same_samples_and_the_cache_fits_the_transformer_once():
    x, labels = _data()
    cache = TransformerCache()
    a = TabularBaseline("tvae", TINY, cache=cache)
    a.fit(x, GENES, labels)
    b = TabularBaseline("tvae", TINY, cache=cache)
    b.fit(x, GENES, labels)
    assert len(cache.entries) == 1 and b.times.reused and not a.times.reused
    assert b.times.fit_seconds == a.times.fit_seconds
    np.testing.assert_array_equal(a.sample(40)[0], b.sample(40)[0])
    # CTGAN on the same data reuses the same fitted transformer
    c = TabularBaseline("ctgan", TINY, cache=cache)
    c.fit(x, GENES, labels)
    assert c.times.reused and len(cache.entries) == 1


def test_bad_inputs():
    x, labels = _data()
    with pytest.raises(GexgenError, match="unknown tabular baseline 'gan'.*ctgan"):
        TabularBaseline("gan")  # type: ignore[arg-type]
    with pytest.raises(GexgenError, match="multiple of 10"):
        TabularConfig(batch_size=25)
    with pytest.raises(GexgenError, match="not fitted"):
        TabularBaseline("tvae").sample(3)
    with pytest.raises(GexgenError, match="share a name"):
        TabularBaseline("tvae", TINY).fit(x, ["tissue", *GENES[1:]], labels)
    with pytest.raises(GexgenError, match="label rows"):
        TabularBaseline("tvae", TINY).fit(x, GENES, labels.iloc[:10])


def _fake_sampler(calls: list):
    """Rows whose tissue cycles kidney/liver/lung and status is always normal."""

    def sample(n: int, condition):
        calls.append((n, condition))
        tissue = np.array(["kidney", "liver", "lung"])[np.arange(n) % 3]
        if condition is not None:
            tissue = np.full(n, condition[1])
        labels = pd.DataFrame({"tissue": tissue, "status": "normal"})
        x = np.arange(n, dtype=np.float32)[:, None].repeat(2, axis=1)
        return x, labels

    return sample


def test_sample_matching_exact_counts_and_honest_shortfall():
    targets = pd.DataFrame(
        {
            "tissue": ["kidney"] * 4 + ["liver"] * 2 + ["lung"],
            "status": ["normal"] * 6 + ["tumor"],
        }
    )
    calls: list = []
    out = sample_matching(_fake_sampler(calls), targets, oversample=2, max_rounds=3)
    got = combination_counts(out.labels, ["tissue", "status"])
    assert got == {("kidney", "normal"): 4, ("liver", "normal"): 2}
    assert out.shortfall == {"lung|tumor": 1}  # never produced: reported, not filled
    assert out.expression.shape == (6, 2) and len(calls) == 3
    assert out.n_drawn == sum(n for n, _ in calls) and 0 < out.acceptance < 1


def test_sample_matching_conditions_per_value():
    targets = pd.DataFrame({"tissue": ["kidney", "lung", "lung"], "status": ["normal"] * 3})
    calls: list = []
    out = sample_matching(_fake_sampler(calls), targets, condition_on="tissue", min_draw=1)
    assert not out.shortfall and len(out.labels) == 3
    assert sorted(c for _, c in calls) == [("tissue", "kidney"), ("tissue", "lung")]
    with pytest.raises(GexgenError, match="condition_on"):
        sample_matching(_fake_sampler([]), targets, condition_on="sex")


def test_parallel_transformer_fit_equals_ctgan_serial_fit():
    x, labels = _data()
    caches = {}
    for n_jobs in (1, 2):
        caches[n_jobs] = TransformerCache()
        config = TabularConfig(epochs=1, batch_size=20, n_jobs=n_jobs)
        model = TabularBaseline("tvae", config, cache=caches[n_jobs])
        model.fit(x, GENES, labels)
        assert model.times.n_jobs == n_jobs
    (serial,), (parallel,) = (list(c.entries.values()) for c in caches.values())
    assert serial["state"]["output_dimensions"] == parallel["state"]["output_dimensions"]
    np.testing.assert_array_equal(serial["transformed"], parallel["transformed"])
