"""Load a generator ``.onnx`` file and draw profiles; read and write profile files.

numpy + onnxruntime (+ pyarrow / h5py / anndata for files) only: never torch.
"""

from __future__ import annotations

from gexgen.runtime.conditions import ConditionPlan, Mix
from gexgen.runtime.generator_info import GeneratorInfo, LabelInfo
from gexgen.runtime.profile_format import Space
from gexgen.runtime.profile_readers import open_profiles
from gexgen.runtime.profile_table import ProfileTable
from gexgen.runtime.profile_writers import ParquetOptions, ProfileWriter, profile_writer
from gexgen.runtime.providers import resolve_providers
from gexgen.runtime.session import GeneratorSession, ProfileChunk
from gexgen.runtime.write_profiles import write_profiles

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
