"""Where partition tasks run: a local process pool, a LocalCluster, or a Dask scheduler.

Every backend is used through the ``concurrent.futures.Executor`` interface
(Dask's ``Client.get_executor``), so the code that maps partition functions
and combines their results is the same for all of them. dask is imported
only here, and only when a scheduler is asked for.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from gexgen.errors import GexgenError

__all__ = ["open_executor", "run_ordered"]

T = TypeVar("T")

# a task on a worker that dies is rerun by Dask (up to distributed.scheduler.allowed-failures
# times); these retries cover exceptions raised inside a task (e.g. a transient I/O error)
TASK_RETRIES = 2


def _dask_client(scheduler: Any, workers: int | None) -> contextlib.AbstractContextManager[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise GexgenError(
            f"--scheduler {scheduler!r} needs Dask: pip install 'gexgen[dask]' ({exc})"
        ) from exc
    if not isinstance(scheduler, str):  # a Client given by the caller: use it, do not close it
        return contextlib.nullcontext(scheduler)
    if scheduler == "local":
        stack = contextlib.ExitStack()
        cluster = stack.enter_context(
            LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            )
        )
        client = stack.enter_context(Client(cluster))
        return _closing_with(stack, client)
    try:
        client = Client(scheduler, timeout=30)
    except OSError as exc:
        raise GexgenError(
            f"cannot reach the Dask scheduler at {scheduler!r}: {exc}; give its address "
            "(e.g. tcp://10.0.0.5:8786) or 'local' for a cluster on this machine"
        ) from exc
    return contextlib.closing(client)


@contextlib.contextmanager
def _closing_with(stack: contextlib.ExitStack, value: Any) -> Iterator[Any]:
    with stack:
        yield value


@contextlib.contextmanager
def open_executor(scheduler: Any = None, workers: int | None = None) -> Iterator[Executor]:
    """An executor for partition tasks.

    Parameters
    ----------
    scheduler
        None: a pool of ``workers`` local processes (no Dask needed); ``"local"``:
        a Dask LocalCluster of ``workers`` single-threaded processes; a scheduler
        address (``tcp://host:8786``); or a ``distributed.Client``.
    workers
        Processes for None / ``"local"`` (default: the number of cores).
    """
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise GexgenError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is None:
        context = multiprocessing.get_context("spawn")  # no fork of onnxruntime threads
        with ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=context) as pool:
            yield pool
        return
    with _dask_client(scheduler, workers) as client:
        yield client.get_executor(pure=False, retries=TASK_RETRIES)


def run_ordered(
    executor: Executor,
    function: Callable[[Any], T],
    tasks: Iterable[Any],
    on_result: Callable[[int, T], None],
    on_done: Callable[[int, T], None] | None = None,
) -> None:
    """Run ``function`` on every task; ``on_result(i, result)`` in task order, as they finish.

    ``on_done`` (optional) sees each result as soon as it arrives, in any order.
    Results that arrive early wait until the ones before them are handed on,
    so a reduction over them is the same whatever the completion order.
    """
    futures: dict[Future[T], int] = {}
    for index, task in enumerate(tasks):
        futures[executor.submit(function, task)] = index
    waiting: dict[int, T] = {}
    following = 0
    try:
        for future in as_completed(futures):
            index = futures.pop(future)
            result = future.result()
            if on_done is not None:
                on_done(index, result)
            waiting[index] = result
            while following in waiting:
                on_result(following, waiting.pop(following))
                following += 1
    finally:
        for future in futures:
            future.cancel()
