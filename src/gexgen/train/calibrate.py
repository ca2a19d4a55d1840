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
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from gexgen.train.cvae import one_hot_conditions

__all__ = ["calibrate_noise", "combination_index", "within_combination_variance"]

NOISE_FLOOR = 0.05  # the noise keeps at least this share of the target variance


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
) -> torch.Tensor:
    """Log noise variance [n_combinations, n_genes] (float32) for ``decoder``'s noise buffer.

    ``decoder(z, one_hot)`` is evaluated in eval mode on ``n_draws``
    standard-normal latents per combination (seeded, so the result depends on
    the weights and the data only) and restored to its former mode.
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
    return torch.from_numpy(np.log(noise_var).astype(np.float32))
