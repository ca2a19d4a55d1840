"""``gexgen evaluate --quick``: fewer draws, no UMAP, no probe reference, a verdict never
more lenient than the full evaluation's; and the overall verdict as the last line."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
from test_verdict import GOOD
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.errors import GexgenError
from gexgen.metrics import EvaluateConfig
from gexgen.metrics.evaluation import QUICK
from gexgen.metrics.verdict import _ORDER, verdict_recap, verdicts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

runner = CliRunner()


def test_the_quick_preset_keeps_the_probe_folds_and_names_what_it_drops():
    quick = EvaluateConfig.quick(seed=3)
    full = EvaluateConfig(seed=3)
    assert quick.seed == 3 and {k: getattr(quick, k) for k in QUICK} == QUICK
    # fewer folds would weaken the probes (each fold model sees fewer rows): kept
    assert quick.n_folds == full.n_folds and quick.max_samples == full.max_samples
    assert full.fewer_repeats() is None
    note = quick.fewer_repeats()
    assert "privacy draws 2 (full: 5)" in note and "PRDC draws 2 (full: 5)" in note
    assert "no real-vs-real reference for the gradient-boosted probe" in note
    with pytest.raises(GexgenError, match="privacy_draws must be an integer >= 1"):
        EvaluateConfig(privacy_draws=0)


def _fidelity(m):
    return {v.area: v for v in verdicts(m)}["fidelity"]


@pytest.mark.parametrize("auc", [0.55, 0.58, 0.62, 0.66, 0.72, 0.8])
@pytest.mark.parametrize("ref", [0.3, 0.45, 0.5, 0.55, 0.6, 0.7])
def test_without_the_probe_reference_the_verdict_is_never_more_lenient(auc, ref):
    full = copy.deepcopy(GOOD)
    full["detection"]["nonlinear"].update(auc=auc, reference={"auc": ref})
    quick = copy.deepcopy(full)
    quick["detection"]["nonlinear"]["reference"] = {
        "auc": None, "skipped": "not computed (--quick)", "verdict_against": 0.5
    }  # fmt: skip
    strict, lenient = _fidelity(quick), _fidelity(full)
    assert _ORDER[strict.status] >= _ORDER[lenient.status]
    if ref <= 0.5:  # a real-vs-real AUC at or below 0.5 changes nothing
        assert strict.status == lenient.status
    assert "vs 0.5 (real-vs-real not computed)" in strict.reason


def test_the_recap_names_the_worst_area_first():
    m = copy.deepcopy(GOOD)
    assert verdict_recap(m).startswith("verdict: overall PASS - fidelity PASS, privacy PASS")
    m["detection"]["nonlinear"]["auc"] = 0.95  # far off real-vs-real
    recap = verdict_recap(m)
    assert recap.startswith("verdict: overall FAIL - fidelity FAIL, ")
    assert "dispersion PASS" in recap
    assert verdict_recap({}).startswith("verdict: overall N/A - ")


def test_evaluate_quick_skips_umap_and_the_probe_reference_and_ends_with_the_verdict(tmp_path):
    gen = write_generator(tmp_path / "g.onnx", noise_input=True)
    real, synth = tmp_path / "real.h5ad", tmp_path / "s.h5ad"
    for out, seed in ((real, "1"), (synth, "2")):
        args = ["generate", str(gen.path), "--n", "200", "--seed", seed, "--out", str(out)]
        assert runner.invoke(app, args).exit_code == 0
    report = tmp_path / "ev"
    args = ["evaluate", "--real", str(real), "--synthetic", str(synth), "--out", str(report)]
    done = runner.invoke(app, [*args, "--quick", "--no-progress"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("verdict: overall ") and "fidelity " in lines[-1]
    assert "note: a quicker evaluation than the full one" in done.stdout
    m = json.loads((report / "metrics.json").read_text())
    assert m["config"]["privacy_draws"] == 2 and m["config"]["umap"] is False
    assert m["prdc"]["n_draws"] == 2 and m["detection"]["nonlinear"]["n_folds"] == 5
    nonlinear = m["detection"]["nonlinear"]
    assert (
        nonlinear["reference"]["auc"] is None and nonlinear["reference"]["verdict_against"] == 0.5
    )
    assert not list((report / "figures").glob("umap_*.png"))
    assert (report / "figures" / "gene_correlation.png").is_file()
    # --umap brings the figures back in a quick evaluation
    again = runner.invoke(app, [*args, "--quick", "--umap", "--overwrite", "--no-progress"])
    assert again.exit_code == 0, again.output
    assert list((report / "figures").glob("umap_*.png"))
