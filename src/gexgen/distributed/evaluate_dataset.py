"""Evaluate a partitioned synthetic dataset: the scan over its rows as map-reduce.

The single-process evaluation reads the synthetic set once, accumulating the
gene-gene Gram matrix, per-gene moments and a seeded row subsample
(``gexgen.metrics.evaluation._scan``). Here every partition does the same for
its rows (``_partition.scan_partition``) with the same shifts, and the client
adds the sums in partition order and stacks the subsample rows. The
subsample is drawn with the same seed over the whole dataset, so PRDC,
detection and TSTR see the very rows the single-process path would, and gamma
agrees with it to rounding (~1e-12). Only the picked rows travel to the
client, never the partitions.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.distributed._executor import open_executor, run_ordered
from gexgen.distributed._partition import PartitionScan, ScanTask, scan_partition
from gexgen.distributed.dataset import PartitionedTable, open_dataset
from gexgen.errors import GexgenError
from gexgen.metrics._sources import ProfileSet
from gexgen.metrics.evaluation import EvaluateConfig, _Scan, subsample_rows
from gexgen.metrics.evaluation import evaluate as evaluate_files

__all__ = ["evaluate", "scan_dataset"]


def evaluate(
    real: Any,
    synthetic: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] = "report",
    config: EvaluateConfig = EvaluateConfig(),
    *,
    scheduler: Any = None,
    workers: int | None = None,
    report: bool = True,
    progress: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Score a partitioned synthetic dataset against real profiles (as ``metrics.evaluate``).

    Parameters
    ----------
    real
        Cohort ``.h5ad`` or profile file (read on the client).
    synthetic
        A dataset folder written by ``gexgen.distributed.generate``.
    scheduler, workers
        Where the partitions are scanned (see ``gexgen.distributed.generate``).
    overwrite
        Replace an existing ``metrics.json`` / ``report.html`` in ``out_dir``.

    Returns
    -------
    dict
        The metrics written to ``out_dir/metrics.json``.

    Examples
    --------
    >>> evaluate("cohort.h5ad", "synthetic/", "report",
    ...          scheduler="tcp://10.0.0.5:8786")  # doctest: +SKIP
    """
    table = open_dataset(synthetic)
    synth = ProfileSet(
        f"synthetic {Path(synthetic).name!r}",
        list(table.genes),
        table.labels,
        table.space,
        table=table,
    )
    with open_executor(scheduler, workers) as executor:
        return evaluate_files(
            real,
            synthetic=synth,
            out_dir=out_dir,
            config=config,
            report=report,
            progress=progress,
            overwrite=overwrite,
            scan_synthetic=partial(scan_dataset, executor=executor),
        )


def scan_dataset(
    s: ProfileSet,
    columns: np.ndarray | None,
    n_genes: int,
    label_columns: list[str],
    max_rows: int,
    seed: int,
    stream: int,
    chunk_rows: int,
    progress: bool = False,
    *,
    executor: Any,
) -> _Scan:
    """``evaluation._scan`` of a partitioned set, one task per partition on ``executor``."""
    from gexgen.metrics.correlation import CorrelationAccumulator, pilot_shift
    from gexgen.metrics.gene_moments import GroupMoments

    table = s.table
    if not isinstance(table, PartitionedTable):
        raise GexgenError(f"{s.name} is not a partitioned dataset")
    n = s.n
    if n == 0:
        raise GexgenError(f"{s.name} holds no profiles")
    # the same subsample and the same shifts as the one-pass scan
    pick = subsample_rows(n, max_rows, seed, stream)
    first = s.read_log(slice(0, min(chunk_rows, n)), columns)  # type: ignore[arg-type]
    correlation_shift = pilot_shift(first)
    moments_shift = first.mean(axis=0, dtype=np.float64)
    del first
    tasks = []
    for file, start, rows in zip(table.files, table.starts, table.rows, strict=True):
        lo, hi = np.searchsorted(pick, [start, start + rows])
        tasks.append(
            ScanTask(
                file=str(file),
                start=start,
                columns=columns,
                n_genes=n_genes,
                label_columns=tuple(label_columns),
                correlation_shift=correlation_shift,
                moments_shift=moments_shift,
                pick=pick[lo:hi] - start,
                chunk_rows=chunk_rows,
            )
        )
    acc = CorrelationAccumulator(n_genes, shift=correlation_shift)
    moments = GroupMoments(n_genes, shift=moments_shift)
    samples: list[np.ndarray] = []
    labels: list[pd.DataFrame] = []
    total = 0

    def combine(index: int, part: PartitionScan) -> None:
        nonlocal total
        if part.n != table.rows[index]:
            raise GexgenError(
                f"{table.files[index].name}: scanned {part.n} rows, expected {table.rows[index]}"
            )
        acc.merge(part.correlation)
        moments.merge(part.moments)
        samples.append(part.sample)
        labels.append(part.sample_labels)
        total += part.n

    run_ordered(executor, scan_partition, tasks, combine)
    if total != n:
        raise GexgenError(f"{s.name}: read {total} rows, expected {n}")
    sample = np.concatenate(samples) if samples else np.empty((0, n_genes), np.float32)
    sample_labels = pd.concat(labels, ignore_index=True) if labels else s.labels.iloc[:0]
    return _Scan(acc.result(), moments, sample, sample_labels.reset_index(drop=True), n)
