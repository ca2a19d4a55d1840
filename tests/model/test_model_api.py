"""The object API: fit on AnnData / DataFrame / path, sample, save / load, export, evaluate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from cohort_factory import make_cohort  # noqa: E402

import gexgen  # noqa: E402
from gexgen.errors import GexgenError  # noqa: E402
from gexgen.model import CVAE, WGANGP, GeneratorModel  # noqa: E402

TINY = dict(
    encoder_hidden=(32, 16), n_latent=4, decoder_hidden=(16, 32), batch_size=16,
    lr=1e-2, epochs=2, device="cpu", patience=None, threads=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def cohort_path(tmp_path_factory) -> Path:
    path = make_cohort(tmp_path_factory.mktemp("cohort") / "cohort.h5ad")
    adata = anndata.read_h5ad(path)
    adata.uns["gexgen"] = {"log_scaled": False, "units": "FPKM"}
    adata.write_h5ad(path)
    return path


@pytest.fixture(scope="module")
def adata(cohort_path) -> anndata.AnnData:
    return anndata.read_h5ad(cohort_path)


@pytest.fixture(scope="module")
def model(adata) -> CVAE:
    return CVAE(conditions=["tissue", "status"], **TINY).fit(adata)


def test_gexgen_exports_the_classes_lazily_without_torch():
    assert gexgen.CVAE is CVAE and gexgen.WGANGP is WGANGP
    code = (
        "import sys, gexgen, gexgen.runtime, gexgen.model; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_fit_anndata_then_sample_anndata(model):
    assert model.is_fitted and model.labels["tissue"] == ["kidney", "liver", "lung"]
    out = model.sample(50, conditions={"tissue": "kidney", "status": "tumor"}, seed=3)
    assert isinstance(out, anndata.AnnData) and out.shape == (50, 24)
    assert out.obs_names[0] == "syn-3-0" and out.obs_names.is_unique
    assert set(out.obs["tissue"]) == {"kidney"} and set(out.obs["status"]) == {"tumor"}
    assert out.uns["gexgen"]["synthetic"] and out.uns["gexgen"]["units"] == "FPKM"
    assert "log1p" not in out.uns
    assert out.var["entrez_id"].tolist() == list(range(100, 124))
    log2 = model.sample(10, seed=3, space="log2")
    assert log2.uns["log1p"] == {"base": 2}
    assert log2.uns["gexgen"]["units"] == "log2(FPKM + 1)"


def test_sample_equals_the_exported_file_in_the_runtime(model, tmp_path):
    from gexgen.runtime import GeneratorSession

    path = tmp_path / "generator.onnx"
    report = model.export(path)
    assert report.max_abs_diff < 1e-4 and path.with_name("generator.onnx.json").is_file()
    frame = model.sample(300, seed=5, as_="frame")
    with GeneratorSession(path, providers="cpu") as gen:
        want = gen.sample(300, seed=5)
    pd.testing.assert_frame_equal(frame, want)
    adata = model.sample(300, seed=5)
    np.testing.assert_array_equal(adata.X, want[model.genes].to_numpy())


def test_save_load_round_trip_is_a_plain_dict(model, tmp_path):
    import torch

    path = model.save(tmp_path / "saved")
    assert path == tmp_path / "saved" / "checkpoint.pt"
    raw = torch.load(path, weights_only=True)  # no pickled objects
    assert raw["model_type"] == "cvae" and isinstance(raw["config"], dict)
    loaded = CVAE.load(tmp_path / "saved")
    assert loaded.config == model.config and loaded.genes == model.genes
    pd.testing.assert_frame_equal(
        loaded.sample(40, seed=1, as_="frame"), model.sample(40, seed=1, as_="frame")
    )
    assert isinstance(GeneratorModel.load(tmp_path / "saved"), CVAE)
    with pytest.raises(GexgenError, match="'cvae' model"):
        WGANGP.load(tmp_path / "saved")


def test_fit_a_dataframe_and_a_path(adata, cohort_path):
    frame = pd.DataFrame(adata.X, columns=adata.var_names, index=adata.obs_names)
    frame["tissue"] = adata.obs["tissue"].astype(str).to_numpy()
    frame["status"] = adata.obs["status"].astype(str).to_numpy()
    from_frame = CVAE(**TINY).fit(frame)
    assert from_frame.genes == list(adata.var_names)
    from_path = CVAE(**TINY).fit(cohort_path)
    assert from_path.labels == from_frame.labels
    # the same split and data give the same weights: the path and the AnnData agree
    with pytest.raises(GexgenError, match="no label column"):
        CVAE(conditions=["tissue", "donor"], **TINY).fit(frame)


def test_fit_a_csv_matrix_with_units(adata, tmp_path):
    frame = pd.DataFrame(adata.X, columns=adata.var_names, index=adata.obs_names)
    frame["tissue"] = adata.obs["tissue"].astype(str).to_numpy()
    frame["status"] = adata.obs["status"].astype(str).to_numpy()
    frame.to_csv(tmp_path / "expr.csv")
    model = CVAE(**TINY).fit(tmp_path / "expr.csv", units="TPM")
    assert model.checkpoint["units"] == "TPM" and model.genes == list(adata.var_names)


def test_natural_log_anndata_is_refused(adata):
    ln = adata.copy()
    ln.uns = {"log1p": {"base": None}}
    with pytest.raises(GexgenError, match="log1p"):
        CVAE(**TINY).fit(ln)


def test_unfitted_and_bad_arguments_raise_one_line_errors(model):
    with pytest.raises(GexgenError, match="not trained yet"):
        CVAE(**TINY).sample(3)
    with pytest.raises(GexgenError, match="as_"):
        model.sample(3, as_="numpy")
    with pytest.raises(GexgenError, match="fit\\(\\) takes"):
        CVAE(**TINY).fit(np.zeros((3, 3)))
    with pytest.raises(GexgenError, match="unknown training config"):
        CVAE(**TINY, learning_rate=1)


def test_wgan_fits_and_samples(adata):
    wgan = WGANGP(
        conditions=["tissue", "status"], n_latent=4, generator_hidden=(16,),
        critic_hidden=(16,), epochs=1, eval_every=1, val_synthetic=20, device="cpu", threads=1,
    ).fit(adata)  # fmt: skip
    out = wgan.sample(20, conditions="uniform", seed=0, as_="frame")
    assert out.shape == (20, 26) and np.isfinite(out[wgan.genes].to_numpy()).all()


def test_evaluate_against_the_test_split(model, adata):
    metrics = model.evaluate(adata, metrics=["gamma", "moments"])
    assert -1.0 <= metrics["gamma"]["gamma"] <= 1.0
    assert metrics["gamma_ceiling"]["gamma"] > 0.5
    assert metrics["n_real"] == int((adata.obs["split"] == "test").sum())


def test_evaluate_quick_is_the_cli_preset(model, adata):
    metrics = model.evaluate(adata, metrics=["prdc", "detection"], quick=True)
    assert metrics["config"]["prdc_draws"] == 2 and metrics["config"]["umap"] is False
    assert metrics["prdc"]["n_draws"] == 2
    assert metrics["detection"]["nonlinear"]["reference"]["verdict_against"] == 0.5
    assert any("a quicker evaluation" in note for note in metrics["notes"])
