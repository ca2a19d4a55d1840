"""The ``conditions`` argument: fixed combinations, partial ones, mixes, per-row values, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tiny_generator import DEFAULT_COMBINATIONS, write_generator

from gexgen.errors import GexgenError
from gexgen.runtime import GeneratorSession


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    return GeneratorSession(write_generator(tmp_path_factory.mktemp("g") / "g.onnx").path)


def _labels(gen, n, **kwargs):
    return gen.sample(n, as_frame=False, **kwargs)[1].astype(str)


def test_one_combination(gen):
    labels = _labels(gen, 300, conditions={"tissue": "kidney", "status": "tumor"})
    assert (labels["tissue"] == "kidney").all() and (labels["status"] == "tumor").all()


def test_training_mix_follows_training_counts(gen):
    n = 60_000
    labels = _labels(gen, n, conditions="training", seed=1)
    observed = labels.groupby(["tissue", "status"]).size()
    total = sum(DEFAULT_COMBINATIONS.values())
    for combo, count in DEFAULT_COMBINATIONS.items():
        p = count / total
        assert abs(observed.get(combo, 0) / n - p) < 4 * np.sqrt(p * (1 - p) / n), combo
    assert ("bladder", "tumor") not in observed.index  # never seen in training


def test_uniform_mix_is_uniform_over_seen_combinations(gen):
    n = 35_000
    counts = _labels(gen, n, conditions="uniform", seed=2).groupby(["tissue", "status"]).size()
    assert set(counts.index) == set(DEFAULT_COMBINATIONS)
    p = 1 / len(DEFAULT_COMBINATIONS)
    assert np.all(np.abs(counts.to_numpy() / n - p) < 4 * np.sqrt(p * (1 - p) / n))


def test_partial_condition_draws_the_rest_conditionally(gen):
    n = 30_000
    labels = _labels(gen, n, conditions={"tissue": "kidney"}, seed=3)
    assert (labels["tissue"] == "kidney").all()
    tumor = (labels["status"] == "tumor").mean()
    assert abs(tumor - 60 / 90) < 4 * np.sqrt((2 / 9) / n)
    bladder = _labels(gen, 500, conditions={"tissue": "bladder"})
    assert (bladder["status"] == "normal").all()  # the only seen bladder combination
    uniform = _labels(gen, n, conditions={"tissue": "kidney"}, mix="uniform", seed=3)
    assert abs((uniform["status"] == "tumor").mean() - 0.5) < 4 * np.sqrt(0.25 / n)


def test_mix_labels_do_not_depend_on_chunk_size(gen):
    full = _labels(gen, 5000, conditions={"status": "tumor"}, seed=4)
    chunks = gen.iter_chunks(5000, conditions={"status": "tumor"}, seed=4, chunk_size=777)
    joined = pd.concat([c.labels for c in chunks]).astype(str)
    assert (joined.to_numpy() == full.to_numpy()).all()


def test_unseen_full_combination_warns_but_generates(gen):
    with pytest.warns(UserWarning, match="not seen in training"):
        labels = _labels(gen, 10, conditions={"tissue": "bladder", "status": "tumor"})
    assert (labels["status"] == "tumor").all()


def test_partial_condition_matching_no_seen_combination(tmp_path):
    labels = {"tissue": ["kidney", "liver"], "status": ["normal", "tumor"], "source": ["a", "b"]}
    combos = {("kidney", "normal", "a"): 5, ("liver", "tumor", "b"): 7}
    gen = GeneratorSession(
        write_generator(tmp_path / "g3.onnx", labels=labels, combinations=combos).path
    )
    with pytest.raises(GexgenError, match="no label combination seen in training matches"):
        gen.sample(5, conditions={"tissue": "kidney", "status": "tumor"})
    got = gen.sample(50, conditions={"tissue": "liver"}, as_frame=False)[1].astype(str)
    assert (got["source"] == "b").all() and (got["status"] == "tumor").all()


def test_without_recorded_combinations_labels_are_drawn_independently(tmp_path):
    gen = GeneratorSession(
        write_generator(tmp_path / "nocombo.onnx", combinations={}, metadata_overrides={}).path
    )
    labels = gen.sample(2000, conditions="uniform", as_frame=False)[1].astype(str)
    assert labels.groupby(["tissue", "status"]).size().size == 8


def test_per_row_values(gen):
    frame = pd.DataFrame(
        {
            "status": ["tumor", "normal", "tumor"],
            "tissue": ["liver", "kidney", "uterus"],
            "split": ["a", "b", "c"],
        }
    )
    labels = _labels(gen, 3, conditions=frame)
    assert labels["tissue"].tolist() == ["liver", "kidney", "uterus"]
    assert labels["status"].tolist() == ["tumor", "normal", "tumor"]
    as_dict = _labels(gen, 3, conditions={"tissue": np.array(["liver"] * 3), "status": "tumor"})
    assert as_dict["status"].tolist() == ["tumor"] * 3
    # per-row conditions give the same profiles as sampling each combination by itself
    values = gen.sample(3, conditions=frame, seed=8, as_frame=False)[0]
    for i, row in frame.iterrows():
        alone = gen.sample(
            3, conditions={"tissue": row.tissue, "status": row.status}, seed=8, as_frame=False
        )[0]
        assert np.array_equal(values[i], alone[i])


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"organ": "kidney"}, r"unknown label\(s\) \['organ'\].*\['tissue', 'status'\]"),
        ({"tissue": "lung"}, "unknown value 'lung' for label 'tissue'.*bladder, kidney, liver"),
        (
            {"tissue": ["kidney", "lung", "kidney", "kidney"], "status": "tumor"},
            r"unknown value\(s\) \['lung'\]",
        ),
        ({"tissue": ["kidney", "liver"], "status": "tumor"}, "expected \\(4,\\)"),
        ({"tissue": ["kidney"] * 4}, r"must give every label; missing \['status'\]"),
        (pd.DataFrame({"tissue": ["kidney"] * 4}), r"lack label column\(s\) \['status'\]"),
        ("everything", "not understood"),
        (42, "must be 'training', 'uniform', a dict or a DataFrame"),
    ],
)
def test_condition_errors(gen, conditions, message):
    with pytest.raises(GexgenError, match=message):
        gen.sample(4, conditions=conditions)


def test_bad_mix(gen):
    with pytest.raises(GexgenError, match="mix must be one of"):
        gen.sample(4, mix="balanced")
