"""The one-line error and warning handling shared by all commands (no typer app here)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from gexgen.errors import GexgenError

F = TypeVar("F", bound=Callable[..., Any])


def _one_line_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """``Warning: <message>`` on stderr: no source path, no category, no code line."""
    text = " ".join(str(message).split())
    typer.echo(f"Warning: {text}", err=True)


def user_errors(func: F) -> F:
    """Report GexgenError / ValueError / FileNotFoundError as one stderr line, exit 1;
    print warnings raised during the command as one ``Warning: ...`` line each."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
                return func(*args, **kwargs)
        except (GexgenError, ValueError, FileNotFoundError) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]
