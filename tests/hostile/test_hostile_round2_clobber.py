"""Round 2, data lost or clobbered: outputs over inputs, races, figures, sidecars, manifests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import one_error_line

CHECK = ("--n-synthetic", 40, "--min-gamma", -1)


def _check_error_line(result) -> str:
    """gexgen check's contract: exit 2, one 'Error:' line, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert lines and lines[-1].startswith("Error: "), result.stderr
    return lines[-1]


# ------------------------------------------------ check --junit never replaces an input
def _junit_onto_an_input_is_refused(cli, generator: Path, real: Path, target: Path) -> None:
    """``check GEN --real REAL --junit TARGET`` with TARGET an input: refused, TARGET intact."""
    before = target.read_bytes()
    result = cli("check", generator, "--real", real, "--junit", target, *CHECK)
    assert "is an input" in _check_error_line(result)
    assert target.read_bytes() == before


def test_check_junit_onto_the_real_cohort_is_refused(
    cli, matched_generator, small_cohort, tmp_path
):
    cohort = tmp_path / "cohort.h5ad"
    shutil.copy(small_cohort, cohort)
    _junit_onto_an_input_is_refused(cli, matched_generator, cohort, cohort)


def test_check_junit_onto_the_generator_is_refused(cli, matched_generator, small_cohort, tmp_path):
    gen = tmp_path / "g.onnx"
    shutil.copy(matched_generator, gen)
    _junit_onto_an_input_is_refused(cli, gen, small_cohort, gen)


def test_check_junit_onto_the_generator_sidecar_is_refused(
    cli, matched_generator, small_cohort, tmp_path
):
    gen = tmp_path / "g.onnx"
    shutil.copy(matched_generator, gen)
    side = tmp_path / "g.onnx.json"
    side.write_text("{}")
    _junit_onto_an_input_is_refused(cli, gen, small_cohort, side)
    assert side.read_text() == "{}"


# ------------------------------------------------ generate: existence checked at the rename
def test_generate_race_keeps_the_other_writers_file(cli, generator, tmp_path, lose_the_race):
    """Another process creates the output after the early check: it is kept, we fail."""
    out = tmp_path / "x.parquet"
    lose_the_race(
        "gexgen.runtime.write_profiles",
        "check_output_file",
        lambda: out.write_bytes(b"the other run's output"),
    )
    err = one_error_line(cli("generate", generator, "--n", 20, "--out", out, "--no-progress"))
    assert "appeared while it was being written" in err
    assert out.read_bytes() == b"the other run's output"
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]  # no partial left


# ------------------------------------------------ train: one run per folder
def test_train_refuses_a_run_folder_another_train_holds(cli, small_cohort, tmp_path, held_lock):
    run = tmp_path / "run"
    run.mkdir()
    with held_lock(run / ".gexgen-run.lock"):  # as a running `gexgen train` holds it
        err = one_error_line(
            cli("train", small_cohort, "--out", run, "--epochs", 1, "--no-progress")
        )
    assert "in use by another gexgen train" in err
    assert sorted(p.name for p in run.iterdir()) == [".gexgen-run.lock"]


# ------------------------------------------------ evaluate owns its figures folder
def _evaluate(cli, real: Path, model: Path, report: Path, *extra: object):
    """``gexgen evaluate`` of ``model`` against ``real`` into ``report``, 40 profiles, quiet."""
    return cli("evaluate", "--real", real, "--model", model, "--out", report,
               "--n-synthetic", 40, "--no-progress", *extra)  # fmt: skip


def test_evaluate_refuses_existing_figures_without_overwrite(
    cli, matched_generator, small_cohort, tmp_path
):
    report = tmp_path / "rep"
    (report / "figures").mkdir(parents=True)
    png = report / "figures" / "umap.png"
    png.write_bytes(b"precious figure")
    err = one_error_line(_evaluate(cli, small_cohort, matched_generator, report))
    assert "figures" in err and "--overwrite" in err
    assert png.read_bytes() == b"precious figure"


def test_evaluate_never_follows_a_planted_figures_link(
    cli, matched_generator, small_cohort, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.png").write_bytes(b"not yours")
    report = tmp_path / "rep"
    report.mkdir()
    (report / "figures").symlink_to(elsewhere, target_is_directory=True)
    err = one_error_line(_evaluate(cli, small_cohort, matched_generator, report, "--overwrite"))
    assert "symbolic link" in err
    assert [p.name for p in elsewhere.iterdir()] == ["keep.png"]


# ------------------------------------------------ export: the .onnx.json sidecar is an output
def test_export_refuses_an_existing_sidecar(cli, tmp_path):
    side = tmp_path / "g.onnx.json"
    side.write_text("precious")
    err = one_error_line(cli("export", tmp_path / "no_run", "--out", tmp_path / "g.onnx"))
    assert "already exists" in err and "g.onnx.json" in err
    assert side.read_text() == "precious"


# ------------------------------------------------ datasets: manifests are not trusted
def _dataset(cli, generator, folder: Path) -> dict:
    ok = cli("generate", generator, "--n", 30, "--partition-rows", 10, "--out", f"{folder}/",
             "--no-progress", "--workers", 1)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    return json.loads((folder / "_manifest.json").read_text())


def test_resume_refuses_an_entry_pointing_outside_the_folder(cli, generator, tmp_path):
    folder = tmp_path / "ds"
    manifest = _dataset(cli, generator, folder)
    outside = tmp_path / "outside.parquet"
    shutil.copy(folder / "part-000001.parquet", outside)
    (folder / "part-000001.parquet").unlink()
    manifest["partitions"][1]["file"] = str(outside)
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    result = cli("generate", generator, "--n", 30, "--partition-rows", 10, "--out", f"{folder}/",
                 "--no-progress", "--workers", 1, "--resume")  # fmt: skip
    err = one_error_line(result)
    assert "part-000001.parquet" in err
    assert not (folder / "part-000001.parquet").exists() or result.exit_code != 0


def test_bad_workers_leaves_no_manifest(cli, generator, tmp_path):
    folder = tmp_path / "ds"
    one_error_line(
        cli(
            "generate", generator, "--n", 30, "--out", f"{folder}/", "--no-progress", "--workers", 0
        )  # fmt: skip
    )
    assert not (folder / "_manifest.json").exists()
    ok = cli("generate", generator, "--n", 30, "--out", f"{folder}/", "--no-progress",
             "--workers", 1)  # fmt: skip
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("suffix", [".parquet"])
def test_atomic_exclusive_claim_refuses_an_existing_file(tmp_path, suffix):
    from gexgen._atomic import atomic_path
    from gexgen.errors import GexgenError

    out = tmp_path / f"x{suffix}"
    with pytest.raises(GexgenError, match="appeared"):
        with atomic_path(out, exclusive=True) as tmp:
            tmp.write_bytes(b"mine")
            out.write_bytes(b"theirs")
    assert out.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


# ------------------------------------------------ data import: same claim, same refusal
def test_data_import_refuses_its_input_as_output(cli, small_cohort, tmp_path):
    cohort = tmp_path / "c.h5ad"
    shutil.copy(small_cohort, cohort)
    before = cohort.read_bytes()
    err = one_error_line(
        cli("data", "import", cohort, "--label", "tissue", "--out", cohort, "--overwrite")
    )
    assert "is an input" in err
    assert cohort.read_bytes() == before


def test_data_import_race_keeps_the_other_writers_file(cli, tmp_path, lose_the_race):
    matrix = tmp_path / "m.csv"
    matrix.write_text(
        "id,G1,G2,tissue\n" + "".join(f"s{i},1,{i},{'ab'[i % 2]}\n" for i in range(8))
    )
    out = tmp_path / "cohort.h5ad"
    lose_the_race(
        "gexgen.data.importer",
        "check_output_file",
        lambda: out.write_bytes(b"the other run's cohort"),
    )
    err = one_error_line(cli("data", "import", matrix, "--label", "tissue", "--out", out))
    assert "appeared while it was being written" in err
    assert out.read_bytes() == b"the other run's cohort"


def test_evaluate_race_keeps_the_other_runs_metrics(
    cli, matched_generator, small_cohort, tmp_path, lose_the_race
):
    report = tmp_path / "rep"

    def other_run_writes_its_metrics():
        report.mkdir()
        (report / "metrics.json").write_text('{"other": "run"}')

    lose_the_race("gexgen.metrics.evaluation", "check_output_folder", other_run_writes_its_metrics)
    err = one_error_line(_evaluate(cli, small_cohort, matched_generator, report, "--no-report"))
    assert "appeared while it was being written" in err
    assert (report / "metrics.json").read_text() == '{"other": "run"}'
