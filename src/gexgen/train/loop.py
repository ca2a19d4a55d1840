"""Train the CVAE: the same code path on CPU and CUDA, resumable, reproducible."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gexgen.errors import GexgenError
from gexgen.train.calibrate import (
    CALIBRATION,
    MIN_OFFSET_ROWS,
    N_FACTORS,
    calibrate_noise,
    combination_index,
)
from gexgen.train.checkpoint import (
    CHECKPOINT_NAME,
    FORMAT_VERSION,
    TRAINING_STATE_FORMAT,
    TRAINING_STATE_NAME,
    build_model,
    checkpoint_dict,
    load_training_state,
    save_dict,
)
from gexgen.train.config import TrainConfig, resolve_device
from gexgen.train.cvae import CVAE, combination_temperatures, cvae_loss, temper_prior
from gexgen.train.data import TrainingData, prepare_training_data
from gexgen.train.run_dir import (
    HISTORY_NAME,
    check_new_run_dir,
    config_differences,
    start_run_dir,
    write_history,
)
from gexgen.train.run_lock import run_dir_lock
from gexgen.train.selection import SELECTION_CRITERION, MemorizationProbe
from gexgen.train.trainer_common import EarlyStopping, epoch_bar, state_copy, torch_threads

__all__ = ["TrainResult", "train_cvae"]

_VAL_CHUNK = 4096


@dataclass(frozen=True)
class TrainResult:
    """Where a run's checkpoint is and how it went."""

    run_dir: Path
    checkpoint_path: Path
    best_epoch: int  # epoch of the lowest validation loss; 0 = the untrained model
    best_val_loss: float
    kept_epoch: int  # epoch of the checkpoint's weights (= best_epoch unless keep="last")
    epochs_run: int  # epochs completed (including those before a resume)
    stopped_early: bool
    history: list[dict[str, Any]] = field(repr=False)
    refit_rows: int = 0  # with config.refit: the rows the shipped weights were retrained on


def train_cvae(
    cohort_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: TrainConfig | None = None,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train a conditional VAE on a cohort's training split and write ``out_dir``.

    Writes ``config.json``, ``history.csv``, ``checkpoint.pt`` (the weights of
    the epoch ``keep`` chooses: lowest validation loss, the balanced selection
    score, or the last epoch; with ``refit`` those of a second training on every
    training row for that many epochs) and ``training_state.pt`` (for
    ``resume``). Every input is checked before anything is written.

    Examples
    --------
    >>> result = train_cvae("cohort.h5ad", "runs/cvae", TrainConfig(epochs=300))  # doctest: +SKIP
    >>> result.best_epoch, result.best_val_loss  # doctest: +SKIP
    """
    config = config or TrainConfig()
    if config.dp_epsilon is not None and config.marginals != "gaussian":
        # DP trains in standardized log2 (the quantiles are not noised): record what ran
        config = config.replace(marginals="gaussian")
    out_dir = Path(out_dir)
    if resume and overwrite:
        raise GexgenError("--resume and --overwrite exclude each other; choose one")
    if resume and config.dp_epsilon is not None:
        raise GexgenError(
            "--resume does not work with --dp-epsilon (the privacy accountant is not saved); "
            "start the DP run again with --overwrite"
        )
    if config.dp_secure_rng:  # before any work: the secure mode's package is there
        from gexgen.train.dp_noise import require_torchcsprng

        require_torchcsprng()
    device = resolve_device(config.device)
    if resume and not out_dir.is_dir():  # before the lock, which creates the folder
        raise GexgenError(f"cannot resume: run directory {str(out_dir)!r} does not exist")
    with run_dir_lock(out_dir):  # one run per folder, from the first check to the end
        state = _load_resume_state(out_dir, config) if resume else None
        if not resume:
            check_new_run_dir(out_dir, overwrite)
        data = prepare_training_data(cohort_path, config)
        if state is not None and state.get("data_sha256") != data.data_sha256:
            raise GexgenError(
                f"the cohort {str(cohort_path)!r} differs from the one run {str(out_dir)!r} was "
                "trained on (data sha256 mismatch); resume with the same cohort or start anew"
            )

        with torch_threads(config.threads):
            trainer = _Trainer(config, data, device, out_dir, state, progress)
            # -- nothing was written before this line --
            start_run_dir(out_dir, config.to_dict(), fresh=not resume)
            return trainer.run()


def balance_weights(combo: np.ndarray, balance: float) -> torch.Tensor | None:
    """Draw weight of each fitted row, ``n_k ** -balance`` with ``n_k`` the rows of its
    label combination (``combo``); None for ``balance == 0`` (a plain shuffle).

    Examples
    --------
    >>> balance_weights(np.array([0, 0, 0, 1]), 1.0).tolist()
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 1.0]
    """
    if balance <= 0:
        return None
    counts = np.bincount(combo).astype(np.float64)
    return torch.from_numpy(counts[combo] ** -float(balance))


def epoch_order(n: int, row_weight: torch.Tensor | None, rng: torch.Generator) -> torch.Tensor:
    """The ``n`` fitted rows of one epoch in batch order: a shuffle of ``0..n-1``, or with
    ``row_weight`` ``n`` draws with replacement, row ``i`` with probability
    ``row_weight[i] / row_weight.sum()`` (so rare label combinations come up as often
    as common ones at ``balance=1``). Only ``rng`` is drawn from: resumed runs repeat it."""
    if row_weight is None:
        return torch.randperm(n, generator=rng)
    return torch.multinomial(row_weight, n, replacement=True, generator=rng)


def _load_resume_state(out_dir: Path, config: TrainConfig) -> dict[str, Any]:
    if not out_dir.is_dir():
        raise GexgenError(f"cannot resume: run directory {str(out_dir)!r} does not exist")
    state = load_training_state(out_dir)
    try:
        saved = TrainConfig.from_dict(state["config"])
    except (KeyError, TypeError) as exc:
        raise GexgenError(f"training state in {str(out_dir)!r} has no valid config: {exc}") from exc
    diffs = config_differences(saved, config)
    if diffs:
        raise GexgenError(
            f"cannot resume {str(out_dir)!r}: the config differs from the saved one ("
            + "; ".join(diffs)
            + "); only epochs, patience and device may change"
        )
    return state


def _adam(params: Any, lr: float) -> torch.optim.Optimizer:
    """Fused Adam where this torch and device support it (4x faster step on CPU)."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


class _Trainer(EarlyStopping):
    """Holds the mutable state of one run; ``run`` trains and writes checkpoints."""

    def __init__(
        self,
        config: TrainConfig,
        data: TrainingData,
        device: torch.device,
        out_dir: Path,
        state: dict[str, Any] | None,
        progress: bool,
    ) -> None:
        self.config, self.data, self.device, self.out_dir = config, data, device, out_dir
        self.progress = progress
        self.model_config = {
            "n_genes": data.n_genes,
            "label_sizes": data.label_sizes,
            "n_latent": config.n_latent,
            "encoder_hidden": list(config.encoder_hidden),
            "decoder_hidden": list(config.decoder_hidden),
            "batch_norm": config.batch_norm,
            "learned_variance": config.learned_variance,
            "conditional_prior": config.conditional_prior,
            "dropout": config.dropout,
            "calibrated_noise": config.observation_noise == "calibrated",
            "noise_factors": N_FACTORS if config.observation_noise == "calibrated" else 0,
            "calibrated_mean": config.observation_noise == "calibrated",
        }
        if config.dp_epsilon is not None and config.batch_norm:
            # Opacus computes per-sample gradients; BatchNorm mixes the samples of a batch
            self.model_config["batch_norm"] = "layer"
        with torch.random.fork_rng(devices=[]):  # seed the weights, leave the global RNG
            torch.manual_seed(config.seed)
            self.model: CVAE = build_model(self.model_config).to(device)
        self.optimizer = (
            torch.optim.Adam(self.model.parameters(), lr=config.lr)
            if config.dp_epsilon is not None
            else _adam(self.model.parameters(), config.lr)
        )
        self.shuffle_rng = torch.Generator().manual_seed(config.seed)
        self.noise_rng = torch.Generator(device=device).manual_seed(config.seed + 1)
        val_rng = torch.Generator().manual_seed(config.seed + 2)
        self.x_fit = torch.from_numpy(data.x_fit).to(device)
        self.codes_fit = torch.from_numpy(data.codes_fit).to(device)
        self.x_val = torch.from_numpy(data.x_val).to(device)
        self.codes_val = torch.from_numpy(data.codes_val).to(device)
        # fixed noise: the validation loss depends on the weights only
        self.eps_val = torch.randn(len(data.x_val), config.n_latent, generator=val_rng).to(device)
        # regularization draws (mixup partners, input noise) from their own stream, so
        # runs without them consume exactly the random numbers they always did
        self.aug_rng = torch.Generator().manual_seed(config.seed + 3)
        self.combo_fit = combination_index(data.codes_fit, data.label_sizes)
        order = np.argsort(self.combo_fit, kind="stable")
        counts = np.bincount(self.combo_fit, minlength=int(np.prod(data.label_sizes)))
        self.group_order = torch.from_numpy(order)
        self.group_start = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)[:-1]]))
        self.group_size = torch.from_numpy(counts)
        self.row_weight = balance_weights(self.combo_fit, config.balance)
        self.selector = (
            MemorizationProbe(data, config.seed, temperature=self._temperatures())
            if config.keep == "balanced"
            else None
        )
        self.kept_scores: dict[str, float] = {}
        self.privacy: dict[str, Any] | None = None  # DP-SGD's epsilon and delta (dp runs)
        self.dp = None
        if config.dp_epsilon is not None:
            from gexgen.train.dp import DPTraining

            self.dp = DPTraining(self.model, self.optimizer, len(data.x_fit), config, device)
            self.optimizer = self.dp.optimizer

        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.best_epoch = 0  # lowest validation loss so far
        self.best_val = math.inf
        self.kept_epoch = 0  # the weights that go into the checkpoint (config.keep)
        # (kept_state, the same with its calibrated noise): see _calibrated_kept_state
        self._calibrated: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None
        self.kept_val = math.inf
        self.kept_state: dict[str, torch.Tensor] = {}
        # config.refit: the kept epoch count retrained on every training row (not saved in
        # the training state: a resumed run retrains it, bit for bit)
        self.refit_state: dict[str, torch.Tensor] | None = None
        self.refit: dict[str, Any] | None = None
        self.since_best = 0
        if state is not None:
            self._restore(state)

    # -- one epoch ----------------------------------------------------------------
    @contextlib.contextmanager
    def _epoch_rng(self) -> Iterator[None]:
        """Dropout draws from torch's global RNG: seed it per epoch (seed, epoch), restore it.

        So a run with dropout is reproducible and resumes bit-exactly; runs
        without dropout draw nothing from it.
        """
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed * 100_003 + self.epoch + 17)
            yield

    def _train_epoch_dp(self) -> dict[str, float]:
        """One DP-SGD epoch: Poisson-sampled batches from Opacus' loader, clipped and noised."""
        assert self.dp is not None
        self.model.train()
        sums = torch.zeros(3, device=self.device)
        n_batches = 0
        decoder_logvar = self.model.decoder.logvar
        for (idx,) in self.dp.loader:
            if len(idx) == 0:
                continue
            idx = idx.to(self.device)
            x, x_in = self._augment(idx)
            eps = torch.randn(
                len(idx), self.config.n_latent, generator=self.noise_rng, device=self.device
            )
            out = self.dp.model(x, self.codes_fit[idx], eps, x_in)
            loss, recon, kl = cvae_loss(x, out, decoder_logvar, self.config.kl_weight)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            sums += torch.stack([loss.detach(), recon.detach(), kl.detach()])
            n_batches += 1
        self.privacy = self.dp.summary()
        loss, recon, kl = (sums / max(n_batches, 1)).tolist()
        return {"train_loss": loss, "train_recon": recon, "train_kl": kl}

    def _train_epoch(self) -> dict[str, float]:
        if self.dp is not None:
            return self._train_epoch_dp()
        self.model.train()
        n, batch = len(self.x_fit), self.config.batch_size
        perm = epoch_order(n, self.row_weight, self.shuffle_rng).to(self.device)
        sums = torch.zeros(3, device=self.device)
        n_batches = n // batch  # the last partial batch is dropped (batch norm)
        decoder_logvar = self.model.decoder.logvar
        for b in range(n_batches):
            idx = perm[b * batch : (b + 1) * batch]
            x, x_in = self._augment(idx)
            eps = torch.randn(
                batch, self.config.n_latent, generator=self.noise_rng, device=self.device
            )
            out = self.model(x, self.codes_fit[idx], eps, x_in)
            loss, recon, kl = cvae_loss(x, out, decoder_logvar, self.config.kl_weight)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            sums += torch.stack([loss.detach(), recon.detach(), kl.detach()])
        loss, recon, kl = (sums / n_batches).tolist()
        return {"train_loss": loss, "train_recon": recon, "train_kl": kl}

    def _augment(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(target, encoder input) of a batch: same-condition mixup, then input noise."""
        x = self.x_fit[idx]
        cfg = self.config
        if cfg.mixup > 0 and self.dp is None:  # a mix is two samples: not under DP
            rows = idx.cpu()
            group = torch.from_numpy(self.combo_fit)[rows]
            u = torch.rand(len(rows), generator=self.aug_rng)
            pick = (u * self.group_size[group]).long()
            partner = self.group_order[self.group_start[group] + pick].to(self.device)
            mixed = torch.rand(len(rows), generator=self.aug_rng) < cfg.mixup
            lam = torch.rand(len(rows), 1, generator=self.aug_rng).to(self.device)
            blend = lam * x + (1 - lam) * self.x_fit[partner]
            x = torch.where(mixed.to(self.device)[:, None], blend, x)
        if cfg.input_noise > 0:
            noise = torch.randn(x.shape, generator=self.aug_rng).to(self.device)
            return x, x + cfg.input_noise * noise
        return x, None

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        self.model.eval()
        sums = torch.zeros(3, device=self.device, dtype=torch.float64)
        n = len(self.x_val)
        for start in range(0, n, _VAL_CHUNK):
            sl = slice(start, start + _VAL_CHUNK)
            x = self.x_val[sl]
            out = self.model(x, self.codes_val[sl], self.eps_val[sl])
            terms = cvae_loss(x, out, self.model.decoder.logvar, self.config.kl_weight)
            sums += torch.stack(terms).double() * len(x)
        loss, recon, kl = (sums / n).tolist()
        return {"val_loss": loss, "val_recon": recon, "val_kl": kl}

    # -- the run ------------------------------------------------------------------
    def run(self) -> TrainResult:
        if self.epoch == 0 and not self.kept_state:
            # epoch 0 = the untrained model: a valid checkpoint even with epochs=0
            self.best_val = self.kept_val = self._validate()["val_loss"]
            self.kept_state = state_copy(self.model)
        self._train_until(self.config.epochs, "train", save=True)
        if self.config.refit and self.dp is None and self.kept_epoch > 0:
            self._refit()
        self._save()
        return TrainResult(
            run_dir=self.out_dir,
            checkpoint_path=self.out_dir / CHECKPOINT_NAME,
            best_epoch=self.best_epoch,
            best_val_loss=self.best_val,
            kept_epoch=self.kept_epoch,
            epochs_run=self.epoch,
            stopped_early=self.stopped_early,
            history=list(self.history),
            refit_rows=self.refit["rows"] if self.refit else 0,
        )

    def _train_until(self, last_epoch: int, desc: str, save: bool) -> None:
        """Train epochs up to ``last_epoch`` (or an early stop); with ``save`` (the run, not
        its refit) write checkpoints and show the validation loss on the progress bar."""
        bar = epoch_bar(last_epoch, desc, initial=self.epoch, enabled=self.progress)
        with bar:
            while self.epoch < last_epoch and not self.stopped_early:
                start = time.perf_counter()
                for group in self.optimizer.param_groups:
                    group["lr"] = self.config.lr_at(self.epoch + 1)
                with self._epoch_rng():
                    row = {"epoch": self.epoch + 1, **self._train_epoch(), **self._validate()}
                row["seconds"] = round(time.perf_counter() - start, 4)
                if not math.isfinite(row["train_loss"]):
                    raise GexgenError(
                        f"the training loss became {row['train_loss']} at epoch {row['epoch']}; "
                        f"lower --lr (now {self.config.lr}) and start again with --overwrite"
                    )
                self.epoch += 1
                row["lr"] = self.optimizer.param_groups[0]["lr"]
                scores = self._selection_scores()
                row.update(scores)
                self.history.append(row)
                self._update_best(row["val_loss"], scores)
                bar.update(1)
                postfix = {"train": f"{row['train_loss']:.2f}"}
                if save:  # the refit fits its validation rows: no held-out score to show
                    postfix["val"] = f"{row['val_loss']:.2f}"
                    postfix["best"] = f"{self.best_val:.2f}@{self.best_epoch}"
                bar.set_postfix(postfix, refresh=False)
                if save and self.epoch % self.config.checkpoint_every == 0:
                    self._save()

    def _refit(self) -> None:
        """``config.refit``: train the model afresh on the fitted + validation rows for the
        kept epoch count, with the same seed, augmentation and lr schedule (so the same
        trajectory, on a tenth more patients), and ship those weights."""
        data = dataclasses.replace(
            self.data,
            x_fit=np.concatenate([self.data.x_fit, self.data.x_val]),
            codes_fit=np.concatenate([self.data.codes_fit, self.data.codes_val]),
        )  # the validation rows stay as x_val: the refit's val_loss is not a holdout score
        config = self.config.replace(keep="last", refit=False, patience=None)
        refit = _Trainer(config, data, self.device, self.out_dir, None, self.progress)
        refit._train_until(self.kept_epoch, "refit", save=False)
        self.refit_state = refit.kept_state  # keep="last": the weights after its last epoch
        self.refit = {
            "epochs": self.kept_epoch,
            "rows": len(data.x_fit),
            "train_loss": refit.history[-1]["train_loss"],
        }

    def _selection_scores(self) -> dict[str, float]:
        """Model-selection scores every ``select_every`` epochs and at the last one."""
        if self.selector is None:
            return {}
        if self.epoch % self.config.select_every and self.epoch != self.config.epochs:
            return {}
        return self.selector.scores(self.model)

    def _update_best(self, val_loss: float, scores: dict[str, float] | None = None) -> None:
        """Track the lowest validation loss (early stopping); keep the weights ``keep`` says."""
        if val_loss < self.best_val:
            self.best_val, self.best_epoch, self.since_best = val_loss, self.epoch, 0
            if self.config.keep == "best":
                self.kept_state = state_copy(self.model)
        else:
            self.since_best += 1
        if self.config.keep == "last":
            self.kept_epoch, self.kept_val = self.epoch, val_loss
            self.kept_state = state_copy(self.model)
        elif self.config.keep == "balanced":
            if scores and scores["selection_score"] < self.kept_scores.get(
                "selection_score", math.inf
            ):
                self.kept_epoch, self.kept_val, self.kept_scores = self.epoch, val_loss, scores
                self.kept_state = state_copy(self.model)
        else:
            self.kept_epoch, self.kept_val = self.best_epoch, self.best_val

    # -- persistence --------------------------------------------------------------
    def _save(self) -> None:
        checkpoint = self._checkpoint()
        save_dict(
            {
                "format": TRAINING_STATE_FORMAT,
                "format_version": FORMAT_VERSION,
                "config": checkpoint["config"],
                "data_sha256": self.data.data_sha256,
                "epoch": self.epoch,
                "device_type": self.device.type,
                "model_state": {k: v.cpu() for k, v in self.model.state_dict().items()},
                "optimizer_state": self.optimizer.state_dict(),
                # as trained: the checkpoint's copy has the tempered prior and the noise table
                "kept_state": {k: v.cpu() for k, v in self.kept_state.items()},
                "kept_epoch": self.kept_epoch,
                "kept_val": self.kept_val,
                "best_epoch": self.best_epoch,
                "best_val": self.best_val,
                "since_best": self.since_best,
                "stopped_early": self.stopped_early,
                "history": self.history,
                "shuffle_rng": self.shuffle_rng.get_state(),
                "noise_rng": self.noise_rng.get_state(),
                "aug_rng": self.aug_rng.get_state(),
                "kept_scores": self.kept_scores,
            },
            self.out_dir / TRAINING_STATE_NAME,
        )
        save_dict(checkpoint, self.out_dir / CHECKPOINT_NAME)
        write_history(self.history, self.out_dir / HISTORY_NAME)

    def _calibrated_kept_state(self) -> dict[str, torch.Tensor]:
        """The kept weights (their refit, with ``config.refit``) as the generator uses
        them: the prior scaled by the latent
        temperature and the observation-noise table filled in (see calibrate.py),
        calibrated on all the training rows (fitted and validation; under DP the fitted
        rows only, as the selection probe does). Computed once per kept state (a checkpoint
        every 25 epochs often keeps the same weights, and the calibration runs 2,048 prior
        draws per label combination)."""
        cfg = self.config
        weights = self.refit_state if self.refit_state is not None else self.kept_state
        if cfg.observation_noise != "calibrated" and cfg.latent_temperature == 1.0:
            return weights
        cached = self._calibrated
        if cached is not None and cached[0] is weights:
            return cached[1]
        with torch.random.fork_rng(devices=[]):
            model = build_model(self.model_config).to(self.device)
        model.load_state_dict(weights)
        calibrated = dict(weights)
        if cfg.latent_temperature != 1.0:  # config validation: a conditional prior
            temper_prior(model.decoder.prior, self._temperatures())
            calibrated.update(model.decoder.prior.state_dict(prefix="decoder.prior."))
        if cfg.observation_noise == "calibrated":
            # under DP the centre is one global offset (an all-rows mean, like the
            # standardization): per-combination means would bypass the guarantee
            dp = cfg.dp_epsilon is not None
            x, codes = self.data.x_fit, self.data.codes_fit
            if not dp:
                x = np.concatenate([x, self.data.x_val])
                codes = np.concatenate([codes, self.data.codes_val])
            noise = calibrate_noise(
                model.decoder, x, codes, self.data.label_sizes, seed=cfg.seed,
                min_offset_rows=len(x) + 1 if dp else MIN_OFFSET_ROWS,
            )  # fmt: skip
            calibrated.update(noise.decoder_state(self.device))
        self._calibrated = (weights, calibrated)
        return calibrated

    def _calibration_text(self) -> str | None:
        """What checkpoints and generator metadata record of the calibration."""
        cfg = self.config
        parts = []
        if cfg.observation_noise == "calibrated":
            rows = "fitted rows" if cfg.dp_epsilon is not None else "fitted + validation rows"
            parts.append(f"{CALIBRATION}; fitted on the training split's {rows}")
        if cfg.latent_temperature != 1.0:
            which = ""
            if cfg.latent_temperature_below:
                temperatures = np.asarray(self._temperatures())
                n_wide = int((temperatures != 1.0).sum())
                n_seen = len(self.data.combinations)
                which = (
                    f" for the {n_wide} of {n_seen} label combinations with fewer than "
                    f"{cfg.latent_temperature_below} training profiles (1x for the rest)"
                )
            parts.append(f"latents drawn at {cfg.latent_temperature:g}x the prior's sd{which}")
        return "; ".join(parts) or None

    def _temperatures(self) -> float | list[float]:
        """The generator's latent temperature, one or one per label combination (counted
        on the training split's rows, fitted and validation: what the refit trains on)."""
        cfg = self.config
        return combination_temperatures(
            self.data.combination_counts().tolist(),
            cfg.latent_temperature,
            cfg.latent_temperature_below,
        )

    def _checkpoint(self) -> dict[str, Any]:
        cfg = self.config
        selection: dict[str, Any] = {"keep": cfg.keep, "kept_epoch": self.kept_epoch}
        if cfg.keep == "balanced":
            selection.update(
                criterion=SELECTION_CRITERION, every=cfg.select_every, **self.kept_scores
            )
        elif cfg.keep == "best":
            selection["criterion"] = "lowest validation loss"
        else:
            selection["criterion"] = "last epoch"
        if self.refit is not None:
            selection["refit"] = {
                **self.refit,
                "rows_used": "fitted + validation rows of the training split",
            }
        return checkpoint_dict(
            "cvae",
            self.model_config,
            self._calibrated_kept_state(),
            self.config.to_dict(),
            self.data,
            training={
                "epochs": self.epoch,
                "best_epoch": self.best_epoch,  # lowest validation loss
                "best_val_loss": self.best_val,
                "keep": self.config.keep,
                "kept_epoch": self.kept_epoch,  # the weights in model_state
                "val_loss": self.kept_val,  # of those weights
                "stopped_early": self.stopped_early,
                "selection": selection,
                "observation_noise": cfg.observation_noise
                if cfg.observation_noise != "none" or not cfg.learned_variance
                else "learned",
                "calibration": self._calibration_text(),
                "privacy": self.privacy,
            },
            history=self.history,
        )

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model_state"])
            self.optimizer.load_state_dict(state["optimizer_state"])
            self.shuffle_rng.set_state(state["shuffle_rng"])
            if state["device_type"] == self.device.type:
                self.noise_rng.set_state(state["noise_rng"])
            else:  # another device's generator state does not transfer
                self.noise_rng.manual_seed(self.config.seed + 1 + int(state["epoch"]))
            self.kept_state = {k: v.to(self.device) for k, v in state["kept_state"].items()}
            self.kept_epoch = int(state["kept_epoch"])
            self.kept_val = float(state["kept_val"])
            self.epoch = int(state["epoch"])
            self.best_epoch = int(state["best_epoch"])
            self.best_val = float(state["best_val"])
            self.since_best = int(state["since_best"])
            self.history = list(state["history"])
            if "aug_rng" in state:
                self.aug_rng.set_state(state["aug_rng"])
            self.kept_scores = dict(state.get("kept_scores", {}))
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise GexgenError(
                f"the training state in {str(self.out_dir)!r} does not match this model "
                f"({str(exc).splitlines()[0]}); start again with --overwrite"
            ) from exc
