"""The work of one partition, as plain functions of their arguments (no dask here).

``write_partition`` draws rows ``start:stop`` of a seeded generation and writes
them to one parquet file; ``scan_partition`` reads one partition file and
returns its Gram sums, group moments and the subsample rows that fall in it.
Both run the same in this process, in a process pool or on a Dask worker; dask
only maps them over partitions and combines the results.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.runtime.conditions import ConditionPlan
from gexgen.runtime.generator_info import LabelInfo

__all__ = [
    "PartitionScan",
    "RowRangePlan",
    "ScanTask",
    "WriteTask",
    "scan_partition",
    "write_partition",
]

WRITE_CHUNK_ROWS = 32_768  # rows generated per chunk inside a partition (= generate's default)


class RowRangePlan(ConditionPlan):
    """The label codes of rows ``start:stop`` only, cut from a per-row plan.

    A task then carries its own rows' codes rather than those of the whole
    generation. Codes are asked for by absolute row, as from the full plan.
    """

    def __init__(
        self,
        labels: Sequence[LabelInfo],
        codes: Mapping[str, np.ndarray],
        start: int,
        description: dict[str, Any],
    ) -> None:
        super().__init__(labels, description)
        self._codes = {k: np.asarray(v) for k, v in codes.items()}
        self._start = int(start)
        self._stop = self._start + (len(next(iter(self._codes.values()))) if self._codes else 0)

    @classmethod
    def cut(cls, plan: ConditionPlan, start: int, stop: int) -> RowRangePlan:
        return cls(plan.labels, plan.codes(start, stop), start, plan.description)

    def codes(self, start: int, stop: int) -> dict[str, np.ndarray]:
        if start < self._start or stop > self._stop:
            raise GexgenError(
                f"rows {start}:{stop} outside this partition's {self._start}:{self._stop}"
            )
        a, b = start - self._start, stop - self._start
        return {name: codes[a:b] for name, codes in self._codes.items()}


@dataclass(frozen=True)
class WriteTask:
    """Everything one partition needs: which generator, which rows, where to write."""

    generator: str  # path of the .onnx, readable where the task runs
    generator_sha256: str  # checked when the worker opens the file
    out: str  # the partition file
    start: int  # first row (absolute)
    stop: int  # one past the last row
    seed: int
    space: str
    plan: ConditionPlan  # label codes by absolute row
    metadata: dict[str, Any]  # stored in the file (``n`` is set to its rows)
    parquet: Any = None  # runtime ParquetOptions; None = defaults
    threads: int = 1  # onnxruntime threads per task (one task per core)
    providers: str | list[str] | None = "cpu"
    chunk_rows: int = WRITE_CHUNK_ROWS


_SESSIONS: dict[tuple[Any, ...], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(task: WriteTask) -> Any:
    """One open GeneratorSession per worker process and generator file (checked by sha256)."""
    from gexgen.runtime import GeneratorSession
    from gexgen.runtime.write_profiles import file_sha256

    path = Path(task.generator)
    try:
        stat = path.stat()
    except OSError as exc:
        raise GexgenError(
            f"generator {task.generator!r} is not readable on worker {os.uname().nodename}: "
            f"{exc}; put it on a path every worker sees"
        ) from exc
    providers = tuple(task.providers) if isinstance(task.providers, list) else task.providers
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, task.threads, providers)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            digest = file_sha256(path)
            if digest != task.generator_sha256:
                raise GexgenError(
                    f"generator {task.generator!r} on {os.uname().nodename} has sha256 "
                    f"{digest[:12]}..., the run started with {task.generator_sha256[:12]}...; "
                    "do not change the file during a run"
                )
            session = GeneratorSession(path, providers=task.providers, threads=task.threads)
            _SESSIONS.clear()  # keep one generator open per process
            _SESSIONS[key] = session
    return session


def write_partition(
    task: WriteTask, after_chunk: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Generate rows ``task.start:task.stop`` into ``task.out``; return ``{"rows", "bytes"}``.

    The file appears only when complete (temporary name, then rename), so a
    task killed midway leaves no partial partition. The rows equal rows
    ``start:stop`` of ``GeneratorSession.sample`` with the same seed and plan.
    ``after_chunk`` is called with the rows written so far after each chunk.
    """
    from gexgen.runtime.profile_writers import ParquetOptions, profile_writer

    session = _session(task)
    info = session.info
    rows = task.stop - task.start
    metadata = dict(task.metadata)
    metadata["n"] = rows
    label_values = {label.name: label.values for label in info.labels}
    chunks = session.iter_planned(
        task.stop,
        task.plan,
        task.seed,
        task.space,
        task.chunk_rows,
        n_buffers=2,
        start=task.start,
    )
    with profile_writer(
        task.out,
        rows,
        info.genes,
        label_values,
        metadata,
        info.entrez_ids,
        task.parquet or ParquetOptions(),
    ) as writer:
        # as in write_profiles: one thread writes chunk k (buffer k % 2) while this one
        # generates chunk k + 1; leaving the pool waits for the last write
        with ThreadPoolExecutor(1, thread_name_prefix="gexgen-writer") as pool:
            pending: Future[None] | None = None
            for chunk in chunks:
                _finish(pending, writer, after_chunk)
                pending = pool.submit(
                    writer.write, chunk.start - task.start, chunk.values, chunk.codes
                )
            _finish(pending, writer, after_chunk)
    return {"rows": rows, "bytes": Path(task.out).stat().st_size}


def _finish(
    pending: Future[None] | None, writer: Any, after_chunk: Callable[[int], None] | None
) -> None:
    if pending is not None:
        pending.result()  # re-raises a failed write here
        if after_chunk is not None:
            after_chunk(writer.rows_written)


@dataclass(frozen=True)
class ScanTask:
    """One partition's share of an evaluation scan (see ``gexgen.metrics.evaluation._scan``)."""

    file: str  # the partition file
    start: int  # its first row in the dataset
    columns: np.ndarray | None  # gene columns to score (None: all, in order)
    n_genes: int
    label_columns: tuple[str, ...]
    correlation_shift: np.ndarray  # shared by every partition, so sums add up
    moments_shift: np.ndarray
    pick: np.ndarray  # rows of the subsample in this partition (relative to start)
    chunk_rows: int = 65_536


@dataclass
class PartitionScan:
    """What a partition contributes: sums to add and its subsample rows."""

    n: int
    correlation: Any  # metrics CorrelationAccumulator
    moments: Any  # metrics GroupMoments
    sample: np.ndarray
    sample_labels: pd.DataFrame = field(default_factory=pd.DataFrame)


def scan_partition(task: ScanTask) -> PartitionScan:
    """Read one partition file once: Gram sums, group moments and the picked rows."""
    from gexgen.metrics._sources import group_keys, load_profiles
    from gexgen.metrics.correlation import CorrelationAccumulator
    from gexgen.metrics.gene_moments import GroupMoments

    part = load_profiles(task.file, "partition")
    keys = group_keys(part, list(task.label_columns))
    acc = CorrelationAccumulator(task.n_genes, shift=task.correlation_shift)
    moments = GroupMoments(task.n_genes, shift=task.moments_shift)
    sample = np.empty((len(task.pick), task.n_genes), dtype=np.float32)
    position = 0
    for chunk in part.log_chunks(task.columns, task.chunk_rows):
        stop = position + chunk.shape[0]
        acc.update(chunk)
        moments.update(chunk, None if keys is None else keys[position:stop])
        lo, hi = np.searchsorted(task.pick, [position, stop])
        sample[lo:hi] = chunk[task.pick[lo:hi] - position]
        position = stop
    if position != part.n:
        raise GexgenError(f"{task.file}: read {position} rows, expected {part.n}")
    labels = part.labels.iloc[task.pick].reset_index(drop=True)
    return PartitionScan(position, acc, moments, sample, labels)
