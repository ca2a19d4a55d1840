"""The object API speaks Python: overwrite= on export / evaluate / save, no CLI flags in errors."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import anndata
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from cohort_factory import make_cohort  # noqa: E402

from gexgen.data.annotation_columns import AnnotationColumnWarning, annotation_like  # noqa: E402
from gexgen.errors import GexgenError  # noqa: E402
from gexgen.model import CVAE  # noqa: E402
from gexgen.model._python_terms import in_python_terms  # noqa: E402

TINY = dict(
    encoder_hidden=(16,), n_latent=3, decoder_hidden=(16,), batch_size=16,
    epochs=1, device="cpu", threads=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def adata(tmp_path_factory) -> anndata.AnnData:
    adata = anndata.read_h5ad(make_cohort(tmp_path_factory.mktemp("terms") / "c.h5ad"))
    adata.uns["gexgen"] = {"log_scaled": False}
    return adata


@pytest.fixture(scope="module")
def model(adata) -> CVAE:
    return CVAE(**TINY).fit(adata)


def test_export_refuses_an_existing_file_in_python_terms(model, tmp_path):
    path = tmp_path / "g.onnx"
    model.export(path)
    with pytest.raises(GexgenError, match="overwrite=True") as caught:
        model.export(path)
    assert "--overwrite" not in str(caught.value)
    assert model.export(path, overwrite=True).max_abs_diff < 1e-4


def test_save_refuses_by_default_like_the_cli(model, tmp_path):
    model.save(tmp_path / "m")
    before = (tmp_path / "m" / "checkpoint.pt").read_bytes()
    with pytest.raises(GexgenError, match="already exists; pass overwrite=True"):
        model.save(tmp_path / "m")
    assert (tmp_path / "m" / "checkpoint.pt").read_bytes() == before
    assert model.save(tmp_path / "m", overwrite=True).is_file()


def test_evaluate_overwrite(model, adata, tmp_path):
    model.evaluate(adata, out_dir=tmp_path / "ev", metrics=["gamma"], seed=1)
    with pytest.raises(GexgenError, match="overwrite=True") as caught:
        model.evaluate(adata, out_dir=tmp_path / "ev", metrics=["gamma"], seed=1)
    assert "--" not in str(caught.value).split("overwrite=True")[0][-40:]
    model.evaluate(adata, out_dir=tmp_path / "ev", metrics=["gamma"], seed=1, overwrite=True)


def test_library_messages_are_rewritten_option_by_option():
    assert in_python_terms("declare it with --log-scaled") == "declare it with log_scaled=True"
    assert in_python_terms("drop it from --conditions") == "drop it from conditions="
    assert in_python_terms("use --synthetic-space log2") == "use synthetic_space= log2"
    assert in_python_terms("--space-like") == "--space-like"  # not an option of ours


def test_numeric_annotation_columns_taken_as_genes_warn(adata, tmp_path):
    assert annotation_like("age") and annotation_like("Age (years)")
    assert not any(annotation_like(g) for g in ("BMI1", "ID1", "AGER", "HLA-A", "NKX2-1"))
    frame = pd.DataFrame(adata.X, columns=adata.var_names, index=adata.obs_names)
    frame["age"] = range(len(frame))
    frame["tissue"] = adata.obs["tissue"].astype(str).to_numpy()
    frame["status"] = adata.obs["status"].astype(str).to_numpy()
    with pytest.warns(AnnotationColumnWarning, match=r"\['age'\].*taken as genes"):
        CVAE(**TINY).fit(frame)
    # the CLI's import path too (gexgen data import)
    from gexgen.data.importer import import_matrix

    frame.to_csv(tmp_path / "expr.csv")
    with pytest.warns(AnnotationColumnWarning, match="age"):
        import_matrix(tmp_path / "expr.csv", labels=["tissue", "status"])
    frame.drop(columns="age").to_csv(tmp_path / "genes_only.csv")
    with warnings.catch_warnings():  # gene columns only: no warning
        warnings.simplefilter("error", AnnotationColumnWarning)
        import_matrix(tmp_path / "genes_only.csv", labels=["tissue", "status"])


def test_the_report_names_a_generator_that_outlives_the_model(model, adata, tmp_path):
    import json

    model.evaluate(adata, out_dir=tmp_path / "ev", metrics=["gamma"])
    named = Path(json.loads((tmp_path / "ev" / "metrics.json").read_text())["inputs"]["model"])
    assert named == tmp_path / "ev" / "generator.onnx" and named.is_file()
    assert str(named) in (tmp_path / "ev" / "report.html").read_text()


def test_fit_errors_name_keyword_arguments_not_flags(adata):
    negative = adata.copy()
    negative.X = negative.X - negative.X.max() - 1  # log-scale-like values below 0
    with pytest.raises(GexgenError) as caught:
        CVAE(**TINY).fit(negative, log_scaled=False)
    message = str(caught.value)
    assert "log_scaled=True" in message and "--log-scaled" not in message
