"""Round 3: benchmark, tune and demo outputs are created at their rename, never replaced.

Each test lets "another run" create an output after the command's early
existence check (the race of two runs started together): that file must be
kept and this run must fail with one line, leaving no partial file.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from conftest import make_cohort
from gexgen.errors import GexgenError

OTHER = b"the other run's output"


def _no_partials(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if ".gexgen-partial-" in p.name]


# ------------------------------------------------ benchmark
@pytest.fixture(scope="module")
def bench_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough training rows for the benchmark's batch size of 50."""
    return make_cohort(tmp_path_factory.mktemp("bench") / "cohort.h5ad", n=200, n_genes=12)


def test_benchmark_keeps_results_another_run_wrote_meanwhile(bench_cohort, tmp_path):
    from gexgen.benchmark import BenchmarkConfig, run_benchmark

    out = tmp_path / "bench"

    def log(message: str) -> None:  # called once the early check has passed
        if message.startswith("[1/1]"):
            out.mkdir(parents=True, exist_ok=True)
            (out / "results.json").write_bytes(OTHER)

    config = BenchmarkConfig(models=("gaussian",), throughput_samples=50, umap=False, threads=1)
    with pytest.raises(GexgenError, match="appeared while it was being written"):
        run_benchmark(bench_cohort, out, config, progress=False, log=log)
    assert (out / "results.json").read_bytes() == OTHER
    _no_partials(out)


# ------------------------------------------------ tune
@pytest.fixture
def tiny_train_config():
    from gexgen.train import TrainConfig

    return TrainConfig(
        encoder_hidden=(16,),
        n_latent=4,
        decoder_hidden=(16,),
        batch_size=16,
        epochs=1,
        device="cpu",
        patience=None,
        threads=1,
    )


@pytest.mark.parametrize("planted", ["tune.csv", "best"])
def test_tune_keeps_outputs_another_run_wrote_meanwhile(
    planted, small_cohort, tiny_train_config, tmp_path, monkeypatch
):
    tune = importlib.import_module("gexgen.train.tune")
    out = tmp_path / "tune"
    real_train = tune.train_cvae

    def train_while_another_tune_finishes(*args, **kwargs):
        if planted == "best":
            (out / "best").mkdir(parents=True, exist_ok=True)
            (out / "best" / "checkpoint.pt").write_bytes(OTHER)
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / "tune.csv").write_bytes(OTHER)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(tune, "train_cvae", train_while_another_tune_finishes)
    with pytest.raises(GexgenError, match="appeared while"):
        tune.tune_cvae(
            small_cohort, out, tiny_train_config, lrs=(1e-3,), depths=(2,), progress=False
        )
    if planted == "best":
        assert sorted(p.name for p in (out / "best").iterdir()) == ["checkpoint.pt"]
        assert (out / "best" / "checkpoint.pt").read_bytes() == OTHER
    else:
        assert (out / "tune.csv").read_bytes() == OTHER
    _no_partials(out)


# ------------------------------------------------ demo
def test_demo_keeps_a_cohort_another_demo_wrote_meanwhile(shared_data, tmp_path, monkeypatch):
    demo = importlib.import_module("gexgen.demo")
    out = tmp_path / "demo"
    real_resolve = demo.resolve_demo_data

    def resolve_while_another_demo_writes(data_dir):
        (out / "cohort.h5ad").parent.mkdir(parents=True, exist_ok=True)
        (out / "cohort.h5ad").write_bytes(OTHER)
        return real_resolve(data_dir)

    def no_training(*args, **kwargs):  # the old code went on; stop it before any training
        raise RuntimeError("the demo replaced the other demo's cohort and went on")

    monkeypatch.setattr(demo, "resolve_demo_data", resolve_while_another_demo_writes)
    monkeypatch.setattr("gexgen.train.train_cvae", no_training)
    with pytest.raises(GexgenError, match="already exists"):
        demo.run_demo(out, shared_data, demo.DemoConfig(epochs=1), echo=lambda _: None)
    assert (out / "cohort.h5ad").read_bytes() == OTHER


def test_every_demo_step_is_asked_not_to_replace_without_overwrite(tmp_path, monkeypatch):
    """Each step gets ``overwrite=False`` (so each claims its output at the rename)."""
    from types import SimpleNamespace

    demo = importlib.import_module("gexgen.demo")
    asked: dict[str, object] = {}

    def record(step, result):
        def fake(*args, **kwargs):
            asked[step] = kwargs.get("overwrite")
            return result

        return fake

    summary = SimpleNamespace(format=lambda: "cohort")
    run = SimpleNamespace(
        kept_epoch=1, epochs_run=1, refit_rows=0, checkpoint_path="c", run_dir=tmp_path
    )
    monkeypatch.setattr(demo, "resolve_demo_data", lambda d: ("src", "lm.tsv"))
    monkeypatch.setattr("gexgen.data.rnaseqdb.build_rnaseqdb_cohort", record("data", (0, summary)))
    monkeypatch.setattr("gexgen.train.train_cvae", record("train", run))
    monkeypatch.setattr(
        "gexgen.export.export_generator", record("export", SimpleNamespace(max_abs_diff=0.0))
    )
    monkeypatch.setattr("gexgen.runtime.GeneratorSession", lambda path: None)
    monkeypatch.setattr("gexgen.runtime.write_profiles", record("generate", None))
    monkeypatch.setattr("gexgen.metrics.evaluate", record("evaluate", {}))
    monkeypatch.setattr("gexgen.metrics.summary.summary_lines", lambda m: [])
    for overwrite in (False, True):
        asked.clear()
        demo.run_demo(
            tmp_path / f"demo-{overwrite}",
            None,
            demo.DemoConfig(n_profiles=10),
            echo=lambda _: None,
            overwrite=overwrite,
        )
        assert asked == dict.fromkeys(
            ("data", "train", "export", "generate", "evaluate"), overwrite
        )
