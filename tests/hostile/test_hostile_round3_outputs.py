"""Round 3: benchmark, tune and demo outputs are created at their rename, never replaced.

Each test lets "another run" create an output after the command's early
existence check (the race of two runs started together): that file must be
kept and this run must fail with one line, leaving no partial file.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from conftest import make_cohort, one_error_line
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
    planted, small_cohort, tiny_train_config, tmp_path, lose_the_race
):
    tune = importlib.import_module("gexgen.train.tune")
    out = tmp_path / "tune"

    def another_tune_finishes():  # while this one trains its grid
        if planted == "best":
            (out / "best").mkdir(parents=True, exist_ok=True)
            (out / "best" / "checkpoint.pt").write_bytes(OTHER)
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / "tune.csv").write_bytes(OTHER)

    lose_the_race("gexgen.train.tune", "train_cvae", another_tune_finishes, before=True)
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
def test_demo_keeps_a_cohort_another_demo_wrote_meanwhile(
    shared_data, tmp_path, monkeypatch, lose_the_race
):
    demo = importlib.import_module("gexgen.demo")
    out = tmp_path / "demo"

    def another_demo_writes_its_cohort():  # after this demo's early check
        out.mkdir(parents=True, exist_ok=True)
        (out / "cohort.h5ad").write_bytes(OTHER)

    lose_the_race("gexgen.demo", "resolve_demo_data", another_demo_writes_its_cohort, before=True)

    def no_training(*args, **kwargs):  # the old code went on; stop it before any training
        raise RuntimeError("the demo replaced the other demo's cohort and went on")

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


# ------------------------------------------------ one generate per dataset folder
def test_generate_refuses_a_dataset_folder_another_generate_holds(
    cli, generator, tmp_path, held_lock
):
    folder = tmp_path / "ds"
    folder.mkdir()
    with held_lock(folder / ".gexgen-dataset.lock"):  # as a running `gexgen generate DIR/`
        err = one_error_line(
            cli("generate", generator, "--n", 30, "--out", f"{folder}/", "--no-progress")
        )
    assert "in use by another gexgen generate" in err and str(folder) in err
    assert sorted(p.name for p in folder.iterdir()) == [".gexgen-dataset.lock"]


def test_a_second_generate_into_the_same_folder_is_refused_meanwhile(
    generator, tmp_path, monkeypatch
):
    """Started while the first one writes its manifest: refused; the first completes."""
    gd = importlib.import_module("gexgen.distributed.generate_dataset")
    folder = tmp_path / "ds"
    second: list[str] = []
    real_write_manifest = gd.write_manifest

    def write_while_another_generate_starts(*args, **kwargs):
        if not second:
            second.append("started")
            try:
                gd.generate(generator, folder, 30, seed=1, workers=1, progress=False)
                second.append("ran")
            except GexgenError as exc:
                second.append(str(exc))
        return real_write_manifest(*args, **kwargs)

    monkeypatch.setattr(gd, "write_manifest", write_while_another_generate_starts)
    manifest = gd.generate(
        generator, folder, 30, seed=0, partition_rows=10, workers=1, progress=False
    )
    assert len(second) == 2 and "in use by another gexgen generate" in second[1], second
    assert str(folder) in second[1]
    assert manifest["complete"] and manifest["seed"] == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "_manifest.json", "part-000000.parquet", "part-000001.parquet", "part-000002.parquet",
    ]  # fmt: skip


@pytest.mark.parametrize("command", ["benchmark", "tune"])
def test_benchmark_and_tune_refuse_a_folder_another_run_holds(
    command, bench_cohort, tiny_train_config, tmp_path, held_lock
):
    from gexgen.benchmark import BenchmarkConfig, run_benchmark
    from gexgen.train import tune_cvae

    folder = tmp_path / command
    folder.mkdir()
    with (
        held_lock(folder / f".gexgen-{command}.lock"),  # as a running `gexgen {command}`
        pytest.raises(GexgenError, match=f"in use by another gexgen {command}"),
    ):
        if command == "benchmark":
            config = BenchmarkConfig(models=("gaussian",), throughput_samples=50, umap=False)
            run_benchmark(bench_cohort, folder, config, progress=False, log=lambda _: None)
        else:
            tune_cvae(bench_cohort, folder, tiny_train_config, lrs=(1e-3,), depths=(2,),
                      progress=False)  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == [f".gexgen-{command}.lock"]


# ------------------------------------------------ one demo per demo folder
def test_demo_refuses_a_folder_another_demo_holds_even_with_overwrite(
    cli, tmp_path, held_lock, monkeypatch
):
    """A running demo holds ``.gexgen-demo.lock``: a second one (``--overwrite`` too) stops."""

    def no_data(*args, **kwargs):  # the old code went on to the data step
        raise RuntimeError("the second demo started writing the folder")

    monkeypatch.setattr("gexgen.demo.resolve_demo_data", no_data)
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "cohort.h5ad").write_bytes(OTHER)  # the running demo's first output
    with held_lock(folder / ".gexgen-demo.lock"):  # as a running `gexgen demo` holds it
        err = one_error_line(cli("demo", "--out", folder, "--overwrite"))
    assert "in use by another gexgen demo" in err and str(folder) in err
    assert (folder / "cohort.h5ad").read_bytes() == OTHER
    assert sorted(p.name for p in folder.iterdir()) == [".gexgen-demo.lock", "cohort.h5ad"]


def test_the_demo_lock_is_held_while_it_runs_and_removed_after(tmp_path, monkeypatch):
    demo = importlib.import_module("gexgen.demo")
    seen: list[list[str]] = []

    def steps(out, *rest):
        seen.append(sorted(p.name for p in Path(out).iterdir()))
        Path(out, "cohort.h5ad").touch()

    monkeypatch.setattr(demo, "_run_demo_locked", steps)
    demo.run_demo(tmp_path / "d", None, echo=lambda _: None)
    assert seen == [[".gexgen-demo.lock"]]
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["cohort.h5ad"]
