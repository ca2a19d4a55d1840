"""numba compile flags for every metrics kernel, set in one place.

``fastmath`` allows reassociation (vectorised sums) but keeps NaN/inf
semantics, so the kernels' non-finite checks are not optimised away.
``cache`` stores compiled kernels beside the sources (first compile ~2 s,
a cached load ~0.2 s).
"""

from __future__ import annotations

import contextlib

__all__ = [
    "FASTMATH",
    "CACHE",
    "PARALLEL",
    "JIT_FLAGS",
    "PARALLEL_JIT_FLAGS",
    "single_blas_thread",
]

# reassociate/contract only; no "nnan"/"ninf" so isfinite() checks survive
FASTMATH: set[str] = {"reassoc", "contract", "nsz", "arcp"}
# cache compiled kernels on disk (__pycache__) between processes
CACHE: bool = True
# multithreaded kernels use numba's prange (threads = NUMBA_NUM_THREADS)
PARALLEL: bool = True

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
