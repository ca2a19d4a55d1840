"""A small synthetic cohort file for fast tests of training, export and the CLI.

Imported by tests/train/conftest.py, tests/export/conftest.py and
tests/cli/test_cli_train.py (which put this folder on sys.path).
"""

from __future__ import annotations

from pathlib import Path

import anndata
import numpy as np
import pandas as pd

from gexgen.data.cohort import write_cohort


def make_cohort(
    path: Path, n: int = 144, n_genes: int = 24, seed: int = 0, log_scaled: bool = False
) -> Path:
    """3 tissues x 2 statuses with group-specific means and a low-rank within-group signal."""
    rng = np.random.default_rng(seed)
    tissue = np.array(["kidney", "liver", "lung"])[np.arange(n) % 3]
    status = np.array(["normal", "tumor"])[(np.arange(n) // 3) % 2]
    group = (np.arange(n) % 3) * 2 + (np.arange(n) // 3) % 2
    means = rng.normal(4.0, 1.5, size=(6, n_genes))
    loadings = rng.normal(0, 0.5, size=(2, n_genes))
    log_x = means[group] + rng.normal(size=(n, 2)) @ loadings + rng.normal(0, 0.2, (n, n_genes))
    log_x = np.clip(log_x, 0, None).astype(np.float32)
    x = log_x if log_scaled else (np.exp2(log_x) - 1).astype(np.float32)
    split = np.where(np.arange(n) % 4 == 0, "test", "train")
    obs = pd.DataFrame(
        {"tissue": tissue, "status": status, "split": split},
        index=[f"s{i:04d}" for i in range(n)],
    ).astype("category")
    genes = [f"G{j}" for j in range(n_genes)]
    var = pd.DataFrame(
        {"symbol": genes, "entrez_id": pd.array(range(100, 100 + n_genes), dtype="Int64")},
        index=genes,
    )
    adata = anndata.AnnData(x, obs=obs, var=var)
    adata.uns["gexgen"] = {"log_scaled": log_scaled}
    return write_cohort(adata, path)
