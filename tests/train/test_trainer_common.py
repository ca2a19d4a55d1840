"""The pieces both trainers share: threads, weight copies, the run directory, the checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from gexgen.train.checkpoint import CHECKPOINT_FORMAT, FORMAT_VERSION, checkpoint_dict
from gexgen.train.config import TrainConfig
from gexgen.train.data import prepare_training_data
from gexgen.train.run_dir import RUN_FILES, start_run_dir
from gexgen.train.trainer_common import EarlyStopping, epoch_bar, state_copy, torch_threads


def test_torch_threads_sets_and_restores_even_on_error():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_state_copy_is_detached_from_later_training():
    model = torch.nn.Linear(3, 2)
    copy = state_copy(model)
    with torch.no_grad():
        model.weight.add_(1.0)
    assert set(copy) == set(model.state_dict())
    assert torch.equal(copy["weight"] + 1.0, model.weight)
    assert not copy["weight"].requires_grad


def test_epoch_bar_counts_from_the_resumed_epoch():
    with epoch_bar(10, "x", initial=4) as bar:
        bar.update(2)
        assert bar.n == 6
    with epoch_bar(3, "x", initial=7) as bar:  # past the end: clipped
        assert bar.n == 3


def test_start_run_dir_clears_only_run_files(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in RUN_FILES:
        (run / name).write_text("old")
    (run / "notes.txt").write_text("mine")
    start_run_dir(run, {"a": 1})
    assert json.loads((run / "config.json").read_text()) == {"a": 1}
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "notes.txt"]
    (run / "history.csv").write_text("kept on resume")
    start_run_dir(run, {"a": 2}, fresh=False)
    assert (run / "history.csv").read_text() == "kept on resume"
    nested = tmp_path / "a" / "b"
    start_run_dir(nested, {})
    assert (nested / "config.json").is_file()


def test_checkpoint_dict_layout(tiny_cohort):
    data = prepare_training_data(tiny_cohort, TrainConfig(batch_size=8, device="cpu"))
    state = {"w": torch.ones(2, 2)}
    ckpt = checkpoint_dict(
        "cvae", {"n_genes": data.n_genes}, state, {"lr": 1.0}, data, {"epochs": 3}, [{"epoch": 1}]
    )
    assert ckpt["format"] == CHECKPOINT_FORMAT and ckpt["format_version"] == FORMAT_VERSION
    assert ckpt["model_type"] == "cvae" and ckpt["config"] == {"lr": 1.0}
    assert torch.equal(ckpt["model_state"]["w"], state["w"])
    assert ckpt["training"] == {
        "data_sha256": data.data_sha256,
        "n_train": len(data.x_fit),
        "n_val": len(data.x_val),
        "epochs": 3,
    }
    assert ckpt["genes"]["symbols"] == data.gene_symbols
    assert ckpt["scaler"] == data.scaler.to_dict()
    assert set(ckpt["split"]) == {"train", "val", "test"}
    assert ckpt["versions"]["torch"] == str(torch.__version__)
    assert ckpt["created"].endswith("Z")


def test_early_stopping_is_derived_from_patience_and_the_count():
    from types import SimpleNamespace

    run = EarlyStopping()
    run.config, run.since_best = SimpleNamespace(patience=3), 2
    assert not run.stopped_early
    run.since_best = 3
    assert run.stopped_early
    run.config = SimpleNamespace(patience=5)  # a resume with more patience goes on
    assert not run.stopped_early
    run.config, run.since_best = SimpleNamespace(patience=None), 10_000
    assert not run.stopped_early
