"""The CLI messages a newcomer meets first: run folders, matrices, counts, extras in help."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import typer
import typer.main
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.cli._counts import count

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

runner = CliRunner()


def _err(result) -> str:
    return " ".join((result.stderr or result.output).split())


def test_info_on_a_run_folder_says_export_it_first(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"")
    (run / "config.json").write_text("{}")
    for target in (run, run / "checkpoint.pt"):
        done = runner.invoke(app, ["info", str(target)])
        assert done.exit_code == 1
        assert (
            "is a training run folder, not a generator file; export it first: "
            f"gexgen export {run} --out generator.onnx" in _err(done)
        )
    done = runner.invoke(app, ["generate", str(run), "--n", "3", "--out", str(tmp_path / "x.npy")])
    assert done.exit_code == 1 and "export it first" in _err(done)


def test_train_on_a_matrix_points_at_data_import(tmp_path):
    (tmp_path / "expr.csv").write_text("sample,G1\ns1,1\n")
    done = runner.invoke(app, ["train", str(tmp_path / "expr.csv"), "--out", str(tmp_path / "r")])
    assert done.exit_code == 1
    assert "gexgen data import" in _err(done) and "signature" not in _err(done)


def test_counts_accept_scientific_notation(tmp_path):
    assert count("1e5") == 100_000 and count("100_000") == 100_000 and count("7") == 7
    with pytest.raises(typer.BadParameter, match="not a whole number"):
        count("1.5")
    gen = write_generator(tmp_path / "g.onnx")
    done = runner.invoke(
        app, ["generate", str(gen.path), "--n", "1e2", "--out", str(tmp_path / "x.npy")]
    )
    assert done.exit_code == 0, done.output
    assert np.load(tmp_path / "x.npy").shape[0] == 100
    done = runner.invoke(
        app, ["generate", str(gen.path), "--n", "2.5", "--out", str(tmp_path / "y.npy")]
    )
    assert done.exit_code == 2 and "not a whole number" in _err(done)


def _leaf_commands():
    root = typer.main.get_command(app)
    stack = [((), root)]
    while stack:
        path, cmd = stack.pop()
        subs = getattr(cmd, "commands", None)
        if subs:
            stack.extend(((*path, name), sub) for name, sub in subs.items())
        else:
            yield path


@pytest.mark.parametrize("command", ["generate", "evaluate"])
def test_extras_in_brackets_survive_the_help_renderer(command):
    out = " ".join(runner.invoke(app, [command, "--help"], terminal_width=300).output.split())
    assert "gexgen[dask]" in out and "\\[" not in out


def test_no_help_text_loses_a_bracketed_word():
    """Rich markup would eat "[dask]"-like words: every one in any help text must show."""
    import re

    tag = re.compile(r"(?<!\\)\[([a-z#/@][^\[\]]*)\]")
    for path in _leaf_commands():
        cmd = typer.main.get_command(app)
        for name in path:
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
        for param in cmd.params:
            text = getattr(param, "help", None) or ""
            assert not tag.search(text), f"gexgen {' '.join(path)} {param.name}: {text!r}"
