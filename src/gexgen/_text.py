"""Make text that came from a file safe to print on a terminal."""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls (ESC, BEL, CR, backspace ...), DEL and the C1 controls (incl. the
# 8-bit CSI \x9b), the bidirectional overrides that reorder what is shown, and
# the invisible characters that make two different values print alike (soft
# hyphen, zero-width space/joiners, direction marks, word joiner, BOM, tags)
_INVISIBLE = "\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
_CONTROL_KEEP_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


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
