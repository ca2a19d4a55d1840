"""The scripts in benchmarks/ still run, at toy sizes, and report sane figures.

Timings are not asserted (the machines are shared); only that each script
finishes, prints its ratio lines and writes consistent numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_gamma_scaling_matches_numpy_and_reports_ceiling(tmp_path: Path) -> None:
    out = tmp_path / "gamma.json"
    text = _run(
        "gamma_scaling.py",
        *("--sizes", "1500", "--reference-sizes", "1500", "--n-real", "300"),
        *("--json", str(out)),
    )
    rows = {r["method"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"gexgen", "numpy", "ceiling"}
    assert abs(rows["gexgen"]["gamma"] - rows["numpy"]["gamma"]) < 1e-8
    assert 0.0 < rows["gexgen"]["gamma"] <= 1.0
    assert all(r["seconds"] > 0 for r in rows.values())
    assert "the bare float32 X.T @ X (ceiling)" in text
    assert "numpy reference / gexgen" in text


def test_generate_throughput_reports_each_format(tmp_path: Path) -> None:
    out = tmp_path / "generate.json"
    text = _run(
        "generate_throughput.py",
        *("--rows", "512", "--rounds", "1", "--file-rows", "1024", "--large-n", "0"),
        *("--workdir", str(tmp_path), "--json", str(out)),
    )
    results = json.loads(out.read_text())
    assert {"throughput", "npy", "parquet", "formats", "cold_start"} <= set(results)
    rows = results["throughput"]
    assert rows["ceiling (faster bare graph per round)"]["ratio_to_ceiling"] == 1.0
    for row in (
        "bare graph, all threads in one call",
        "bare graph, data-parallel (1 thread/call)",
        "iter_chunks, eps, stream 2 (Philox)",
        "iter_chunks, int8",
        "sample (fresh matrix)",
    ):
        assert rows[row]["profiles_per_s"] > 0 and rows[row]["ratio_to_ceiling"] > 0
    for derived in (
        "eps stream 2 vs no noise input",
        "eps stream 2 vs --mean (same graph, no noise drawn)",
        "data-parallel vs one-call bare graph",
    ):
        assert rows["derived"][derived] > 0
    assert results["cold_start"]["gexgen generate --n 1 (eps, stream 2)"]["seconds"] > 0
    for fmt in (".npy", ".parquet", ".h5ad", ".csv"):
        assert fmt in text
    assert not list(tmp_path.glob("gexgen_bench_*")), "scratch folder left behind"


def test_train_throughput_reports_gemm_ratio() -> None:
    text = _run(
        "train_throughput.py",
        *("--n-train", "300", "--genes", "40", "--epochs", "2", "--large-batch", "64"),
    )
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(("50 ", "64 "))]
    assert len(rows) == 5
    for row in rows:
        assert float(row[3]) > 0  # s/epoch
        assert row[-1].endswith("%")


def test_nearest_throughput_agrees_with_sklearn_and_reports_ceiling(tmp_path: Path) -> None:
    out = tmp_path / "nearest.json"
    text = _run(
        "nearest_throughput.py",
        *("--m", "300", "--n", "120", "--genes", "50", "--repeats", "1"),
        *("--json", str(out)),
    )
    rows = {r["method"]: r for r in json.loads(out.read_text())}
    assert rows["agreement"]["share"] == 1.0
    assert rows["gexgen"]["seconds"] > 0 and rows["ceiling"]["ratio_to_ceiling"] == 1.0
    assert "(ceiling)" in text


def test_distributed_scaling_reports_ratios(tmp_path: Path) -> None:
    out = tmp_path / "distributed.json"
    text = _run(
        "distributed_scaling.py",
        *("--n", "2048", "--partition-rows", "1024", "--workdir", str(tmp_path)),
        *("--json", str(out)),
    )
    results = json.loads(out.read_text())
    generation = results["generation"]
    assert generation["n"] == 2048 and generation["partition_rows"] == 1024
    assert all(generation[k] > 0 for k in ("single_s", "cluster1_s", "cluster2_s"))
    assert results["scan"]["gamma_self_diff"] < 1e-9
    assert text.count("per-core ratio to single") == 3
    assert "partition overhead" in text and "paper model: 1e9 profiles" in text
    assert not list(tmp_path.glob("gexgen_bench_*")), "scratch folder left behind"


def test_tstr_probe_scores_each_variant_of_a_trained_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gexgen.cli import app

    sys.path.insert(0, str(Path(__file__).resolve().parent / "train"))
    from cohort_factory import make_cohort

    cohort = make_cohort(tmp_path / "cohort.h5ad", n=144, n_genes=160)
    run = tmp_path / "run"
    tiny = [
        "--encoder-hidden", "32,16", "--n-latent", "4", "--decoder-hidden", "16,32",
        "--batch-size", "16", "--epochs", "3", "--device", "cpu", "--threads", "1",
    ]  # fmt: skip
    trained = CliRunner().invoke(app, ["train", str(cohort), "--out", str(run), *tiny])
    assert trained.exit_code == 0, trained.output
    text = _run("tstr_probe.py", str(cohort), str(run))
    lines = {line.split(":")[0]: line for line in text.splitlines() if ":" in line}
    for name in (
        "trained on real (fitted rows)",
        "default calibration, seed 0",
        "64 noise factors (default 32), seed 1",
        "latent temperature 1, seed 0",
        "diagonal Gaussian per combination, seed 2",
    ):
        accuracy = float(lines[name].split(":")[1].split()[0])
        assert 0.0 <= accuracy <= 1.0, lines[name]
    # three well-separated tissues: the real rows teach them
    assert float(lines["trained on real (fitted rows)"].split(":")[1].split()[0]) > 0.9
