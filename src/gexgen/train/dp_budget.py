"""A privacy budget split over several Gaussian mechanisms, accounted by Google's dp-accounting.

Each released part ``i`` gets a share ``w_i`` of the budget (shares sum to 1)
and the noise multiplier ``sigma / sqrt(w_i)``: the composition of Gaussian
mechanisms with multipliers ``sigma_i`` is exactly one Gaussian mechanism with
``1 / sigma^2 = sum_i 1 / sigma_i^2``, so a share is the part's fraction of
that total. ``sigma`` is calibrated with the PLD accountant of ``dp-accounting``
(the ``dp`` extra) so that the composed release spends ``epsilon`` at ``delta``:
the single Gaussian's ``sigma`` comes from its exact (analytic) privacy curve
(``get_sigma_gaussian``), and :func:`epsilon_spent` recomputes the epsilon of
the composed parts with the PLD accountant.
A noise multiplier is the noise sd divided by the part's L2 sensitivity; the
sensitivities here are for neighbouring cohorts that differ in one replaced
training row, for which the Gaussian mechanism's privacy curve is the same as
for one added or removed row at the same sensitivity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gexgen.errors import GexgenError

__all__ = [
    "ACCOUNTANT",
    "calibrate_noise",
    "epsilon_spent",
    "default_delta",
    "refuse_private_gene_selection",
]

ACCOUNTANT = "dp-accounting PLD (privacy loss distribution), composed Gaussian mechanisms"


def _dp_accounting() -> Any:
    try:
        import dp_accounting
    except ImportError as exc:
        raise GexgenError(
            "DP accounting needs Google's dp-accounting, which is not installed; "
            "install the extra: pip install 'gexgen[dp]'"
        ) from exc
    return dp_accounting


def default_delta(n_train: int) -> float:
    """``1 / (10 n)``: well below 1/n.

    Examples
    --------
    >>> default_delta(1000)
    0.0001
    """
    return 1.0 / (10.0 * float(n_train))


def _check_shares(shares: Mapping[str, float]) -> dict[str, float]:
    if not shares or any(not (w > 0 and math.isfinite(w)) for w in shares.values()):
        raise GexgenError(f"budget shares must be positive numbers, got {dict(shares)}")
    total = float(sum(shares.values()))
    return {name: float(w) / total for name, w in shares.items()}


def _event(multipliers: Mapping[str, float]) -> Any:
    dpa = _dp_accounting()
    return dpa.ComposedDpEvent([dpa.GaussianDpEvent(float(s)) for s in multipliers.values()])


def epsilon_spent(multipliers: Mapping[str, float], delta: float) -> float:
    """Epsilon at ``delta`` of the composed Gaussian mechanisms (PLD accountant)."""
    dpa = _dp_accounting()
    sigma = 1.0 / math.sqrt(sum(1.0 / float(s) ** 2 for s in multipliers.values()))
    # the PLD's grid of loss values: finer than 1e-4 of the epsilon a single Gaussian gives
    rough = float(dpa.get_epsilon_gaussian(sigma, delta))
    accountant = dpa.pld.PLDAccountant(value_discretization_interval=max(rough, 1.0) * 1e-4)
    accountant.compose(_event(multipliers))
    return float(accountant.get_epsilon(delta))


def calibrate_noise(shares: Mapping[str, float], epsilon: float, delta: float) -> dict[str, float]:
    """Noise multiplier of each part so that the whole release spends ``epsilon`` at ``delta``.

    Examples
    --------
    >>> m = calibrate_noise({"a": 0.5, "b": 0.5}, 10.0, 1e-5)  # doctest: +SKIP
    >>> round(m["a"] / m["b"], 6)  # doctest: +SKIP
    1.0
    """
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise GexgenError(f"epsilon must be > 0 and finite, got {epsilon}")
    if not 0 < delta < 1:
        raise GexgenError(f"delta must be in (0, 1), got {delta}")
    weights = _check_shares(shares)
    dpa = _dp_accounting()

    def multipliers(sigma: float) -> dict[str, float]:
        return {name: sigma / math.sqrt(w) for name, w in weights.items()}

    sigma = float(dpa.get_sigma_gaussian(float(epsilon), float(delta)))
    return multipliers(sigma)


def refuse_private_gene_selection(adata: Any) -> None:
    """A gene panel chosen on the training rows (``top-variable:N``) is not covered by DP."""
    genes = str(adata.uns.get("gexgen", {}).get("genes", ""))
    if genes.startswith("top-variable"):
        raise GexgenError(
            f"the cohort's genes were selected on its training rows ({genes}), which DP does not "
            "cover; build the cohort with a public panel (gexgen data --genes l1000 or all)"
        )
