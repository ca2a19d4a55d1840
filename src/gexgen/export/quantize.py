"""fp32 generator file -> int8 generator file, checked for fidelity against the fp32 one.

The weights of every Gemm become int8 with one scale per output channel, and
each Gemm's input is quantized to uint8 with a range fixed by calibration on
what the decoder sees when it generates: prior latent noise and the training
split's label mix (the combination counts in the metadata). Gemm outputs stay
float (onnxruntime's QDQ format, fused into integer kernels that use the VNNI
units). Fixed ranges keep each profile independent of the other rows of its
batch, so the same seed still gives the same profiles whatever the chunk size;
onnxruntime's dynamic quantization (ranges from each batch's min and max) broke
that, by up to 2e4 in expression units on the demo generator, although it was
as close to fp32 on average. The options tried are in the README
("Performance").

The check: the fp32 and int8 files generate the same seeded sample (same latent
noise, labels and observation noise); the report gives max and mean
|Δ log2(x + 1)| and the gamma score of each sample against a reference, the
cohort's test split when given, else an fp32 sample of another seed. A gamma
difference above ``max_gamma_diff`` refuses the file unless ``force``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gexgen._atomic import atomic_path
from gexgen.errors import GexgenError
from gexgen.generator_format import METADATA_KEY

__all__ = ["PRECISIONS", "QuantizeReport", "quantize_generator", "MAX_GAMMA_DIFF"]

PRECISIONS = ("fp32", "int8")
MAX_GAMMA_DIFF = 0.002  # largest |gamma(int8) - gamma(fp32)| accepted without force
QUANTIZATION = {
    "method": "static, QDQ",
    "weights": "int8",
    "per_channel": True,
    "activations": "uint8 Gemm inputs, MinMax calibration; Gemm outputs float",
    "calibration": "8,192 rows: prior z, the training label mix, seed 0",
    "ops": ["Gemm", "MatMul"],
}
CALIBRATION_ROWS = 8192


@dataclass(frozen=True)
class QuantizeReport:
    """What was written and how far the int8 generator is from the fp32 one."""

    path: Path
    n_check: int  # profiles in the seeded comparison sample
    max_abs_log2: float  # max |int8 - fp32| on log2(x + 1)
    mean_abs_log2: float
    gamma_fp32: float  # against `reference`
    gamma_int8: float
    gamma_diff: float  # gamma_int8 - gamma_fp32
    reference: str
    forced: bool = False  # written although |gamma_diff| > MAX_GAMMA_DIFF

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def quantize_generator(
    fp32_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    cohort: str | os.PathLike[str] | None = None,
    n_check: int = 20_000,
    seed: int = 0,
    max_gamma_diff: float = MAX_GAMMA_DIFF,
    force: bool = False,
) -> QuantizeReport:
    """Write an int8 copy of an fp32 generator file, after a fidelity check.

    Parameters
    ----------
    fp32_path
        An fp32 generator ``.onnx`` (from ``gexgen export``).
    out_path
        The int8 file to write (``.onnx``); nothing is written when the check fails.
    cohort
        The cohort ``.h5ad`` the generator was trained on: gamma is scored against
        its test split. Without it, against an fp32 sample of seed ``seed + 1``.
    n_check, seed
        Size and seed of the comparison sample.
    max_gamma_diff, force
        Refuse when ``|gamma_int8 - gamma_fp32| > max_gamma_diff``, unless ``force``.

    Examples
    --------
    >>> report = quantize_generator("generator.onnx", "generator_int8.onnx",
    ...                             cohort="cohort.h5ad")  # doctest: +SKIP
    >>> abs(report.gamma_diff) <= 0.002  # doctest: +SKIP
    True
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from gexgen.runtime import GeneratorSession

    fp32_path, out_path = Path(fp32_path), Path(out_path)
    if out_path.suffix != ".onnx":
        raise GexgenError(f"the generator file must end in .onnx, got {out_path.name!r}")
    if isinstance(n_check, bool) or int(n_check) < 10:
        raise GexgenError(f"n_check must be an integer >= 10, got {n_check!r}")
    fp32 = GeneratorSession(fp32_path, providers="cpu")
    if fp32.precision != "fp32":
        raise GexgenError(
            f"{str(fp32_path)!r} is already {fp32.precision}; quantize its fp32 original"
        )
    reference, reference_name = _reference(fp32, cohort, n_check, seed)
    with tempfile.TemporaryDirectory(prefix="gexgen-int8-") as work:
        raw = Path(work) / "int8.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # "consider pre-processing": the graph is already optimized
        try:
            quantize_static(
                fp32_path,
                raw,
                _CalibrationInputs(fp32, CALIBRATION_ROWS),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(QUANTIZATION["ops"]),
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                extra_options={"OpTypesToExcludeOutputQuantization": ["Gemm", "MatMul"]},
            )
        finally:
            root.setLevel(level)
        int8 = GeneratorSession(raw, providers="cpu")
        report = _compare(fp32, int8, reference, reference_name, n_check, seed, out_path)
        if abs(report.gamma_diff) > max_gamma_diff and not force:
            raise GexgenError(
                f"the int8 generator's gamma differs from fp32 by {report.gamma_diff:+.4f} "
                f"(|Δ| > {max_gamma_diff:g}, against {reference_name}; max |Δ log2| "
                f"{report.max_abs_log2:.3g}); nothing written. Keep fp32, or pass --force"
            )
        if abs(report.gamma_diff) > max_gamma_diff:
            report = QuantizeReport(**{**asdict(report), "forced": True})
        model = onnx.load(raw)
        meta = dict(fp32.metadata)
        meta["export"] = {
            **(meta.get("export") or {}),
            "precision": "int8",
            "quantization": dict(QUANTIZATION),
            "int8_vs_fp32": {k: v for k, v in report.to_dict().items() if k not in ("path",)},
        }
        from gexgen.export.metadata import metadata_json

        del model.metadata_props[:]
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, metadata_json(meta)
        with atomic_path(out_path) as tmp:
            onnx.save_model(model, tmp)
            GeneratorSession(tmp, providers="cpu")  # reopens with the runtime's checks
    return report


def _reference(
    fp32: Any, cohort: str | os.PathLike[str] | None, n_check: int, seed: int
) -> tuple[np.ndarray, str]:
    """log2(x + 1) profiles to score gamma against, and their description."""
    if cohort is None:
        values = fp32.sample(n_check, seed=seed + 1, space="log2", as_frame=False)[0]
        return values, f"an fp32 sample ({n_check:,} profiles, seed {seed + 1})"
    from gexgen.data.cohort import cohort_split, is_log_scaled, read_cohort

    adata = read_cohort(cohort)
    missing = [g for g in fp32.genes if g not in adata.var_names]
    if missing:
        raise GexgenError(
            f"cohort {str(cohort)!r} lacks {len(missing)} of the generator's genes "
            f"(e.g. {missing[:3]}); pass the cohort the generator was trained on"
        )
    _, test = cohort_split(adata)
    x = adata[test, fp32.genes].X
    x = np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)
    values = x if is_log_scaled(adata) else np.log2(np.maximum(x, 0.0) + 1.0)
    return values.astype(np.float32), f"the cohort's test split ({len(test):,} profiles)"


def _compare(
    fp32: Any,
    int8: Any,
    reference: np.ndarray,
    reference_name: str,
    n_check: int,
    seed: int,
    out_path: Path,
) -> QuantizeReport:
    from gexgen.metrics.gamma import gamma_score

    want = fp32.sample(n_check, seed=seed, space="log2", as_frame=False)[0]
    got = int8.sample(n_check, seed=seed, space="log2", as_frame=False)[0]
    if not np.isfinite(got).all():
        raise GexgenError("the int8 generator produced non-finite values; keep fp32")
    diff = np.abs(got.astype(np.float64) - want)
    gamma_fp32 = float(gamma_score(reference, want).gamma)
    gamma_int8 = float(gamma_score(reference, got).gamma)
    return QuantizeReport(
        path=out_path,
        n_check=int(n_check),
        max_abs_log2=float(diff.max()),
        mean_abs_log2=float(diff.mean()),
        gamma_fp32=gamma_fp32,
        gamma_int8=gamma_int8,
        gamma_diff=gamma_int8 - gamma_fp32,
        reference=reference_name,
    )


class _CalibrationInputs:
    """onnxruntime's calibration data reader: graph inputs as the decoder gets them when
    it generates (prior z, the training label mix, standard-normal eps), in batches."""

    def __init__(self, session: Any, rows: int, batch: int = 1024) -> None:
        from gexgen.generator_format import LATENT_INPUT, NOISE_INPUT

        rng = np.random.default_rng(0)
        codes = session.plan(rows, "training", 0).codes(0, rows)
        z = rng.standard_normal((rows, session.info.n_latent), dtype=np.float32)
        eps = (
            rng.standard_normal((rows, len(session.genes)), dtype=np.float32)
            if session.info.noise_input
            else None
        )
        feeds = []
        for lo in range(0, rows, batch):
            feed = {LATENT_INPUT: z[lo : lo + batch]}
            for label in session.info.labels:
                feed[label.input] = np.ascontiguousarray(codes[label.name][lo : lo + batch])
            if eps is not None:
                feed[NOISE_INPUT] = eps[lo : lo + batch]
            feeds.append(feed)
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)

    def rewind(self) -> None:  # pragma: no cover - onnxruntime calls it for some methods
        pass
