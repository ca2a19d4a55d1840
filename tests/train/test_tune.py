"""The tuning grid: one run per (lr, depth), ranked by validation loss, the best kept."""

from __future__ import annotations

import csv

import pytest

import gexgen.train.tune as tune_module
from gexgen.errors import GexgenError
from gexgen.train import load_checkpoint, tune_cvae
from gexgen.train.tune import format_table


def test_grid_is_ranked_and_best_run_kept(tiny_cohort, tiny_config, tmp_path):
    out = tmp_path / "tune"
    result = tune_cvae(
        tiny_cohort, out, tiny_config.replace(epochs=2), lrs=(1e-2, 1e-4), depths=(2, 3),
        keep_all=True, progress=False,
    )  # fmt: skip
    rows = result.rows
    assert len(rows) == 4 and [r["rank"] for r in rows] == [1, 2, 3, 4]
    losses = [r["best_val_loss"] for r in rows]
    assert losses == sorted(losses)
    assert {(r["lr"], r["hidden_layers"]) for r in rows} == {
        (1e-2, 2), (1e-4, 2), (1e-2, 3), (1e-4, 3)
    }  # fmt: skip
    best = load_checkpoint(result.best_run_dir)
    assert best["config"]["lr"] == rows[0]["lr"]
    assert len(best["config"]["encoder_hidden"]) == rows[0]["hidden_layers"]
    assert best["training"]["best_val_loss"] == pytest.approx(rows[0]["best_val_loss"])
    # keep_all: the other three runs stay
    assert len(list((out / "trials").iterdir())) == 3
    with open(out / "tune.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [row["run"] for row in table] == [r["run"] for r in rows]
    text = format_table(rows)
    assert text.splitlines()[1].split()[1] == rows[0]["run"]

    with pytest.raises(GexgenError, match="already exists"):
        tune_cvae(tiny_cohort, out, tiny_config, lrs=(1e-3,), depths=(2,), progress=False)
    again = tune_cvae(
        tiny_cohort, out, tiny_config.replace(epochs=1), lrs=(1e-3,), depths=(2,),
        overwrite=True, progress=False,
    )  # fmt: skip
    assert len(again.rows) == 1 and not (out / "trials").exists()


def test_a_failing_run_is_ranked_last(tiny_cohort, tiny_config, tmp_path, monkeypatch):
    real = tune_module.train_cvae

    def diverge_at_high_lr(cohort, out, config, **kwargs):
        if config.lr > 1e-2:
            raise GexgenError("the training loss became nan at epoch 1; lower --lr")
        return real(cohort, out, config, **kwargs)

    monkeypatch.setattr(tune_module, "train_cvae", diverge_at_high_lr)
    result = tune_cvae(
        tiny_cohort, tmp_path / "t", tiny_config, lrs=(1.0, 1e-3), depths=(2,), progress=False
    )
    assert [r["status"] for r in result.rows][0] == "ok"
    assert "nan" in result.rows[-1]["status"] and result.rows[-1]["lr"] == 1.0


def test_bad_grid_or_cohort_writes_nothing(tiny_cohort, tiny_config, tmp_path):
    with pytest.raises(GexgenError, match="must be one of"):
        tune_cvae(tiny_cohort, tmp_path / "a", tiny_config, depths=(7,), progress=False)
    with pytest.raises(GexgenError, match="no label column"):
        tune_cvae(
            tiny_cohort, tmp_path / "b", tiny_config.replace(conditions=("grade",)),
            lrs=(1e-3,), depths=(2,), progress=False,
        )  # fmt: skip
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
