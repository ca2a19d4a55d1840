"""`gexgen evaluate` and `gexgen check`: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gexgen.cli import app

runner = CliRunner()


# the inputs of the `toy` fixture (tests/cli/conftest.py)
TOY = dict(model_seed=1, sample_seed=2, n_synthetic=300, foreign=True, bad=True)


def test_evaluate_with_a_synthetic_file_writes_metrics_and_report(toy, tmp_path):
    out = tmp_path / "report"
    args = [
        "evaluate",
        "--real",
        str(toy["cohort"]),
        "--synthetic",
        str(toy["synthetic"]),
        "--out",
        str(out),
        "--umap-max-samples",
        "80",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"gamma {metrics['gamma']['gamma']:.4f}" in result.stdout
    assert "detection AUC" in result.stdout and "report.html" in result.stdout
    assert (out / "report.html").stat().st_size > 10_000
    stages = [line for line in result.stderr.splitlines() if line.startswith("evaluate: ")]
    assert [s.split()[1] for s in stages] == [
        "reading", "gamma", "precision", "detection", "detection:", "marginals:", "train",
        "per-gene", "privacy:",
        "dispersion:", "differential", "report.html"
    ]  # fmt: skip
    quiet = runner.invoke(app, [*args[:-3], str(tmp_path / "quiet"), *args[-2:], "--no-progress"])
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr
    assert quiet.stdout.replace("quiet", "report") == result.stdout


def test_evaluate_with_a_model_and_no_report(toy, tmp_path):
    out = tmp_path / "m"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--real",
            str(toy["cohort"]),
            "--model",
            str(toy["good"]),
            "--out",
            str(out),
            "--no-report",
            "--labels",
            "tissue",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labels"] == ["tissue"] and metrics["n_synthetic"] == metrics["n_real"]
    assert not (out / "report.html").exists()


def test_evaluate_augmentation_is_opt_in(toy, tmp_path):
    out = tmp_path / "aug"
    args = ["evaluate", "--real", str(toy["cohort"]), "--model", str(toy["good"]), "--out"]
    result = runner.invoke(app, [*args, str(out), "--no-report", "--augmentation"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    gain = metrics["augmentation"]["mean_gain"]
    assert f"augmentation (tissue): mean balanced-accuracy gain {gain:+.4f}" in result.stdout
    assert "dispersion: median synthetic/real std" in result.stdout
    plain = runner.invoke(app, [*args, str(tmp_path / "plain"), "--no-report"])
    assert plain.exit_code == 0 and "balanced-accuracy gain" not in plain.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--synthetic", "{foreign}"], "share no genes"),
        (["--synthetic", "{synthetic}", "--labels", "tissue,organ"], "unknown label(s) ['organ']"),
        ([], "exactly one of --synthetic"),
        (["--synthetic", "{synthetic}", "--model", "{good}"], "exactly one of --synthetic"),
        (["--synthetic", "{root}/missing.parquet"], "not found"),
        (["--synthetic", "{synthetic}", "--detection-classifier", "svm"], "logistic"),
    ],
)
def test_evaluate_errors_are_one_line_and_exit_1(toy, tmp_path, extra, message):
    extra = [e.format(**{k: str(v) for k, v in toy.items()}) for e in extra]
    result = runner.invoke(
        app, ["evaluate", "--real", str(toy["cohort"]), "--out", str(tmp_path / "r"), *extra]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_check_exit_codes_and_lines(toy):
    base = [
        "check",
        "--real",
        str(toy["cohort"]),
        "--min-gamma",
        "0.8",
        "--max-detection-auc",
        "0.7",
    ]
    good = runner.invoke(app, [*base[:1], str(toy["good"]), *base[1:]])
    assert good.exit_code == 0, good.output
    lines = good.stdout.splitlines()
    assert lines[0].startswith("PASS gamma = ") and lines[1].startswith("PASS detection_auc = ")
    bad = runner.invoke(app, [*base[:1], str(toy["bad"]), *base[1:]])
    assert bad.exit_code == 1
    assert bad.stdout.startswith("FAIL gamma = ") and "FAIL detection_auc" in bad.stdout
    # only the thresholds asked for are checked
    lenient = runner.invoke(
        app, ["check", str(toy["bad"]), "--real", str(toy["cohort"]), "--min-gamma", "-1"]
    )
    assert lenient.exit_code == 0 and "detection" not in lenient.stdout


def test_check_json_is_seeded(toy):
    args = [
        "check",
        str(toy["good"]),
        "--real",
        str(toy["cohort"]),
        "--min-gamma",
        "0.5",
        "--json",
        "--seed",
        "7",
    ]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    payload = json.loads(first.stdout)
    assert payload["passed"] is True and payload["checks"][0]["name"] == "gamma"
    other_seed = runner.invoke(app, [*args[:-1], "8"])
    assert json.loads(other_seed.stdout)["metrics"]["gamma"] != payload["metrics"]["gamma"]


def test_check_errors(toy, tmp_path):
    result = runner.invoke(
        app, ["check", str(tmp_path / "none.onnx"), "--real", str(toy["cohort"])]
    )
    assert result.exit_code == 2 and "not found" in result.stderr  # check: 2 = error
    result = runner.invoke(
        app, ["check", str(toy["good"]), "--real", str(toy["cohort"]), "--max-detection-auc", "1.5"]
    )
    assert result.exit_code == 2 and "max_detection_auc" in result.stderr


@pytest.mark.slow
def test_check_fails_an_untrained_cvae_and_passes_a_trained_one(toy, tmp_path):
    """The real pipeline: train_cvae -> export_generator -> gexgen check."""
    from gexgen.export import export_generator
    from gexgen.train import TrainConfig, train_cvae

    small = dict(
        encoder_hidden=(64,),
        decoder_hidden=(64,),
        n_latent=8,
        batch_size=32,
        lr=1e-3,
        patience=None,
        seed=0,
        device="cpu",
    )
    verdicts = {}
    for name, epochs in (("untrained", 0), ("trained", 150)):
        run = tmp_path / name
        train_cvae(toy["cohort"], run, TrainConfig(epochs=epochs, **small), progress=False)
        onnx_path = tmp_path / f"{name}.onnx"
        export_generator(run, onnx_path)
        result = runner.invoke(
            app,
            ["check", str(onnx_path), "--real", str(toy["cohort"]), "--min-gamma", "0.7", "--json"],
        )
        verdicts[name] = (result.exit_code, json.loads(result.stdout)["metrics"]["gamma"])
    assert verdicts["untrained"][0] == 1, verdicts
    assert verdicts["trained"][0] == 0, verdicts
