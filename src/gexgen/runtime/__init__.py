"""Load a generator ``.onnx`` file and draw profiles; read and write profile files.

numpy + onnxruntime (+ pyarrow / h5py / anndata for files) only: never torch.
The readers (pandas) are imported on first use (PEP 562), so that generating
does not load pandas: a 1-profile ``gexgen generate`` starts faster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gexgen.runtime.conditions import ConditionPlan, Mix
from gexgen.runtime.generator_info import GeneratorInfo, LabelInfo
from gexgen.runtime.profile_format import Space
from gexgen.runtime.profile_writers import ParquetOptions, ProfileWriter, profile_writer
from gexgen.runtime.providers import resolve_providers
from gexgen.runtime.session import GeneratorSession, ProfileChunk

# bound here, not on first use: importing the submodule of the same name later would
# otherwise leave the package attribute pointing at the module
from gexgen.runtime.write_profiles import write_profiles

if TYPE_CHECKING:
    from gexgen.runtime.profile_readers import open_profiles
    from gexgen.runtime.profile_table import ProfileTable

_LAZY = {"open_profiles": "profile_readers", "ProfileTable": "profile_table"}  # pandas

__all__ = [
    "ConditionPlan",
    "GeneratorInfo",
    "GeneratorSession",
    "LabelInfo",
    "Mix",
    "ParquetOptions",
    "ProfileChunk",
    "ProfileTable",
    "ProfileWriter",
    "Space",
    "open_profiles",
    "profile_writer",
    "resolve_providers",
    "write_profiles",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gexgen.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gexgen.runtime.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
