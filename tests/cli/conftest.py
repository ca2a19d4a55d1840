"""Shared fixtures of the CLI tests: the toy evaluation inputs a module asks for."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics"))


@pytest.fixture(scope="module")
def toy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``toy_data.write_toy_evaluation_inputs`` with the module's ``TOY`` settings.

    A module that defines its own ``toy`` fixture (test_cli_check.py) uses that one.
    """
    from toy_data import write_toy_evaluation_inputs

    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    return write_toy_evaluation_inputs(root, **request.module.TOY)
