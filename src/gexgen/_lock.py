"""An exclusive lock on an output folder, held from a command's first check to its last write.

Two commands writing the same folder at once (two ``gexgen train --out run``,
two ``gexgen generate --out DIR/``) would otherwise both find it empty and mix
their files. The lock is ``fcntl.flock`` on a lock file in the folder: the
kernel drops it when the process ends (even on SIGKILL), so a crash never
blocks the next run. The file is removed, still locked, when the command ends.

Where ``fcntl`` is missing (Windows) or the file system refuses ``flock``
(some NFS mounts: ``ENOLCK``), the lock file itself is the lock: it is created
with ``O_CREAT | O_EXCL`` and holds ``pid host``. A process killed before it
could remove it leaves a stale lock: it is never removed automatically (two
processes could both take it as stale); the next command says which process
left it and that it no longer runs, and asks to remove the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from gexgen._atomic import _pid_alive
from gexgen.errors import GexgenError

__all__ = ["folder_lock"]

_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, getattr(errno, "ENOTSUP", -1)}


@contextlib.contextmanager
def folder_lock(
    folder: str | os.PathLike[str],
    lock_name: str,
    *,
    what: str,
    command: str,
    option: str = "--out",
) -> Iterator[Path]:
    """Hold ``folder/lock_name`` (creating the folder); refuse if another process holds it.

    ``what`` names the folder in messages ("run directory"), ``command`` the
    other holder ("gexgen train"). The lock file is removed (while still held)
    on exit; a folder this call created that is empty then is removed too.

    Examples
    --------
    >>> with folder_lock("runs/cvae", ".gexgen-run.lock", what="run directory",
    ...                  command="gexgen train"):  # doctest: +SKIP
    ...     train()
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise GexgenError(f"{what} {str(path)!r} is a file; choose another {option}")
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    lock = path / lock_name
    names = _Names(what, str(path), command, option)
    try:
        if not _flock_available():
            holder = _exclusive_lock_file(lock, names)
        else:
            holder = _flock(lock, names)
        try:
            yield path
        finally:
            holder.release()
    finally:
        with contextlib.suppress(OSError):
            if created and not any(path.iterdir()):
                path.rmdir()


def _flock_available() -> bool:
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


class _Names(NamedTuple):
    """What the messages call the folder, its path, the other command, the option."""

    what: str
    folder: str
    command: str
    option: str

    def in_use(self, lock: Path, by: str = "") -> str:
        return (
            f"{self.what} {self.folder!r} is in use by another {self.command} (its lock "
            f"{lock.name} is held{by}); wait for it to finish or choose another {self.option}"
        )


class _Held:
    """A held lock: ``release`` removes the lock file (still held) and lets it go."""

    def __init__(self, lock: Path, fd: int | None, token: str | None = None) -> None:
        self.lock, self.fd, self.token = lock, fd, token

    def release(self) -> None:
        with contextlib.suppress(OSError):
            if self.token is None or self.lock.read_text() == self.token:
                self.lock.unlink()  # a command starting now finds the folder's files
        if self.fd is not None:
            os.close(self.fd)


def _flock(lock: Path, names: _Names) -> _Held:
    import fcntl

    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in _NO_FLOCK:  # the file system has no flock: the file is the lock
            with contextlib.suppress(OSError):
                if lock.stat().st_size == 0:
                    lock.unlink()  # our own empty file, created just now
            return _exclusive_lock_file(lock, names)
        raise GexgenError(names.in_use(lock)) from None
    except BaseException:
        os.close(fd)
        raise
    return _Held(lock, fd)


def _exclusive_lock_file(lock: Path, names: _Names) -> _Held:
    """Create ``lock`` exclusively holding ``pid host``; refuse (naming its holder) if it exists."""
    token = f"{os.getpid()} {socket.gethostname()}\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(lock, flags, 0o644)
    except FileExistsError:
        raise GexgenError(_holder_message(lock, names)) from None
    try:
        os.write(fd, token.encode())
    finally:
        os.close(fd)
    return _Held(lock, None, token)


def _holder_message(lock: Path, names: _Names) -> str:
    """Who holds the lock file, or why it is stale, and what to do."""
    try:
        pid_text, _, host = lock.read_text(errors="replace").strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return (
            f"{names.what} {names.folder!r} holds a lock file {lock.name} that names no "
            f"process; if no {names.command} is running there, it is stale: remove "
            f"{str(lock)!r} and run again"
        )
    here = host == socket.gethostname()
    if here and not _pid_alive(pid):
        return (
            f"{names.what} {names.folder!r} holds a stale lock {lock.name} left by gexgen "
            f"process {pid}, which no longer runs (it crashed or was killed); remove "
            f"{str(lock)!r} and run again"
        )
    where = "" if here else f" on host {host!r}"
    return (
        names.in_use(lock, f" by process {pid}{where}")
        + f"; if that process is gone, the lock is stale: remove {str(lock)!r}"
    )
