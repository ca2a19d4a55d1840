"""gexgen: conditional generative models of bulk gene expression.

``from gexgen import CVAE`` gives the object API (:mod:`gexgen.model`); it is
loaded on first use, so ``import gexgen`` and ``gexgen.runtime`` stay free of torch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("gexgen")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

_LAZY = {"CVAE": "gexgen.model", "WGANGP": "gexgen.model", "GeneratorModel": "gexgen.model"}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gexgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
