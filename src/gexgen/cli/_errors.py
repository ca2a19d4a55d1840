"""The one-line error handling shared by all commands (no typer app here)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from gexgen.errors import GexgenError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Report GexgenError / ValueError / FileNotFoundError as one stderr line, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (GexgenError, ValueError, FileNotFoundError) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]
