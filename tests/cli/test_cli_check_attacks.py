"""`gexgen check --max-(file-)attack-auc / ...-tpr-at-1pct-fpr`: gated beside the Gaussian."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.metrics.check import GATES, check_generator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics"))
from toy_data import ToyModel, write_toy_cohort, write_toy_generator  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("check_attacks")
    model = ToyModel(seed=3)
    return {
        "cohort": write_toy_cohort(root / "cohort.h5ad", n=300, model=model, seed=3),
        "good": write_toy_generator(root / "good.onnx", model, good=True),
    }


@pytest.mark.parametrize("gate", ["attack", "file_attack"])  # data-only, the .onnx file
def test_attack_gates_pass_fail_and_show_the_gaussian(toy, gate):
    flag = "--max-" + gate.replace("_", "-")
    args = ["check", str(toy["good"]), "--real", str(toy["cohort"]), "--min-gamma", "0.5"]
    ok = runner.invoke(app, [*args, f"{flag}-auc", "1", f"{flag}-tpr-at-1pct-fpr", "1"])
    assert ok.exit_code == 0, ok.output
    lines = ok.stdout.splitlines()
    assert lines[1].startswith(f"PASS {gate}_auc = ") and "reference" in lines[1]
    assert lines[2].startswith(f"PASS {gate}_tpr_at_1pct_fpr = ")
    strict = runner.invoke(app, [*args, f"{flag}-auc", "0.01"])
    assert strict.exit_code == 1 and f"FAIL {gate}_auc" in strict.stdout
    bad = runner.invoke(app, [*args, f"{flag}-auc", "1.5"])
    assert bad.exit_code == 2 and f"max_{gate}_auc must be in" in bad.stderr


def test_library_gate_reads_the_worst_attack(toy):
    assert GATES["max_attack_auc"].path == ("privacy", "attacks", "worst_auc")
    result = check_generator(
        toy["good"], toy["cohort"], min_gamma=None, n_synthetic=600, max_attack_auc=1.0
    )
    (c,) = result.checks
    assert c.name == "attack_auc" and 0.0 <= c.value <= 1.0 and c.reference is not None
    assert result.metrics["attack_auc_reference"] == c.reference


def test_library_file_gate_reads_the_file_attack_beside_the_gaussian(toy):
    assert GATES["max_file_attack_auc"].path == ("privacy", "attacks", "generator_file", "auc")
    result = check_generator(
        toy["good"], toy["cohort"], min_gamma=None, n_synthetic=600, max_file_attack_auc=1.0
    )
    (c,) = result.checks
    assert c.name == "file_attack_auc" and 0.0 <= c.value <= 1.0 and c.reference is not None
