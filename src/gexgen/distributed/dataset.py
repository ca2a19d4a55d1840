"""Read a partitioned dataset: as one ``ProfileTable`` (no dask) or as a ``dask.dataframe``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.distributed._layout import read_manifest
from gexgen.errors import GexgenError
from gexgen.runtime.profile_table import ProfileTable

__all__ = ["PartitionedTable", "open_dataset", "read"]


class PartitionedTable(ProfileTable):
    """The partitions of a complete dataset folder, read in order as one table.

    Attributes
    ----------
    manifest
        The folder's ``_manifest.json``.
    files
        The partition files, in row order.
    starts
        The first row of each partition.
    """

    def __init__(self, folder: Path) -> None:
        from gexgen.runtime import open_profiles

        self.path = folder
        self.manifest = read_manifest(folder)
        if not self.manifest.get("complete"):
            done = sum(bool(e.get("complete")) for e in self.manifest.get("partitions", []))
            raise GexgenError(
                f"{str(folder)!r} is an incomplete dataset ({done} of "
                f"{len(self.manifest.get('partitions', []))} partitions); finish it with "
                "`gexgen generate ... --resume` (same arguments)"
            )
        entries = sorted(self.manifest["partitions"], key=lambda e: int(e["start"]))
        self.files = [folder / e["file"] for e in entries]
        self.starts = [int(e["start"]) for e in entries]
        self.rows = [int(e["rows"]) for e in entries]
        missing = [str(f.name) for f in self.files if not f.is_file()]
        if missing:
            raise GexgenError(
                f"{str(folder)!r} lacks partition file(s) {missing[:5]} its manifest lists; "
                "regenerate them with `gexgen generate ... --resume`"
            )
        self.n = int(self.manifest["n"])
        if sum(self.rows) != self.n:
            raise GexgenError(
                f"{str(folder)!r}: partitions hold {sum(self.rows)} rows, not {self.n}"
            )
        first = open_profiles(self.files[0])
        self.genes = list(first.genes)
        from gexgen.distributed._manifest_check import check_partition_file

        for path, entry in zip(self.files, entries, strict=True):
            wrong = check_partition_file(path, entry, self.genes)
            if wrong:
                raise GexgenError(
                    f"{str(folder)!r}: {wrong}; the dataset is not as its manifest says: "
                    "regenerate it with `gexgen generate ... --overwrite`"
                )
        self.space = first.space
        self.metadata = dict(first.metadata)
        self.metadata["n"] = self.n
        self.metadata.pop("partition", None)

    def partition(self, index: int) -> ProfileTable:
        """Partition ``index`` as its own table."""
        from gexgen.runtime import open_profiles

        return open_profiles(self.files[index])

    @cached_property
    def labels(self) -> pd.DataFrame:
        frames = [self.partition(i).labels for i in range(len(self.files))]
        labels = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return labels.reset_index(drop=True)

    def _chunks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        for index in range(len(self.files)):
            yield from self.partition(index).iter_chunks(chunk_rows)


def open_dataset(folder: str | os.PathLike[str]) -> PartitionedTable:
    """Open a complete dataset folder as a :class:`~gexgen.runtime.ProfileTable`.

    Examples
    --------
    >>> table = open_dataset("synthetic/")  # doctest: +SKIP
    >>> table.read(slice(0, 10)).shape  # doctest: +SKIP
    (10, 969)
    """
    return PartitionedTable(Path(folder))


def read(folder: str | os.PathLike[str], columns: list[str] | None = None) -> Any:
    """A ``dask.dataframe`` over a dataset folder: one Dask partition per partition file.

    Gene columns are float32, label columns categorical, in the order of the
    single-file output of ``gexgen generate``.

    Examples
    --------
    >>> df = read("synthetic/")  # doctest: +SKIP
    >>> df.groupby("tissue")["TP53"].mean().compute()  # doctest: +SKIP
    """
    try:
        import dask.dataframe as dd
    except ImportError as exc:
        raise GexgenError(f"read() needs Dask: pip install 'gexgen[dask]' ({exc})") from exc
    table = open_dataset(folder)
    return dd.read_parquet(
        [str(f) for f in table.files], columns=columns, split_row_groups=False, index=False
    )
