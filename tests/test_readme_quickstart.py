"""The README's quickstart, run as written on the real data, ends with the verdict.

Run through ``benchmarks/quickstart_time.py`` (the script that times it for the
README), once; the time itself is not asserted (the machines are shared).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_quickstart_runs_as_written_and_ends_with_a_verdict(shared_data, tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from quickstart_time import quickstart_commands

    commands = quickstart_commands()
    assert [c.split()[:2] for c in commands if c.startswith("gexgen")] == [
        ["gexgen", "data"], ["gexgen", "train"], ["gexgen", "export"],
        ["gexgen", "generate"], ["gexgen", "evaluate"],
    ]  # fmt: skip
    out = tmp_path / "runs.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "quickstart_time.py"), "--data",
         str(shared_data), "--runs", "1", "--json", str(out), "--keep", str(tmp_path / "qs")],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    steps = json.loads(out.read_text())["runs"][0]["steps"]
    assert len(steps) == 5 and all(s["returncode"] == 0 for s in steps)
    assert steps[-1]["last_line"].startswith("verdict: overall "), steps[-1]
    report = tmp_path / "qs" / "run0" / "report"
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["n_synthetic"] == 2000 and metrics["genes"]["shared"] > 900
    # --quick: 2 draws for membership inference and the attacks, the probe's 5 folds
    assert metrics["privacy"]["n_draws"] == metrics["privacy"]["attacks"]["n_draws"] == 2
    assert metrics["detection"]["nonlinear"]["n_folds"] == 5
    assert (report / "report.html").is_file()
    assert "the 60 s budget" in done.stdout
