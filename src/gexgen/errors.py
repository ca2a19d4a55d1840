"""The project's own exception: a user mistake the CLI reports in one line."""

from __future__ import annotations

__all__ = ["GexgenError"]


class GexgenError(ValueError):
    """Bad input or state that the user can fix; the message says how.

    The CLI prints it as one line on stderr and exits with code 1.
    """
