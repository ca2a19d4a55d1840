"""Model selection that weighs fidelity against memorization, on the validation part only.

"Lowest validation loss" picks an early, blurry model and "last epoch" one that
has learned its training patients. Every ``select_every`` epochs the probe
scores the current weights on two things the validation rows (never fitted,
never the test split) can tell:

- **fidelity** ``val_recon_mse``: mean squared reconstruction error per gene of
  the validation rows through the posterior mean (standardized units);
- **memorization** ``val_mia_auc``: a distance-based membership-inference attack
  run by the trainer itself. A fixed set of profiles is generated (prior
  latents at the generator's latent temperatures, the training label mix, the
  generator's observation noise); each
  fitted row and each validation row is scored by minus its distance to the
  nearest generated profile; the AUC of fitted against validation rows is 0.5
  when the generator does not sit closer to its training rows.

``selection_score = val_recon_mse + MEMORIZATION_WEIGHT * max(0, val_mia_auc - 0.5)``;
the epoch with the lowest score is kept (``keep="balanced"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gexgen.train.calibrate import calibrate_noise, combination_index
from gexgen.train.cvae import CVAE, one_hot_conditions, temper_prior
from gexgen.train.trainer_common import state_copy

__all__ = ["MemorizationProbe", "MEMORIZATION_WEIGHT", "SELECTION_CRITERION", "rank_auc"]

MEMORIZATION_WEIGHT = 1.0
N_PROBE_PROFILES = 2000
PROBE_DRAWS = 256  # prior draws per combination when the probe calibrates the noise
SELECTION_CRITERION = (
    f"min over evaluated epochs of val_recon_mse + {MEMORIZATION_WEIGHT:g} * "
    "max(0, val_mia_auc - 0.5) (validation part of the train split only)"
)


def rank_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """ROC AUC of ``positive`` over ``negative`` scores (ties count half).

    Examples
    --------
    >>> rank_auc(np.array([2.0, 3.0]), np.array([1.0, 2.0]))
    0.875
    """
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def nearest_distance(x: torch.Tensor, y: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Euclidean distance from each row of ``x`` to its nearest row of ``y``."""
    y_sq = (y * y).sum(dim=1)
    out = []
    for start in range(0, len(x), chunk):
        xb = x[start : start + chunk]
        d2 = (xb * xb).sum(dim=1, keepdim=True) - 2 * xb @ y.T + y_sq[None, :]
        out.append(d2.min(dim=1).values.clamp_min(0).sqrt())
    return torch.cat(out)


class MemorizationProbe:
    """Scores weights on the validation part; holds its fixed random draws (seeded)."""

    def __init__(
        self,
        data: Any,
        seed: int,
        n_profiles: int = N_PROBE_PROFILES,
        temperature: float | list[float] = 1.0,
    ) -> None:
        self.data = data
        self.seed = seed
        # the latent temperature the generator will use (one, or one per label combination)
        self.temperature = temperature
        gen = torch.Generator().manual_seed(seed + 4)
        n_fit = len(data.x_fit)
        rows = torch.randint(n_fit, (n_profiles,), generator=gen)  # the training label mix
        self.codes = torch.from_numpy(data.codes_fit)[rows]
        self.combo = torch.from_numpy(combination_index(data.codes_fit, data.label_sizes))[rows]
        self.gen_seed = seed + 5
        self.x_fit = torch.from_numpy(data.x_fit)
        self.x_val = torch.from_numpy(data.x_val)
        self.codes_val = torch.from_numpy(data.codes_val)

    @torch.no_grad()
    def scores(self, model: CVAE) -> dict[str, float]:
        """``val_recon_mse``, ``val_mia_auc``, ``val_dcr_ratio`` and ``selection_score``."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        prior = model.decoder.prior
        tempered = prior is not None and np.any(np.asarray(self.temperature) != 1.0)
        trained_prior = state_copy(prior) if tempered else None
        try:
            decoder = model.decoder
            if tempered:  # score what the generator draws
                temper_prior(prior, self.temperature)
            gen = torch.Generator().manual_seed(self.gen_seed)
            n = len(self.codes)
            z = torch.randn(n, decoder.n_latent, generator=gen).to(device)
            eps = torch.randn(n, decoder.n_genes, generator=gen).to(device)
            c = one_hot_conditions(self.codes.to(device), model.label_sizes)
            synth = decoder(z, c)
            if getattr(decoder, "noise_logvar", None) is not None:
                noise = calibrate_noise(
                    decoder, self.data.x_fit, self.data.codes_fit, model.label_sizes,
                    seed=self.seed, n_factors=decoder.noise_factors.shape[1],
                    n_draws=PROBE_DRAWS,
                )  # fmt: skip
                p, c = noise.factors.to(device), noise.gains.to(device)
                eps = eps + ((eps @ p) * c) @ p.T
                scale = torch.exp(0.5 * noise.logvar.to(device))[self.combo.to(device)]
                synth = synth + eps * scale
                if getattr(decoder, "noise_offset", None) is not None:
                    synth = synth + noise.offset.to(device)[self.combo.to(device)]
            elif decoder.logvar is not None:
                synth = synth + eps * torch.exp(0.5 * decoder.logvar)
            x_val = self.x_val.to(device)
            c_val = one_hot_conditions(self.codes_val.to(device), model.label_sizes)
            mu, _ = model.encoder(x_val, c_val)
            recon = decoder.decode(mu, c_val)
            recon_mse = float((recon - x_val).pow(2).mean())
            d_fit = nearest_distance(self.x_fit.to(device), synth).cpu().numpy()
            d_val = nearest_distance(x_val, synth).cpu().numpy()
        finally:
            if trained_prior is not None:
                prior.load_state_dict(trained_prior)  # the exact trained values back
            model.train(was_training)
        auc = rank_auc(-d_fit, -d_val)
        return {
            "val_recon_mse": recon_mse,
            "val_mia_auc": auc,
            "val_dcr_ratio": float(np.median(d_fit) / np.median(d_val)),
            "selection_score": recon_mse + MEMORIZATION_WEIGHT * max(0.0, auc - 0.5),
        }
