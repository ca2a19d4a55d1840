"""The verdict per area against the references, and why each "-" is empty."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.metrics.summary import summary_lines
from gexgen.metrics.verdict import MARGINS, dash_notes, line_colour, verdicts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

GOOD = {
    "n_real": 100, "n_synthetic": 100, "inputs": {"real_rows": "test split"},
    "genes": {"shared": 10}, "notes": [],
    "gamma": {"gamma": 0.96}, "gamma_ceiling": {"gamma": 0.97},
    "detection": {"auc": 0.55, "auc_std": 0.01, "reference": {"auc": 0.52},
                  "nonlinear": {"auc": 0.58, "auc_std": 0.01, "n_per_class": 100,
                                "reference": {"auc": 0.53}}},
    "marginals": {"ks_median": 0.08, "ks_max": 0.2, "w1_median": 0.1, "w1_max": 0.3,
                  "reference": {"ks_median": 0.07, "ks_max": 0.2, "w1_median": 0.1,
                                "w1_max": 0.3}},
    "privacy": {"mia_auc": 0.51, "mia_auc_sd": 0.01, "n_synthetic": 100,
                "closer_to_train_share": 0.5, "closer_to_train_chance": 0.5,
                "dcr_median_ratio": 1.0, "dcr_below_holdout_p5": 0.05,
                "reference": {"gaussian": {"mia_auc": 0.50}, "holdout_half": {"mia_auc": 0.5}}},
    "dispersion": {"std_ratio_median": 1.02, "within_10pct_share": 0.6,
                   "reference": {"std_ratio_median": 0.99, "within_10pct_share": 0.6}},
    "de": {"lfc_r": 0.9, "top50_recall": 0.6, "top_n": 50, "n_contrasts": 4,
           "reference": {"lfc_r": 0.92, "top50_recall": 0.62}},
    "tstr": {"tissue": {"train_synthetic": {"balanced_accuracy": 0.95},
                        "train_real": {"balanced_accuracy": 0.97}}},
    "label_coverage": {"labels": ["tissue"], "n_real_combinations": 3, "n_covered": 3,
                       "real_rows_covered_share": 1.0, "missing": []},
}  # fmt: skip


def _by_area(metrics):
    return {v.area: v for v in verdicts(metrics)}


def test_a_generator_within_every_reference_passes_every_area():
    got = _by_area(GOOD)
    assert list(got) == ["fidelity", "privacy", "dispersion", "biology", "coverage"]
    assert {v.status for v in got.values()} == {"pass"}, got
    assert "gamma 0.9600 vs ceiling 0.9700" in got["fidelity"].reason


def test_each_area_fails_on_its_own_figures():
    m = copy.deepcopy(GOOD)
    m["dispersion"]["std_ratio_median"] = 0.5  # decoder means: half the spread
    m["privacy"]["mia_auc"] = 0.77  # the fast recipe's memorization
    m["gamma"]["gamma"] = 0.97 - MARGINS["gamma"][1] - 0.01
    m["de"]["lfc_r"] = 0.5
    got = _by_area(m)
    assert all(got[a].status == "fail" for a in ("fidelity", "privacy", "dispersion", "biology"))
    assert "0.500" in got["dispersion"].reason and "0.770" in got["privacy"].reason
    m["gamma"]["gamma"] = 0.97 - (MARGINS["gamma"][0] + MARGINS["gamma"][1]) / 2
    assert _by_area(m)["fidelity"].status == "warn"


def test_without_references_nothing_is_judged_and_the_reason_is_given():
    m = copy.deepcopy(GOOD)
    m["gamma_ceiling"] = {"gamma": None, "skipped": "real 'x.csv' has no train/test split"}
    for section in ("detection", "detection.nonlinear", "marginals"):
        target = m
        for key in section.split("."):
            target = target[key]
        target["reference"] = {"auc": None, "skipped": "no split"}
    m["privacy"] = {"skipped": "the real file has no train/test split column 'split'"}
    got = _by_area(m)
    assert got["fidelity"].status == "n/a" and "no real-vs-real ceiling" in got["fidelity"].reason
    assert got["privacy"].status == "n/a" and "no train/test split" in got["privacy"].reason
    notes = " ".join(dash_notes(m))
    assert "gamma ceiling: real 'x.csv' has no train/test split" in notes
    assert "privacy" in notes


def test_coverage_and_dashes_are_explained():
    m = copy.deepcopy(GOOD)
    m["label_coverage"].update(n_covered=1, real_rows_covered_share=0.2, missing=["b", "c"])
    m["de"].update(lfc_r=None, top50_recall=None, n_contrasts=0)
    m["tstr"]["tissue"]["train_synthetic"] = {"skipped": "the training rows hold one class only"}
    got = _by_area(m)
    assert got["coverage"].status == "warn" and "covers 1 of 3" in got["coverage"].reason
    notes = dash_notes(m)
    assert any("one class only" in n for n in notes)
    assert any(n.startswith("'-' in de fold-change r") for n in notes)
    lines = summary_lines(m)
    assert lines[0].startswith("verdict: fidelity PASS")
    assert [line_colour(line) for line in lines[:5]] == ["green"] * 3 + [None, "yellow"]  # n/a
    assert line_colour(lines[5]) is None
    dashed = [line for line in lines if " -," in line or line.endswith(" -")]
    assert dashed and all(n in lines for n in notes)


def test_evaluate_opens_with_the_verdict_in_print_and_report(tmp_path):
    runner = CliRunner()
    gen = write_generator(tmp_path / "g.onnx", noise_input=True)
    real, synth = tmp_path / "real.h5ad", tmp_path / "s.h5ad"
    for out, seed in ((real, "1"), (synth, "2")):
        args = ["generate", str(gen.path), "--n", "200", "--seed", seed, "--out", str(out)]
        assert runner.invoke(app, args).exit_code == 0
    done = runner.invoke(
        app,
        ["evaluate", "--real", str(real), "--synthetic", str(synth), "--out", str(tmp_path / "ev")],
    )
    assert done.exit_code == 0, done.output
    printed = [line for line in done.output.splitlines() if not line.startswith("evaluate:")]
    assert printed[0].startswith("verdict: fidelity ")
    assert "'-' in gamma ceiling" in done.output  # a file without a split: no ceiling, said why
    html = (tmp_path / "ev" / "report.html").read_text()
    assert html.index("<h2>Verdict</h2>") < html.index("<h2>Metrics</h2>")
    assert "background:#eeeeee" in html and 'What a "-" means' in html
