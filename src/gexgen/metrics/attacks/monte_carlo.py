"""Monte Carlo membership inference (Hilprecht et al. 2019).

Score = the share of synthetic profiles within a radius ``eps`` of the
candidate: a generator that overfits puts more of its mass near its training
rows. ``eps`` follows the paper's median heuristic, taken on the reference
profiles (never on the candidates): the median of the reference profiles'
distances to their nearest synthetic profile. Candidates with no synthetic
profile within ``eps`` tie at 0.
"""

from __future__ import annotations

import numpy as np

from gexgen.metrics.nearest import nearest_neighbours

__all__ = ["monte_carlo", "monte_carlo_radius"]

_BLOCK = 1024  # candidates per block of squared distances


def monte_carlo_radius(synthetic: np.ndarray, reference: np.ndarray) -> float:
    """Median distance from a reference profile to its nearest synthetic profile."""
    distance, _ = nearest_neighbours(reference, synthetic)
    return float(np.median(distance))


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def monte_carlo(
    candidates, candidate_labels, synthetic, synthetic_labels, reference, reference_labels, rng
) -> np.ndarray:
    """Share of synthetic profiles within the median-heuristic radius of each candidate."""
    eps = monte_carlo_radius(synthetic, reference)
    centre = synthetic.mean(axis=0)
    a = np.asarray(candidates, dtype=np.float64) - centre
    b = np.asarray(synthetic, dtype=np.float64) - centre
    out = np.empty(len(a))
    for lo in range(0, len(a), _BLOCK):
        out[lo : lo + _BLOCK] = (_squared_distances(a[lo : lo + _BLOCK], b) < eps * eps).mean(1)
    return out
