"""The generator graph in onnxruntime: load it, check it against its metadata, run it.

Inputs and outputs are found by name (``gexgen.generator_format``), never by
position; outputs are written straight into the caller's arrays (IO binding).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gexgen.errors import GexgenError
from gexgen.generator_format import (
    EXPRESSION_OUTPUT,
    LATENT_INPUT,
    LOG_OUTPUT,
    METADATA_KEY,
    NOISE_INPUT,
)
from gexgen.runtime.generator_info import GeneratorInfo, parse_generator_metadata
from gexgen.runtime.providers import resolve_providers

__all__ = ["GeneratorGraph"]

CPU_RUN_BATCH = 2048  # rows per onnxruntime call on CPU (benchmarked: 1024-4096 near best)
GPU_RUN_BATCH = 65_536  # rows per call on an accelerator


class GeneratorGraph:
    """An onnxruntime session of a generator file, with its parsed metadata.

    Parameters
    ----------
    path
        The generator ``.onnx`` file.
    providers
        Execution providers (see ``resolve_providers``); default CUDA, else CPU.
    threads
        onnxruntime intra-op threads (default: onnxruntime's, all physical cores).
    """

    def __init__(self, path: Path, providers: str | list[str] | None, threads: int | None) -> None:
        import onnxruntime as ort

        self.path = path
        if not path.is_file():
            raise GexgenError(f"generator file {str(path)!r} not found")
        chosen = resolve_providers(providers)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.inter_op_num_threads = 1
        if threads is not None:
            if isinstance(threads, bool) or int(threads) < 1:
                raise GexgenError(f"threads must be a positive integer, got {threads!r}")
            options.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=chosen)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise GexgenError(
                f"cannot load {str(path)!r} as an ONNX model: the file is truncated, "
                f"damaged or not ONNX ({first_line[:300]}); re-export or re-download it"
            ) from exc
        custom = self.session.get_modelmeta().custom_metadata_map
        self.info: GeneratorInfo = parse_generator_metadata(custom.get(METADATA_KEY), str(path))
        self._check_graph()
        self.providers: list[str] = list(self.session.get_providers())
        on_cpu = self.providers[0] == "CPUExecutionProvider"
        self.run_batch = CPU_RUN_BATCH if on_cpu else GPU_RUN_BATCH

    def _check_graph(self) -> None:
        inputs = {i.name: i for i in self.session.get_inputs()}
        expected = {LATENT_INPUT: "tensor(float)"}
        expected.update({label.input: "tensor(int64)" for label in self.info.labels})
        if self.info.noise_input:
            expected[NOISE_INPUT] = "tensor(float)"
        where = str(self.path)
        missing = [name for name in expected if name not in inputs]
        extra = [name for name in inputs if name not in expected]
        if missing or extra:
            raise GexgenError(
                f"{where}: graph inputs {sorted(inputs)} do not match the "
                f"metadata (expected {sorted(expected)}); re-export the generator"
            )
        for name, dtype in expected.items():
            if inputs[name].type != dtype:
                raise GexgenError(
                    f"{where}: input {name!r} is {inputs[name].type}, expected {dtype}"
                )
        width = inputs[LATENT_INPUT].shape[-1]
        if isinstance(width, int) and width != self.info.n_latent:
            raise GexgenError(
                f"{where}: input z has {width} columns, metadata says n_latent={self.info.n_latent}"
            )
        outputs = {o.name for o in self.session.get_outputs()}
        lacking = [name for name in (LOG_OUTPUT, EXPRESSION_OUTPUT) if name not in outputs]
        if lacking:
            raise GexgenError(f"{where}: graph outputs {sorted(outputs)} lack {lacking}")

    def run_into(
        self,
        out: np.ndarray,
        output: str,
        z: np.ndarray,
        codes: Mapping[str, np.ndarray],
        eps: np.ndarray | None,
    ) -> None:
        """Fill ``out`` (C-contiguous float32) by onnxruntime calls of ``run_batch`` rows."""
        binding = self.session.io_binding()
        inputs = {label.input: codes[label.name] for label in self.info.labels}
        n_genes = out.shape[1]
        for lo in range(0, len(out), self.run_batch):
            hi = min(lo + self.run_batch, len(out))
            binding.bind_cpu_input(LATENT_INPUT, z[lo:hi])
            for name, values in inputs.items():
                binding.bind_cpu_input(name, values[lo:hi])
            if eps is not None:
                binding.bind_cpu_input(NOISE_INPUT, eps[lo:hi])
            binding.bind_output(
                output, "cpu", 0, np.float32, (hi - lo, n_genes), out[lo:hi].ctypes.data
            )
            self.session.run_with_iobinding(binding)
