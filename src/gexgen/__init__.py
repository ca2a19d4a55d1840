"""gexgen: conditional generative models of bulk gene expression."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """``__version__`` is looked up on first use: importlib.metadata costs ~0.1 s at start-up."""
    if name != "__version__":
        raise AttributeError(f"module 'gexgen' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("gexgen")
    except PackageNotFoundError:  # running from a source tree without install
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
