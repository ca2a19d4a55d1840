"""Column names: aligned by name, so a duplicated or empty name is refused on every read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from gexgen.errors import GexgenError

__all__ = ["refuse_duplicate_names"]


def refuse_duplicate_names(names: Iterable[object], where: str, what: str = "column") -> list[str]:
    """Return ``names`` as strings; refuse an empty or a repeated one.

    Examples
    --------
    >>> refuse_duplicate_names(["TP53", "EGFR"], "x.h5ad")
    ['TP53', 'EGFR']
    """
    text = [str(n) for n in names]
    empty = [i for i, n in enumerate(text) if not n.strip()]
    if empty:
        raise GexgenError(
            f"{where}: {what} name {empty[0]} is empty ({len(empty)} empty in all); every "
            f"{what} needs a distinct name: rename it"
        )
    twice = [n for n, k in Counter(text).items() if k > 1]
    if twice:
        raise GexgenError(
            f"{where}: {len(twice)} {what} name(s) appear more than once (e.g. {twice[0]!r}); "
            f"columns are matched by name, so each must be unique: rename or drop the "
            "duplicates (e.g. AnnData.var_names_make_unique())"
        )
    return text
