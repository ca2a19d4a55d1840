"""Checkpoint -> one self-describing ``.onnx`` generator, checked against torch.

The file follows :mod:`gexgen.generator_format`: inputs ``z``, one
``<label>_code`` per label (and ``eps`` for a learned-variance decoder),
outputs ``log_expression`` and ``expression``, a dynamic batch axis, and the
metadata JSON under ``metadata_props["gexgen"]``; the same JSON is written
beside it as ``<file>.onnx.json`` for runtimes without a metadata API.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gexgen._atomic import atomic_path
from gexgen._outputs import check_output_file
from gexgen.data.preprocess import LogStandardScaler
from gexgen.errors import GexgenError
from gexgen.export.graph import GeneratorGraph
from gexgen.export.metadata import generator_metadata, metadata_json
from gexgen.export.quantize import PRECISIONS, QuantizeReport, quantize_generator
from gexgen.generator_format import (
    EXPRESSION_OUTPUT,
    LATENT_INPUT,
    LOG_OUTPUT,
    METADATA_KEY,
    NOISE_INPUT,
    label_input_name,
    metadata_sidecar,
    sidecar_text,
)
from gexgen.train.checkpoint import decoder_from_checkpoint, load_checkpoint

__all__ = ["ExportReport", "export_generator", "export_graph", "MIN_OPSET"]

MIN_OPSET = 17
_PARITY_BATCHES = (64, 1)  # the second size checks the dynamic batch axis


@dataclass(frozen=True)
class ExportReport:
    """What was written and how closely onnxruntime reproduces torch."""

    path: Path
    max_abs_diff: float  # log_expression, onnxruntime vs torch
    max_rel_diff: float  # expression, |ort - torch| / max(1, |torch|)
    exporter: str  # "dynamo" or "torchscript" (the fallback)
    opset: int
    note: str = ""  # why the fallback exporter was used, if it was
    precision: str = "fp32"
    int8: QuantizeReport | None = None  # the int8 file's check against fp32


def export_generator(
    run_dir_or_checkpoint: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    opset: int = 18,
    tolerance: float = 1e-4,
    overwrite: bool = False,
    precision: str = "fp32",
    cohort: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> ExportReport:
    """Export a trained generator (CVAE or WGAN-GP checkpoint) to one ``.onnx`` file.

    The file is reopened in onnxruntime and compared with the torch model on
    random inputs; above ``tolerance`` the export fails and no file is left.
    An existing ``out_path`` is refused unless ``overwrite``.
    ``precision="int8"`` then quantizes it (``gexgen.export.quantize``): the
    int8 file is compared with the fp32 one on a seeded sample (gamma against
    ``cohort``'s test split when given) and refused, unless ``force``, when
    their gamma scores differ by more than 0.002.

    Examples
    --------
    >>> report = export_generator("runs/cvae", "generator.onnx")  # doctest: +SKIP
    >>> report.max_abs_diff < 1e-4  # doctest: +SKIP
    True
    """
    _check_args(out_path, opset, tolerance)
    check_output_file(out_path, overwrite, sidecars=[metadata_sidecar(out_path)])
    if precision not in PRECISIONS:
        raise GexgenError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if cohort is not None and precision != "int8":
        raise GexgenError(
            f"a cohort is only used to check an int8 export, got precision {precision!r}; "
            "add --precision int8 or leave out --cohort"
        )
    if precision == "int8":
        with tempfile.TemporaryDirectory(prefix="gexgen-export-") as work:
            fp32 = export_generator(
                run_dir_or_checkpoint, Path(work) / "fp32.onnx", opset=opset, tolerance=tolerance
            )
            int8 = quantize_generator(fp32.path, out_path, cohort=cohort, force=force)
        return dataclasses.replace(fp32, path=Path(out_path), precision="int8", int8=int8)
    ckpt = load_checkpoint(run_dir_or_checkpoint)
    decoder = decoder_from_checkpoint(ckpt)
    scaler = LogStandardScaler.from_dict(ckpt["scaler"])
    logvar = getattr(decoder, "noise_logvar", None)  # calibrated, per combination and gene
    if logvar is None:
        logvar = getattr(decoder, "logvar", None)  # learned, per gene
    graph = GeneratorGraph(
        decoder,
        label_sizes=[len(label["values"]) for label in ckpt["labels"]],
        scaler_mean=np.asarray(ckpt["scaler"]["mean"], dtype=np.float32),
        scaler_std=np.asarray(ckpt["scaler"]["std"], dtype=np.float32),
        logvar=logvar,
        factors=getattr(decoder, "noise_factors", None),
        gains=getattr(decoder, "noise_gains", None),
        offset=getattr(decoder, "noise_offset", None),
        quantiles=scaler.quantiles_,
        floor=scaler.floor_,
    )
    meta = generator_metadata(ckpt, noise_input=logvar is not None, exporter="", opset=opset)
    return export_graph(
        graph, out_path, meta, opset=opset, tolerance=tolerance, overwrite=overwrite
    )


def export_graph(
    graph: GeneratorGraph,
    out_path: str | os.PathLike[str],
    metadata: dict[str, Any],
    *,
    opset: int = 18,
    tolerance: float = 1e-4,
    overwrite: bool = False,
) -> ExportReport:
    """Export a :class:`GeneratorGraph` with its metadata; the generic path of every model."""
    _check_args(out_path, opset, tolerance)
    check_output_file(out_path, overwrite, sidecars=[metadata_sidecar(out_path)])
    labels = [label["name"] for label in metadata["labels"]]
    input_names = [LATENT_INPUT, *(label_input_name(name) for name in labels)]
    if graph.noise_input:
        input_names.append(NOISE_INPUT)
    graph = graph.eval()
    example = _random_inputs(graph, metadata, n=4, seed=0)
    model, exporter, note = _to_onnx(graph, example, input_names, opset)
    written = _default_opset(model)
    if written != opset:
        raise GexgenError(
            f"the {exporter} exporter wrote opset {written}, not the requested --opset {opset}; "
            f"nothing written: use --opset {written} (or another opset it supports)"
        )

    metadata = {
        **metadata,
        "export": {"exporter": exporter, "opset": opset, "precision": "fp32"},
    }
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, metadata_json(metadata)
    model.producer_name = "gexgen"
    model.producer_version = str(metadata["gexgen_version"])
    model.doc_string = (
        f"gexgen {metadata['model_type']} generator: inputs {input_names}, outputs "
        f"[{LOG_OUTPUT!r}, {EXPRESSION_OUTPUT!r}]; "
        f"metadata JSON in metadata_props[{METADATA_KEY!r}]"
    )

    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise GexgenError(f"the exported graph fails onnx.checker: {exc}") from exc

    out_path = Path(out_path)
    with atomic_path(out_path, exclusive=not overwrite) as tmp:
        onnx.save_model(model, tmp)
        max_abs, max_rel = _parity(graph, tmp, metadata, input_names)
        if not (max_abs <= tolerance and max_rel <= tolerance):
            raise GexgenError(
                f"onnxruntime differs from torch by {max_abs:.3g} (log2) / {max_rel:.3g} "
                f"(relative, expression), above the tolerance {tolerance:g}; nothing written"
            )
    with atomic_path(metadata_sidecar(out_path), exclusive=not overwrite) as tmp:
        tmp.write_text(sidecar_text(metadata))
    return ExportReport(out_path, max_abs, max_rel, exporter, opset, note)


def _check_args(out_path: str | os.PathLike[str], opset: int, tolerance: float) -> None:
    if Path(out_path).suffix != ".onnx":
        raise GexgenError(f"the generator file must end in .onnx, got {Path(out_path).name!r}")
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise GexgenError(
            f"opset must be >= {MIN_OPSET} and <= {newest} (the newest this onnx "
            f"{onnx.__version__} knows), got {opset!r}; the default 18 suits every runtime"
        )
    if not tolerance > 0:
        raise GexgenError(f"tolerance must be > 0, got {tolerance}")


def _default_opset(model: Any) -> int | None:
    """The opset of the default ("ai.onnx") domain that a ModelProto declares."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return None


def _random_inputs(
    graph: GeneratorGraph, metadata: dict[str, Any], n: int, seed: int
) -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, int(metadata["n_latent"])), dtype=np.float32)
    inputs = [torch.from_numpy(z)]
    for size in graph.label_sizes:
        inputs.append(torch.from_numpy(rng.integers(0, size, n, dtype=np.int64)))
    if graph.noise_input:
        n_genes = len(metadata["genes"]["symbols"])
        inputs.append(torch.from_numpy(rng.standard_normal((n, n_genes), dtype=np.float32)))
    return tuple(inputs)


def _to_onnx(
    graph: GeneratorGraph, example: tuple[torch.Tensor, ...], input_names: list[str], opset: int
) -> tuple[Any, str, str]:
    """(onnx ModelProto, exporter used, note). dynamo folds BatchNorm into the Gemms."""
    import onnx

    output_names = [LOG_OUTPUT, EXPRESSION_OUTPUT]
    if importlib.util.find_spec("onnxscript") is None:
        note = "onnxscript is not installed: used the TorchScript exporter (BatchNorm not folded)"
    else:
        batch = torch.export.Dim("n")
        try:
            with _quiet(), torch.no_grad():
                program = torch.onnx.export(
                    graph,
                    example,
                    input_names=input_names,
                    output_names=output_names,
                    dynamic_shapes=({0: batch}, tuple({0: batch} for _ in input_names[1:])),
                    opset_version=opset,
                    dynamo=True,
                    optimize=True,
                    verbose=False,
                )
            return program.model_proto, "dynamo", ""
        except Exception as exc:  # any dynamo failure: fall back, and say why
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            note = f"the dynamo exporter failed ({first}); used the TorchScript exporter"
    buffer = io.BytesIO()
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            graph,
            example,
            buffer,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes={name: {0: "n"} for name in input_names + output_names},
            opset_version=opset,
            dynamo=False,
        )
    return onnx.load_from_string(buffer.getvalue()), "torchscript", note


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence the exporters' warnings and log lines (e.g. "torchvision is not installed")."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _parity(
    graph: GeneratorGraph, path: Path, metadata: dict[str, Any], input_names: list[str]
) -> tuple[float, float]:
    """Max |ort - torch| on log_expression and max relative difference on expression."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got_inputs = [i.name for i in session.get_inputs()]
    got_outputs = [o.name for o in session.get_outputs()]
    if got_inputs != input_names or got_outputs != [LOG_OUTPUT, EXPRESSION_OUTPUT]:
        raise GexgenError(
            f"exported graph has inputs {got_inputs} and outputs {got_outputs}, expected "
            f"{input_names} and {[LOG_OUTPUT, EXPRESSION_OUTPUT]}"
        )
    max_abs = max_rel = 0.0
    for seed, n in enumerate(_PARITY_BATCHES, start=1):
        inputs = _random_inputs(graph, metadata, n=n, seed=seed)
        with torch.no_grad():
            want_log, want_expr = (t.numpy() for t in graph(*inputs))
        got_log, got_expr = session.run(
            [LOG_OUTPUT, EXPRESSION_OUTPUT],
            {name: t.numpy() for name, t in zip(input_names, inputs, strict=True)},
        )
        if got_log.shape != want_log.shape:
            raise GexgenError(
                f"onnxruntime returned shape {got_log.shape}, expected {want_log.shape}"
            )
        max_abs = max(max_abs, float(np.max(np.abs(got_log - want_log))))
        rel = np.abs(got_expr - want_expr) / np.maximum(1.0, np.abs(want_expr))
        max_rel = max(max_rel, float(np.max(rel)))
    return max_abs, max_rel
