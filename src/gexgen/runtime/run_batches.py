"""Split a generation into run batches and run them on worker threads.

On CPU a :class:`BatchWorkers` runs the batches data-parallel: each of its
threads takes whole batches (``CPU_BATCH_ROWS`` rows, cut at absolute
multiples of it), draws that batch's noise itself and then runs onnxruntime on
it with one intra-op thread. Both steps release the GIL (the noise kernels are
numpy or ``nogil`` numba, and ``InferenceSession.run`` is thread-safe), so T
threads keep T cores busy without the hand-over between a noise pool and
onnxruntime's own spinning intra-op threads, and the noise of a batch is still
in that core's cache when the graph reads it.

The rows a batch holds, and their noise, depend only on their absolute index,
so which thread runs which batch changes no bit of the output.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["CPU_BATCH_ROWS", "BatchWorkers", "default_threads", "run_batches"]

# rows per onnxruntime call on a CPU worker (one core): benchmarked 512 / 1,024 / 2,048 on the
# paper decoder, 1,024 was fastest (2,048 rows of 1,000 activations overflow one core's cache);
# it is also the noise block (``gexgen.runtime.noise.BLOCK_ROWS``), so batches draw whole blocks
CPU_BATCH_ROWS = 1024

Scratch = TypeVar("Scratch")


def default_threads() -> int:
    """Cores this process may run on (``os.sched_getaffinity``: respects CPU sets and
    cluster limits that pin the process), else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def run_batches(start: int, stop: int, size: int) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` pieces of ``[start, stop)`` cut at absolute multiples of ``size``.

    Examples
    --------
    >>> list(run_batches(1000, 3000, 1024))
    [(1000, 1024), (1024, 2048), (2048, 3000)]
    """
    lo = start
    while lo < stop:
        hi = min(stop, (lo // size + 1) * size)
        yield lo, hi
        lo = hi


class BatchWorkers(Generic[Scratch]):
    """``threads`` threads (the caller plus ``threads - 1`` pool threads) that take run
    batches one at a time until none is left.

    Parameters
    ----------
    threads
        How many batches run at once (cores to use).
    make_scratch
        Makes one thread's scratch arrays; they are kept and handed to the next
        call (fresh memory costs a page fault per page on first write).

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros(10)
    >>> workers = BatchWorkers(2, lambda: None)
    >>> workers.run(0, 10, 4, lambda lo, hi, scratch: out.__setitem__(slice(lo, hi), lo))
    >>> out.tolist()
    [0.0, 0.0, 0.0, 0.0, 4.0, 4.0, 4.0, 4.0, 8.0, 8.0]
    >>> workers.close()
    """

    def __init__(self, threads: int, make_scratch: Callable[[], Scratch]) -> None:
        self.threads = int(threads)
        self._make_scratch = make_scratch
        self._free: list[Scratch] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def run(
        self, start: int, stop: int, size: int, task: Callable[[int, int, Scratch], None]
    ) -> None:
        """Call ``task(lo, hi, scratch)`` for every batch of ``run_batches(start, stop,
        size)``, on up to ``threads`` threads; returns when all are done. The first
        error raised by a task is raised here (the other threads stop taking batches)."""
        batches = list(run_batches(start, stop, size))
        n_threads = min(self.threads, len(batches))
        if n_threads < 2:
            self._loop(iter(batches), threading.Lock(), threading.Event(), task)
            return
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        self.threads - 1, thread_name_prefix="gexgen-batch"
                    )
        pending, taken, failed = iter(batches), threading.Lock(), threading.Event()
        futures: list[Future[None]] = [
            self._pool.submit(self._loop, pending, taken, failed, task)
            for _ in range(n_threads - 1)
        ]
        error: BaseException | None = None
        try:
            self._loop(pending, taken, failed, task)
        except BaseException as exc:  # KeyboardInterrupt too: stop the others first
            error = exc
            failed.set()
        for future in futures:  # wait for all: no task may still write into the caller's arrays
            raised = future.exception()
            if error is None:
                error = raised
        if error is not None:
            raise error

    def _loop(
        self,
        pending: Iterator[tuple[int, int]],
        taken: threading.Lock,
        failed: threading.Event,
        task: Callable[[int, int, Scratch], None],
    ) -> None:
        with self._lock:  # np.empty is quick: pages are touched by the task, not here
            scratch = self._free.pop() if self._free else self._make_scratch()
        try:
            while not failed.is_set():
                with taken:
                    batch = next(pending, None)
                if batch is None:
                    return
                task(batch[0], batch[1], scratch)
        except BaseException:
            failed.set()
            raise
        finally:
            with self._lock:
                self._free.append(scratch)

    def close(self) -> None:
        """Stop the pool threads and drop the kept scratch arrays."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        with self._lock:
            self._free.clear()
