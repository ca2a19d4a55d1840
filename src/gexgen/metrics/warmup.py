"""Compile gexgen's numba kernels once, ahead of the first evaluation.

numba compiles a kernel on its first call and caches the machine code on disk
(``cache=True``, beside the sources), so the first ``gexgen evaluate`` and
``gexgen generate`` after an install spend about 20 s on 2 cores compiling 13
kernels that later runs load in a fraction of a second. ``make setup`` runs
this module (``python -m gexgen.metrics.warmup``) so that cost is paid at
install time, not in a user's first evaluation: it draws the generator's
observation noise and evaluates a tiny random cohort (48 x 12) through the
same code path as a real one (float32 expression files, read back as log2),
so every kernel is compiled for the types a real evaluation passes.
Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["compile_kernels"]


def _tiny_cohort(rng: np.random.Generator, n: int, split: bool) -> object:
    import anndata
    import pandas as pd

    obs = pd.DataFrame(
        {
            "tissue": pd.Categorical(np.tile(["kidney", "liver"], n // 2)),
            "status": pd.Categorical(np.repeat(["normal", "tumor"], n // 2)),
        },
        index=[f"s{i}" for i in range(n)],
    )
    if split:
        obs["split"] = pd.Categorical(np.where(np.arange(n) % 3 == 0, "test", "train"))
    x = rng.lognormal(3.0, 1.0, size=(n, 12)).astype(np.float32)
    return anndata.AnnData(x, obs=obs, var=pd.DataFrame(index=[f"G{j}" for j in range(12)]))


def compile_kernels() -> float:
    """Compile (or load from the cache) every numba kernel of an evaluation and of the
    runtime's noise; returns the seconds it took. Safe to run again (then it loads)."""
    from gexgen.data.cohort import write_cohort
    from gexgen.metrics.evaluation import EvaluateConfig, compute_metrics
    from gexgen.runtime._philox_kernel import philox_normals_into

    start = time.perf_counter()
    philox_normals_into(1, 2, 0, np.zeros((2, 8), dtype=np.float32))
    rng = np.random.default_rng(0)
    config = EvaluateConfig(
        space="expression",
        synthetic_space="expression",
        n_folds=2,
        prdc_draws=1,
        privacy_draws=1,
        probe_reference=False,
        umap=False,
    )
    with tempfile.TemporaryDirectory(prefix="gexgen-warmup-") as tmp:
        real = write_cohort(_tiny_cohort(rng, 48, split=True), Path(tmp) / "real.h5ad")
        synthetic = write_cohort(_tiny_cohort(rng, 32, split=False), Path(tmp) / "synth.h5ad")
        compute_metrics(real, synthetic, config=config)
    return time.perf_counter() - start


def main() -> None:
    """``python -m gexgen.metrics.warmup``: compile, and say how long it took."""
    import warnings

    with warnings.catch_warnings():  # tiny random data: convergence and small-sample notes
        warnings.simplefilter("ignore")
        seconds = compile_kernels()
    print(f"gexgen: numba kernels compiled and cached ({seconds:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
