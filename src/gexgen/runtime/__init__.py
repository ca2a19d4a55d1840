"""Load a generator ``.onnx`` file and draw profiles; read and write profile files.

numpy + onnxruntime (+ pyarrow / h5py / anndata for files) only: never torch.
Names are imported on first use (PEP 562), so that ``from gexgen.runtime import
GeneratorSession`` does not load pandas or pyarrow: a 1-profile ``gexgen
generate`` starts faster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gexgen.runtime.conditions import ConditionPlan, Mix
    from gexgen.runtime.generator_info import GeneratorInfo, LabelInfo
    from gexgen.runtime.profile_format import Space
    from gexgen.runtime.profile_readers import open_profiles
    from gexgen.runtime.profile_table import ProfileTable
    from gexgen.runtime.profile_writers import ParquetOptions, ProfileWriter, profile_writer
    from gexgen.runtime.providers import resolve_providers
    from gexgen.runtime.session import GeneratorSession, ProfileChunk
    from gexgen.runtime.write_profiles import write_profiles

_WHERE = {
    "ConditionPlan": "conditions",
    "Mix": "conditions",
    "GeneratorInfo": "generator_info",
    "LabelInfo": "generator_info",
    "Space": "profile_format",
    "open_profiles": "profile_readers",
    "ProfileTable": "profile_table",
    "ParquetOptions": "profile_writers",
    "ProfileWriter": "profile_writers",
    "profile_writer": "profile_writers",
    "resolve_providers": "providers",
    "GeneratorSession": "session",
    "ProfileChunk": "session",
    "write_profiles": "write_profiles",
}

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
    if name not in _WHERE:
        raise AttributeError(f"module 'gexgen.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gexgen.runtime.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
