"""Is the real cohort given to ``check`` the one the generator was trained on?

The generator records its training cohort's content hash
(``metadata["training"]["data_sha256"]``). A cohort re-split with another seed,
or another cohort altogether, gives another hash: its "test" rows may be
training rows, so gamma can pass above its own ceiling. ``check`` compares the
two and warns (an error with ``strict``).
"""

from __future__ import annotations

import os
from pathlib import Path

from gexgen.errors import GexgenError

__all__ = ["training_data_mismatch", "check_training_data"]


def training_data_mismatch(
    model: str | os.PathLike[str], real: str | os.PathLike[str]
) -> str | None:
    """One line when ``real`` (a cohort .h5ad) differs from the generator's training cohort.

    None when they agree, or when either side records nothing to compare (a
    profile file, a generator without the hash).
    """
    if Path(real).suffix.lower() != ".h5ad":
        return None
    from gexgen.data.cohort import read_cohort
    from gexgen.data.cohort_hash import cohort_sha256
    from gexgen.runtime import GeneratorSession

    with GeneratorSession(model, providers="cpu", threads=1) as session:
        info = session.info
    recorded = (info.metadata.get("training") or {}).get("data_sha256")
    if not recorded:
        return None
    found = cohort_sha256(read_cohort(real))
    if found == recorded:
        return None
    return (
        f"{str(real)!r} is not the cohort the generator was trained on (content sha256 "
        f"{found[:12]}, recorded {str(recorded)[:12]}): its test rows may be training rows, "
        "so the figures may be too good; give the training cohort"
    )


def check_training_data(
    model: str | os.PathLike[str], real: str | os.PathLike[str], strict: bool
) -> list[str]:
    """The warnings for ``check``; with ``strict`` a mismatch raises instead."""
    line = training_data_mismatch(model, real)
    if line and strict:
        raise GexgenError(line + " (--strict)")
    return [line] if line else []
