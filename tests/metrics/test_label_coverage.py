"""Label coverage: a synthetic set drawn for one combination is flagged, not scored silently."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.metrics.label_coverage import coverage_notes, label_coverage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

runner = CliRunner()


def test_counts_against_a_plain_reference():
    real = pd.DataFrame({"t": list("aabbc"), "s": list("xyxxx")})
    synth = pd.DataFrame({"t": ["a", "a", "d"], "s": ["x", "x", "x"]})
    got = label_coverage(real, synth, ["t", "s"])
    combos = set(zip(real["t"], real["s"], strict=True))  # the reference, by hand
    assert got["n_real_combinations"] == len(combos) == 4
    assert got["n_covered"] == 1 and got["real_rows_covered_share"] == 1 / 5
    assert set(got["missing"]) == {"a|y", "b|x", "c|x"} and got["synthetic_only"] == ["d|x"]
    (note,) = coverage_notes(got)
    assert "covers 1 of 4 label combinations" in note and "against all 4" in note
    assert "80% of the real rows" in note


def test_full_coverage_says_nothing():
    real = pd.DataFrame({"t": list("ab")})
    assert coverage_notes(label_coverage(real, real, ["t"])) == []
    assert "skipped" in label_coverage(real, real, [])


def test_evaluate_flags_a_one_combination_file(tmp_path):
    gen = write_generator(tmp_path / "g.onnx", noise_input=True)
    real, synth = tmp_path / "real.h5ad", tmp_path / "kidney_tumor.h5ad"
    for out, extra in ((real, []), (synth, ["--condition", "tissue=kidney", "--condition",
                                             "status=tumor"])):  # fmt: skip
        args = ["generate", str(gen.path), "--n", "300", "--seed", "1", "--out", str(out)]
        assert runner.invoke(app, [*args, *extra]).exit_code == 0
    done = runner.invoke(
        app,
        ["evaluate", "--real", str(real), "--synthetic", str(synth), "--out",
         str(tmp_path / "ev"), "--no-report"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    coverage = metrics["label_coverage"]
    assert coverage["n_covered"] == 1 and coverage["n_real_combinations"] == 7
    text = " ".join(done.output.split())
    assert "synthetic covers 1 of 7 label combinations" in text
