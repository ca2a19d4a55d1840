"""An exclusive lock on an output folder, held from a command's first check to its last write.

Two commands writing the same folder at once (two ``gexgen train --out run``,
two ``gexgen generate --out DIR/``) would otherwise both find it empty and mix
their files. The lock is ``fcntl.flock`` on a lock file in the folder: the
kernel drops it when the process ends (even on SIGKILL), so a crash never
blocks the next run. The file is removed, still locked, when the command ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from gexgen.errors import GexgenError

__all__ = ["folder_lock"]


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
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock
            pass
        except OSError:
            raise GexgenError(
                f"{what} {str(path)!r} is in use by another {command} (its lock {lock_name} "
                f"is held); wait for it to finish or choose another {option}"
            ) from None
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()  # still held: a command starting now finds the folder's files
                if created and not any(path.iterdir()):
                    path.rmdir()
    finally:
        os.close(fd)
