"""benchmarks/attacks_speed.py runs at toy size and writes the figures it prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "metrics"))
from toy_data import ToyModel, write_toy_cohort, write_toy_generator  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "attacks_speed.py"


def test_attacks_speed_script(tmp_path: Path) -> None:
    model = ToyModel(seed=6)
    cohort = write_toy_cohort(tmp_path / "cohort.h5ad", n=300, model=model, seed=6)
    onnx = write_toy_generator(tmp_path / "good.onnx", model, good=True)
    out = tmp_path / "speed.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--real", str(cohort), "--model", str(onnx),
         "--n-synthetic", "400", "--draws", "2", "--generator-file",
         "--draws-per-combination", "200", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["seconds"] > 0 and result["attacks"]["n_draws"] == 2
    assert f"worst AUC {result['attacks']['worst_auc']:.3f}" in done.stdout
    assert result["generator_file"]["draws_per_combination"] == 200
    assert "generator-file attack:" in done.stdout
