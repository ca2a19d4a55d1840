"""`gexgen evaluate --attack-generator`: the .onnx attack in metrics.json and the summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from gexgen.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics"))
from toy_data import ToyModel, write_toy_cohort, write_toy_generator  # noqa: E402

runner = CliRunner()


def test_attack_generator_is_opt_in_and_reported(tmp_path):
    model = ToyModel(seed=5)
    cohort = write_toy_cohort(tmp_path / "cohort.h5ad", n=300, model=model, seed=5)
    onnx = write_toy_generator(tmp_path / "good.onnx", model, good=True)
    base = ["evaluate", "--real", str(cohort), "--model", str(onnx), "--no-report"]
    plain = runner.invoke(app, [*base, "--out", str(tmp_path / "a")])
    assert plain.exit_code == 0, plain.output
    attacks = json.loads((tmp_path / "a" / "metrics.json").read_text())["privacy"]["attacks"]
    assert "generator_file" not in attacks and "attacks: worst AUC" in plain.stdout
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "b"), "--attack-generator"])
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    f = m["privacy"]["attacks"]["generator_file"]
    assert 0.0 <= f["auc"] <= 1.0 and f["draws_per_combination"] == 5_000
    assert f["reference"]["gaussian"]["auc"] is not None
    assert "attacks: generator file" in result.stdout
