"""Observation noise calibrated so generated profiles have the real spread.

A decoder trained to reconstruct outputs *means*: their spread around each
label combination's centre is smaller than the real one (the model averages
away what it cannot explain). The generator therefore adds Gaussian noise
whose variance, per label combination and gene, is the part of the real
variance the decoded means leave out::

    noise_var[k, g] = max(target[k, g] - var_of_decoded_means[k, g], floor * target[k, g])

``target`` is the within-combination variance of the fitted training rows,
shrunk towards the pooled within-combination variance of the gene (weight
``shrink`` pseudo-degrees of freedom) so combinations with few samples get a
stable estimate, and a combination without samples gets the pooled value.
Only these aggregate variances of the training rows are used.

The noise is not independent across genes: it carries the top ``n_factors``
principal directions of the pooled within-combination correlation of the
training rows (what makes genes co-vary inside a tissue), so the generated
profiles keep the gene-gene correlation a per-gene noise would wash out.
With standard normals ``eps`` [n, n_genes] the generator computes::

    y = eps + ((eps @ P) * C) @ P.T        # correlated, unit variance per gene after scaling
    noise = y * exp(0.5 * noise_logvar[combination])

where ``(I + P diag(C) P.T)`` is the symmetric square root of the correlation
model ``I + B B.T`` (see :func:`noise_factors`). ``eps = 0`` gives the decoder mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from gexgen.train.cvae import one_hot_conditions

__all__ = [
    "NoiseModel",
    "calibrate_noise",
    "combination_index",
    "noise_factors",
    "within_combination_variance",
]

NOISE_FLOOR = 0.05  # the noise keeps at least this share of the target variance
N_FACTORS = 32  # principal directions of the within-combination correlation kept
UNIQUENESS_FLOOR = 0.05  # each gene keeps at least this share of independent noise


def combination_index(codes: np.ndarray, label_sizes: Sequence[int]) -> np.ndarray:
    """Row-major index of each row's label combination (the order of ``joint_one_hot``).

    Examples
    --------
    >>> combination_index(np.array([[0, 1], [1, 0], [1, 1]]), [2, 2]).tolist()
    [1, 2, 3]
    """
    index = np.zeros(len(codes), dtype=np.int64)
    for i, size in enumerate(label_sizes):
        index = index * int(size) + codes[:, i].astype(np.int64)
    return index


def within_combination_variance(
    x: np.ndarray, combo: np.ndarray, n_combinations: int, shrink: float = 10.0
) -> np.ndarray:
    """Shrunk within-combination variance [n_combinations, n_genes] (float64).

    ``((n_k - 1) * s2_k + shrink * s2_pooled) / ((n_k - 1) + shrink)`` with
    ``s2_k`` the unbiased variance of combination ``k`` and ``s2_pooled`` the
    pooled within-combination variance; an empty combination gets ``s2_pooled``.
    """
    x = np.asarray(x, dtype=np.float64)
    n_genes = x.shape[1]
    ss = np.zeros((n_combinations, n_genes))
    dof = np.zeros(n_combinations)
    for k in np.unique(combo):
        rows = x[combo == k]
        dof[k] = len(rows) - 1
        if len(rows) > 1:
            ss[k] = ((rows - rows.mean(axis=0)) ** 2).sum(axis=0)
    pooled = ss.sum(axis=0) / max(dof.sum(), 1.0)
    return (ss + shrink * pooled) / (np.maximum(dof, 0)[:, None] + shrink)


class NoiseModel(NamedTuple):
    """The generator's observation noise: per-combination scales and shared factors."""

    logvar: torch.Tensor  # float32 [n_combinations, n_genes]: log of the per-gene scale^2
    factors: torch.Tensor  # float32 [n_genes, k]: orthonormal directions P
    gains: torch.Tensor  # float32 [k]: C = sqrt(1 + eigenvalue) - 1


def noise_factors(
    x: np.ndarray, combo: np.ndarray, n_factors: int = N_FACTORS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P [g, k], C [k], inflation [g]) of the within-combination correlation model.

    The residuals of ``x`` around their combination means, scaled to unit
    pooled variance, give a correlation ``R ~ Q G Q.T + diag(u)`` (top-k
    principal directions ``Q``, eigenvalues ``G``, ``u = max(1 - h, floor)``
    with ``h = (Q**2) @ G``). Written as ``D (I + B B.T) D`` with
    ``D = diag(sqrt(u))``, ``B = D^-1 Q sqrt(G)``, its square root factor is
    ``I + P diag(C) P.T`` with ``B B.T = P diag(L) P.T`` and ``C = sqrt(1 + L) - 1``.
    ``inflation = (u + h) / u`` is the variance ``y`` has per gene before scaling.
    """
    x = np.asarray(x, dtype=np.float64)
    resid = np.empty_like(x)
    groups = np.unique(combo)
    for k in groups:
        rows = combo == k
        resid[rows] = x[rows] - x[rows].mean(axis=0)
    dof = max(len(x) - len(groups), 1)
    sd = np.sqrt((resid**2).sum(axis=0) / dof)
    resid = resid / np.where(sd > 0, sd, 1.0) / np.sqrt(dof)
    k = int(min(n_factors, min(resid.shape) - 1))
    if k < 1:
        g = x.shape[1]
        return np.zeros((g, 0)), np.zeros(0), np.ones(g)
    _, sv, vt = np.linalg.svd(resid, full_matrices=False)
    q, eig = vt[:k].T, sv[:k] ** 2
    h = (q**2) @ eig
    u = np.maximum(1.0 - h, UNIQUENESS_FLOOR)
    b = q * np.sqrt(eig) / np.sqrt(u)[:, None]
    small_l, small_v = np.linalg.eigh(b.T @ b)  # B.T B = V L V.T -> P = B V L^-1/2
    keep = small_l > 1e-10
    p = b @ small_v[:, keep] / np.sqrt(small_l[keep])
    c = np.sqrt(1.0 + small_l[keep]) - 1.0
    return p, c, (u + h) / u


@torch.no_grad()
def calibrate_noise(
    decoder: nn.Module,
    x_fit: np.ndarray,
    codes_fit: np.ndarray,
    label_sizes: Sequence[int],
    *,
    n_draws: int = 256,
    seed: int = 0,
    shrink: float = 10.0,
    floor: float = NOISE_FLOOR,
    n_factors: int = N_FACTORS,
) -> NoiseModel:
    """The noise model for ``decoder``'s buffers (see the module docstring).

    ``decoder(z, one_hot)`` is evaluated in eval mode on ``n_draws``
    standard-normal latents per combination (seeded, so the result depends on
    the weights and the data only) and restored to its former mode.
    ``n_factors=0`` gives independent noise per gene.
    """
    n_comb = math.prod(int(s) for s in label_sizes)
    combo = combination_index(codes_fit, label_sizes)
    target = within_combination_variance(x_fit, combo, n_comb, shrink)
    # every combination's codes, row-major like joint_one_hot
    grids = np.stack(
        np.unravel_index(np.arange(n_comb), [int(s) for s in label_sizes]), axis=1
    ).astype(np.int64)
    device = next(decoder.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    was_training = decoder.training
    decoder.eval()
    try:
        mean_var = np.empty_like(target)
        for k in range(n_comb):
            codes = torch.from_numpy(np.repeat(grids[k : k + 1], n_draws, axis=0)).to(device)
            z = torch.randn(n_draws, decoder.n_latent, generator=gen).to(device)
            c = one_hot_conditions(codes, [int(s) for s in label_sizes])
            means = decoder(z, c).double().cpu().numpy()
            mean_var[k] = means.var(axis=0, ddof=1)
    finally:
        decoder.train(was_training)
    noise_var = np.maximum(target - mean_var, floor * target)
    noise_var = np.maximum(noise_var, 1e-8)
    p, c, inflation = noise_factors(x_fit, combo, n_factors)
    pad = n_factors - p.shape[1]  # fixed buffer shape; a zero gain adds nothing
    p = np.pad(p, ((0, 0), (0, pad)))
    c = np.pad(c, (0, pad))
    return NoiseModel(
        torch.from_numpy(np.log(noise_var / inflation[None, :]).astype(np.float32)),
        torch.from_numpy(p.astype(np.float32)),
        torch.from_numpy(c.astype(np.float32)),
    )
