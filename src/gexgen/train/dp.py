"""Differential privacy for CVAE training: DP-SGD through Opacus (the optional extra ``dp``).

Opacus clips each sample's gradient to ``dp_max_grad_norm``, adds Gaussian
noise calibrated by its RDP accountant so that the whole run (Poisson-sampled
batches, ``epochs`` passes) spends at most ``dp_epsilon`` at ``dp_delta``, and
reports the epsilon actually spent.

What the guarantee covers: the network weights. BatchNorm mixes samples of a
batch, which per-sample gradients forbid, so DP runs use LayerNorm instead;
same-condition mixup also mixes two samples and is switched off, and balanced
batches (``balance``) are too: the accountant assumes Poisson sampling with one
rate for every row, which weighting rows by their label combination would
break. The per-gene
standardization, the label counts, the calibrated observation noise
(per-combination variances) and its centre (under DP one offset over all
rows, never per combination) are aggregate statistics of the training split
computed without DP noise (as in every run); the README says so beside the DP
numbers.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from gexgen.errors import GexgenError
from gexgen.train.dp_noise import NOISE_RNG_SECURE, NOISE_RNG_SEEDED

__all__ = ["DPTraining", "default_delta"]


def default_delta(n_train: int) -> float:
    """``1 / n^1.1``: below 1/n, the usual rule of thumb for delta.

    Examples
    --------
    >>> round(default_delta(1000), 8)
    0.00050119
    """
    return 1.0 / float(n_train) ** 1.1


class DPTraining:
    """The Opacus-wrapped model, optimizer and Poisson batch loader of one run."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        n_fit: int,
        config: Any,
        device: torch.device,
    ) -> None:
        try:
            from opacus import PrivacyEngine
        except ImportError as exc:
            raise GexgenError(
                "--dp-epsilon needs Opacus, which is not installed; "
                "install the extra: pip install 'gexgen[dp]'"
            ) from exc
        from torch.utils.data import DataLoader, TensorDataset

        self.target_epsilon = float(config.dp_epsilon)
        self.delta = float(config.dp_delta or default_delta(n_fit))
        self.max_grad_norm = float(config.dp_max_grad_norm)
        loader = DataLoader(
            TensorDataset(torch.arange(n_fit)),  # row indices into the fit tensors
            batch_size=config.batch_size,
            generator=torch.Generator().manual_seed(config.seed + 6),
        )
        self.secure_rng = bool(config.dp_secure_rng)  # torchcsprng: checked by train_cvae
        with warnings.catch_warnings():  # "Secure RNG turned off": gexgen says it in one line
            warnings.filterwarnings("ignore", message="Secure RNG turned off")
            self.engine = PrivacyEngine(accountant="rdp", secure_mode=self.secure_rng)
        self.model, self.optimizer, self.loader = self.engine.make_private_with_epsilon(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            target_epsilon=self.target_epsilon,
            target_delta=self.delta,
            epochs=max(int(config.epochs), 1),
            max_grad_norm=self.max_grad_norm,
            # secure mode draws from torchcsprng's /dev/urandom device and ignores this
            noise_generator=None
            if self.secure_rng
            else torch.Generator(device=device).manual_seed(config.seed + 7),
        )
        self.noise_rng = (
            NOISE_RNG_SECURE
            if self.secure_rng
            else f"torch generator seeded from the training seed ({config.seed} + 7): "
            + NOISE_RNG_SEEDED
        )

    def summary(self) -> dict[str, Any]:
        """What goes into the checkpoint and the generator metadata."""
        return {
            "dp_epsilon": self.target_epsilon,
            "dp_delta": self.delta,
            "epsilon_spent": float(self.engine.get_epsilon(self.delta)),
            "max_grad_norm": self.max_grad_norm,
            "noise_multiplier": float(self.optimizer.noise_multiplier),
            "accountant": "rdp",
            "mechanism": "DP-SGD (Opacus), Poisson sampling",
            "noise_rng": self.noise_rng,
        }
