"""Round 2: a graph whose outputs disagree, fractional label codes, a damaged obs column-order."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from conftest import one_error_line
from gexgen.errors import GexgenError


def test_a_graph_whose_expression_disagrees_with_log_expression_is_refused(
    cli, generator, tmp_path
):
    model = onnx.load(generator)
    for node in model.graph.node:
        for i, name in enumerate(node.output):
            if name == "expression":
                node.output[i] = "expression_raw"
    model.graph.initializer.append(numpy_helper.from_array(np.float32(1.5), "k_spoof"))
    model.graph.node.append(helper.make_node("Mul", ["expression_raw", "k_spoof"], ["expression"]))
    spoof = tmp_path / "spoof.onnx"
    onnx.save(model, spoof)
    err = one_error_line(cli("generate", spoof, "--n", 10, "--out", tmp_path / "x.parquet"))
    assert "expression" in err and "re-export" in err


def test_decode_refuses_fractional_label_codes(generator):
    from gexgen.runtime import GeneratorSession

    with GeneratorSession(generator) as session:
        z = np.zeros((2, session.info.n_latent), np.float32)
        codes = {label.name: np.zeros(2) for label in session.info.labels}
        first = session.info.labels[0].name
        codes[first] = np.array([0.0, 1.7])
        with pytest.raises(GexgenError, match="must be integers"):
            session.decode(z, codes)
        codes[first] = np.array([0.0, 1.0])  # whole floats are codes
        assert session.decode(z, codes).shape == (2, len(session.info.genes))


def test_an_h5ad_whose_column_order_names_a_missing_column_gives_one_line(
    cli, matched_generator, small_cohort, tmp_path
):
    cohort = tmp_path / "bad.h5ad"
    shutil.copy(small_cohort, cohort)
    with h5py.File(cohort, "r+") as f:
        order = [str(c) for c in f["obs"].attrs["column-order"]]
        f["obs"].attrs["column-order"] = np.array([*order, "ghost"], dtype=object)
    from gexgen.runtime import open_profiles

    with pytest.raises(GexgenError, match="ghost"):
        _ = open_profiles(cohort).labels
