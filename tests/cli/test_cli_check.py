"""`gexgen check` as a CI gate: any metric, exit codes 0/1/2, JSON errors, JUnit XML."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.cli.evaluate_commands import _DEFAULT_CHECK_SYNTHETIC
from gexgen.metrics.check import DEFAULT_CHECK_SYNTHETIC, GATES, check_generator
from gexgen.metrics.evaluation import ALL_METRICS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics"))
from toy_data import ToyModel, write_toy_cohort, write_toy_generator  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("check_toy")
    model = ToyModel(seed=3)
    return {
        "root": root,
        "cohort": write_toy_cohort(root / "cohort.h5ad", n=300, model=model, seed=3),
        "good": write_toy_generator(root / "good.onnx", model, good=True),
        "bad": write_toy_generator(root / "bad.onnx", model, good=False),
    }


def _check(toy, *args):
    return runner.invoke(app, ["check", str(toy["good"]), "--real", str(toy["cohort"]), *args])


def test_the_cli_default_count_is_the_library_one():
    assert _DEFAULT_CHECK_SYNTHETIC == DEFAULT_CHECK_SYNTHETIC
    result = runner.invoke(app, ["check", "--help"])
    assert "0.002" in result.stdout and "exit" in result.stdout.lower()


def test_privacy_gates_pass_and_fail_with_their_reference(toy):
    ok = _check(toy, "--min-gamma", "0.5", "--max-mia-auc", "0.9", "--max-closer-to-train", "1")
    assert ok.exit_code == 0, ok.output
    lines = ok.stdout.splitlines()
    assert lines[1].startswith("PASS mia_auc = ") and "reference" in lines[1]
    assert lines[2].startswith("PASS closer_to_train_share = ")
    strict = _check(toy, "--min-gamma", "0.5", "--max-mia-auc", "0.01")
    assert strict.exit_code == 1
    assert "PASS gamma" in strict.stdout and "FAIL mia_auc" in strict.stdout


def test_default_synthetic_count_and_summary(toy):
    result = _check(toy, "--min-gamma", "0.5", "--min-coverage", "0.1", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metrics"]["n_synthetic"] == DEFAULT_CHECK_SYNTHETIC
    assert [c["name"] for c in payload["checks"]] == ["gamma", "coverage"]
    assert payload["checks"][0]["reference"] == payload["metrics"]["gamma_ceiling"]


def test_errors_exit_2_and_print_json_with_json(toy, tmp_path):
    missing = runner.invoke(
        app, ["check", str(tmp_path / "none.onnx"), "--real", str(toy["cohort"]), "--json"]
    )
    assert missing.exit_code == 2
    payload = json.loads(missing.stdout)
    assert payload["passed"] is False and "not found" in payload["error"]
    plain = _check(toy, "--max-mia-auc", "1.5")
    assert plain.exit_code == 2 and plain.stderr.startswith("Error: max_mia_auc must be in")
    assert len(plain.stderr.strip().splitlines()) == 1


def test_junit_xml_on_pass_fail_and_error(toy, tmp_path):
    report = tmp_path / "check.xml"
    result = _check(toy, "--min-gamma", "0.5", "--max-mia-auc", "0.01", "--junit", str(report))
    assert result.exit_code == 1
    suite = ET.parse(report).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert cases[0].find("failure") is None and cases[1].find("failure") is not None
    error = runner.invoke(
        app,
        ["check", str(tmp_path / "no.onnx"), "--real", str(toy["cohort"]), "--junit", str(report)],
    )
    assert error.exit_code == 2
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("errors") == "1" and "not found" in suite.find("testcase/error").get("message")


def test_gates_of_metrics_this_build_lacks_are_errors_not_passes(toy):
    """--min-std-ratio needs the dispersion metric; without it the check must not pass."""
    result = _check(toy, "--min-gamma", "0.5", "--min-std-ratio", "0.5")
    if "dispersion" in ALL_METRICS:
        assert result.exit_code in (0, 1) and "std_ratio_median" in result.stdout
    else:
        assert result.exit_code == 2 and "dispersion" in result.stderr


def test_library_gate_table_and_unknown_threshold(toy):
    assert {"min_gamma", "max_mia_auc", "max_closer_to_train", "min_std_ratio"} <= set(GATES)
    with pytest.raises(Exception, match="unknown threshold"):
        check_generator(toy["good"], toy["cohort"], max_gamma=0.5)
    bad = check_generator(toy["bad"], toy["cohort"], min_gamma=0.8, n_synthetic=400)
    assert not bad.passed and bad.checks[0].value < 0.8
    assert np.isfinite(bad.metrics["gamma_ceiling"])


def test_tstr_ratio_gate_reads_the_worst_label_of_evaluate(toy):
    from gexgen.metrics import EvaluateConfig, compute_metrics
    from gexgen.metrics.tstr import worst_tstr_ratio

    config = EvaluateConfig(metrics=("tstr",), n_synthetic=300)
    expected = {}
    for name in ("good", "bad"):
        tstr = compute_metrics(toy["cohort"], model=toy[name], config=config).metrics["tstr"]
        ratios = [
            e["train_synthetic"]["balanced_accuracy"] / e["train_real"]["balanced_accuracy"]
            for e in tstr.values()
        ]
        expected[name] = min(ratios)
        assert worst_tstr_ratio(tstr) == pytest.approx(expected[name])
    assert expected["good"] > expected["bad"]
    cut = (expected["good"] + expected["bad"]) / 2
    for name, code in (("good", 0), ("bad", 1)):
        args = ["check", str(toy[name]), "--real", str(toy["cohort"]), "--min-gamma", "-1"]
        result = runner.invoke(app, [*args, "--n-synthetic", "300", "--min-tstr-ratio", str(cut)])
        assert result.exit_code == code, result.output
        assert f"tstr_ratio = {expected[name]:.4f}" in result.stdout
