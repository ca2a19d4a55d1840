"""Make text that came from a file safe to print on a terminal."""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls (ESC, BEL, CR, backspace ...), DEL and the C1 controls (incl. the
# 8-bit CSI \x9b), plus the bidirectional overrides that reorder what is shown
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, keep_newlines: bool = False) -> str:
    """``str(text)`` with control characters shown as ``\\xNN`` escapes.

    Terminal escape sequences (clear screen, window title, hyperlinks) are
    thus printed, never interpreted. ``keep_newlines`` keeps ``\\n`` and ``\\t``
    (text that gexgen laid out itself).

    Examples
    --------
    >>> printable("lung\\x1b[2J")
    'lung\\\\x1b[2J'
    """
    pattern = _CONTROL_KEEP_LINES if keep_newlines else _CONTROL
    return pattern.sub(_escape, str(text))
