"""One training run per run folder: an exclusive lock held from the first check to the end.

Two ``gexgen train --out run`` started together would otherwise both find the
folder empty and write into it, leaving config.json of one and the checkpoint
of the other. The lock is ``fcntl.flock`` on ``run/.gexgen-run.lock``: the
kernel drops it when the process ends (even on SIGKILL), so a crashed run never
blocks the next one.
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

    A folder this call created and that holds nothing but the lock when the run
    fails is removed again.

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
        ok = False
        try:
            yield folder
            ok = True
        finally:
            if not ok and created:
                with contextlib.suppress(OSError):
                    if [p.name for p in folder.iterdir()] == [LOCK_NAME]:
                        lock.unlink()
                        folder.rmdir()
    finally:
        os.close(fd)
