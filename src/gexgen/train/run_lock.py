"""One training run per run folder: an exclusive lock held from the first check to the end.

Two ``gexgen train --out run`` started together would otherwise both find the
folder empty and write into it, leaving config.json of one and the checkpoint
of the other. The lock is ``fcntl.flock`` on ``run/.gexgen-run.lock``: the
kernel drops it when the process ends (even on SIGKILL), so a crashed run never
blocks the next one. The file is removed, still locked, when the run ends: the
next run then finds the finished run's files and needs ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from gexgen.errors import GexgenError

__all__ = ["LOCK_NAME", "run_dir_lock"]

LOCK_NAME = ".gexgen-run.lock"


@contextlib.contextmanager
def run_dir_lock(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the run folder's lock (creating the folder); refuse if another run holds it.

    The lock file is removed (while still held) when the run ends; a folder this
    call created that is empty then is removed too.

    Examples
    --------
    >>> with run_dir_lock("runs/cvae"):  # doctest: +SKIP
    ...     train()
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise GexgenError(f"run directory {str(folder)!r} is a file; choose another --out")
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except OSError:
            raise GexgenError(
                f"run directory {str(folder)!r} is in use by another gexgen train (its lock "
                f"{LOCK_NAME} is held); wait for it to finish or choose another --out"
            ) from None
        try:
            yield folder
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()  # still held: a run starting now finds the folder's files
                if created and not any(folder.iterdir()):
                    folder.rmdir()
    finally:
        os.close(fd)
