"""A differentially private class-conditional low-rank Gaussian (numpy only).

Every number of the fitted model is a function of five noisy releases of the
training rows (log2(x + 1) values, first clipped to ``[0, clip_value]``), each
a Gaussian mechanism with its L2 sensitivity for two cohorts that differ in
one replaced row (``n_train`` is public):

``centre``         per-gene sum of ``clip(x - clip_value / 2, centre_clip)``
                   (row-norm clipping), sensitivity ``2 * centre_clip``;
``counts``         rows per label combination, sensitivity ``sqrt(2)``;
``class_sums``     per-combination sums of ``y = clip(x - centre, row_clip)``,
                   sensitivity ``2 * row_clip``;
``second_moment``  upper triangle of ``sum y y^T``, sensitivity
                   ``sqrt(2) * row_clip^2``;
``residual``       per-gene sum of ``|r|``, ``r`` the part of a row's deviation
                   from its combination's mean outside the top factors, clipped
                   to norm ``residual_clip``: sensitivity ``sqrt(2) * residual_clip``
                   (``psi`` = pi/2 x the squared mean absolute residual: a Gaussian's).

Everything after that is post-processing of released values (it costs no
budget): the rank ``k`` is the number of eigenvalues of the noisy second
moment above the noise's spectral edge (at most ``max_rank``), each kept
eigenvalue is de-biased for the noise (spiked Wigner model), combination means
are projected on the top factors with the remainder shrunk by its
signal-to-noise ratio (James-Stein), and the within-combination covariance inside the factors
is the second moment less the between-combination part. The generator is

    log2(x + 1) = centre + mean[c] + W z + sqrt(psi) * eps,

``z`` ~ N(0, I_k), ``eps`` ~ N(0, I_genes). With a huge epsilon (noise -> 0)
and clipping bounds above every row's norm, it is the plain (non-DP) low-rank
Gaussian of the training rows: :func:`low_rank_statistics` without noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gexgen.errors import GexgenError
from gexgen.train.dp_budget import ACCOUNTANT, calibrate_noise, default_delta, epsilon_spent
from gexgen.train.dp_noise import NOISE_RNG_SECURE, NOISE_RNG_SEEDED, UrandomNormals

__all__ = ["DPGaussianConfig", "DPGaussianFit", "PART_FIELDS", "fit_dp_gaussian"]

# Budget shares (fractions of the total); the second moment needs most.
DEFAULT_SHARES = {
    "centre": 0.05,
    "counts": 0.02,
    "class_sums": 0.22,
    "second_moment": 0.65,
    "residual": 0.06,
}
# What each released part determines in the generator file: metadata paths and graph tensors.
_MEANS, _FACTORS, _NOISE = (
    "graph:decoder.combination_means",
    "graph:decoder.factors",
    "graph:noise_scale",
)
PART_FIELDS = {
    "centre": ["scaler.mean", "graph:mean", _MEANS, _FACTORS, _NOISE],
    "counts": ["combinations", "labels[].counts", _MEANS, _FACTORS, _NOISE],
    "class_sums": [_MEANS, _FACTORS, _NOISE],
    "second_moment": [
        "n_latent",
        "model_config.n_latent",
        "training.privacy.rank",
        _MEANS,
        _FACTORS,
        _NOISE,
    ],
    "residual": [_NOISE],
}


@dataclass(frozen=True)
class DPGaussianConfig:
    """Settings of a DP low-rank Gaussian (all public: none is read from the data).

    Examples
    --------
    >>> DPGaussianConfig(epsilon=10.0).max_rank
    32
    """

    epsilon: float | None = 10.0  # total budget; None = no DP (the plain low-rank Gaussian)
    delta: float | None = None  # default 1 / (10 n_train)
    clip_value: float = 20.0  # log2(x + 1) values clipped to [0, clip_value]
    centre_clip: float = 80.0  # row-norm bound around clip_value / 2 for the centre
    row_clip: float = 30.0  # row-norm bound of deviations from the centre
    residual_clip: float = 30.0  # row-norm bound of the residual outside the factors
    max_rank: int = 32  # most latent factors kept
    # a combination mean's part outside its basis: > 0 soft-thresholded at this many noise
    # sds per entry; 0 shrunk as a whole by its signal-to-noise ratio (James-Stein)
    mean_threshold: float = 0.0
    # eigenvectors of the second moment the combination means are projected on (0: the k
    # factors' own; more keeps more class signal and more noise)
    mean_rank: int = 0
    seed: int = 0  # seeds the DP noise (recorded: reproducible, replayable)
    secure_rng: bool = False  # noise from os.urandom instead of seed (for a release)
    # the per-combination counts are declared public (the study design): released exactly,
    # no budget spent on them (their share goes to the other parts)
    public_counts: bool = False
    shares: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))

    def __post_init__(self) -> None:
        problems = []
        if self.epsilon is not None and not (self.epsilon > 0 and math.isfinite(self.epsilon)):
            problems.append(f"epsilon must be > 0 and finite, got {self.epsilon}")
        if self.delta is not None and not 0 < self.delta < 1:
            problems.append(f"delta must be in (0, 1), got {self.delta}")
        for name in ("clip_value", "centre_clip", "row_clip", "residual_clip"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                problems.append(f"{name} must be > 0 and finite, got {value}")
        if (
            not self.mean_threshold >= 0
            or int(self.mean_rank) != self.mean_rank
            or self.mean_rank < 0
        ):
            problems.append(
                f"mean_threshold must be >= 0 and mean_rank a whole number >= 0, got "
                f"{self.mean_threshold}, {self.mean_rank}"
            )
        if int(self.max_rank) != self.max_rank or self.max_rank < 1:
            problems.append(f"max_rank must be a positive integer, got {self.max_rank}")
        if set(self.shares) != set(DEFAULT_SHARES) or any(
            not (w > 0 and math.isfinite(w)) for w in self.shares.values()
        ):
            problems.append(
                f"shares must give a positive number to each of {sorted(DEFAULT_SHARES)}, "
                f"got {self.shares}"
            )
        if problems:
            raise GexgenError("invalid dp-gaussian config: " + "; ".join(problems))


@dataclass
class DPGaussianFit:
    """The released model: ``centre + means[c] + factors @ z + sqrt(psi) * eps``."""

    centre: np.ndarray  # [n_genes] log2
    means: np.ndarray  # [n_combinations, n_genes] offsets from the centre
    factors: np.ndarray  # [n_genes, k]
    psi: np.ndarray  # [n_genes] residual variances
    counts: np.ndarray  # [n_combinations] noisy counts (floats)
    privacy: dict[str, Any] | None  # the accounting record (None without DP)


def _clip_rows(y: np.ndarray, bound: float) -> np.ndarray:
    norms = np.linalg.norm(y, axis=1, keepdims=True)
    return y * np.minimum(1.0, bound / np.maximum(norms, 1e-300))


def _symmetric_noise(rng: np.random.Generator, sd: float, size: int) -> np.ndarray:
    upper = np.triu(rng.normal(0.0, sd, (size, size)))
    return upper + np.triu(upper, 1).T


def fit_dp_gaussian(
    x_log2: np.ndarray, combination: np.ndarray, n_combinations: int, config: DPGaussianConfig
) -> DPGaussianFit:
    """Release the DP sufficient statistics and derive the generator's parameters.

    Parameters
    ----------
    x_log2
        [n, n_genes] training rows in log2(x + 1) space.
    combination
        [n] index of each row's label combination in ``range(n_combinations)``.
    """
    x = np.clip(np.asarray(x_log2, dtype=np.float64), 0.0, config.clip_value)
    combination = np.asarray(combination, dtype=np.int64)
    n, d = x.shape
    if len(combination) != n or n < 2:
        raise GexgenError(f"need >= 2 rows with one combination each, got {n} rows")
    sensitivity = {
        "centre": 2.0 * config.centre_clip,
        "counts": math.sqrt(2.0),
        "class_sums": 2.0 * config.row_clip,
        "second_moment": math.sqrt(2.0) * config.row_clip**2,
        "residual": math.sqrt(2.0) * config.residual_clip,
    }
    if config.epsilon is None:
        multipliers = dict.fromkeys(sensitivity, 0.0)
        delta = None
    else:
        delta = float(config.delta or default_delta(n))
        shares = {
            k: w for k, w in config.shares.items() if k != "counts" or not config.public_counts
        }
        multipliers = calibrate_noise(shares, config.epsilon, delta)
    sd = {name: multipliers.get(name, 0.0) * sensitivity[name] for name in sensitivity}
    rng = UrandomNormals() if config.secure_rng else np.random.default_rng(config.seed)

    def noisy(name: str, value: np.ndarray) -> np.ndarray:
        return value + rng.normal(0.0, sd[name], value.shape) if sd[name] > 0 else value

    half = config.clip_value / 2.0
    centre = half + noisy("centre", _clip_rows(x - half, config.centre_clip).sum(0)) / n
    counts = noisy("counts", np.bincount(combination, minlength=n_combinations).astype(float))
    y = _clip_rows(x - centre, config.row_clip)
    sums = np.zeros((n_combinations, d))
    np.add.at(sums, combination, y)
    sums = noisy("class_sums", sums)
    moment = y.T @ y
    if sd["second_moment"] > 0:
        moment = moment + _symmetric_noise(rng, sd["second_moment"], d)

    # ---- post-processing of the released values from here on
    divisor = np.maximum(counts, max(2.0, 2.0 * sd["counts"]))
    raw_means = sums / divisor[:, None]
    eigenvalues, vectors = np.linalg.eigh(moment / n)
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
    edge = 2.0 * sd["second_moment"] / n * math.sqrt(d)  # the noise's spectral edge
    k = int(min(config.max_rank, max(1, int(np.sum(eigenvalues > edge)))))
    # combination means: on the top `mean_rank` eigenvectors (at least k), where the class
    # signal lives and the noise of d genes shrinks to that many dimensions; outside them,
    # only entries that stand out of the noise (soft threshold)
    mean_basis = vectors[:, : max(k, min(config.mean_rank, d))]
    vectors = vectors[:, :k]
    spikes = eigenvalues[:k]
    if edge > 0:  # spiked Wigner: observed = l + edge^2 / (4 l) above the edge
        spikes = (spikes + np.sqrt(np.maximum(spikes**2 - edge**2, 0.0))) / 2.0
    projected = raw_means @ mean_basis
    outside = raw_means - projected @ mean_basis.T
    if config.mean_threshold > 0:
        threshold = config.mean_threshold * (sd["class_sums"] / divisor)[:, None]
        outside = np.sign(outside) * np.maximum(np.abs(outside) - threshold, 0.0)
    else:  # James-Stein: shrink each combination's remainder by its signal-to-noise ratio
        noise_power = (d - mean_basis.shape[1]) * (sd["class_sums"] / divisor) ** 2
        power = np.maximum(np.sum(outside**2, axis=1), 1e-300)
        outside = np.clip(1.0 - noise_power / power, 0.0, 1.0)[:, None] * outside
    means = projected @ mean_basis.T + outside
    inside = means @ vectors
    weights = np.maximum(counts, 0.0) / max(float(np.maximum(counts, 0.0).sum()), 1e-300)
    between = (inside * weights[:, None]).T @ inside
    within = np.diag(spikes) - between
    w_values, w_vectors = np.linalg.eigh((within + within.T) / 2.0)
    factors = vectors @ (w_vectors * np.sqrt(np.maximum(w_values, 0.0)))

    deviation = y - means[combination]
    residual = _clip_rows(deviation - (deviation @ vectors) @ vectors.T, config.residual_clip)
    # mean absolute residual per gene (sensitivity linear in the bound), Gaussian scale
    spread = noisy("residual", np.sum(np.abs(residual), axis=0)) / n
    floor = 0.1 * max(float(np.mean(spread)), 1e-6)
    psi = (math.pi / 2.0) * np.maximum(spread, floor) ** 2

    privacy = None
    if config.epsilon is not None:
        assert delta is not None
        total = 1.0 / sum(1.0 / multipliers[p] ** 2 for p in multipliers)
        privacy = {
            "mechanism": "DP low-rank Gaussian: Gaussian mechanisms on sufficient statistics",
            "dp_epsilon": float(config.epsilon),
            "dp_delta": delta,
            "epsilon_spent": epsilon_spent(multipliers, delta),
            "accountant": ACCOUNTANT,
            "neighbouring": "replace one training row (n_train public)",
            "covers": "every data-dependent number in the file (see parts)",
            "public": "genes, label vocabularies, n_train, clipping bounds, budget shares"
            + (", per-combination counts (declared public)" if config.public_counts else ""),
            "parts": [
                {
                    "name": name,
                    "share": (1.0 / multipliers[name] ** 2) / (1.0 / total),
                    "noise_multiplier": multipliers[name],
                    "sensitivity": sensitivity[name],
                    "noise_sd": sd[name],
                    "determines": PART_FIELDS[name],
                }
                for name in multipliers
            ],
            "clipping": {
                "clip_value": config.clip_value,
                "centre_clip": config.centre_clip,
                "row_clip": config.row_clip,
                "residual_clip": config.residual_clip,
            },
            "rank": k,
            **(
                {"noise_rng": NOISE_RNG_SECURE}
                if config.secure_rng
                else {
                    "noise_seed": int(config.seed),
                    "noise_rng": f"numpy default_rng({int(config.seed)}): " + NOISE_RNG_SEEDED,
                }
            ),
        }
    return DPGaussianFit(centre, means, factors, psi, counts, privacy)
