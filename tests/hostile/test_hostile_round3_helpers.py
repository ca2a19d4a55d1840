"""The shared race and lock fixtures of tests/hostile/conftest.py do what the tests rely on."""

from __future__ import annotations

import importlib

import pytest

from gexgen.errors import GexgenError


def test_lose_the_race_plants_right_after_the_patched_step(tmp_path, lose_the_race):
    outputs = importlib.import_module("gexgen._outputs")
    out = tmp_path / "x.parquet"
    lose_the_race("gexgen._outputs", "check_output_file", lambda: out.write_bytes(b"theirs"))
    assert outputs.check_output_file(out, False) == out  # the check itself passed ...
    assert out.read_bytes() == b"theirs"  # ... and the other run wrote just after it


def test_lose_the_race_before_plants_ahead_of_the_patched_step(tmp_path, lose_the_race):
    outputs = importlib.import_module("gexgen._outputs")
    out = tmp_path / "x.parquet"
    lose_the_race(
        "gexgen._outputs", "check_output_file", lambda: out.write_bytes(b"theirs"), before=True
    )
    with pytest.raises(GexgenError, match="already exists"):
        outputs.check_output_file(out, False)


def test_held_lock_is_held_as_a_running_command_holds_it(tmp_path, held_lock):
    from gexgen.train.run_lock import LOCK_NAME, run_dir_lock

    (tmp_path / "run").mkdir()
    with held_lock(tmp_path / "run" / LOCK_NAME):
        with pytest.raises(GexgenError, match="in use by another gexgen train"):
            with run_dir_lock(tmp_path / "run"):
                pytest.fail("the lock was not held")
    with run_dir_lock(tmp_path / "run"):  # released on exit
        pass
