"""Export (PyTorch + onnx): a trained generator -> one self-describing ``.onnx`` file."""

from __future__ import annotations

from gexgen.export.graph import GeneratorGraph
from gexgen.export.metadata import generator_metadata
from gexgen.export.onnx_export import ExportReport, export_generator, export_graph
from gexgen.export.quantize import QuantizeReport, quantize_generator

__all__ = [
    "ExportReport",
    "GeneratorGraph",
    "export_generator",
    "export_graph",
    "generator_metadata",
    "QuantizeReport",
    "quantize_generator",
]
