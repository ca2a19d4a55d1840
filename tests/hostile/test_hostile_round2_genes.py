"""Round 2: an empty or duplicated gene name is refused at training and at export."""

from __future__ import annotations

from pathlib import Path

import anndata
import pytest
import torch

from conftest import make_cohort, one_error_line
from gexgen.train import TrainConfig, train_cvae
from gexgen.train.checkpoint import CHECKPOINT_NAME

TINY = TrainConfig(encoder_hidden=(16,), n_latent=4, decoder_hidden=(16,), batch_size=16,
                   epochs=1, device="cpu", patience=None, threads=1)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("genes")
    cohort = make_cohort(folder / "cohort.h5ad", n=48, n_genes=12)
    train_cvae(cohort, folder / "run", TINY, progress=False)
    return folder / "run"


@pytest.mark.parametrize("bad", ["duplicate", "empty"])
def test_train_refuses_a_cohort_with_a_bad_gene_name(cli, small_cohort, tmp_path, bad):
    adata = anndata.read_h5ad(small_cohort)
    names = list(adata.var_names)
    names[3] = names[2] if bad == "duplicate" else ""
    adata.var_names = names
    cohort = tmp_path / "bad.h5ad"
    adata.write_h5ad(cohort)
    err = one_error_line(
        cli("train", cohort, "--out", tmp_path / "run", "--epochs", 1, "--no-progress")
    )
    assert ("more than once" if bad == "duplicate" else "empty") in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("bad", ["duplicate", "empty"])
def test_export_refuses_a_checkpoint_with_a_bad_gene_name(cli, run, tmp_path, bad):
    ckpt = torch.load(run / CHECKPOINT_NAME, weights_only=True)
    symbols = list(ckpt["genes"]["symbols"])
    symbols[1] = symbols[0] if bad == "duplicate" else ""
    ckpt["genes"]["symbols"] = symbols
    out = tmp_path / "run"
    out.mkdir()
    torch.save(ckpt, out / CHECKPOINT_NAME)
    err = one_error_line(cli("export", out, "--out", tmp_path / "g.onnx"))
    assert ("more than once" if bad == "duplicate" else "empty") in err
    assert not (tmp_path / "g.onnx").exists()
