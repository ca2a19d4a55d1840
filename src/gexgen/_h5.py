"""Open an HDF5 file for writing so that a full disk is an error, never a crash.

When HDF5 cannot write (ENOSPC, EDQUOT, EIO), closing the file makes it flush
its metadata cache to the same full disk; that close fails, leaves the
library's state half torn down, and the process segfaults later while
garbage-collecting h5py objects (exit 139). So on any error while the file is
open, the file's descriptor is first pointed at an anonymous in-memory file
(``memfd``; an unlinked temporary file where there is none): the flush then
succeeds into memory, the close completes, and the half-written file on disk
is left for the caller to delete (``atomic_path`` does).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

__all__ = ["h5_writing", "write_anndata"]


def _discard(file: Any) -> None:
    """Close ``file`` without writing anything more to its disk."""
    with contextlib.suppress(Exception):
        fd = file.id.get_vfd_handle()
        if isinstance(fd, int) and fd >= 0:
            if hasattr(os, "memfd_create"):
                sink = os.memfd_create("gexgen-discard")
            else:  # pragma: no cover - not Linux
                sink = os.dup(tempfile.TemporaryFile().fileno())
            os.dup2(sink, fd)
            os.close(sink)
    with contextlib.suppress(Exception):
        file.close()


@contextlib.contextmanager
def h5_writing(path: str | os.PathLike[str]) -> Iterator[Any]:
    """``h5py.File(path, "w")`` that closes safely when writing fails.

    The data is flushed before the close, so a disk that fills up at the very
    end is caught the same way. Errors propagate (h5py raises OSError with
    ``errno`` set, e.g. 28 for a full disk).

    Examples
    --------
    >>> with h5_writing("out.h5ad") as f:  # doctest: +SKIP
    ...     f.create_dataset("X", data=x)
    """
    import h5py

    file = h5py.File(path, "w")
    try:
        yield file
        file.flush()
    except BaseException:
        _discard(file)
        raise
    file.close()


def write_anndata(adata: Any, path: str | os.PathLike[str]) -> None:
    """``adata.write_h5ad(path)`` through :func:`h5_writing` (same file, same spec)."""
    from anndata.io import write_elem

    adata.strings_to_categoricals()
    with h5_writing(path) as file:
        write_elem(file, "/", adata)
