"""Typed, bounded checks of a dataset's ``_manifest.json``: it is read, never trusted.

Every partition entry must name its own canonical file (``part-NNNNNN.parquet``
in the folder: no absolute path, no ``..``, no entry naming another's file),
indices must run 0..P-1 once each, and the row ranges must tile ``0..n`` in
index order. Anything else is one error line naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gexgen._json_bounds import check_json_depth
from gexgen.errors import GexgenError

__all__ = ["check_json_depth", "check_manifest", "check_partition_file"]

_MAX_ROWS = 2**53  # exact in float64 and JSON


def _int(entry: dict[str, Any], key: str, where: str, low: int = 0, high: int = _MAX_ROWS) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise GexgenError(
            f"{where}: {key!r} must be an integer in [{low}, {high}], got {value!r}; "
            "the manifest is damaged: regenerate with --overwrite"
        )
    return value


def check_manifest(manifest: dict[str, Any], where: str) -> dict[str, Any]:
    """Return ``manifest`` after checking its types, its partitions and their files."""
    from gexgen.distributed._layout import partition_file

    n = _int(manifest, "n", where, 1)
    _int(manifest, "partition_rows", where, 1)
    parts = manifest.get("partitions")
    if not isinstance(parts, list) or not parts:
        raise GexgenError(
            f"{where}: 'partitions' must be a non-empty list, got {type(parts).__name__}; "
            "regenerate with --overwrite"
        )
    stop = 0
    for i, entry in enumerate(parts):
        at = f"{where}: partition entry {i}"
        if not isinstance(entry, dict):
            raise GexgenError(f"{at} is a {type(entry).__name__}, expected an object")
        index = _int(entry, "index", at)
        if index != i:
            raise GexgenError(f"{at} has index {index}; entries must list partitions 0, 1, ...")
        if entry.get("file") != partition_file(index):
            raise GexgenError(
                f"{at} names file {entry.get('file')!r}, expected {partition_file(index)!r} "
                "(entries may only name their own file in the dataset folder)"
            )
        start, end = _int(entry, "start", at), _int(entry, "stop", at)
        if start != stop or end <= start or _int(entry, "rows", at) != end - start:
            raise GexgenError(
                f"{at} covers rows {start}:{end} ({entry.get('rows')!r} rows) after rows "
                f"0:{stop}; partitions must tile the rows in order"
            )
        if not isinstance(entry.get("complete", False), bool):
            raise GexgenError(f"{at}: 'complete' must be true or false")
        size = entry.get("bytes")
        if size is not None:
            _int(entry, "bytes", at, 0, 2**63)
        stop = end
    if stop != n:
        raise GexgenError(f"{where}: the partitions cover {stop} rows, the manifest says n={n}")
    return manifest


def check_partition_file(path: Path, entry: dict[str, Any], genes: list[str] | None) -> str | None:
    """Why the partition file at ``path`` is not the one ``entry`` records (None: it is).

    Its own metadata must give the entry's index and start, and, given ``genes``,
    the same genes in the same order.
    """
    from gexgen.runtime import open_profiles

    try:
        table = open_profiles(path)
    except (GexgenError, OSError, ValueError) as exc:
        return str(exc)
    recorded = table.metadata.get("partition") or {}
    if not isinstance(recorded, dict) or (recorded.get("index"), recorded.get("start")) != (
        entry["index"],
        entry["start"],
    ):
        return (
            f"{path.name} records partition {recorded!r}, the manifest entry index "
            f"{entry['index']} start {entry['start']}"
        )
    if genes is not None and list(table.genes) != list(genes):
        return f"{path.name} lists its genes in another order than the dataset"
    return None
