"""Generation and evaluation past one machine: partitioned datasets on a pool or a Dask cluster.

``generate`` writes a dataset folder (one parquet file per row range plus
``_manifest.json``) whose rows equal a single-process ``gexgen generate`` with
the same seed and n; ``evaluate`` scores it by map-reduce over partitions;
``read`` gives a ``dask.dataframe`` view. The work of a partition is a plain
function (``_partition``); Dask, from the ``gexgen[dask]`` extra, is imported
only when a scheduler is used, so a local process pool works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gexgen.distributed._layout import DEFAULT_PARTITION_ROWS, MANIFEST_NAME, is_dataset_path

if TYPE_CHECKING:
    from gexgen.distributed.dataset import PartitionedTable, open_dataset, read
    from gexgen.distributed.evaluate_dataset import evaluate
    from gexgen.distributed.generate_dataset import generate

__all__ = [
    "DEFAULT_PARTITION_ROWS",
    "MANIFEST_NAME",
    "PartitionedTable",
    "evaluate",
    "generate",
    "is_dataset_path",
    "open_dataset",
    "read",
]

_LAZY = {
    "PartitionedTable": "dataset",
    "open_dataset": "dataset",
    "read": "dataset",
    "evaluate": "evaluate_dataset",
    "generate": "generate_dataset",
}


def __getattr__(name: str) -> Any:
    # the CLI imports ``_layout`` for every generate; the rest loads on first use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
