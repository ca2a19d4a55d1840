"""All hyperparameters of a training run in one frozen dataclass (CVAE and WGAN-GP).

No torch here: the CLI reads these configs for its options and defaults.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from gexgen.errors import GexgenError

__all__ = [
    "DictConfig",
    "RECIPES",
    "TrainConfig",
    "WGANConfig",
    "resolve_device",
    "hidden_for_depth",
    "LR_SCHEDULES",
    "KEEP_CHOICES",
    "DEFAULT_RECIPE",
    "PAPER_SETTINGS",
]

LR_SCHEDULES = ("constant", "cosine")
KEEP_CHOICES = ("best", "last", "balanced")
OBSERVATION_NOISE = ("none", "calibrated")
COSINE_FLOOR = 0.02  # the cosine schedule ends at this fraction of lr

# Named starting points for a CVAE run; explicit settings override them.
# "fast": the paper's architecture trained with a prior learned per label combination
# (Sohn et al. 2015), cosine-decayed lr 3e-3, KL weight 2, batch 64, 250 epochs, the last
# epoch's weights. On the shared RNAseqDB cohort it reaches gamma 0.958 (ceiling 0.969)
# in about a minute on one CPU thread (tests/train/test_train_real.py); the paper's
# settings stay near 0.90 there.
PAPER_SETTINGS: dict[str, Any] = {
    "encoder_hidden": (1000, 512, 256),
    "n_latent": 50,
    "decoder_hidden": (256, 512, 1000),
    "batch_norm": True,
    "lr": 1e-4,
    "lr_schedule": "constant",
    "batch_size": 50,
    "epochs": 1400,
    "patience": 100,
    "keep": "best",
    "kl_weight": 1.0,
    "learned_variance": False,
    "conditional_prior": False,
    "dropout": 0.0,
    "input_noise": 0.0,
    "mixup": 0.0,
    "balance": 0.0,
    "observation_noise": "none",
    "latent_temperature": 1.0,
    "latent_temperature_below": 0,
    "refit": False,
}
DEFAULT_RECIPE = "default"
RECIPES: dict[str, dict[str, Any]] = {
    "paper": PAPER_SETTINGS,  # explicit, so changing a field default cannot change it
    "fast": {
        "batch_size": 64,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "epochs": 250,
        "patience": None,
        "keep": "last",
        "kl_weight": 2.0,
        "conditional_prior": True,
    },
    # "default" (what `gexgen train` uses without --recipe): the fast recipe's optimizer
    # and prior, regularized against memorization (KL weight 20, every training row a
    # mix of two same-condition profiles), correlated observation noise calibrated to
    # the real within-condition spread, and the epoch chosen on the validation part by
    # fidelity + memorization (train/selection.py), batches drawn so that every label
    # combination comes up equally often (rare tissues are learned before the common
    # ones are memorized), latents of the rare label combinations (< 25 training
    # profiles) drawn at 1.5x the prior's spread so the decoder, not independent noise,
    # carries more of their spread (classifiers trained on the synthetic profiles then
    # learn the real variety of rare tissues; widening the common ones only reaches
    # towards their memorized patients), and the chosen epoch
    # count retrained on every training row (the validation rows hold a tenth of the
    # rare tissues' few patients). Exploration: README.
    "default": {
        "batch_size": 64,
        "lr": 3e-3,
        "lr_schedule": "cosine",
        "epochs": 250,
        "patience": None,
        "keep": "balanced",
        "kl_weight": 20.0,
        "conditional_prior": True,
        "mixup": 1.0,
        "balance": 1.0,
        "observation_noise": "calibrated",
        "latent_temperature": 1.5,
        "latent_temperature_below": 25,
        "refit": True,
        "marginals": "quantile",
    },
}

# Fields that may differ between an interrupted run and its `--resume`.
RESUMABLE_FIELDS = frozenset({"epochs", "patience", "device", "threads", "checkpoint_every"})


_C = TypeVar("_C", bound="DictConfig")


class DictConfig:
    """JSON round trip for the frozen config dataclasses (``KIND`` names them in errors)."""

    KIND = "training"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()  # type: ignore[call-overload]
        }

    @classmethod
    def from_dict(cls: type[_C], d: dict[str, Any]) -> _C:
        """Inverse of :meth:`to_dict`; unknown keys raise an error listing the valid ones."""
        valid = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - valid)
        if unknown:
            raise GexgenError(f"unknown {cls.KIND} config key(s) {unknown}; valid: {sorted(valid)}")
        return cls(**d)


def _is_whole(value: object) -> bool:
    """An integer (or a float with an integral value), never text like ``"fifty"``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return math.isfinite(value) and int(value) == value


# a sane cap on layer widths: 65,536 x 65,536 float32 weights are 16 GiB already
MAX_WIDTH = 65_536


@dataclass(frozen=True)
class TrainConfig(DictConfig):
    """Hyperparameters of a conditional VAE run; the defaults are the paper's.

    Examples
    --------
    >>> TrainConfig().decoder_hidden
    (256, 512, 1000)
    >>> TrainConfig(epochs=200, batch_size=128, lr=1e-3).lr
    0.001
    """

    encoder_hidden: tuple[int, ...] = (1000, 512, 256)  # encoder hidden layer widths
    n_latent: int = 50  # latent dimension
    decoder_hidden: tuple[int, ...] = (256, 512, 1000)  # decoder hidden layer widths
    batch_norm: bool = True  # BatchNorm1d after every hidden layer
    lr: float = 1e-4  # Adam learning rate
    lr_schedule: Literal["constant", "cosine"] = "constant"  # cosine: lr -> 2% of lr at `epochs`
    batch_size: int = 50  # samples per optimizer step (last partial batch dropped)
    epochs: int = 1400  # maximum epochs; 0 saves the untrained model
    conditions: tuple[str, ...] = ("tissue", "status")  # obs label columns, one-hot each
    seed: int = 0  # seeds weights, validation split, shuffling and noise
    device: str = "auto"  # "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:N"
    val_fraction: float = 0.1  # part of the training split held out for early stopping
    patience: int | None = 100  # stop after this many epochs without a better val loss
    keep: Literal["best", "last"] = "best"  # weights saved: lowest val loss, or the last epoch
    kl_weight: float = 1.0  # weight of the KL term (1 = the paper's ELBO)
    learned_variance: bool = False  # learn a per-gene decoder variance (Gaussian NLL)
    conditional_prior: bool = False  # learn p(z|c) (Sohn et al. 2015) instead of N(0, I)
    checkpoint_every: int = 25  # epochs between checkpoints written for --resume
    threads: int | None = None  # CPU threads for torch during the run (None: torch's default)
    # -- regularization and privacy (gexgen's default recipe; 0 / "none" = the paper) --
    dropout: float = 0.0  # dropout after every hidden layer (encoder and decoder)
    input_noise: float = 0.0  # sd of Gaussian noise on the encoder's input (standardized units)
    mixup: float = 0.0  # share of each batch replaced by mixes of two same-condition profiles
    # rows drawn (with replacement) with probability ~ n_k^-balance, n_k the fitted rows of
    # the row's label combination: 1 = every combination equally often, 0 = a plain shuffle
    # (not under DP: Opacus' accountant assumes one Poisson sampling rate for every row)
    balance: float = 0.0
    observation_noise: Literal["none", "calibrated"] = "none"  # noise the generator adds
    # the generator draws latents with the conditional prior's sd times this (1 = the
    # prior as trained); above 1 the decoder carries more of the spread, the calibrated
    # noise less. The kept weights' prior is scaled when they are saved.
    latent_temperature: float = 1.0
    # > 0: latent_temperature only for label combinations with fewer than this many
    # training profiles (the decoder learned their spread from a handful), 1 for the rest;
    # 0: every combination
    latent_temperature_below: int = 0
    # once the epoch is chosen on the validation rows, train the model afresh (same seed,
    # same lr schedule) on fitted + validation rows for that many epochs and ship those
    # weights (not under DP: a second training would spend the privacy budget twice)
    refit: bool = False
    # the space the model learns in: "gaussian" standardizes log2 values (the paper);
    # "quantile" first maps each gene through its training quantiles to normal scores,
    # so generated marginals follow the real ones, point masses at 0 included
    # (gexgen.data.marginals; not under DP: the quantiles are not noised)
    marginals: Literal["gaussian", "quantile"] = "gaussian"
    select_every: int = 10  # epochs between model-selection scores (keep="balanced")
    dp_epsilon: float | None = None  # differential privacy budget (DP-SGD via Opacus)
    dp_delta: float | None = None  # DP delta (default 1 / n_train^1.1 when dp_epsilon is set)
    dp_max_grad_norm: float = 1.0  # per-sample gradient clipping norm under DP
    # DP noise from the OS's secure source (Opacus secure_mode, needs torchcsprng) instead
    # of the recorded seed: for a release (see gexgen.train.dp_noise)
    dp_secure_rng: bool = False

    def __post_init__(self) -> None:
        # lists from JSON / the CLI become tuples so configs compare and hash
        for name in ("encoder_hidden", "decoder_hidden", "conditions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        """Raise GexgenError naming the first invalid field and its valid range."""
        problems = []
        for name in ("encoder_hidden", "decoder_hidden"):
            widths = getattr(self, name)
            if not widths or any(not _is_whole(w) or not 1 <= w <= MAX_WIDTH for w in widths):
                problems.append(
                    f"{name} must be one or more widths in [1, {MAX_WIDTH}], got {widths}"
                )
        positive_ints = ("n_latent", "batch_size", "checkpoint_every")
        for name in positive_ints:
            if not _is_whole(getattr(self, name)) or getattr(self, name) < 1:
                problems.append(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.batch_size < 2 and self.batch_norm:
            problems.append("batch_size must be >= 2 with batch norm")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append(f"lr must be > 0 and finite, got {self.lr}")
        if self.epochs < 0:
            problems.append(f"epochs must be >= 0, got {self.epochs}")
        if not self.conditions:
            problems.append("conditions must name at least one label column")
        if len(set(self.conditions)) != len(self.conditions):
            problems.append(f"conditions must not repeat a column, got {list(self.conditions)}")
        if not 0.0 < self.val_fraction < 1.0:
            problems.append(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.patience is not None and self.patience < 1:
            problems.append(
                f"patience must be >= 1 (or None for no early stop), got {self.patience}"
            )
        if self.threads is not None and self.threads < 1:
            problems.append(
                f"threads must be >= 1 (or None for torch's default), got {self.threads}"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            problems.append(
                f"lr_schedule must be one of {list(LR_SCHEDULES)}, got {self.lr_schedule!r}"
            )
        if self.keep not in KEEP_CHOICES:
            problems.append(f"keep must be one of {list(KEEP_CHOICES)}, got {self.keep!r}")
        if not (self.kl_weight >= 0 and math.isfinite(self.kl_weight)):  # refuses NaN too
            problems.append(f"kl_weight must be >= 0 and finite, got {self.kl_weight}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.input_noise >= 0:
            problems.append(f"input_noise must be >= 0, got {self.input_noise}")
        if not 0.0 <= self.mixup <= 1.0:
            problems.append(f"mixup must be in [0, 1], got {self.mixup}")
        if not 0.0 <= self.balance <= 1.0:
            problems.append(f"balance must be in [0, 1], got {self.balance}")
        if not (self.latent_temperature > 0 and math.isfinite(self.latent_temperature)):
            problems.append(
                f"latent_temperature must be > 0 and finite, got {self.latent_temperature}"
            )
        elif self.latent_temperature != 1.0 and not self.conditional_prior:
            problems.append(
                "latent_temperature other than 1 needs conditional_prior (--conditional-prior): "
                "it scales the learned prior"
            )
        if not _is_whole(self.latent_temperature_below) or self.latent_temperature_below < 0:
            problems.append(
                "latent_temperature_below must be a whole number >= 0 (0 = every label "
                f"combination), got {self.latent_temperature_below}"
            )
        if self.refit and self.keep == "last":
            problems.append(
                "refit needs an epoch chosen on the validation rows (keep 'balanced' or "
                "'best'), not keep='last'; pass refit=False (--no-refit)"
            )
        if self.observation_noise not in OBSERVATION_NOISE:
            problems.append(
                f"observation_noise must be one of {list(OBSERVATION_NOISE)}, "
                f"got {self.observation_noise!r}"
            )
        if int(self.select_every) != self.select_every or self.select_every < 1:
            problems.append(f"select_every must be a positive integer, got {self.select_every}")
        if self.dp_epsilon is not None and not self.dp_epsilon > 0:
            problems.append(f"dp_epsilon must be > 0, got {self.dp_epsilon}")
        if self.dp_delta is not None and not 0 < self.dp_delta < 1:
            problems.append(f"dp_delta must be in (0, 1), got {self.dp_delta}")
        if self.dp_epsilon is not None and self.learned_variance:
            problems.append(
                "learned_variance does not work with dp_epsilon (Opacus has no per-sample "
                "gradient for the decoder's raw log-variance); use observation_noise='calibrated'"
            )
        if self.marginals not in ("gaussian", "quantile"):
            problems.append(f"marginals must be 'gaussian' or 'quantile', got {self.marginals!r}")
        if self.dp_delta is not None and self.dp_epsilon is None:
            problems.append("dp_delta needs dp_epsilon (--dp-epsilon E)")
        if self.dp_secure_rng and self.dp_epsilon is None:
            problems.append("dp_secure_rng needs dp_epsilon (--dp-epsilon E)")
        if not self.dp_max_grad_norm > 0:
            problems.append(f"dp_max_grad_norm must be > 0, got {self.dp_max_grad_norm}")
        _check_device_string(self.device)
        if problems:
            raise GexgenError("invalid training config: " + "; ".join(problems))

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 1-based ``epoch`` under the schedule.

        Examples
        --------
        >>> TrainConfig(lr=1.0, epochs=3, lr_schedule="cosine").lr_at(1)
        1.0
        """
        if self.lr_schedule == "constant" or self.epochs <= 1:
            return self.lr
        progress = (epoch - 1) / (self.epochs - 1)
        return self.lr * (
            COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))
        )

    @classmethod
    def recipe(cls, name: str = "paper", **changes: Any) -> TrainConfig:
        """The config of a named recipe (:data:`RECIPES`), with ``changes`` on top.

        Examples
        --------
        >>> TrainConfig.recipe("fast", seed=3).lr, TrainConfig.recipe("fast").epochs
        (0.003, 250)
        """
        if name not in RECIPES:
            raise GexgenError(f"unknown recipe {name!r}; choose from {list(RECIPES)}")
        return cls(**{**RECIPES[name], **changes})

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class WGANConfig(DictConfig):
    """Hyperparameters of a WGAN-GP run; the defaults are Viñas et al.'s.

    Examples
    --------
    >>> WGANConfig().n_critic, WGANConfig().batch_size
    (5, 32)
    """

    n_latent: int = 64  # latent noise dimension
    generator_hidden: tuple[int, ...] = (256, 256)  # generator hidden widths (ReLU)
    critic_hidden: tuple[int, ...] = (256, 256)  # critic hidden widths (ReLU)
    gp_weight: float = 10.0  # gradient penalty weight (lambda)
    n_critic: int = 5  # critic steps per generator step
    lr: float = 5e-4  # RMSprop learning rate, both networks
    rms_alpha: float = 0.9  # RMSprop smoothing (Keras' rho default)
    rms_eps: float = 1e-7  # RMSprop epsilon (Keras' default)
    batch_size: int = 32  # real samples per step (the last partial batch is kept)
    epochs: int = 2000  # maximum epochs (the reference config); 0 saves the untrained model
    eval_every: int = 5  # epochs between validation gamma scores
    patience: int | None = 10  # evaluations without a better gamma before stopping
    val_synthetic: int = 1000  # at least this many synthetic profiles per validation score
    conditions: tuple[str, ...] = ("tissue", "status")  # obs label columns
    seed: int = 0  # seeds weights, validation split, shuffling and noise
    device: str = "auto"  # "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:N"
    val_fraction: float = 0.1  # part of the training split held out for the gamma score
    threads: int | None = None  # CPU threads for torch during the run (None: torch's default)

    KIND = "WGAN-GP"

    def __post_init__(self) -> None:
        for name in ("generator_hidden", "critic_hidden", "conditions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        problems = []
        for name in ("generator_hidden", "critic_hidden"):
            widths = getattr(self, name)
            if not widths or any(not _is_whole(w) or not 1 <= w <= MAX_WIDTH for w in widths):
                problems.append(
                    f"{name} must be one or more widths in [1, {MAX_WIDTH}], got {widths}"
                )
        for name in ("n_latent", "n_critic", "batch_size", "eval_every", "val_synthetic"):
            value = getattr(self, name)
            if not _is_whole(value) or value < 1:
                problems.append(f"{name} must be a positive integer, got {value}")
        for name in ("lr", "rms_eps"):
            if not (getattr(self, name) > 0 and math.isfinite(getattr(self, name))):
                problems.append(f"{name} must be > 0 and finite, got {getattr(self, name)}")
        if not 0.0 <= self.rms_alpha < 1.0:
            problems.append(f"rms_alpha must be in [0, 1), got {self.rms_alpha}")
        if not (self.gp_weight >= 0 and math.isfinite(self.gp_weight)):
            problems.append(f"gp_weight must be >= 0 and finite, got {self.gp_weight}")
        if self.epochs < 0:
            problems.append(f"epochs must be >= 0, got {self.epochs}")
        if self.patience is not None and self.patience < 1:
            problems.append(f"patience must be >= 1 (or None), got {self.patience}")
        if not self.conditions or len(set(self.conditions)) != len(self.conditions):
            problems.append(f"conditions must name distinct label columns, got {self.conditions}")
        if not 0.0 < self.val_fraction < 1.0:
            problems.append(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads must be >= 1 (or None), got {self.threads}")
        if problems:
            raise GexgenError("invalid WGAN-GP config: " + "; ".join(problems))
        self.data_config()  # checks the device string and the shared fields

    def data_config(self) -> TrainConfig:
        """The fields the shared data preparation reads (same split as a CVAE run)."""
        return TrainConfig(
            conditions=self.conditions,
            seed=self.seed,
            val_fraction=self.val_fraction,
            batch_size=max(self.batch_size, 2),
            device=self.device,
        )


def hidden_for_depth(n_layers: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Encoder and decoder widths for the tuning grid's 2, 3 or 4 hidden layers.

    3 is the paper's (1000-512-256); 2 drops the widest layer; 4 adds a 128 layer
    before the latent. The decoder mirrors the encoder.
    """
    widths = {2: (512, 256), 3: (1000, 512, 256), 4: (1000, 512, 256, 128)}
    if n_layers not in widths:
        raise GexgenError(f"hidden layers must be one of {sorted(widths)}, got {n_layers}")
    enc = widths[n_layers]
    return enc, tuple(reversed(enc))


def _check_device_string(device: str) -> None:
    ok = device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())
    if not ok:
        raise GexgenError(
            f"unknown device {device!r}; use 'auto' (cuda if available, else cpu), "
            "'cpu', 'cuda' or 'cuda:N'"
        )


def resolve_device(device: str) -> Any:
    """``torch.device`` for a config's device string; 'auto' = cuda if available, else cpu."""
    import torch

    _check_device_string(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GexgenError(
                f"device {device!r} asked for but CUDA is not available "
                f"(torch {torch.__version__}); use --device cpu or auto"
            )
        index = int(device[5:]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise GexgenError(
                f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s)"
            )
    return torch.device(device)
