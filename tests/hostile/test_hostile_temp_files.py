"""S1 / D3: temporary files cannot be redirected by planted symlinks; kill -9 leftovers go."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from gexgen._atomic import PARTIAL_MARK, atomic_path, remove_stale_partials
from gexgen.errors import GexgenError
from gexgen.runtime import GeneratorSession, write_profiles
from gexgen.runtime.profile_writers import sidecars_of

FORMATS = [".parquet", ".h5ad", ".npy", ".csv"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_planted_symlinks_do_not_redirect_the_output(generator, tmp_path, suffix):
    """The old predictable names ``.{stem}.partial-{pid}{suffix}``, planted for a range of
    pids around ours, must neither be written through nor renamed into place."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out_dir = tmp_path / "shared"
    out_dir.mkdir()
    out = out_dir / f"synthetic{suffix}"
    me = os.getpid()
    for pid in range(me - 20, me + 21):
        for side in (out, *sidecars_of(out)):
            link = out_dir / f".{side.stem}.partial-{pid}{side.suffix}"
            if not link.exists():
                link.symlink_to(victim)
    with GeneratorSession(generator, providers="cpu") as session:
        write_profiles(session, out, 50, progress=False)
    assert victim.read_text() == "precious"
    assert not out.is_symlink() and out.is_file()
    assert stat.S_ISREG(os.lstat(out).st_mode)


def test_temp_file_is_new_exclusive_and_unpredictable(tmp_path):
    names = []
    for _ in range(2):
        with atomic_path(tmp_path / "x.npy") as tmp:
            assert tmp.suffix == ".npy" and tmp.parent == tmp_path
            assert PARTIAL_MARK in tmp.name and tmp.is_file() and not tmp.is_symlink()
            names.append(tmp.name)
            np.save(tmp, np.arange(3))
    assert names[0] != names[1]  # random part: not predictable from the pid
    assert np.load(tmp_path / "x.npy").tolist() == [0, 1, 2]


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    # the module reads the umask once at import; 0o022 is the usual default
    mode = stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode)
    assert mode & 0o600 == 0o600 and not mode & 0o002


def test_a_temp_file_swapped_for_a_symlink_is_never_renamed_into_place(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out.txt"
    with pytest.raises(GexgenError, match="replaced"):
        with atomic_path(out) as tmp:
            tmp.write_text("mine")
            tmp.unlink()
            tmp.symlink_to(victim)  # an attacker swaps the file before the rename
    assert not out.exists() and not out.is_symlink()
    assert victim.read_text() == "precious"
    assert not any(PARTIAL_MARK in p.name for p in tmp_path.iterdir())


def test_error_and_interrupt_leave_the_old_file_and_no_partial(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with atomic_path(out) as tmp:
                tmp.write_text("half")
                raise exc
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


_WRITER = textwrap.dedent(
    """
    import sys, time
    from gexgen._atomic import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"x" * 100_000)
        print(tmp, flush=True)
        time.sleep(60)
    """
)


def test_kill_9_leftovers_are_removed_by_the_next_run(tmp_path):
    out = tmp_path / "big.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        partial = Path(proc.stdout.readline().strip())
        assert partial.is_file()
        # a live writer's file is kept
        assert remove_stale_partials(tmp_path) == []
        assert partial.is_file()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert partial.is_file()  # SIGKILL: nothing could clean up
    # the next run in that folder (a new process) removes it
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from gexgen._atomic import atomic_path\n"
            "with atomic_path(sys.argv[1]) as t: t.write_text('ok')",
            str(tmp_path / "other.txt"),
        ],
        check=True,
        timeout=60,
    )
    assert not partial.exists()
    assert not out.exists() and (tmp_path / "other.txt").read_text() == "ok"


def test_old_style_leftovers_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = tmp_path / f".cohort.partial-{dead.pid}.h5ad"
    old.write_bytes(b"x")
    recent = tmp_path / f".cohort2.partial-{dead.pid}.h5ad"
    recent.write_bytes(b"x")
    alive = tmp_path / f".cohort3.partial-{os.getpid()}.h5ad"
    alive.write_bytes(b"x")
    unrelated = tmp_path / ".notes.partial.txt"
    unrelated.write_bytes(b"x")
    past = time.time() - 3600
    for p in (old, alive, unrelated):
        os.utime(p, (past, past))
    removed = remove_stale_partials(tmp_path)
    assert removed == [old]
    assert recent.exists() and alive.exists() and unrelated.exists()
