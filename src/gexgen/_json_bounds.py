"""Bounds on the JSON gexgen reads (manifests, generator metadata): depth, checked iteratively."""

from __future__ import annotations

from typing import Any

from gexgen.errors import GexgenError

__all__ = ["MAX_JSON_DEPTH", "check_json_depth"]

MAX_JSON_DEPTH = 32  # gexgen's own files nest at most 5 deep


def check_json_depth(value: Any, where: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` (a loop: no recursion limit is reached).

    Examples
    --------
    >>> check_json_depth({"a": [1, {"b": 2}]}, "x.json")
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise GexgenError(
                f"{where} is nested more than {limit} levels deep; not a file gexgen wrote"
            )
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
