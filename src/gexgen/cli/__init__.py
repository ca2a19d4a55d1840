"""The ``gexgen`` command line: a thin typer layer over the library.

Each concern registers its commands from its own module; this package only
assembles them and turns user errors into one line on stderr and exit code 1.
``app`` (every command) is built on first use; the console command runs
:func:`gexgen.cli._app.main`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    from gexgen.cli._app import main as run

    run()


def __getattr__(name: str) -> Any:
    """``app``: the typer app with every command, built once on first use."""
    if name != "app":
        raise AttributeError(f"module 'gexgen.cli' has no attribute {name!r}")
    from gexgen.cli._app import build_app

    app = globals()["app"] = build_app()
    return app
