"""The generator graph in onnxruntime: load it, check it against its metadata, run it.

Inputs and outputs are found by name (``gexgen.generator_format``), never by
position; outputs are written straight into the caller's arrays (IO binding).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gexgen._text import printable
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
from gexgen.runtime.run_batches import CPU_BATCH_ROWS

__all__ = ["GeneratorGraph"]

CPU_RUN_BATCH = 2048  # rows per call on CPU with all intra-op threads (1024-4096 near best)
GPU_RUN_BATCH = 65_536  # rows per call on an accelerator
_EXTERNAL_DATA = re.compile(r"external|model_path must not be empty", re.IGNORECASE)
_OUT_OF_RANGE = 1 << 40  # a label code no vocabulary reaches


class GeneratorGraph:
    """An onnxruntime session of a generator file, with its parsed metadata.

    Parameters
    ----------
    path
        The generator ``.onnx`` file.
    providers
        Execution providers (see ``resolve_providers``); default CUDA, else CPU.
    threads
        Cores to use. On CPU (the first provider) the graph runs with one intra-op
        thread and ``data_parallel`` is True: the caller runs up to ``threads``
        calls at once (``gexgen.runtime.run_batches``). On an accelerator,
        onnxruntime's intra-op threads (default: onnxruntime's, all physical cores).
    """

    def __init__(self, path: Path, providers: str | list[str] | None, threads: int | None) -> None:
        import onnxruntime as ort

        self.path = path
        if not path.is_file() or path.suffix == ".pt":  # .pt: a torch checkpoint, not ONNX
            raise GexgenError(_missing_generator_message(path))
        chosen = resolve_providers(providers)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.inter_op_num_threads = 1
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise GexgenError(f"threads must be a positive integer, got {threads!r}")
        # on CPU, one thread per call and several calls at once (data-parallel batches):
        # intra-op worker threads spin after each call and fight the noise draws for cores
        self.data_parallel = chosen[0] == "CPUExecutionProvider"
        if self.data_parallel:
            options.intra_op_num_threads = 1
        elif threads is not None:
            options.intra_op_num_threads = int(threads)
        # the graph is loaded from the bytes read here, never from the path: weights in an
        # external-data file beside it cannot be loaded, so ``sha256`` covers all of it
        model_bytes = path.read_bytes()
        self.sha256 = hashlib.sha256(model_bytes).hexdigest()
        try:
            self.session = ort.InferenceSession(model_bytes, options, providers=chosen)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            if _EXTERNAL_DATA.search(str(exc)):
                raise GexgenError(
                    f"{str(path)!r} keeps its weights in a separate external-data file; a "
                    "gexgen generator is one self-contained file (what its recorded sha256 "
                    "covers): re-export it with `gexgen export`, or merge the weights into "
                    "the .onnx (onnx.save_model(..., save_as_external_data=False))"
                ) from exc
            raise GexgenError(
                f"cannot load {str(path)!r} as an ONNX model: the file is truncated, "
                f"damaged or not ONNX ({printable(first_line[:300])}); re-export or "
                "re-download it"
            ) from exc
        custom = self.session.get_modelmeta().custom_metadata_map
        self.info: GeneratorInfo = parse_generator_metadata(custom.get(METADATA_KEY), str(path))
        self._check_graph()
        self._probe_encoding()
        self.providers: list[str] = list(self.session.get_providers())
        on_cpu = self.providers[0] == "CPUExecutionProvider"
        if self.data_parallel:
            self.run_batch = CPU_BATCH_ROWS
        else:  # an accelerator, or onnxruntime fell back to CPU with all its threads
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

    def _probe_rows(self, codes: dict[str, int]) -> np.ndarray | None:
        """``log_expression`` of one row (z = 0, eps = 0) with ``codes``; None if the graph
        refuses them (a lookup table that raises on an unknown code)."""
        feeds: dict[str, np.ndarray] = {LATENT_INPUT: np.zeros((1, self.info.n_latent), np.float32)}
        for label in self.info.labels:
            feeds[label.input] = np.array([codes.get(label.name, 0)], np.int64)
        if self.info.noise_input:
            feeds[NOISE_INPUT] = np.zeros((1, len(self.info.genes)), np.float32)
        try:
            return np.asarray(self.session.run([LOG_OUTPUT], feeds)[0])
        except Exception:  # onnxruntime's own error types
            return None

    def _probe_outputs_agree(self) -> None:
        """``expression`` must be ``max(2**log_expression - 1, 0)`` on a few rows: a graph
        whose two outputs disagree would give other numbers in each space."""
        rows = 3
        z = np.zeros((rows, self.info.n_latent), np.float32)
        z[1], z[2] = 1.0, -1.0
        feeds: dict[str, np.ndarray] = {LATENT_INPUT: z}
        for label in self.info.labels:
            feeds[label.input] = np.zeros(rows, np.int64)
        if self.info.noise_input:
            feeds[NOISE_INPUT] = np.zeros((rows, len(self.info.genes)), np.float32)
        try:
            log, expr = (np.asarray(a, np.float64) for a in self.session.run(
                [LOG_OUTPUT, EXPRESSION_OUTPUT], feeds))  # fmt: skip
        except Exception:  # onnxruntime's own error types: the other probes say more
            return
        expected = np.maximum(np.exp2(log) - 1.0, 0.0)
        if log.shape != expr.shape or not np.allclose(
            expr, expected, rtol=1e-3, atol=1e-3, equal_nan=True
        ):
            worst = float(np.nanmax(np.abs(expr - expected))) if log.shape == expr.shape else 0.0
            raise GexgenError(
                f"{str(self.path)!r}: the graph's {EXPRESSION_OUTPUT!r} output is not "
                f"max(2**{LOG_OUTPUT} - 1, 0) (off by up to {worst:.3g}); the file is "
                "damaged or was edited: re-export it"
            )

    def _probe_encoding(self) -> None:
        """Run the graph on a few single rows: its gene count and the size of each label's
        encoding must match the metadata (a vocabulary value the graph does not encode
        would otherwise give profiles of an all-zero condition)."""
        where = str(self.path)
        base = self._probe_rows({})
        if base is None or base.ndim != 2:
            raise GexgenError(f"{where}: the graph fails on one row of valid inputs; re-export it")
        if base.shape[1] != len(self.info.genes):
            raise GexgenError(
                f"{where}: the graph outputs {base.shape[1]} genes but the metadata lists "
                f"{len(self.info.genes)}; the file is damaged or mixed up: re-export it"
            )

        self._probe_outputs_agree()

        def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
            if a is None or b is None:
                return a is None and b is None
            return bool(np.array_equal(a, b, equal_nan=True))

        def encoded(row: np.ndarray | None, unknown: np.ndarray | None) -> bool:
            if row is None or np.isnan(row).all():
                return False
            return not same(row, unknown)

        for label in self.info.labels:
            size = len(label.values)
            unknown = self._probe_rows({label.name: _OUT_OF_RANGE})
            if not encoded(self._probe_rows({label.name: size - 1}), unknown):
                raise GexgenError(
                    f"{where}: label {printable(label.name)!r} lists {size} values but the "
                    f"graph does not encode the last one ({printable(label.values[-1])!r}); "
                    "the metadata does not match the graph: re-export the generator"
                )
            if encoded(self._probe_rows({label.name: size}), unknown):
                raise GexgenError(
                    f"{where}: the graph encodes more values of label "
                    f"{printable(label.name)!r} than the {size} its metadata lists; "
                    "re-export the generator"
                )

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


def _missing_generator_message(path: Path) -> str:
    """Why ``path`` is no generator file; a training run (or checkpoint) is told to export."""
    run = path if path.is_dir() else path.parent if path.suffix == ".pt" else None
    # "checkpoint.pt" = gexgen.train.checkpoint.CHECKPOINT_NAME (runtime imports no torch code)
    if run is not None and ((run / "checkpoint.pt").is_file() or (run / "config.json").is_file()):
        return (
            f"{str(path)!r} is a training run folder, not a generator file; export it "
            f"first: gexgen export {str(run)} --out generator.onnx"
        )
    if path.is_dir():
        return f"{str(path)!r} is a folder, not a generator .onnx file (from gexgen export)"
    if path.is_file():
        return f"{str(path)!r} is a torch checkpoint, not a generator .onnx file; export it first"
    return f"generator file {str(path)!r} not found"
