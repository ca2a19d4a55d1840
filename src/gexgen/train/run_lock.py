"""One training run per run folder: an exclusive lock held from the first check to the end.

Two ``gexgen train --out run`` started together would otherwise both find the
folder empty and write into it, leaving config.json of one and the checkpoint
of the other. The lock is :func:`gexgen._lock.folder_lock` on
``run/.gexgen-run.lock`` (``fcntl.flock``: the kernel drops it when the process
ends, so a crashed run never blocks the next one). The file is removed, still
locked, when the run ends: the next run then finds the finished run's files and
needs ``--overwrite``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gexgen._lock import folder_lock

__all__ = ["LOCK_NAME", "run_dir_lock"]

LOCK_NAME = ".gexgen-run.lock"


@contextmanager
def run_dir_lock(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the run folder's lock (creating the folder); refuse if another run holds it.

    The lock file is removed (while still held) when the run ends; a folder this
    call created that is empty then is removed too.

    Examples
    --------
    >>> with run_dir_lock("runs/cvae"):  # doctest: +SKIP
    ...     train()
    """
    with folder_lock(out_dir, LOCK_NAME, what="run directory", command="gexgen train") as folder:
        yield folder
