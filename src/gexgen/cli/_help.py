"""Help-text fix: no ``<bool>`` type column beside on/off flags.

typer (0.29) prints the type ``<bool>`` beside every flag (``--progress /
--no-progress``, ``--json``, even ``--help``), where there is no value to type.
A flag's type column is left empty here; every other option keeps its type.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

_display_type_rich = getattr(TyperOption, "display_type_rich", None)


def _flag_has_no_type(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag and self.metavar is None:
        return None
    return _display_type_rich(self, ctx)  # type: ignore[misc]


def hide_flag_types() -> None:
    """Install the fix (idempotent; typer before 0.29 has no type column to fix)."""
    if _display_type_rich is not None:
        TyperOption.display_type_rich = _flag_has_no_type  # type: ignore[method-assign]
