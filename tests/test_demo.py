"""`gexgen demo`: the whole pipeline on the real shared data with a tiny budget."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.demo import DemoConfig, run_demo

runner = CliRunner()


@pytest.mark.slow
def test_demo_runs_end_to_end_on_real_data(shared_data, tmp_path):
    lines: list[str] = []
    config = DemoConfig(n_profiles=3000, epochs=2, chunk_size=1024)
    result = run_demo(tmp_path / "demo", shared_data, config, echo=lines.append, progress=False)

    for path in (result.cohort, result.generator, result.synthetic):
        assert path.is_file() and path.stat().st_size > 0
    assert (result.report_dir / "report.html").is_file()
    written = json.loads((result.report_dir / "metrics.json").read_text())
    assert written["n_synthetic"] == 3000
    assert -1.0 <= result.metrics["gamma"]["gamma"] <= 1.0
    assert len(result.seconds) == 5
    text = "\n".join(lines)
    for step in ("1/5 data", "2/5 train", "3/5 export", "4/5 generate", "5/5 evaluate"):
        assert step in text
    assert "gamma" in text and "report:" in text


def test_demo_without_data_stops_at_once_saying_how_to_point_at_it(tmp_path, monkeypatch):
    monkeypatch.delenv("GEXGEN_DATA", raising=False)
    # no GEXGEN_DATA and an unreachable upstream: nothing is downloaded or written
    monkeypatch.setattr("gexgen.data.download.UPSTREAM_URL", "http://127.0.0.1:9/none")
    start = time.perf_counter()
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "GEXGEN_DATA" in result.output and "unreachable" in result.output
    assert time.perf_counter() - start < 15
    assert not (tmp_path / "out").exists()


def test_demo_with_a_wrong_data_folder_names_what_is_missing(tmp_path):
    result = runner.invoke(app, ["demo", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "rnaseqdb" in result.output and "GEXGEN_DATA" in result.output
    assert not (tmp_path / "o").exists()
