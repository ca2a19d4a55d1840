"""Round 3: folder locks where ``fcntl`` is missing (Windows) or ``flock`` is refused (NFS).

The lock file itself is then the lock (``O_CREAT | O_EXCL``, holding ``pid host``);
a lock left by a process that no longer runs is named as stale, never silently taken.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys

import pytest

from gexgen._lock import folder_lock
from gexgen.errors import GexgenError
from gexgen.train.run_lock import LOCK_NAME, run_dir_lock

LOCK = dict(what="dataset folder", command="gexgen generate")


@pytest.fixture
def no_fcntl(monkeypatch):
    """As on Windows: ``import fcntl`` fails."""
    monkeypatch.setitem(sys.modules, "fcntl", None)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_without_fcntl_a_second_holder_is_refused_naming_the_first(no_fcntl, tmp_path):
    folder = tmp_path / "ds"
    with folder_lock(folder, ".lock", **LOCK):
        assert (folder / ".lock").read_text() == f"{os.getpid()} {socket.gethostname()}\n"
        with pytest.raises(GexgenError) as info:
            with folder_lock(folder, ".lock", **LOCK):
                pytest.fail("a second holder got the lock")
    message = str(info.value)
    assert "in use by another gexgen generate" in message and str(folder) in message
    assert f"by process {os.getpid()}" in message and "\n" not in message
    assert not folder.exists()  # created by the lock, empty: removed with the lock file


def test_without_fcntl_the_run_lock_still_refuses_a_second_train(no_fcntl, tmp_path):
    run = tmp_path / "run"
    with run_dir_lock(run):
        with pytest.raises(GexgenError, match="in use by another gexgen train"):
            with run_dir_lock(run):
                pytest.fail("a second train got the run folder")
    assert not (run / LOCK_NAME).exists()


def test_a_stale_lock_is_named_and_never_taken(no_fcntl, tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    pid = _dead_pid()
    (folder / ".lock").write_text(f"{pid} {socket.gethostname()}\n")
    with pytest.raises(GexgenError) as info:
        with folder_lock(folder, ".lock", **LOCK):
            pytest.fail("a stale lock was taken")
    message = str(info.value)
    assert f"stale lock .lock left by gexgen process {pid}, which no longer runs" in message
    assert f"remove {str(folder / '.lock')!r}" in message
    assert (folder / ".lock").read_text() == f"{pid} {socket.gethostname()}\n"  # kept


def test_a_lock_file_naming_no_process_says_how_to_clear_it(no_fcntl, tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / ".lock").write_bytes(b"")  # e.g. left by a flock holder killed with SIGKILL
    with pytest.raises(GexgenError, match="names no process.*stale: remove"):
        with folder_lock(folder, ".lock", **LOCK):
            pytest.fail("an unexplained lock file was taken")


def test_a_file_system_refusing_flock_falls_back_to_the_lock_file(tmp_path, monkeypatch):
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    folder = tmp_path / "ds"
    with folder_lock(folder, ".lock", **LOCK):
        assert (folder / ".lock").read_text().startswith(f"{os.getpid()} ")
        with pytest.raises(GexgenError, match=f"held by process {os.getpid()}"):
            with folder_lock(folder, ".lock", **LOCK):
                pytest.fail("a second holder got the lock")
    assert not folder.exists()


def test_liveness_probe_never_signals_on_windows(monkeypatch):
    """``os.kill(pid, 0)`` terminates the process on Windows: the probe must not call it."""
    from gexgen._atomic import _pid_alive

    def kill(pid, sig):
        pytest.fail(f"os.kill({pid}, {sig}) called on Windows")

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(os, "name", "nt")
    assert _pid_alive(_dead_pid()) is True  # cannot tell there: the lock is kept, never taken
