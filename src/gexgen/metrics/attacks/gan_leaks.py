"""GAN-Leaks (Chen et al. 2020): distance to the nearest synthetic profile, and its calibration.

``gan_leaks``: score = minus the Euclidean distance from the candidate to its
nearest synthetic profile (a training row the generator reproduced sits
closest). This is the attack behind ``privacy.mia_auc``.

``calibrated_gan_leaks``: score = distance to the nearest *reference* profile
minus distance to the nearest synthetic profile: a candidate in a dense region
is close to everything, so its synthetic distance is read against its
distance to real non-members.
"""

from __future__ import annotations

import numpy as np

from gexgen.metrics.nearest import nearest_neighbours

__all__ = ["gan_leaks", "calibrated_gan_leaks"]


def gan_leaks(
    candidates, candidate_labels, synthetic, synthetic_labels, reference, reference_labels, rng
) -> np.ndarray:
    """Minus the distance to the nearest synthetic profile (see the module docstring)."""
    distance, _ = nearest_neighbours(candidates, synthetic)
    return -distance


def calibrated_gan_leaks(
    candidates, candidate_labels, synthetic, synthetic_labels, reference, reference_labels, rng
) -> np.ndarray:
    """Nearest-reference distance minus nearest-synthetic distance."""
    to_synthetic, _ = nearest_neighbours(candidates, synthetic)
    to_reference, _ = nearest_neighbours(candidates, reference)
    return to_reference - to_synthetic
