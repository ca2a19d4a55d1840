"""Write files under a temporary name and rename them when complete."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it
    was, so a reader never sees a half-written output.

    Examples
    --------
    >>> with atomic_path("out.npy") as tmp:  # doctest: +SKIP
    ...     np.save(tmp, x)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    # keep the suffix: some writers (np.save, anndata) decide the format by it
    tmp = final.with_name(f".{final.stem}.partial-{os.getpid()}{final.suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
