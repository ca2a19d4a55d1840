"""CLI commands for the train step: ``gexgen train`` and ``gexgen tune``.

Every option maps one to one on a field of :class:`gexgen.train.TrainConfig`
(``--model cvae``) or :class:`gexgen.train.config.WGANConfig` (``--model
wgan-gp``); an option left out keeps the config default (or, with
``--resume``, the saved run's value). torch is imported only inside the
commands.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gexgen.cli._errors import user_errors
from gexgen.errors import GexgenError
from gexgen.train.config import DEFAULT_RECIPE, RECIPES, TrainConfig, WGANConfig

_D = TrainConfig()  # the paper's settings: what `gexgen tune` starts from
_R = TrainConfig.recipe(DEFAULT_RECIPE)  # what an option-less `gexgen train` runs
_W = WGANConfig()
_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))
_WGAN_FIELDS = frozenset(f.name for f in dataclasses.fields(WGANConfig))
MODELS = ("cvae", "wgan-gp", "dp-gaussian")


def _widths(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        widths = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError as exc:
        raise GexgenError(
            f"{option} must be comma-separated integers like 1000,512,256, got {text!r}"
        ) from exc
    return widths


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(n.strip() for n in text.split(",") if n.strip())


def _config_changes(
    options: dict[str, Any],
    *,
    fields: frozenset[str] = _FIELDS,
    exclude: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The config ``fields`` among a command's options that the user gave (not None).

    ``options`` is the command's ``locals()``: every parameter named like a
    config field is one, so a new option needs no second list. Width and name
    lists arrive as comma-separated text and are parsed here.
    """
    changes = {
        k: v for k, v in options.items() if k in fields and k not in exclude and v is not None
    }
    for name in ("encoder_hidden", "decoder_hidden"):
        if name in changes:
            changes[name] = _widths(changes[name], "--" + name.replace("_", "-"))
    if "conditions" in changes:
        changes["conditions"] = _names(changes["conditions"])
    if changes.get("patience") == 0:
        changes["patience"] = None  # 0 on the command line = no early stopping
    return changes


def _refuse_options_of_the_other_model(options: dict[str, Any], model: str) -> None:
    """Options that only the other model reads are mistakes, not silently ignored."""
    own, other = (_FIELDS, _WGAN_FIELDS) if model == "cvae" else (_WGAN_FIELDS, _FIELDS)
    stray = sorted(k for k in other - own if options.get(k) is not None)
    if stray:
        names = ", ".join("--" + k.replace("_", "-") for k in stray)
        other_model = MODELS[1] if model == "cvae" else MODELS[0]
        raise GexgenError(f"{names} apply to --model {other_model} only, not {model}")


def _train_wgan(cohort: Path, out: Path, options: dict[str, Any]) -> None:
    from gexgen.train.wgan_loop import train_wgan

    if options["resume"]:
        raise GexgenError(
            "--resume works for --model cvae only; start the WGAN-GP run again with --overwrite"
        )
    config = WGANConfig(**_config_changes(options, fields=_WGAN_FIELDS))
    result = train_wgan(
        cohort, out, config, overwrite=options["overwrite"], progress=options["progress"]
    )
    stop = " (stopped early)" if result.stopped_early else ""
    typer.echo(
        f"trained {result.epochs_run} epochs{stop}; best epoch {result.best_epoch}, "
        f"validation gamma {result.best_val_gamma:.4f}; checkpoint {result.checkpoint_path}"
    )


def _base_config(out: Path, resume: bool, recipe: str | None = None) -> TrainConfig:
    """The saved config of the run to resume, else the recipe's (default: DEFAULT_RECIPE)."""
    if recipe is not None and recipe not in RECIPES:
        raise GexgenError(f"--recipe must be one of {list(RECIPES)}, got {recipe!r}")
    if resume and recipe is not None:
        raise GexgenError("--recipe starts a new run; --resume continues the saved config")
    if not resume:
        return TrainConfig.recipe(recipe or DEFAULT_RECIPE)
    path = out / "config.json"
    if not path.is_file():
        raise GexgenError(f"cannot resume: {str(path)!r} not found (was {str(out)!r} a run?)")
    try:
        return TrainConfig.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise GexgenError(f"cannot resume: {str(path)!r} is not a valid config ({exc})") from exc


# Options shared by train and tune (typer reads these Annotated aliases).
Epochs = Annotated[
    int | None,
    typer.Option(help=f"Maximum epochs (default {_D.epochs}; wgan-gp {_W.epochs})."),
]
BatchSize = Annotated[
    int | None,
    typer.Option(help=f"Samples per step (default {_D.batch_size}; wgan-gp {_W.batch_size})."),
]
NLatent = Annotated[
    int | None,
    typer.Option(help=f"Latent size (default {_D.n_latent}; wgan-gp {_W.n_latent})."),
]
BatchNorm = Annotated[
    bool | None,
    typer.Option(
        "--batch-norm/--no-batch-norm", help="BatchNorm after hidden layers (default on)."
    ),
]
Conditions = Annotated[
    str | None,
    typer.Option(help=f"Label columns, comma-separated (default {','.join(_D.conditions)})."),
]
Seed = Annotated[int | None, typer.Option(help=f"Random seed (default {_D.seed}).")]
Device = Annotated[
    str | None,
    typer.Option(help="auto (CUDA if available, else CPU), cpu, cuda, cuda:N (default auto)."),
]
ValFraction = Annotated[
    float | None,
    typer.Option(help=f"Part of the train split for validation (default {_D.val_fraction})."),
]
Patience = Annotated[
    int | None,
    typer.Option(
        help=f"Stop after N epochs without a better val loss; 0 = never (default {_D.patience}; "
        f"wgan-gp: N gamma evaluations, default {_W.patience})."
    ),
]
KLWeight = Annotated[
    float | None, typer.Option(help=f"Weight of the KL term (default {_D.kl_weight}).")
]
LearnedVariance = Annotated[
    bool | None,
    typer.Option(
        "--learned-variance/--fixed-variance",
        help="Learn a per-gene decoder variance (default fixed).",
    ),
]
ConditionalPrior = Annotated[
    bool | None,
    typer.Option(
        "--conditional-prior/--standard-prior",
        help="Learn p(z|labels) instead of N(0, I) (default standard).",
    ),
]
CheckpointEvery = Annotated[
    int | None,
    typer.Option(help=f"Epochs between resumable checkpoints (default {_D.checkpoint_every})."),
]
Threads = Annotated[
    int | None, typer.Option(help="CPU threads for torch (default: torch's, all cores).")
]
Progress = Annotated[bool, typer.Option(help="Show a progress bar.")]

# `gexgen train` starts from the default recipe, not the paper: its help shows those values.
TrainEpochs = Annotated[
    int | None,
    typer.Option(
        help=f"Maximum epochs (default {_R.epochs}; paper {_D.epochs}; wgan-gp {_W.epochs})."
    ),
]
TrainBatchSize = Annotated[
    int | None,
    typer.Option(
        help=f"Samples per step (default {_R.batch_size}; paper {_D.batch_size}; "
        f"wgan-gp {_W.batch_size})."
    ),
]
TrainPatience = Annotated[
    int | None,
    typer.Option(
        help="Stop after N epochs without a better val loss; 0 = never (default "
        f"{_R.patience or 0}; paper {_D.patience}; wgan-gp: N gamma evaluations, "
        f"default {_W.patience})."
    ),
]
TrainKLWeight = Annotated[
    float | None,
    typer.Option(help=f"Weight of the KL term (default {_R.kl_weight:g}; paper {_D.kl_weight:g})."),
]
TrainConditionalPrior = Annotated[
    bool | None,
    typer.Option(
        "--conditional-prior/--standard-prior",
        help="Learn p(z|labels) instead of N(0, I) (default "
        f"{'conditional' if _R.conditional_prior else 'standard'}; paper standard).",
    ),
]


@user_errors
def train(
    cohort: Annotated[Path, typer.Argument(help="Cohort .h5ad (from gexgen data).")],
    out: Annotated[Path, typer.Option(help="Run directory to write.")],
    model: Annotated[
        str,
        typer.Option(
            help="cvae (the paper's conditional VAE), wgan-gp (the baseline of Viñas et al.) "
            "or dp-gaussian (DP low-rank Gaussian, every released number noised; writes "
            "OUT/generator.onnx)."
        ),
    ] = "cvae",
    recipe: Annotated[
        str | None,
        typer.Option(
            help=f"cvae: {DEFAULT_RECIPE} (the default: regularized, calibrated observation "
            "noise, model selection weighing fidelity and memorization), paper (the paper's "
            "settings) or fast (learned prior, cosine lr 3e-3, KL weight 2, batch 64, 250 "
            "epochs, decoder means); other options override it."
        ),
    ] = None,
    epochs: TrainEpochs = None,
    batch_size: TrainBatchSize = None,
    lr: Annotated[
        float | None,
        typer.Option(
            help=f"Learning rate (default {_R.lr:g} Adam; paper {_D.lr:g}; "
            f"wgan-gp {_W.lr:g} RMSprop)."
        ),
    ] = None,
    lr_schedule: Annotated[
        str | None,
        typer.Option(
            help="constant, or cosine (decays to 2% of --lr by the last epoch) "
            f"(default {_R.lr_schedule}; paper {_D.lr_schedule})."
        ),
    ] = None,
    encoder_hidden: Annotated[
        str | None, typer.Option(help="Encoder widths, e.g. 1000,512,256 (default the paper's).")
    ] = None,
    n_latent: NLatent = None,
    decoder_hidden: Annotated[
        str | None, typer.Option(help="Decoder widths, e.g. 256,512,1000 (default the paper's).")
    ] = None,
    batch_norm: BatchNorm = None,
    conditions: Conditions = None,
    seed: Seed = None,
    device: Device = None,
    val_fraction: ValFraction = None,
    patience: TrainPatience = None,
    keep: Annotated[
        str | None,
        typer.Option(
            help="Weights to save: balanced (fidelity vs memorization on validation), best "
            f"(lowest val loss) or last (default {_R.keep}; paper {_D.keep})."
        ),
    ] = None,
    kl_weight: TrainKLWeight = None,
    learned_variance: LearnedVariance = None,
    conditional_prior: TrainConditionalPrior = None,
    checkpoint_every: CheckpointEvery = None,
    n_critic: Annotated[
        int | None,
        typer.Option(help=f"wgan-gp: critic steps per generator step (default {_W.n_critic})."),
    ] = None,
    gp_weight: Annotated[
        float | None,
        typer.Option(help=f"wgan-gp: gradient penalty weight (default {_W.gp_weight:g})."),
    ] = None,
    eval_every: Annotated[
        int | None,
        typer.Option(help=f"wgan-gp: epochs between validation gammas (default {_W.eval_every})."),
    ] = None,
    threads: Threads = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue the interrupted run in --out.")] = False,
    progress: Progress = True,
    dropout: Annotated[
        float | None, typer.Option(help="Dropout after every hidden layer (paper 0).")
    ] = None,
    input_noise: Annotated[
        float | None,
        typer.Option(
            help="SD of Gaussian noise on the encoder input, standardized (default "
            f"{_R.input_noise:g}; paper {_D.input_noise:g})."
        ),
    ] = None,
    mixup: Annotated[
        float | None,
        typer.Option(
            help="Share of each batch mixed with a same-condition profile (default "
            f"{_R.mixup:g}; paper {_D.mixup:g})."
        ),
    ] = None,
    balance: Annotated[
        float | None,
        typer.Option(
            help="Draw training rows with weight n^-B, n the rows of their label combination: "
            "1 = every combination equally often, 0 = a plain shuffle (default "
            f"{_R.balance:g}; paper {_D.balance:g})."
        ),
    ] = None,
    refit: Annotated[
        bool | None,
        typer.Option(
            "--refit/--no-refit",
            help="Once the epoch is chosen on the validation rows, retrain that many epochs "
            "on every training row and ship those weights (default "
            f"{'on' if _R.refit else 'off'}; paper off; not under DP).",
        ),
    ] = None,
    latent_temperature: Annotated[
        float | None,
        typer.Option(
            help="Draw latents at this multiple of the learned prior's sd (needs the "
            "conditional prior): above 1 the decoder, not the noise, carries more of the "
            f"spread (default {_R.latent_temperature:g}; paper {_D.latent_temperature:g})."
        ),
    ] = None,
    latent_temperature_below: Annotated[
        int | None,
        typer.Option(
            help="Apply --latent-temperature only to label combinations with fewer than this "
            "many training profiles, 1 to the rest; 0 = every combination (default "
            f"{_R.latent_temperature_below}; paper {_D.latent_temperature_below})."
        ),
    ] = None,
    observation_noise: Annotated[
        str | None,
        typer.Option(
            help="Noise the generator adds: calibrated (per label combination and gene, the "
            "real spread the decoder means miss) or none (decoder means) (default "
            f"{_R.observation_noise}; paper {_D.observation_noise})."
        ),
    ] = None,
    marginals: Annotated[
        str | None,
        typer.Option(
            help="Space the model learns in: quantile (each gene through its training "
            "quantiles to normal scores, so generated marginals follow the real ones, zeros "
            "included; the default recipe) or gaussian (standardized log2, the paper)."
        ),
    ] = None,
    select_every: Annotated[
        int | None,
        typer.Option(
            help="Epochs between model-selection scores with --keep balanced "
            f"(default {_R.select_every})."
        ),
    ] = None,
    dp_epsilon: Annotated[
        float | None,
        typer.Option(
            help="Train with differential privacy (DP-SGD, Opacus; extra 'dp') at this epsilon."
        ),
    ] = None,
    dp_delta: Annotated[
        float | None,
        typer.Option(help="DP delta with --dp-epsilon (default 1 / n_train^1.1)."),
    ] = None,
    dp_max_grad_norm: Annotated[
        float | None,
        typer.Option(help=f"DP per-sample gradient clipping norm (default {_D.dp_max_grad_norm})."),
    ] = None,
    dp_public_counts: Annotated[
        bool | None,
        typer.Option(
            "--dp-public-counts",
            help="dp-gaussian: declare the label-combination counts public (released exactly).",
        ),
    ] = None,
    dp_secure_rng: Annotated[
        bool | None,
        typer.Option(
            "--dp-secure-rng",
            help="DP noise from os.urandom, not the recorded seed: for a release (not "
            "reproducible; DP-SGD needs torchcsprng for Opacus' secure mode).",
        ),
    ] = None,
) -> None:
    """Train gexgen's conditional VAE (or the WGAN-GP baseline) on a cohort's training split.

    Without --recipe the run uses gexgen's default recipe (regularized, calibrated
    observation noise, balanced model selection); --recipe paper gives the paper's settings.

    Example: gexgen train cohort.h5ad --out runs/cvae
    (or --recipe paper, --dp-epsilon 10, --model wgan-gp --out runs/wgan)
    """
    options = dict(locals())
    if resume and overwrite:
        raise GexgenError("--resume and --overwrite exclude each other; choose one")
    if model not in MODELS:
        raise GexgenError(f"--model must be one of {list(MODELS)}, got {model!r}")
    if model == "dp-gaussian":  # DP low-rank Gaussian: writes OUT/generator.onnx directly
        from gexgen.cli._dp_gaussian_train import train_dp_gaussian

        return train_dp_gaussian(cohort, out, options)
    if dp_public_counts is not None:
        raise GexgenError(f"--dp-public-counts applies to --model dp-gaussian only, not {model}")
    _refuse_options_of_the_other_model(options, model)
    if model == "wgan-gp" and recipe is not None:
        raise GexgenError("--recipe applies to --model cvae only, not wgan-gp")
    if model == "wgan-gp":
        _train_wgan(cohort, out, options)
        return
    changes = _config_changes(options)
    from gexgen.train import train_cvae

    config = _base_config(out, resume, recipe).replace(**changes)
    result = train_cvae(cohort, out, config, overwrite=overwrite, resume=resume, progress=progress)
    stop = " (stopped early)" if result.stopped_early else ""
    kept = f"; kept epoch {result.kept_epoch} ({config.keep})" if config.keep != "best" else ""
    refit = f", retrained on all {result.refit_rows} training rows" if result.refit_rows else ""
    typer.echo(
        f"trained {result.epochs_run} epochs{stop}; best epoch {result.best_epoch}, "
        f"validation loss {result.best_val_loss:.4f}{kept}{refit}; "
        f"checkpoint {result.checkpoint_path}"
    )
    if config.dp_epsilon is not None and not config.dp_secure_rng:
        from gexgen.train.dp_noise import SEEDED_NOTE

        typer.echo(SEEDED_NOTE)


@user_errors
def tune(
    cohort: Annotated[Path, typer.Argument(help="Cohort .h5ad (from gexgen data).")],
    out: Annotated[Path, typer.Option(help="Directory for the grid's runs and table.")],
    lr: Annotated[
        list[float] | None,
        typer.Option(help="Learning rates, repeatable (default 1e-3 5e-3 1e-4 1e-5)."),
    ] = None,
    layers: Annotated[
        list[int] | None,
        typer.Option(help="Hidden depths (2, 3 or 4), repeatable (default 2 3 4)."),
    ] = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    n_latent: NLatent = None,
    conditions: Conditions = None,
    seed: Seed = None,
    device: Device = None,
    val_fraction: ValFraction = None,
    patience: Patience = None,
    kl_weight: KLWeight = None,
    learned_variance: LearnedVariance = None,
    conditional_prior: ConditionalPrior = None,
    threads: Threads = None,
    keep_all: Annotated[bool, typer.Option(help="Keep every run, not only the best.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing tuning directory.")] = False,
    progress: Progress = True,
) -> None:
    """Run the paper's grid (learning rate x hidden depth), rank by validation loss, keep the best.

    Example: gexgen tune cohort.h5ad --out runs/tune --epochs 200
    """
    changes = _config_changes(locals(), exclude=frozenset({"lr"}))  # --lr here is the grid
    from gexgen.train.tune import PAPER_DEPTHS, PAPER_LRS, format_table, tune_cvae

    result = tune_cvae(
        cohort,
        out,
        TrainConfig().replace(**changes),
        lrs=lr or PAPER_LRS,
        depths=layers or PAPER_DEPTHS,
        overwrite=overwrite,
        keep_all=keep_all,
        progress=progress,
    )
    typer.echo(format_table(result.rows))
    typer.echo(f"best run: {result.best_run_dir}")
