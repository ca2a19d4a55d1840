"""`gexgen check --max-detection-auc-nonlinear / --max-marginal-ks` and the evaluate lines."""

from __future__ import annotations

from typer.testing import CliRunner

from gexgen.cli import app

runner = CliRunner()


# the inputs of the `toy` fixture (tests/cli/conftest.py)
TOY = dict(model_seed=4, sample_seed=4, n_synthetic=200, cohort_seed=4)


def _check(toy, *args):
    base = ["check", str(toy["good"]), "--real", str(toy["cohort"]), "--n-synthetic", "300"]
    return runner.invoke(app, [*base, "--min-gamma", "0", *args])


def test_check_options_pass_and_fail_with_references(toy):
    ok = _check(toy, "--max-detection-auc-nonlinear", "0.95", "--max-marginal-ks", "0.6")
    assert ok.exit_code == 0, ok.output
    lines = ok.stdout.splitlines()
    assert lines[1].startswith("PASS detection_auc_nonlinear = ") and "reference" in lines[1]
    assert lines[2].startswith("PASS marginal_ks_median = ") and "reference" in lines[2]
    strict = _check(toy, "--max-marginal-ks", "0.0001")
    assert strict.exit_code == 1 and "FAIL marginal_ks_median" in strict.stdout
    bad = _check(toy, "--max-detection-auc-nonlinear", "1.5")
    assert bad.exit_code == 2 and "max_detection_auc_nonlinear must be in" in bad.stderr
    help_text = runner.invoke(app, ["check", "--help"]).stdout
    assert "--max-detection-auc-nonlinear" in help_text and "--max-marginal-ks" in help_text


def test_evaluate_prints_the_new_lines_and_takes_gradient_boosting(toy, tmp_path):
    args = ["evaluate", "--real", str(toy["cohort"]), "--synthetic", str(toy["synthetic"])]
    args += ["--out", str(tmp_path / "r"), "--no-report", "--no-progress"]
    result = runner.invoke(app, [*args, "--detection-classifier", "gradient_boosting"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "detection AUC (gradient-boosted)" in out and "marginals: KS median" in out
    assert out.count("real-vs-real") >= 4  # gamma, both detection lines, marginals
