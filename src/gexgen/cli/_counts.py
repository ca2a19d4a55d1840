"""Counts on the command line: ``--n 100000``, ``--n 1e5`` and ``--n 100_000`` all mean 100,000."""

from __future__ import annotations

import math

import typer

__all__ = ["count"]


def count(text: str | int) -> int:
    """A whole number of profiles from ``text`` (digits, ``_`` / ``,`` groups, or ``1e5``).

    Examples
    --------
    >>> count("1e5"), count("100_000"), count("2.5e3"), count("1,000")
    (100000, 100000, 2500, 1000)
    """
    if isinstance(text, int):
        return text
    cleaned = str(text).strip().replace("_", "").replace(",", "")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        value = float(cleaned)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value) or abs(value) > 2**62:
        raise typer.BadParameter(
            f"{text!r} is not a whole number; give one such as 100000, 1e5 or 100_000"
        )
    return int(value)
