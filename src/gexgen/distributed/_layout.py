"""The on-disk layout of a partitioned profile dataset: partition files and ``_manifest.json``.

A dataset is a folder::

    DIR/_manifest.json        n, seed, conditions, generator sha256, gexgen version,
                              and one entry per partition (rows, bytes, complete)
    DIR/part-000000.parquet   rows [0, R)
    DIR/part-000001.parquet   rows [R, 2R)
    ...

Each partition file is an ordinary gexgen parquet profile file (readable on
its own by ``gexgen.runtime.open_profiles``) written under a temporary name and
renamed when complete. Only the client that runs a generation writes the
manifest, after each partition it learns is complete, so a rerun with
``resume`` knows which partitions to skip. No dask here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gexgen._atomic import atomic_path
from gexgen.errors import GexgenError

__all__ = [
    "DATASET_FORMAT_NAME",
    "DATASET_FORMAT_VERSION",
    "DEFAULT_PARTITION_ROWS",
    "MANIFEST_NAME",
    "Partition",
    "is_dataset_path",
    "partition_file",
    "plan_partitions",
    "read_manifest",
    "write_manifest",
]

DATASET_FORMAT_NAME = "gexgen-partitioned-profiles"
DATASET_FORMAT_VERSION = 1
MANIFEST_NAME = "_manifest.json"
# rows per partition: 8 x the correlation's 16,384-row Gram block (so partitions
# align with the single-process blocks), ~0.5 GB of float32 at 969 genes
DEFAULT_PARTITION_ROWS = 131_072
_PARTITION_PATTERN = "part-{index:06d}.parquet"


def is_dataset_path(path: str | os.PathLike[str]) -> bool:
    """True for a partitioned dataset: a name without extension, or an existing folder
    whose name is not that of a profile file.

    ``out/`` (typer drops the slash) and ``out`` are datasets; ``out.parquet`` (even
    an existing folder of that name, which the file writer then refuses) and ``-``
    (standard output) are not.

    Examples
    --------
    >>> is_dataset_path("synthetic/"), is_dataset_path("synthetic.parquet")
    (True, False)
    """
    text = os.fspath(path)
    if text == "-":
        return False
    p = Path(text)
    file_like = p.suffix.lower() in (".parquet", ".h5ad", ".npy", ".csv")
    return (p.is_dir() and not file_like) or text.endswith(("/", os.sep)) or p.suffix == ""


@dataclass(frozen=True)
class Partition:
    """Rows ``start:stop`` of the dataset, stored in ``file`` (relative to the folder)."""

    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start

    @property
    def file(self) -> str:
        return partition_file(self.index)


def partition_file(index: int) -> str:
    """``part-000007.parquet`` for partition 7."""
    return _PARTITION_PATTERN.format(index=index)


def plan_partitions(n: int, partition_rows: int) -> list[Partition]:
    """Consecutive row ranges of ``partition_rows`` rows (the last may be shorter).

    Examples
    --------
    >>> [(p.start, p.stop) for p in plan_partitions(5, 2)]
    [(0, 2), (2, 4), (4, 5)]
    """
    if isinstance(partition_rows, bool) or int(partition_rows) < 1:
        raise GexgenError(
            f"partition_rows must be a positive integer, got {partition_rows!r}; "
            f"the default is {DEFAULT_PARTITION_ROWS:,}"
        )
    step = int(partition_rows)
    return [Partition(i, start, min(start + step, n)) for i, start in enumerate(range(0, n, step))]


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``_manifest.json`` atomically (a reader sees the old or the new one)."""
    with atomic_path(folder / MANIFEST_NAME) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=1, default=str) + "\n")


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a dataset folder; an error says what is wrong with it."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise GexgenError(
            f"{str(folder)!r} is not a dataset folder; write one with "
            f"`gexgen generate GEN.onnx --n N --out {folder}/`"
        )
    if not path.is_file():
        raise GexgenError(
            f"{str(folder)!r} has no {MANIFEST_NAME}: not a gexgen partitioned dataset "
            "(written by `gexgen generate ... --out DIR/`)"
        )
    try:
        manifest = json.loads(path.read_text())
    except RecursionError:
        raise GexgenError(f"{str(path)!r} is nested too deeply; not a gexgen manifest") from None
    except (OSError, ValueError) as exc:
        raise GexgenError(f"cannot read {str(path)!r}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != DATASET_FORMAT_NAME:
        raise GexgenError(
            f"{str(path)!r} is not a gexgen dataset manifest (format "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r}, "
            f"expected {DATASET_FORMAT_NAME!r})"
        )
    from gexgen.distributed._manifest_check import _int, check_json_depth, check_manifest

    check_json_depth(manifest, repr(str(path)))
    if _int(manifest, "format_version", repr(str(path)), 0, 2**31) > DATASET_FORMAT_VERSION:
        raise GexgenError(
            f"{str(path)!r} has format version {manifest['format_version']}; this gexgen "
            f"reads up to {DATASET_FORMAT_VERSION}: upgrade gexgen"
        )
    return check_manifest(manifest, repr(str(path)))


def partition_is_complete(folder: Path, entry: dict[str, Any]) -> bool:
    """The manifest says complete, and the file is there with its recorded size and rows,
    and its own metadata records the entry's index and start."""
    if not entry.get("complete"):
        return False
    path = folder / partition_file(int(entry["index"]))  # never a name the manifest chose
    try:
        if path.stat().st_size != int(entry["bytes"]):
            return False
        import pyarrow.parquet as pq

        from gexgen.distributed._manifest_check import check_partition_file

        if int(pq.ParquetFile(path).metadata.num_rows) != int(entry["rows"]):
            return False
        return check_partition_file(path, entry, None) is None
    except (OSError, KeyError, TypeError, ValueError):
        return False
    except Exception:  # pyarrow raises its own errors on a damaged footer
        return False


def dataset_files(folder: Path) -> list[Path]:
    """What gexgen writes in a dataset folder: the manifest, partitions and their temp files."""
    if not folder.is_dir():
        return []
    return [
        p
        for p in folder.iterdir()
        if p.name == MANIFEST_NAME
        or p.name.startswith(("part-", ".part-", f".{Path(MANIFEST_NAME).stem}"))
    ]


def remove_stale_temporaries(folder: Path, keep: Sequence[str] = ()) -> None:
    """Remove temporary partition files a killed worker left behind (``.part-*``)."""
    for p in folder.glob(".part-*"):
        if p.name not in keep and p.is_file():
            p.unlink(missing_ok=True)
