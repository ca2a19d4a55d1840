"""Budgets and settings of a benchmark run in one frozen dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gexgen.errors import GexgenError

__all__ = [
    "MODEL_NAMES",
    "PAPER_MODELS",
    "DEFAULT_MODELS",
    "GAUSSIAN_MODELS",
    "PAPER_GAMMA",
    "BenchmarkConfig",
    "parse_models",
    "parse_epochs",
]

# the paper's comparison; "gexgen" is gexgen's default recipe (TrainConfig.recipe(
# "default"): regularized, calibrated observation noise, balanced model selection);
# "cvae-fast" its earlier fast recipe (decoder means)
PAPER_MODELS: tuple[str, ...] = ("cvae", "wgan-gp", "ctgan", "tvae")
# "gaussian": a class-conditional Gaussian (per-gene mean and std per label
# combination), fitted in a second: the privacy reference, a model that learns
# only class-level statistics (gexgen.metrics.gaussian_baseline)
# "mvn" / "lowrank": the bar a learned model must clear (gexgen.baselines.mvn, the 2025
# Health Privacy Challenge's multivariate normal; gexgen.baselines.lowrank_gaussian)
GAUSSIAN_MODELS: tuple[str, ...] = ("mvn", "lowrank", "gaussian")
DEFAULT_MODELS: tuple[str, ...] = ("cvae", "gexgen", "wgan-gp", "tvae", "ctgan", *GAUSSIAN_MODELS)
MODEL_NAMES: tuple[str, ...] = ("gexgen", "cvae-fast", *PAPER_MODELS, *GAUSSIAN_MODELS)
# Bong & Oh 2023, Table 2: gamma on the held-out test set (9,146 samples, 15 tissues)
PAPER_GAMMA: dict[str, float] = {"cvae": 0.984, "wgan-gp": 0.978, "ctgan": 0.592, "tvae": 0.887}
# the field holding each model's maximum epochs
EPOCH_FIELDS: dict[str, str] = {
    "gexgen": "cvae_fast_epochs",
    "cvae-fast": "cvae_fast_epochs",
    "cvae": "cvae_epochs",
    "wgan-gp": "wgan_epochs",
    "ctgan": "ctgan_epochs",
    "tvae": "tvae_epochs",
}


@dataclass(frozen=True)
class BenchmarkConfig:
    """What to train, with which budgets; the defaults are each method's published ones.

    Examples
    --------
    >>> BenchmarkConfig().cvae_epochs, BenchmarkConfig.quick().cvae_epochs
    (1400, 150)
    """

    models: tuple[str, ...] = DEFAULT_MODELS  # which models, in table order
    conditions: tuple[str, ...] = ("tissue", "status")  # label columns every model conditions on
    cvae_fast_epochs: int = 250  # gexgen's recipes (default, fast): cosine lr over these epochs
    cvae_epochs: int = 1400  # CVAE maximum epochs (paper); early stop on validation loss
    cvae_patience: int | None = 100  # CVAE epochs without a better validation loss
    wgan_epochs: int = 2000  # WGAN-GP maximum epochs (Viñas et al.'s config)
    wgan_patience: int | None = 10  # WGAN-GP evaluations (every 5 epochs) without better gamma
    ctgan_epochs: int = 300  # the ctgan package's default
    tvae_epochs: int = 300  # the ctgan package's default
    tabular_batch_size: int = 500  # CTGAN / TVAE batch (the package's default)
    share_transformer: bool = True  # fit CTGAN/TVAE's data transformer once (deterministic)
    throughput_samples: int = 5_000  # profiles drawn to measure sampling speed
    lowrank_factors: int = 32  # lowrank: shared within-combination factors (k)
    seed: int = 0  # seeds every model, the sampling and the metrics
    device: str = "auto"  # torch device for the CVAE and WGAN-GP
    threads: int | None = None  # torch / onnxruntime threads (None = library default)
    umap: bool = True  # draw the UMAP panels (umap-learn + matplotlib)
    quick_preset: bool = False  # recorded: built by BenchmarkConfig.quick()

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", parse_models(self.models))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        problems = []
        for name in (*EPOCH_FIELDS.values(), "throughput_samples", "lowrank_factors"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if self.tabular_batch_size < 10 or self.tabular_batch_size % 10:
            problems.append(
                f"tabular_batch_size must be a multiple of 10, got {self.tabular_batch_size}"
            )
        for name in ("cvae_patience", "wgan_patience"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value < 1):
                problems.append(f"{name} must be >= 1 (or None: no early stop), got {value!r}")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads must be >= 1, got {self.threads}")
        if not self.conditions:
            problems.append("conditions must name at least one label column")
        if problems:
            raise GexgenError("invalid benchmark settings: " + "; ".join(problems))

    @classmethod
    def quick(cls, **changes: Any) -> BenchmarkConfig:
        """Small budgets that finish in minutes on 2 CPU cores (not the published ones)."""
        preset: dict[str, Any] = {
            "cvae_epochs": 150,
            "cvae_patience": 30,
            "wgan_epochs": 40,
            "wgan_patience": 4,
            "ctgan_epochs": 100,
            "tvae_epochs": 100,
            "throughput_samples": 2_000,
            "quick_preset": True,
        }
        return cls(**{**preset, **changes})

    def epochs_of(self, model: str) -> int | None:
        """The model's maximum epochs; None for a model fitted without epochs (the Gaussians)."""
        return int(getattr(self, EPOCH_FIELDS[model])) if model in EPOCH_FIELDS else None

    def with_epochs(self, epochs: dict[str, int]) -> BenchmarkConfig:
        """A copy with some models' maximum epochs changed."""
        return dataclasses.replace(self, **{EPOCH_FIELDS[m]: n for m, n in epochs.items()})

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


def parse_models(models: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"cvae,wgan-gp"`` or a sequence -> checked tuple; unknown names list the valid ones."""
    names = [m.strip().lower() for m in (models.split(",") if isinstance(models, str) else models)]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown:
        raise GexgenError(f"unknown model(s) {unknown}; valid: {', '.join(MODEL_NAMES)}")
    if not names:
        raise GexgenError(f"no model given; choose from {', '.join(MODEL_NAMES)}")
    if len(set(names)) != len(names):
        raise GexgenError(f"a model is listed twice: {names}")
    return tuple(names)


def parse_epochs(text: str, models: tuple[str, ...]) -> dict[str, int]:
    """``"50"`` (every model) or ``"cvae=300,wgan-gp=100"`` -> {model: epochs}.

    Examples
    --------
    >>> parse_epochs("cvae=300,tvae=20", ("cvae", "tvae"))
    {'cvae': 300, 'tvae': 20}
    >>> parse_epochs("5", ("cvae", "ctgan"))
    {'cvae': 5, 'ctgan': 5}
    """
    text = text.strip()
    out: dict[str, int] = {}
    try:
        if "=" not in text:
            return dict.fromkeys([m for m in models if m in EPOCH_FIELDS], _positive(int(text)))
        for part in text.split(","):
            name, _, value = part.partition("=")
            name = name.strip().lower()
            if name not in EPOCH_FIELDS:
                raise GexgenError(
                    f"unknown model {name!r} in --epochs; valid: {', '.join(EPOCH_FIELDS)}"
                    + (f" ({name} is fitted without epochs)" if name in GAUSSIAN_MODELS else "")
                )
            out[name] = _positive(int(value))
    except ValueError as exc:
        if isinstance(exc, GexgenError):
            raise
        raise GexgenError(
            f"--epochs must be a number or model=number pairs like 'cvae=300,wgan-gp=100', "
            f"got {text!r}"
        ) from exc
    return out


def _positive(n: int) -> int:
    if n < 1:
        raise GexgenError(f"epochs must be >= 1, got {n}")
    return n
