"""Errors of the object API in Python terms: ``overwrite=True``, not ``--overwrite``.

The library's messages name the command-line options (the CLI is the common
way in). A model method runs the same library code, so its errors are
rewritten on the way out: each option becomes the keyword argument that does
the same in Python. The error type is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from gexgen.errors import GexgenError

__all__ = ["python_terms", "in_python_terms"]

# option -> its keyword argument (longest first, so --synthetic-space is not --space)
_TERMS = {
    "--synthetic-space": "synthetic_space=",
    "--log-scaled": "log_scaled=True",
    "--overwrite": "overwrite=True",
    "--conditions": "conditions=",
    "--condition": "conditions=",
    "--space": "space=",
    "--out": "path",
}
_PATTERN = re.compile("|".join(re.escape(k) + r"(?![\w-])" for k in _TERMS))


def in_python_terms(message: str) -> str:
    """``message`` with the CLI options it names replaced by keyword arguments.

    Examples
    --------
    >>> in_python_terms("'a.onnx' already exists; pass --overwrite to replace it")
    "'a.onnx' already exists; pass overwrite=True to replace it"
    """
    return _PATTERN.sub(lambda m: _TERMS[m.group(0)], message)


@contextmanager
def python_terms() -> Iterator[None]:
    """Re-raise a GexgenError from the block with its message in Python terms."""
    try:
        yield
    except GexgenError as exc:
        text = in_python_terms(str(exc))
        if text == str(exc):
            raise
        raise type(exc)(text) from exc
