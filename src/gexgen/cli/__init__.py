"""The ``gexgen`` command line: a thin typer layer over the library.

Each concern registers its commands from its own module; this package only
assembles them and turns user errors into one line on stderr and exit code 1.
"""

from __future__ import annotations

from gexgen.cli._app import app, main

__all__ = ["app", "main"]
