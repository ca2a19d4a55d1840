"""numba compile flags for every metrics kernel, set in one place.

``fastmath`` allows reassociation (vectorised sums) but keeps NaN/inf
semantics, so the kernels' non-finite checks are not optimised away.
``cache`` stores compiled kernels beside the sources (first compile ~2 s,
a cached load ~0.2 s).
"""

from __future__ import annotations

import contextlib
import os

__all__ = [
    "FASTMATH",
    "CACHE",
    "PARALLEL",
    "JIT_FLAGS",
    "PARALLEL_JIT_FLAGS",
    "single_blas_thread",
    "single_openmp_thread",
    "FOLD_THREADS",
    "fold_threads",
]

# reassociate/contract only; no "nnan"/"ninf" so isfinite() checks survive
FASTMATH: set[str] = {"reassoc", "contract", "nsz", "arcp"}
# cache compiled kernels on disk (__pycache__) between processes
CACHE: bool = True
# multithreaded kernels use numba's prange (threads = NUMBA_NUM_THREADS)
PARALLEL: bool = True

# gradient-boosted detection folds fitted side by side, one thread each (their
# compiled code releases the GIL); None = the cores this process may use
FOLD_THREADS: int | None = None

JIT_FLAGS: dict[str, object] = {"nogil": True, "cache": CACHE, "fastmath": FASTMATH}
PARALLEL_JIT_FLAGS: dict[str, object] = {**JIT_FLAGS, "parallel": PARALLEL}


def single_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Limit BLAS to one thread for small scikit-learn fits (threads only add sync there).

    On 2 shared cores a 600 x 975 logistic regression took 1.4 s with two
    OpenBLAS threads and 0.015 s with one. threadpoolctl ships with scikit-learn.
    The limit covers OpenMP too (scikit-learn's gradient-boosted trees).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        return contextlib.nullcontext()
    return threadpool_limits(1)


def single_openmp_thread() -> contextlib.AbstractContextManager[object]:
    """One OpenMP thread for the calling thread only (OpenMP's thread count is per thread)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="openmp")


def fold_threads(n_tasks: int) -> int:
    """Threads for ``n_tasks`` independent fits: :data:`FOLD_THREADS`, or the usable cores."""
    cores = FOLD_THREADS
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            cores = os.cpu_count() or 1
    return max(1, min(int(cores), int(n_tasks)))
