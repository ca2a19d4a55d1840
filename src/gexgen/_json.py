"""JSON encoding of the numpy values and paths that results and reports hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["json_default"]


def json_default(value: Any) -> Any:
    """``json.dumps(..., default=json_default)``: numpy scalars/arrays and paths to JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")
