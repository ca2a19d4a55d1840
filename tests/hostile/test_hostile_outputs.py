"""D1, T1, W10, C1: existing outputs, unwritable paths, full disks, huge --n."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import one_error_line
from gexgen._atomic import PARTIAL_MARK
from gexgen.cli._errors import os_error_line


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if PARTIAL_MARK in p.name or ".partial" in p.name]


# ---------------------------------------------------------------- D1 existing outputs
@pytest.mark.parametrize("suffix", [".parquet", ".h5ad", ".npy", ".csv"])
def test_generate_refuses_an_existing_output(cli, generator, tmp_path, suffix):
    out = tmp_path / f"cohort{suffix}"
    out.write_bytes(b"precious")
    err = one_error_line(cli("generate", generator, "--n", 10, "--out", out, "--no-progress"))
    assert "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"
    result = cli("generate", generator, "--n", 10, "--out", out, "--no-progress", "--overwrite")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() != b"precious"


def test_generate_refuses_an_existing_sidecar(cli, generator, tmp_path):
    (tmp_path / "s.labels.parquet").write_bytes(b"precious")
    err = one_error_line(cli("generate", generator, "--n", 10, "--out", tmp_path / "s.npy"))
    assert "s.labels.parquet" in err


def test_data_import_refuses_an_existing_cohort(cli, tmp_path):
    matrix = tmp_path / "m.csv"
    matrix.write_text("id,G1,G2,tissue\n" + "".join(f"s{i},1,2,{'ab'[i % 2]}\n" for i in range(8)))
    out = tmp_path / "cohort.h5ad"
    out.write_bytes(b"precious")
    err = one_error_line(cli("data", "import", matrix, "--label", "tissue", "--out", out))
    assert "already exists" in err and out.read_bytes() == b"precious"
    ok = cli("data", "import", matrix, "--label", "tissue", "--out", out, "--overwrite")
    assert ok.exit_code == 0, ok.output


def test_data_rnaseqdb_refuses_an_existing_cohort_before_reading(cli, tmp_path):
    out = tmp_path / "cohort.h5ad"
    out.write_bytes(b"precious")
    # the source does not exist: the output check comes first
    err = one_error_line(cli("data", "rnaseqdb", "--source", tmp_path / "nowhere", "--out", out))
    assert "already exists" in err


def test_export_refuses_an_existing_generator(cli, tmp_path):
    out = tmp_path / "g.onnx"
    out.write_bytes(b"precious")
    err = one_error_line(cli("export", tmp_path / "no_run", "--out", out))
    assert "already exists" in err and out.read_bytes() == b"precious"


def test_evaluate_refuses_an_existing_report_before_computing(cli, generator, tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    (report / "metrics.json").write_text("{}")
    err = one_error_line(
        cli("evaluate", "--real", tmp_path / "missing.h5ad", "--model", generator, "--out", report)
    )
    assert "already holds metrics.json" in err


def test_evaluate_out_that_is_a_file_is_refused_first(cli, generator, tmp_path):
    out = tmp_path / "report.txt"
    out.write_text("x")
    err = one_error_line(
        cli("evaluate", "--real", tmp_path / "missing.h5ad", "--model", generator, "--out", out)
    )
    assert "is a file" in err and out.read_text() == "x"


def test_demo_refuses_a_folder_with_a_previous_demo(cli, tmp_path):
    (tmp_path / "generator.onnx").write_bytes(b"precious")
    err = one_error_line(cli("demo", "--out", tmp_path, "--data", tmp_path / "nodata"))
    assert "generator.onnx" in err and "--overwrite" in err


def test_every_writing_command_has_overwrite(cli):
    for args in (
        ["generate"],
        ["data", "import"],
        ["data", "rnaseqdb"],
        ["export"],
        ["evaluate"],
        ["benchmark"],
        ["demo"],
        ["train"],
        ["tune"],
    ):
        result = cli(*args, "--help")
        assert "--overwrite" in result.output, args


# ---------------------------------------------------------------- T1 paths
def test_out_that_is_a_folder_is_refused(cli, generator, tmp_path):
    folder = tmp_path / "out.parquet"
    folder.mkdir()
    err = one_error_line(cli("generate", generator, "--n", 5, "--out", folder))
    assert "is a folder" in err


def test_out_below_a_file_is_refused(cli, generator, tmp_path):
    (tmp_path / "file").write_text("x")
    err = one_error_line(cli("generate", generator, "--n", 5, "--out", tmp_path / "file" / "o.npy"))
    assert "is a file" in err


def test_unwritable_folder_is_refused_up_front(cli, generator, tmp_path, monkeypatch):
    real_access = os.access
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == ro else real_access(p, mode)
    )
    err = one_error_line(cli("generate", generator, "--n", 5, "--out", ro / "o.parquet"))
    assert "cannot write to folder" in err and str(ro) in err


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.ENOSPC, "disk is full"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "permission denied"),
        (errno.EISDIR, "folder"),
    ],
)
def test_os_errors_at_the_cli_are_one_line(cli, generator, tmp_path, monkeypatch, code, advice):
    import gexgen.runtime.profile_writers as writers

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / "o.parquet"))

    monkeypatch.setattr(writers.ParquetProfileWriter, "_write", fail)
    err = one_error_line(cli("generate", generator, "--n", 5, "--out", tmp_path / "o.parquet"))
    assert advice in err and "o.parquet" in err
    assert not (tmp_path / "o.parquet").exists() and _partials(tmp_path) == []


def test_os_error_line_reads_errno_from_h5py_text():
    exc = OSError("Can't write data (file write failed: errno = 28, error message = 'x')")
    assert "disk is full" in os_error_line(exc)


# ---------------------------------------------------------------- W10 free space
def test_huge_n_is_refused_up_front(cli, generator, tmp_path):
    out = tmp_path / "huge.parquet"
    err = one_error_line(cli("generate", generator, "--n", 10**15, "--out", out))
    assert "free" in err and "--force" in err
    assert not out.exists() and _partials(tmp_path) == []


def test_force_skips_the_free_space_check(cli, generator, tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=10))
    out = tmp_path / "s.npy"
    one_error_line(cli("generate", generator, "--n", 1000, "--out", out, "--no-progress"))
    ok = cli("generate", generator, "--n", 1000, "--out", out, "--no-progress", "--force")
    assert ok.exit_code == 0, ok.output


# ---------------------------------------------------------------- C1 full disk
_LIMIT = 1 << 20  # 1 MiB per file: writes beyond fail with EFBIG, like a full disk


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (_LIMIT, _LIMIT))


def _gexgen(*args: object, preexec=None) -> subprocess.CompletedProcess:
    code = "from gexgen.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
    )


@pytest.mark.parametrize("suffix", [".h5ad", ".parquet", ".npy", ".csv"])
def test_a_disk_that_fills_up_is_one_line_not_a_crash(generator, tmp_path, suffix):
    out = tmp_path / f"s{suffix}"
    done = _gexgen(
        "generate", generator, "--n", 100_000, "--out", out, "--no-progress", preexec=_limited
    )
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])  # was 139 for .h5ad
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot write"), done.stderr
    assert str(out.name) in lines[0] or "labels.parquet" in lines[0] or "meta.json" in lines[0]
    assert not out.exists() and _partials(tmp_path) == []


def test_a_full_cohort_disk_is_one_line(tmp_path):
    matrix = tmp_path / "m.csv"
    rows = "".join(f"s{i}," + ",".join(["1.5"] * 300) + f",{'ab'[i % 2]}\n" for i in range(2000))
    matrix.write_text("id," + ",".join(f"G{j}" for j in range(300)) + ",tissue\n" + rows)
    out = tmp_path / "c" / "cohort.h5ad"
    done = _gexgen("data", "import", matrix, "--label", "tissue", "--out", out, preexec=_limited)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert done.stderr.strip().startswith("Error: cannot write") and "cohort.h5ad" in done.stderr
    assert not out.exists() and _partials(out.parent) == []


def _mount_tmpfs(path: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def test_a_real_full_tmpfs_is_one_line(generator, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_tmpfs(disk):
        pytest.skip("mounting a tmpfs needs root; the RLIMIT_FSIZE tests cover the same path")
    try:
        for suffix in (".h5ad", ".parquet"):
            out = disk / f"s{suffix}"
            done = _gexgen(
                "generate", generator, "--n", 100_000, "--out", out, "--force", "--no-progress"
            )
            assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
            assert "disk is full" in done.stderr and len(done.stderr.strip().splitlines()) == 1
            assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)
