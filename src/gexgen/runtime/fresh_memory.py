"""New result matrices in plain memory pages.

``np.empty`` of a large array asks the kernel for transparent huge pages
(numpy advises ``MADV_HUGEPAGE`` on allocations of 4 MiB and more). For a
matrix that onnxruntime fills once, batch by batch, huge pages cost more than
they save on this kind of machine: the first write to each 2 MiB page clears
(and may first compact) 2 MiB at once inside the graph's output kernel.
``benchmarks/generate_throughput.py`` measures both (the bare graph writing
65,536 x 969 fresh rows, data-parallel, on 2 cores): in two quiet runs a plain
anonymous mapping ran at 0.97 / 0.91 of the same graph writing into reused
memory, ``np.empty`` at 0.76 / 0.73.

:func:`fresh_matrix` therefore maps large matrices anonymously (4 KiB pages,
no advice) where the platform allows it, and falls back to ``np.empty``.
The memory is returned to the system when the last array using it goes.
"""

from __future__ import annotations

import mmap

import numpy as np

__all__ = ["MMAP_MIN_BYTES", "fresh_matrix"]

# below this numpy's own allocator is as quick (and keeps small arrays off mmap)
MMAP_MIN_BYTES = 4 << 20


def fresh_matrix(rows: int, cols: int) -> np.ndarray:
    """An uninitialized C-contiguous float32 ``(rows, cols)`` matrix of its own memory.

    Examples
    --------
    >>> m = fresh_matrix(2048, 1000)
    >>> m.shape, m.dtype, m.flags.c_contiguous, m.flags.writeable
    ((2048, 1000), dtype('float32'), True, True)
    """
    nbytes = int(rows) * int(cols) * 4
    flags = getattr(mmap, "MAP_PRIVATE", None), getattr(mmap, "MAP_ANONYMOUS", None)
    if nbytes < MMAP_MIN_BYTES or None in flags:
        return np.empty((rows, cols), np.float32)
    try:
        memory = mmap.mmap(-1, nbytes, flags=flags[0] | flags[1])
    except (OSError, ValueError):  # no address space for it: let numpy say so
        return np.empty((rows, cols), np.float32)
    return np.frombuffer(memory, np.float32).reshape(rows, cols)
