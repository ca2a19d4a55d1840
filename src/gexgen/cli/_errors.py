"""The one-line error handling shared by all commands (no typer app here)."""

from __future__ import annotations

import errno
import functools
import os
import re
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from gexgen._text import printable
from gexgen.errors import GexgenError

F = TypeVar("F", bound=Callable[..., Any])

_ADVICE = {
    errno.ENOSPC: "the disk is full: free space or write somewhere else",
    errno.EDQUOT: "the disk quota is exceeded: free space or write somewhere else",
    errno.EROFS: "the file system is read-only: choose a writable location",
    errno.EACCES: "permission denied: choose a location you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted: choose a location you can write to",
    errno.EISDIR: "it is a folder: give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder: fix the path",
    errno.ENOENT: "it does not exist: check the path",
    errno.EEXIST: "it already exists: remove it or choose another name",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter path",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n)",
    errno.EIO: "input/output error: check the disk",
}
_ERRNO_IN_TEXT = re.compile(r"errno\s*=?\s*(\d+)", re.IGNORECASE)


def _errno_of(exc: OSError) -> int | None:
    """The errno of an OSError; h5py and pyarrow often give it only in the text."""
    if exc.errno is not None:
        return exc.errno
    found = _ERRNO_IN_TEXT.search(str(exc))
    return int(found.group(1)) if found else None


def os_error_line(exc: OSError) -> str:
    """One line naming the path, what went wrong and what to do.

    Examples
    --------
    >>> os_error_line(OSError(28, "No space left on device", "out.h5ad"))
    "cannot write 'out.h5ad': No space left on device; the disk is full: free space or write somewhere else"
    """  # noqa: E501
    code = _errno_of(exc)
    path = exc.filename
    if code is not None:
        what = os.strerror(code)  # h5py and pyarrow put pages of detail in strerror
    else:
        what = exc.strerror or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    verb = "cannot read" if code == errno.ENOENT else "cannot write"
    where = f"{verb} {str(path)!r}" if path else "a file operation failed"
    if exc.filename2:
        where += f" (to {str(exc.filename2)!r})"
    advice = (
        _ADVICE.get(code, "check the path, its folder and the free space")
        if code
        else ("check the path, its folder and the free space")
    )
    return f"{where}: {what[:300]}; {advice}"


def safe_echo(text: str, err: bool = False) -> None:
    """``typer.echo`` with control characters (terminal escapes) made visible."""
    typer.echo(printable(text, keep_newlines=True), err=err)


def _one_line_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """``Warning: <message>`` on stderr: no source path, no category, no code line."""
    safe_echo(f"Warning: {' '.join(str(message).split())}", err=True)


def user_errors(func: F) -> F:
    """Report GexgenError / ValueError / OSError (disk full, permissions, missing files)
    as one stderr line, exit 1; control characters in the message are made visible."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
                return func(*args, **kwargs)
        except (GexgenError, ValueError) as exc:
            message = str(exc).strip().splitlines() or [type(exc).__name__]
            safe_echo(f"Error: {' '.join(line.strip() for line in message)}", err=True)
            raise typer.Exit(code=1) from None
        except OSError as exc:
            safe_echo(f"Error: {os_error_line(exc)}", err=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]
