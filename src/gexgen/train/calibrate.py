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

The centre is calibrated too. Under the prior ``z ~ N(0, I)`` a trained
decoder's average output per combination drifts from the real mean (the
aggregate posterior is not the prior); a linear classifier sees such a shift
in every gene at once. The generator therefore adds a per-combination offset
(standardized units, ``eps`` or not)::

    offset[k] = real_mean[k] - mean_of_decoded_means[k]     (n_k >= MIN_OFFSET_ROWS)
    offset[k] = global = the same difference over all fitted rows   (otherwise)

A combination with fewer than ``MIN_OFFSET_ROWS`` fitted rows (or none) gets
the global offset only, so no offset follows one or two patients. (An
empirical-Bayes shrinkage of each combination's offset towards the global one
was tried: it pulled the rare tissues back towards their neighbours and cost
train-on-synthetic accuracy, 0.92 against 0.94, with no privacy gain.)

"Fitted rows" here are the rows passed in: the trainer passes every row of the
training split (fitted and validation) once the epoch is chosen, the fitted
rows only under DP and in the selection probe (which scores the validation rows).
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
    "CALIBRATION",
    "NoiseModel",
    "calibrate_noise",
    "combination_index",
    "decoded_moments",
    "explained_rows",
    "mean_offset",
    "noise_factors",
    "within_combination_variance",
]

NOISE_FLOOR = 0.05  # the noise keeps at least this share of the target variance
N_FACTORS = 32  # principal directions of the within-combination correlation kept
UNIQUENESS_FLOOR = 0.05  # each gene keeps at least this share of independent noise
MIN_OFFSET_ROWS = 5  # a combination needs this many fitted rows for an offset of its own
N_DRAWS = 2048  # prior draws per combination for the decoded means' mean and variance
CALIBRATION = (  # what checkpoints and generator metadata record of this module's model
    f"centre: offset per label combination (>= {MIN_OFFSET_ROWS} calibration rows, else global); "
    f"noise: variance per combination and gene, correlation of what the decoder leaves "
    f"out ({N_FACTORS} factors); {N_DRAWS} prior draws per combination"
)
EXPLAINED_DRAWS = 128  # of them, per combination, for the decoded means' covariance


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


def _centred(x: np.ndarray, combo: np.ndarray) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """``x`` (as float64) minus its combination's mean, row by row, and the mean of
    each combination present."""
    x = np.asarray(x, dtype=np.float64)
    resid = np.empty_like(x)
    means = {}
    for k in np.unique(combo):
        rows = combo == k
        means[int(k)] = x[rows].mean(axis=0)
        resid[rows] = x[rows] - means[int(k)]
    return resid, means


def within_combination_variance(
    x: np.ndarray, combo: np.ndarray, n_combinations: int, shrink: float = 10.0
) -> np.ndarray:
    """Shrunk within-combination variance [n_combinations, n_genes] (float64).

    ``((n_k - 1) * s2_k + shrink * s2_pooled) / ((n_k - 1) + shrink)`` with
    ``s2_k`` the unbiased variance of combination ``k`` and ``s2_pooled`` the
    pooled within-combination variance; an empty combination gets ``s2_pooled``.
    """
    resid, means = _centred(x, combo)
    ss = np.zeros((n_combinations, resid.shape[1]))
    dof = np.zeros(n_combinations)
    for k in means:
        rows = resid[combo == k]
        dof[k] = len(rows) - 1
        if len(rows) > 1:
            ss[k] = (rows**2).sum(axis=0)
    pooled = ss.sum(axis=0) / max(dof.sum(), 1.0)
    return (ss + shrink * pooled) / (np.maximum(dof, 0)[:, None] + shrink)


class NoiseModel(NamedTuple):
    """The generator's observation noise: per-combination scales and shared factors."""

    logvar: torch.Tensor  # float32 [n_combinations, n_genes]: log of the per-gene scale^2
    factors: torch.Tensor  # float32 [n_genes, k]: orthonormal directions P
    gains: torch.Tensor  # float32 [k]: C = sqrt(1 + eigenvalue) - 1
    offset: torch.Tensor  # float32 [n_combinations, n_genes]: added to the decoder mean

    def decoder_state(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """The decoder buffers this model fills, as ``model_state`` entries."""
        return {
            "decoder.noise_logvar": self.logvar.to(device),
            "decoder.noise_factors": self.factors.to(device),
            "decoder.noise_gains": self.gains.to(device),
            "decoder.noise_offset": self.offset.to(device),
        }


def noise_factors(
    x: np.ndarray,
    combo: np.ndarray,
    n_factors: int = N_FACTORS,
    explained: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P [g, k], C [k], inflation [g]) of the noise's correlation model.

    The residuals of ``x`` around their combination means give the pooled
    within-combination covariance ``Sw``. ``explained`` (rows whose Gram matrix
    ``E.T @ E`` is the part of it the decoder already produces: the pooled
    within-combination covariance of its decoded means) is subtracted, so the
    noise carries only the rest, ``R = Sw - E.T E``. ``R`` scaled to unit
    diagonal (floored at ``NOISE_FLOOR`` of ``Sw``'s) is modelled as
    ``Q G Q.T + diag(u)`` (top-k eigenvectors ``Q`` with positive eigenvalues
    ``G``, ``u = max(1 - h, floor)`` with ``h = (Q**2) @ G``). Written as
    ``D (I + B B.T) D`` with ``D = diag(sqrt(u))``, ``B = D^-1 Q sqrt(G)``, its
    square root factor is ``I + P diag(C) P.T`` with ``B B.T = P diag(L) P.T``
    and ``C = sqrt(1 + L) - 1``. ``inflation = (u + h) / u`` is the variance
    ``y`` has per gene before scaling.
    """
    resid, means = _centred(x, combo)
    dof = max(len(resid) - len(means), 1)
    resid /= np.sqrt(dof)  # Sw = resid.T @ resid
    sw = (resid**2).sum(axis=0)
    e = np.zeros((0, resid.shape[1])) if explained is None else np.asarray(explained, np.float64)
    r_diag = np.maximum(sw - (e**2).sum(axis=0), NOISE_FLOOR * sw)
    scale = np.sqrt(np.where(r_diag > 0, r_diag, 1.0))
    a, b = resid / scale, e / scale  # R / sqrt(r r.T) = a.T a - b.T b
    k = int(min(n_factors, resid.shape[1] - 1, len(a) + len(b) - 1))
    if k < 1:
        g = resid.shape[1]
        return np.zeros((g, 0)), np.zeros(0), np.ones(g)
    q, eig = _top_eigen(a, b, k)
    h = (q**2) @ eig
    u = np.maximum(1.0 - h, UNIQUENESS_FLOOR)
    b = q * np.sqrt(eig) / np.sqrt(u)[:, None]
    small_l, small_v = np.linalg.eigh(b.T @ b)  # B.T B = V L V.T -> P = B V L^-1/2
    keep = small_l > 1e-10
    p = b @ small_v[:, keep] / np.sqrt(small_l[keep])
    c = np.sqrt(1.0 + small_l[keep]) - 1.0
    return p, c, (u + h) / u


_DENSE_GENES = 4096  # up to this many genes the g x g matrix is formed; above, Lanczos


def _top_eigen(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The (at most) ``k`` largest positive eigenpairs of ``a.T a - b.T b``: (vectors, values)."""
    g = a.shape[1]
    if g <= _DENSE_GENES:
        values, vectors = np.linalg.eigh(a.T @ a - b.T @ b)
        order = np.argsort(values)[::-1][:k]
    else:
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((g, g), matvec=lambda v: a.T @ (a @ v) - b.T @ (b @ v), dtype=float)
        values, vectors = eigsh(op, k=k, which="LA", v0=np.ones(g), tol=1e-6)
        order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    positive = values > 1e-10
    return vectors[:, positive], values[positive]


def mean_offset(
    x: np.ndarray,
    combo: np.ndarray,
    decoded_mean: np.ndarray,
    min_rows: int = MIN_OFFSET_ROWS,
) -> np.ndarray:
    """Per-combination offset [n_combinations, n_genes] (see the module docstring).

    ``decoded_mean`` [n_combinations, n_genes] is the mean of the decoder's
    outputs over prior draws for each combination.
    """
    counts = np.bincount(combo, minlength=decoded_mean.shape[0])
    delta = np.zeros_like(decoded_mean, dtype=np.float64)
    for k, mean in _centred(x, combo)[1].items():
        delta[k] = mean - decoded_mean[k]
    glob = (counts[:, None] * delta).sum(axis=0) / max(counts.sum(), 1)
    own = counts >= max(int(min_rows), 1)
    return np.where(own[:, None], delta, glob[None, :])


@torch.no_grad()
def decoded_moments(
    decoder: nn.Module,
    label_sizes: Sequence[int],
    n_draws: int = N_DRAWS,
    seed: int = 0,
    batch: int = 512,
    keep: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and unbiased variance [n_combinations, n_genes] (float64) of
    ``decoder(z, one_hot)`` over ``n_draws`` seeded prior draws per combination,
    in eval mode (the decoder's mode is restored), and the first ``keep`` draws
    of each combination centred on its mean [n_combinations, keep, n_genes]."""
    sizes = [int(s) for s in label_sizes]
    n_comb = math.prod(sizes)
    grids = np.stack(np.unravel_index(np.arange(n_comb), sizes), axis=1).astype(np.int64)
    device = next(decoder.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    mean = np.zeros((n_comb, decoder.n_genes))
    var = np.zeros((n_comb, decoder.n_genes))
    kept = np.zeros((n_comb, min(keep, n_draws), decoder.n_genes))
    was_training = decoder.training
    decoder.eval()
    try:
        for k in range(n_comb):
            total = np.zeros(decoder.n_genes)
            square = np.zeros(decoder.n_genes)
            for lo in range(0, n_draws, batch):
                rows = min(batch, n_draws - lo)
                codes = torch.from_numpy(np.repeat(grids[k : k + 1], rows, axis=0)).to(device)
                z = torch.randn(rows, decoder.n_latent, generator=gen).to(device)
                out = decoder(z, one_hot_conditions(codes, sizes)).double().cpu().numpy()
                total += out.sum(axis=0)
                square += (out * out).sum(axis=0)
                if lo < kept.shape[1]:
                    kept[k, lo : lo + rows] = out[: kept.shape[1] - lo]
            mean[k] = total / n_draws
            kept[k] -= mean[k]
            var[k] = np.maximum(square - n_draws * mean[k] ** 2, 0.0) / max(n_draws - 1, 1)
    finally:
        decoder.train(was_training)
    return mean, var, kept


def explained_rows(centred: np.ndarray, combo: np.ndarray, n_fit: int) -> np.ndarray:
    """Rows whose Gram matrix is the pooled within-combination covariance of the
    decoded means: combination ``k``'s centred draws weighted by its share of the
    fitted rows (see :func:`noise_factors`)."""
    counts = np.bincount(combo, minlength=len(centred))
    seen = np.flatnonzero(counts)
    m = centred.shape[1]
    if m < 2:
        return np.zeros((0, centred.shape[2]))
    dof = max(n_fit - len(seen), 1)
    return np.concatenate([centred[k] * np.sqrt(counts[k] / ((m - 1) * dof)) for k in seen])


@torch.no_grad()
def calibrate_noise(
    decoder: nn.Module,
    x_fit: np.ndarray,
    codes_fit: np.ndarray,
    label_sizes: Sequence[int],
    *,
    n_draws: int = N_DRAWS,
    seed: int = 0,
    shrink: float = 10.0,
    floor: float = NOISE_FLOOR,
    n_factors: int = N_FACTORS,
    min_offset_rows: int = MIN_OFFSET_ROWS,
) -> NoiseModel:
    """The noise model for ``decoder``'s buffers (see the module docstring).

    ``decoder(z, one_hot)`` is evaluated in eval mode on ``n_draws``
    standard-normal latents per combination (seeded, so the result depends on
    the weights and the data only) and restored to its former mode.
    ``n_factors=0`` gives independent noise per gene. ``min_offset_rows`` above
    the number of fitted rows gives every combination the global offset only.
    """
    n_comb = math.prod(int(s) for s in label_sizes)
    combo = combination_index(codes_fit, label_sizes)
    target = within_combination_variance(x_fit, combo, n_comb, shrink)
    decoded_mean, mean_var, centred = decoded_moments(
        decoder, label_sizes, n_draws, seed, keep=EXPLAINED_DRAWS
    )
    noise_var = np.maximum(target - mean_var, floor * target)
    noise_var = np.maximum(noise_var, 1e-8)
    explained = explained_rows(centred, combo, len(x_fit))
    p, c, inflation = noise_factors(x_fit, combo, n_factors, explained)
    pad = n_factors - p.shape[1]  # fixed buffer shape; a zero gain adds nothing
    p = np.pad(p, ((0, 0), (0, pad)))
    c = np.pad(c, (0, pad))
    return NoiseModel(
        torch.from_numpy(np.log(noise_var / inflation[None, :]).astype(np.float32)),
        torch.from_numpy(p.astype(np.float32)),
        torch.from_numpy(c.astype(np.float32)),
        torch.from_numpy(
            mean_offset(x_fit, combo, decoded_mean, min_offset_rows).astype(np.float32)
        ),
    )
