"""Text cells of a CSV file gexgen writes cannot start a spreadsheet formula.

A gene name or label value starting with ``=``, ``+``, ``-``, ``@`` (or a tab
or carriage return) is written with a leading ``'`` (the OWASP advice against
CSV injection: spreadsheets then show it as text). gexgen's own CSV reader
removes that quote again, so a file round-trips unchanged. Numbers are never
changed (a negative value stays ``-1.5``).
"""

from __future__ import annotations

__all__ = ["FORMULA_STARTS", "defang", "undefang"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defang(text: str) -> str:
    """``text`` as a CSV text cell: a leading ``'`` when it could start a formula.

    Examples
    --------
    >>> defang("=HYPERLINK(1)"), defang("TP53")
    ("'=HYPERLINK(1)", 'TP53')
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def undefang(text: str) -> str:
    """Undo :func:`defang` (only a quote it would have added is removed).

    Examples
    --------
    >>> undefang("'=HYPERLINK(1)"), undefang("'quoted")
    ('=HYPERLINK(1)', "'quoted")
    """
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
