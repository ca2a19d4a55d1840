"""The one interface every membership-inference attack implements.

An attack is a function::

    score(candidates, candidate_labels, synthetic, synthetic_labels,
          reference, reference_labels, rng) -> np.ndarray

- ``candidates`` (n x genes): the real profiles to judge, members and
  non-members mixed; the attack never learns which is which;
- ``synthetic`` (m x genes): the released synthetic profiles;
- ``reference`` (r x genes): real profiles known NOT to be members (the
  attacker's auxiliary data); attacks that need none ignore it;
- ``*_labels``: one label-combination key per row (e.g. ``"lung|tumor"``, see
  :func:`label_keys`); attacks that need none ignore them;
- ``rng``: a seeded ``numpy.random.Generator`` for any random choice;
- returns one float per candidate: higher = more likely a member.

Every matrix is in the same space (log2(x + 1), standardized per gene with the
training rows' statistics; :mod:`gexgen.metrics.attacks.runner` does that).
Adding an attack is one function in its own module plus one entry in
:data:`gexgen.metrics.attacks.ATTACKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Attack", "AttackFunction", "label_keys"]

AttackFunction = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Attack:
    """One member of the attack family: its name, its function, what it reads."""

    name: str
    score: AttackFunction
    uses_reference: bool  # reads the reference (non-member) profiles
    what: str  # one line for metrics.json and the docs


def label_keys(labels: pd.DataFrame | None, columns: Sequence[str], n: int) -> np.ndarray:
    """One string per row joining its label values (``"lung|tumor"``); ``"(all)"`` without labels.

    Examples
    --------
    >>> label_keys(pd.DataFrame({"t": ["a", "b"], "s": ["x", "y"]}), ["t", "s"], 2).tolist()
    ['a|x', 'b|y']
    """
    if not columns or labels is None:
        return np.full(n, "(all)", dtype=object)
    key = labels[columns[0]].astype(str).to_numpy(dtype=object)
    for column in columns[1:]:
        key = key + "|" + labels[column].astype(str).to_numpy(dtype=object)
    return key
