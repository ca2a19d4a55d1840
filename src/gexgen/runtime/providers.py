"""Choose onnxruntime execution providers: CUDA when present, else CPU."""

from __future__ import annotations

from collections.abc import Sequence

from gexgen.errors import GexgenError

__all__ = ["resolve_providers"]

_SHORT_NAMES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}


def resolve_providers(
    requested: str | Sequence[str] | None, available: Sequence[str] | None = None
) -> list[str]:
    """Full provider names in priority order, checked against those installed.

    Parameters
    ----------
    requested
        None for the default (CUDA then CPU when CUDA is installed, else CPU), or
        provider names, full (``"CUDAExecutionProvider"``) or short (``"cuda"``),
        as a list or a comma-separated string.
    available
        The installed providers (default: ``onnxruntime.get_available_providers()``).

    Examples
    --------
    >>> resolve_providers("cpu", available=["CPUExecutionProvider"])
    ['CPUExecutionProvider']
    """
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    if requested is None:
        if "CUDAExecutionProvider" in available:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]
    if isinstance(requested, str):
        requested = [part for part in requested.split(",") if part.strip()]
    names = [_SHORT_NAMES.get(name.strip().lower(), name.strip()) for name in requested]
    if not names:
        raise GexgenError(f"no execution provider given; available: {', '.join(available)}")
    missing = [name for name in names if name not in available]
    if missing:
        raise GexgenError(
            f"execution provider(s) {', '.join(missing)} not available in this onnxruntime; "
            f"available: {', '.join(available)} (for CUDA install onnxruntime-gpu: "
            "pip install 'gexgen[gpu]')"
        )
    return names
