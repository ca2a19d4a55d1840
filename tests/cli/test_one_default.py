"""One default: the object API, `gexgen train` and `gexgen demo` start from the same recipe.

Every ``--help`` of train and demo shows the values an option-less run uses
(read from the default recipe here, never typed in), not the paper's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.train.config import DEFAULT_RECIPE, RECIPES, TrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from cohort_factory import make_cohort  # noqa: E402

runner = CliRunner()
DEFAULT = TrainConfig.recipe(DEFAULT_RECIPE)
PAPER = TrainConfig.recipe("paper")


def _cli_config(tmp_path: Path, monkeypatch, *options: str) -> TrainConfig:
    """The config an option-less `gexgen train` hands to the training loop."""
    import gexgen.train

    seen: list[TrainConfig] = []

    def fake_train(cohort, out, config, **kwargs):
        seen.append(config)
        raise SystemExit(0)

    monkeypatch.setattr(gexgen.train, "train_cvae", fake_train)
    cohort = make_cohort(tmp_path / "cohort.h5ad")
    runner.invoke(app, ["train", str(cohort), "--out", str(tmp_path / "run"), *options])
    assert len(seen) == 1
    return seen[0]


def test_object_api_default_equals_the_cli_default(tmp_path, monkeypatch):
    from gexgen.model import CVAE

    cli = _cli_config(tmp_path, monkeypatch)
    assert cli == DEFAULT
    assert CVAE(conditions=["tissue", "status"]).config == cli
    assert CVAE().config == cli
    assert CVAE(recipe="paper").config == PAPER != cli  # the paper stays explicit
    assert CVAE(epochs=7).config == cli.replace(epochs=7)


def _help_of(command: str) -> dict[str, str]:
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {p.name: " ".join((getattr(p, "help", None) or "").split()) for p in cmd.params}


def test_train_help_shows_the_default_recipes_values():
    helps = _help_of("train")
    for field in ("epochs", "lr", "kl_weight", "batch_size", "keep", "lr_schedule", "mixup"):
        value = getattr(DEFAULT, field)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert f"default {shown}" in helps[field], (field, helps[field])
        paper = getattr(PAPER, field)
        paper_shown = f"{paper:g}" if isinstance(paper, float) else str(paper)
        assert f"default {paper_shown}" not in helps[field], (field, helps[field])
    assert "default conditional" in helps["conditional_prior"]
    assert f"default {DEFAULT.observation_noise}" in helps["observation_noise"]
    # the CLI renders the help too (rich), with the values in it
    out = " ".join(runner.invoke(app, ["train", "--help"], terminal_width=200).output.split())
    assert f"default {DEFAULT.epochs}" in out and f"default {DEFAULT.lr:g}" in out


def test_demo_help_speaks_of_the_default_recipe():
    helps = _help_of("demo")
    assert "fast" not in helps["epochs"] and "default recipe" in helps["epochs"]
    cmd = typer.main.get_command(app).commands["demo"]  # type: ignore[attr-defined]
    epochs = next(p for p in cmd.params if p.name == "epochs")
    assert epochs.default == RECIPES[DEFAULT_RECIPE]["epochs"]
