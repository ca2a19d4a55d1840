"""The conditional VAE of Bong & Oh 2023 as torch modules (tensors in, tensors out).

The decoder is the part that ships: ``decoder(z, condition) -> standardized
profile`` with an optional per-gene ``logvar`` parameter. Export wraps any
module with that interface (a WGAN-GP generator too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from gexgen.errors import GexgenError

__all__ = [
    "Encoder",
    "ConditionalPrior",
    "joint_one_hot",
    "Decoder",
    "CVAE",
    "CVAEOutput",
    "one_hot_conditions",
    "cvae_loss",
    "temper_prior",
    "combination_temperatures",
]


NORMS = ("batch", "layer", "none")


def _hidden_stack(
    n_in: int, hidden: Sequence[int], batch_norm: bool | str, dropout: float = 0.0
) -> nn.Sequential:
    """Linear -> (norm) -> ReLU (-> Dropout) for each hidden width.

    ``batch_norm``: True/"batch" = BatchNorm1d, "layer" = LayerNorm (what DP-SGD
    accepts: it keeps samples independent), False/"none" = no normalization.
    """
    norm = {True: "batch", False: "none"}.get(batch_norm, batch_norm)  # type: ignore[call-overload]
    if norm not in NORMS:
        raise GexgenError(f"normalization must be one of {list(NORMS)}, got {batch_norm!r}")
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(nn.Linear(n_in, width))
        if norm == "batch":
            layers.append(nn.BatchNorm1d(width))
        elif norm == "layer":
            layers.append(nn.LayerNorm(width))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = width
    return nn.Sequential(*layers)


def one_hot_conditions(codes: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """Concatenated one-hot encodings of integer label codes.

    Parameters
    ----------
    codes
        int64 [n, n_labels]; column ``i`` holds codes in ``range(sizes[i])``.
    sizes
        Vocabulary size of each label.

    Returns
    -------
    float32 [n, sum(sizes)]. Written with comparisons (no ``one_hot``) so the
    same code exports to ONNX with a dynamic batch.
    """
    parts = [
        (codes[:, i : i + 1] == torch.arange(size, device=codes.device)).to(torch.float32)
        for i, size in enumerate(sizes)
    ]
    return torch.cat(parts, dim=1)


class Encoder(nn.Module):
    """q(z | x, c): hidden stack on [x, c], then linear heads for mean and log variance."""

    def __init__(
        self,
        n_genes: int,
        n_condition: int,
        hidden: Sequence[int],
        n_latent: int,
        batch_norm: bool | str,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.hidden = _hidden_stack(n_genes + n_condition, hidden, batch_norm, dropout)
        self.mu = nn.Linear(hidden[-1], n_latent)
        self.logvar = nn.Linear(hidden[-1], n_latent)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(torch.cat([x, c], dim=1))
        return self.mu(h), self.logvar(h)


MAX_PRIOR_COMBINATIONS = 4096


def joint_one_hot(c: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """One-hot of the label *combination* [n, prod(sizes)] from the concatenated one-hots.

    Successive outer products of the label blocks; written with broadcasting and
    reshapes so it exports to ONNX with a dynamic batch.
    """
    blocks = torch.split(c, list(sizes), dim=1)
    joint = blocks[0]
    for block in blocks[1:]:
        joint = (joint.unsqueeze(2) * block.unsqueeze(1)).reshape(c.shape[0], -1)
    return joint


class ConditionalPrior(nn.Module):
    """p(z | c) = N(mu(c), diag exp(logvar(c))), one Gaussian per label combination.

    The prior network of Sohn et al. 2015's CVAE, here a table lookup on the
    joint label combination. Initialized to N(0, I) (and unseen combinations stay
    there); it lets each combination keep its own latent region, so sampling
    from the prior lands where the encoder put that combination's profiles.
    """

    def __init__(self, label_sizes: Sequence[int], n_latent: int) -> None:
        super().__init__()
        self.label_sizes = tuple(int(s) for s in label_sizes)
        n_combinations = math.prod(self.label_sizes)
        if n_combinations > MAX_PRIOR_COMBINATIONS:
            raise GexgenError(
                f"a conditional prior over {n_combinations} label combinations is too large "
                f"(max {MAX_PRIOR_COMBINATIONS}); use fewer condition labels or the standard prior"
            )
        self.linear = nn.Linear(n_combinations, 2 * n_latent)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.linear(joint_one_hot(c, self.label_sizes)).chunk(2, dim=1)
        return mu, logvar


@torch.no_grad()
def temper_prior(prior: ConditionalPrior, temperature: float | Sequence[float]) -> None:
    """Scale the prior's standard deviation by ``temperature``, in place: one number for
    every label combination (its log variance gains ``2 log temperature``), or one per
    label combination in joint order (``combination_temperatures``).

    Examples
    --------
    >>> p = ConditionalPrior([2], 3)
    >>> temper_prior(p, 2.0)
    >>> torch.exp(0.5 * p(torch.tensor([[0.0, 1.0]]))[1]).round(decimals=4).tolist()
    [[2.0, 2.0, 2.0]]
    >>> temper_prior(p, [1.0, 0.5])  # the second combination back to 1
    >>> torch.exp(0.5 * p(torch.eye(2))[1]).round(decimals=4).tolist()
    [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]]
    """
    values = torch.as_tensor(temperature, dtype=torch.float64)
    n_comb = prior.linear.in_features
    if values.dim() > 1 or (values.dim() == 1 and len(values) != n_comb):
        raise GexgenError(
            f"per-combination latent temperatures need one value per label combination "
            f"({n_comb}), got shape {list(values.shape)}"
        )
    if not bool(((values > 0) & torch.isfinite(values)).all()):
        raise GexgenError(f"the latent temperature must be > 0 and finite, got {temperature}")
    half = prior.linear.out_features // 2
    if values.dim() == 0:
        prior.linear.bias[half:] += 2.0 * math.log(float(values))
    else:  # the joint one-hot picks one weight column per combination
        prior.linear.weight[half:, :] += (2.0 * torch.log(values)).to(prior.linear.weight)


def combination_temperatures(
    counts: Sequence[int], temperature: float, below: int
) -> float | list[float]:
    """The latent temperature of each label combination: ``temperature`` for those with
    at least one and fewer than ``below`` training profiles, 1 for the rest (a
    combination without training profiles keeps the untrained prior); ``below=0`` gives
    ``temperature`` to every combination (one number).

    Examples
    --------
    >>> combination_temperatures([8, 40, 0], 1.5, 25)
    [1.5, 1.0, 1.0]
    >>> combination_temperatures([8, 40], 1.5, 0)
    1.5
    """
    if below == 0:
        return float(temperature)
    return [float(temperature) if 0 < int(n) < below else 1.0 for n in counts]


class Decoder(nn.Module):
    """p(x | z, c): hidden stack on [z, c], linear output = standardized profile mean.

    ``forward(z, c)`` is the generator: ``z`` is standard-normal noise, mapped
    through the conditional prior when there is one, then decoded.
    ``decode(z, c)`` decodes a latent point as it is (training uses it on
    posterior samples). ``label_sizes`` given = a conditional prior over those
    labels' combinations. With ``learned_variance`` the module also holds
    ``logvar`` [n_genes], a per-gene log variance of the Gaussian observation
    noise (in standardized units). With ``calibrated_noise`` it holds the buffer
    ``noise_logvar`` [n_combinations, n_genes]: a log variance per label
    combination and gene, and ``noise_factors`` [n_genes, k] / ``noise_gains`` [k]
    (the correlation of the noise), set after training by
    :func:`gexgen.train.calibrate.calibrate_noise` (what the generator adds).
    With ``calibrated_mean`` too, ``noise_offset`` [n_combinations, n_genes] is
    the calibrated offset the generator adds to the decoder mean.
    """

    def __init__(
        self,
        n_latent: int,
        n_condition: int,
        hidden: Sequence[int],
        n_genes: int,
        batch_norm: bool,
        learned_variance: bool = False,
        label_sizes: Sequence[int] | None = None,
        dropout: float = 0.0,
        calibrated_noise: Sequence[int] | None = None,
        noise_factors: int = 0,
        calibrated_mean: bool = False,
    ) -> None:
        super().__init__()
        self.n_latent = n_latent
        self.n_condition = n_condition
        self.n_genes = n_genes
        self.hidden = _hidden_stack(n_latent + n_condition, hidden, batch_norm, dropout)
        self.out = nn.Linear(hidden[-1], n_genes)
        self.logvar = nn.Parameter(torch.zeros(n_genes)) if learned_variance else None
        self.prior = None if label_sizes is None else ConditionalPrior(label_sizes, n_latent)
        self.noise_label_sizes = None
        self.noise_logvar: torch.Tensor | None
        if calibrated_noise is None:
            self.register_buffer("noise_logvar", None)
        else:
            self.noise_label_sizes = tuple(int(s) for s in calibrated_noise)
            n_comb = math.prod(self.noise_label_sizes)
            self.register_buffer("noise_logvar", torch.zeros(n_comb, n_genes))
            self.register_buffer("noise_factors", torch.zeros(n_genes, noise_factors))
            self.register_buffer("noise_gains", torch.zeros(noise_factors))
            if calibrated_mean:
                self.register_buffer("noise_offset", torch.zeros(n_comb, n_genes))

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(torch.cat([z, c], dim=1)))

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if self.prior is not None:
            mu, logvar = self.prior(c)
            z = mu + z * torch.exp(0.5 * logvar)
        return self.decode(z, c)


class CVAEOutput(NamedTuple):
    """What a CVAE forward pass returns; ``prior_*`` are None for the N(0, I) prior."""

    mean: torch.Tensor  # decoder mean, standardized [n, n_genes]
    mu: torch.Tensor  # posterior mean [n, n_latent]
    logvar: torch.Tensor  # posterior log variance
    prior_mu: torch.Tensor | None
    prior_logvar: torch.Tensor | None


class CVAE(nn.Module):
    """Encoder + decoder (+ optional conditional prior); ``forward`` gives a CVAEOutput."""

    def __init__(
        self,
        n_genes: int,
        label_sizes: Sequence[int],
        encoder_hidden: Sequence[int],
        n_latent: int,
        decoder_hidden: Sequence[int],
        batch_norm: bool | str = True,
        learned_variance: bool = False,
        conditional_prior: bool = False,
        dropout: float = 0.0,
        calibrated_noise: bool = False,
        noise_factors: int = 0,
        calibrated_mean: bool = False,
    ) -> None:
        super().__init__()
        self.label_sizes = tuple(int(s) for s in label_sizes)
        n_condition = sum(self.label_sizes)
        self.encoder = Encoder(n_genes, n_condition, encoder_hidden, n_latent, batch_norm, dropout)
        self.decoder = Decoder(
            n_latent,
            n_condition,
            decoder_hidden,
            n_genes,
            batch_norm,
            learned_variance=learned_variance,
            label_sizes=self.label_sizes if conditional_prior else None,
            dropout=dropout,
            calibrated_noise=self.label_sizes if calibrated_noise else None,
            noise_factors=noise_factors,
            calibrated_mean=calibrated_noise and calibrated_mean,
        )

    def forward(
        self,
        x: torch.Tensor,
        codes: torch.Tensor,
        eps: torch.Tensor,
        x_in: torch.Tensor | None = None,
    ) -> CVAEOutput:
        """``eps`` is standard-normal noise [n, n_latent] for the reparameterization.

        ``x_in`` (default ``x``) is what the encoder sees: a noisy or mixed
        version of ``x`` during regularized training.
        """
        c = one_hot_conditions(codes, self.label_sizes)
        mu, logvar = self.encoder(x if x_in is None else x_in, c)
        z = mu + eps * torch.exp(0.5 * logvar)
        prior = self.decoder.prior(c) if self.decoder.prior is not None else (None, None)
        return CVAEOutput(self.decoder.decode(z, c), mu, logvar, *prior)


def cvae_loss(
    x: torch.Tensor,
    out: CVAEOutput,
    decoder_logvar: torch.Tensor | None = None,
    kl_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative ELBO averaged over the batch: (total, reconstruction, KL).

    Reconstruction is the squared error summed over genes (the paper's MSE with a
    fixed-variance Gaussian decoder) or, with a learned per-gene log variance,
    the Gaussian negative log-likelihood summed over genes. KL is the closed
    form KL(q(z|x,c) || p(z|c)) summed over latent dimensions, with p = N(0, I)
    unless the output carries a conditional prior.
    """
    sq = (x - out.mean).pow(2)
    if decoder_logvar is None:
        recon = sq.sum(dim=1).mean()
    else:
        nll = 0.5 * (sq * torch.exp(-decoder_logvar) + decoder_logvar + math.log(2 * math.pi))
        recon = nll.sum(dim=1).mean()
    mu, logvar = out.mu, out.logvar
    if out.prior_mu is None or out.prior_logvar is None:
        kl_terms = 1 + logvar - mu.pow(2) - logvar.exp()
    else:
        p_mu, p_logvar = out.prior_mu, out.prior_logvar
        kl_terms = 1 + logvar - p_logvar - ((mu - p_mu).pow(2) + logvar.exp()) / p_logvar.exp()
    kl = (-0.5 * kl_terms.sum(dim=1)).mean()
    return recon + kl_weight * kl, recon, kl
