"""Where differential-privacy noise comes from: a recorded seed, or the OS's secure source.

A DP guarantee assumes the attacker cannot know the noise. Noise drawn from a
seed the attacker knows (the training seed is recorded in the generator file,
and defaults to 0) can be replayed and subtracted: fine for research, where
reproducible runs matter, but not for a release. ``--dp-secure-rng`` draws it
from ``os.urandom`` instead (DP-SGD: Opacus' ``secure_mode``, torchcsprng's
``/dev/urandom`` device; the DP Gaussian: :class:`UrandomNormals`), so no two
runs are alike and nothing in the file lets anyone replay it.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from gexgen.errors import GexgenError

__all__ = ["UrandomNormals", "NOISE_RNG_SECURE", "NOISE_RNG_SEEDED", "SEEDED_NOTE"]
__all__ += ["require_torchcsprng"]

NOISE_RNG_SECURE = "os.urandom (cryptographically secure; not reproducible)"
NOISE_RNG_SEEDED = (
    "reproducible, and replayable by anyone who knows the seed: for research, not a release"
)
SEEDED_NOTE = (
    "note: the DP noise comes from the recorded seed (reproducible, and replayable by anyone "
    "who knows it); for a release, train again with --dp-secure-rng"
)

_TWO_PI = 2.0 * np.pi


def require_torchcsprng() -> None:
    """Refuse ``--dp-secure-rng`` for DP-SGD in one line when torchcsprng is missing."""
    if importlib.util.find_spec("torchcsprng") is None:
        raise GexgenError(
            "--dp-secure-rng needs torchcsprng (Opacus' cryptographically secure noise), "
            "which is not installed: pip install torchcsprng (built for some torch "
            "versions only: https://github.com/pytorch/csprng), or train without it"
        )


class UrandomNormals:
    """Normal draws from ``os.urandom`` bits (Box-Muller on 53-bit uniforms in (0, 1]).

    Only ``normal(loc, scale, size)``, the one method the DP Gaussian's noise uses.

    Examples
    --------
    >>> UrandomNormals().normal(0.0, 1.0, (2, 3)).shape
    (2, 3)
    """

    def _uniform(self, n: int) -> np.ndarray:
        bits = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) >> np.uint64(11)
        return (bits.astype(np.float64) + 1.0) / 2.0**53  # (0, 1]: log() stays finite

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: int | tuple = 1) -> np.ndarray:
        shape = (size,) if isinstance(size, int) else tuple(size)
        n = int(np.prod(shape))
        pairs = (n + 1) // 2
        u1, u2 = self._uniform(pairs), self._uniform(pairs)
        radius = np.sqrt(-2.0 * np.log(u1))
        z = np.concatenate([radius * np.cos(_TWO_PI * u2), radius * np.sin(_TWO_PI * u2)])
        return loc + scale * z[:n].reshape(shape)
