"""gexgen: conditional generative models of bulk gene expression.

``from gexgen import CVAE`` gives the object API (:mod:`gexgen.model`); it is
loaded on first use, so ``import gexgen`` and ``gexgen.runtime`` stay free of torch.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"CVAE": "gexgen.model", "WGANGP": "gexgen.model", "GeneratorModel": "gexgen.model"}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    """Looked up on first use: ``__version__`` (importlib.metadata costs ~0.1 s at start-up)
    and the model classes (they import torch)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("gexgen")
        except PackageNotFoundError:  # running from a source tree without install
            value = "0.0.0+unknown"
    elif name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'gexgen' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
