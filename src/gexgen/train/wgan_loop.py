"""Train the WGAN-GP baseline on the same preprocessed data and split as the CVAE.

The loop follows the reference code (rvinas/adversarial-gene-expression,
``tf_utils.train``): for every real batch, ``n_critic`` critic steps on that
batch with fresh noise, then one generator step; RMSprop for both; every
``eval_every`` epochs the generator is scored by the gamma coefficient on
held-out data and the best one is kept; training stops after ``patience``
evaluations without improvement. Two deliberate differences: the batches are
reshuffled every epoch (the reference shuffles once), and the score uses the
validation part of the training split (the reference used its test split), so
the test split stays unseen.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gexgen.errors import GexgenError
from gexgen.train.checkpoint import CHECKPOINT_NAME, checkpoint_dict, save_dict
from gexgen.train.config import WGANConfig, resolve_device
from gexgen.train.cvae import one_hot_conditions
from gexgen.train.data import TrainingData, prepare_training_data
from gexgen.train.run_dir import HISTORY_NAME, check_new_run_dir, start_run_dir, write_history
from gexgen.train.run_lock import run_dir_lock
from gexgen.train.trainer_common import EarlyStopping, epoch_bar, state_copy, torch_threads
from gexgen.train.wgan import WGANGP, build_wgan, gradient_penalty

__all__ = ["WGANConfig", "WGANResult", "train_wgan", "gamma_numpy"]


@dataclass(frozen=True)
class WGANResult:
    """Where a run's checkpoint is and how it went."""

    run_dir: Path
    checkpoint_path: Path
    best_epoch: int  # 0 = the untrained generator
    best_val_gamma: float
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, Any]] = field(repr=False)


def gamma_numpy(x: np.ndarray, y: np.ndarray) -> float:
    """Gamma coefficient (Viñas et al.) of two samples x genes matrices, plain numpy.

    Pearson correlation of the strict upper triangles of ``1 - corr(x)`` and
    ``1 - corr(y)`` over the genes that vary in both; NaN when fewer than 3
    such genes. The metrics package has the streaming version; this one keeps
    the train step free of it.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return math.nan
    keep = (x.std(axis=0) > 0) & (y.std(axis=0) > 0)
    if keep.sum() < 3:
        return math.nan
    iu = np.triu_indices(int(keep.sum()), k=1)
    dx = 1.0 - np.corrcoef(x[:, keep], rowvar=False)[iu]
    dy = 1.0 - np.corrcoef(y[:, keep], rowvar=False)[iu]
    return float(np.corrcoef(dx, dy)[0, 1])


def train_wgan(
    cohort_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: WGANConfig | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> WGANResult:
    """Train the WGAN-GP on a cohort's training split and write ``out_dir``.

    Writes ``config.json``, ``history.csv`` and ``checkpoint.pt`` (model_type
    ``"wgan-gp"``, the layout of :func:`gexgen.train.load_checkpoint`; the
    weights of the evaluation with the best validation gamma). Every input is
    checked before anything is written.

    Examples
    --------
    >>> r = train_wgan("cohort.h5ad", "runs/wgan", WGANConfig(epochs=300))  # doctest: +SKIP
    >>> r.best_epoch, r.best_val_gamma  # doctest: +SKIP
    """
    config = config or WGANConfig()
    out_dir = Path(out_dir)
    device = resolve_device(config.device)
    with run_dir_lock(out_dir):  # one run per folder, from the first check to the end
        check_new_run_dir(out_dir, overwrite)
        data = prepare_training_data(cohort_path, config.data_config())
        # batch 32: a second thread mostly waits (small GEMMs), so --threads 1 often helps
        with torch_threads(config.threads):
            trainer = _WGANTrainer(config, data, device, out_dir, progress)
            # -- nothing was written before this line --
            start_run_dir(out_dir, {"model_type": "wgan-gp", **config.to_dict()})
            return trainer.run()


class _WGANTrainer(EarlyStopping):
    def __init__(
        self,
        config: WGANConfig,
        data: TrainingData,
        device: torch.device,
        out_dir: Path,
        progress: bool,
    ) -> None:
        self.config, self.data, self.device, self.out_dir = config, data, device, out_dir
        self.progress = progress
        self.model_config = {
            "n_genes": data.n_genes,
            "label_sizes": data.label_sizes,
            "n_latent": config.n_latent,
            "generator_hidden": list(config.generator_hidden),
            "critic_hidden": list(config.critic_hidden),
            "learned_variance": False,
        }
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.model: WGANGP = build_wgan(self.model_config).to(device)
        g, d = self.model.generator, self.model.critic
        rms = {"lr": config.lr, "alpha": config.rms_alpha, "eps": config.rms_eps}
        self.opt_g = torch.optim.RMSprop(g.parameters(), **rms)
        self.opt_d = torch.optim.RMSprop(d.parameters(), **rms)
        self.shuffle_rng = torch.Generator().manual_seed(config.seed)
        self.noise_rng = torch.Generator(device=device).manual_seed(config.seed + 1)
        sizes = data.label_sizes
        self.x_fit = torch.from_numpy(data.x_fit).to(device)
        self.c_fit = one_hot_conditions(torch.from_numpy(data.codes_fit), sizes).to(device)
        # validation: the real part as is; a fixed synthetic set (labels tiled from it)
        reps = max(1, math.ceil(config.val_synthetic / len(data.codes_val)))
        val_codes = torch.from_numpy(np.tile(data.codes_val, (reps, 1)))
        self.c_val = one_hot_conditions(val_codes, sizes).to(device)
        val_rng = torch.Generator().manual_seed(config.seed + 2)
        self.z_val = torch.randn(len(val_codes), config.n_latent, generator=val_rng).to(device)

        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.best_epoch = 0
        self.best_gamma = -math.inf
        self.best_state: dict[str, torch.Tensor] = {}
        self.since_best = 0

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.n_latent, generator=self.noise_rng, device=self.device)

    def _train_epoch(self) -> dict[str, float]:
        cfg, g, d = self.config, self.model.generator, self.model.critic
        n = len(self.x_fit)
        perm = torch.randperm(n, generator=self.shuffle_rng).to(self.device)
        sums = torch.zeros(4, device=self.device)
        n_batches = math.ceil(n / cfg.batch_size)
        for b in range(n_batches):
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            x, c = self.x_fit[idx], self.c_fit[idx]
            d.requires_grad_(True)
            for _ in range(cfg.n_critic):
                with torch.no_grad():
                    fake = g(self._noise(len(idx)), c)
                alpha = torch.rand(len(idx), 1, generator=self.noise_rng, device=self.device)
                distance = d(x, c).mean() - d(fake, c).mean()
                gp = gradient_penalty(d, x, fake, c, alpha)
                loss_d = -distance + cfg.gp_weight * gp
                self.opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                self.opt_d.step()
            d.requires_grad_(False)  # the generator step needs no critic gradients
            loss_g = -d(g(self._noise(len(idx)), c), c).mean()
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
            sums += torch.stack([loss_d.detach(), distance.detach(), gp.detach(), loss_g.detach()])
        loss_d, distance, gp, loss_g = (sums / n_batches).tolist()
        return {"critic_loss": loss_d, "wasserstein": distance, "gp": gp, "generator_loss": loss_g}

    @torch.no_grad()
    def _val_gamma(self) -> float:
        synthetic = self.model.generator(self.z_val, self.c_val).cpu().numpy()
        return gamma_numpy(self.data.x_val, synthetic)

    def run(self) -> WGANResult:
        cfg = self.config
        self._update_best(self._val_gamma())  # epoch 0: the untrained generator
        with epoch_bar(cfg.epochs, "wgan-gp", enabled=self.progress) as bar:
            while self.epoch < cfg.epochs and not self.stopped_early:
                start = time.perf_counter()
                row: dict[str, Any] = {"epoch": self.epoch + 1, **self._train_epoch()}
                if not math.isfinite(row["critic_loss"] + row["generator_loss"]):
                    raise GexgenError(
                        f"the WGAN-GP losses became non-finite at epoch {row['epoch']}; "
                        f"lower the learning rate (now {cfg.lr}) and start again"
                    )
                self.epoch += 1
                evaluate = self.epoch % cfg.eval_every == 0 or self.epoch == cfg.epochs
                row["val_gamma"] = self._val_gamma() if evaluate else math.nan
                row["seconds"] = round(time.perf_counter() - start, 4)
                self.history.append(row)
                if evaluate:
                    self._update_best(row["val_gamma"])
                bar.update(1)
                bar.set_postfix(
                    critic=f"{row['critic_loss']:.2f}",
                    w=f"{row['wasserstein']:.2f}",
                    best_gamma=f"{self.best_gamma:.3f}@{self.best_epoch}",
                    refresh=False,
                )
        self._save()
        return WGANResult(
            run_dir=self.out_dir,
            checkpoint_path=self.out_dir / CHECKPOINT_NAME,
            best_epoch=self.best_epoch,
            best_val_gamma=self.best_gamma,
            epochs_run=self.epoch,
            stopped_early=self.stopped_early,
            history=list(self.history),
        )

    def _update_best(self, gamma: float) -> None:
        if not self.best_state or (math.isfinite(gamma) and gamma > self.best_gamma):
            self.best_gamma = gamma if math.isfinite(gamma) else -math.inf
            self.best_epoch, self.since_best = self.epoch, 0
            self.best_state = state_copy(self.model)
            if self.epoch > 0:
                self._save()
            return
        self.since_best += 1

    def _save(self) -> None:
        save_dict(self._checkpoint(), self.out_dir / CHECKPOINT_NAME)
        write_history(self.history, self.out_dir / HISTORY_NAME)

    def _checkpoint(self) -> dict[str, Any]:
        gamma = self.best_gamma if math.isfinite(self.best_gamma) else None
        return checkpoint_dict(
            "wgan-gp",
            self.model_config,
            self.best_state,
            self.config.to_dict(),
            self.data,
            training={
                "epochs": self.epoch,
                "best_epoch": self.best_epoch,
                # a GAN has no validation loss; 1 - gamma keeps "lower is better"
                "val_loss": None if gamma is None else 1.0 - gamma,
                "val_gamma": gamma,
                "stopped_early": self.stopped_early,
            },
            history=self.history,
        )
