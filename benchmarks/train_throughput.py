"""Training throughput of the paper's CVAE: seconds per epoch and samples/s.

Runs ``gexgen.train.train_cvae`` itself (data on the device, fused Adam,
validation every epoch) on a paper-sized synthetic cohort (6,400 training
profiles x 969 genes, 15 tissues x 2 statuses; ``--cohort`` for a real one),
for batch 50 (the paper's) and a larger batch, with 1 and 2 CPU threads, and
once with torch's default (unfused) Adam for comparison.

The ceiling, measured in the same run with the same threads, is torch's fp32
matrix product at the shape of the largest layer; "of GEMM" is the achieved
GFLOP/s of a training step (forward + backward ~ 6 x batch x weights) over it.

Run: ``.venv/bin/python benchmarks/train_throughput.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import torch

import gexgen.train.loop as loop
from gexgen.data.cohort import write_cohort
from gexgen.train import TrainConfig, build_model, train_cvae


def synthetic_cohort(path: Path, n_train: int, n_genes: int, seed: int = 0) -> Path:
    """A cohort of the paper's size: 15 tissues x 2 statuses, 7:3 split."""
    rng = np.random.default_rng(seed)
    n = int(n_train / 0.7)
    tissue = np.array([f"tissue{i:02d}" for i in range(15)])[rng.integers(0, 15, n)]
    status = np.array(["normal", "tumor"])[rng.integers(0, 2, n)]
    x = rng.gamma(2.0, 20.0, size=(n, n_genes)).astype(np.float32)
    split = np.where(rng.random(n) < 0.7, "train", "test")
    obs = pd.DataFrame(
        {"tissue": tissue, "status": status, "split": split}, index=[f"s{i}" for i in range(n)]
    ).astype("category")
    adata = anndata.AnnData(x, obs=obs, var=pd.DataFrame(index=[f"G{j}" for j in range(n_genes)]))
    adata.uns["gexgen"] = {"log_scaled": False}
    return write_cohort(adata, path)


def linear_weights(config: TrainConfig, n_genes: int, label_sizes: list[int]) -> int:
    """Multiply-adds per sample of all Linear layers of the CVAE (forward)."""
    model = build_model(
        {
            "n_genes": n_genes,
            "label_sizes": label_sizes,
            "n_latent": config.n_latent,
            "encoder_hidden": config.encoder_hidden,
            "decoder_hidden": config.decoder_hidden,
            "batch_norm": True,
            "learned_variance": False,
        }
    )
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def gemm_gflops(batch: int, width: int, threads: int, device: str, seconds: float = 1.0) -> float:
    """torch fp32 matmul GFLOP/s for [batch, width] @ [width, width]."""
    torch.set_num_threads(threads)
    a = torch.randn(batch, width, device=device)
    b = torch.randn(width, width, device=device)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    if device != "cpu":
        torch.cuda.synchronize()
    return 2 * batch * width * width * count / (time.perf_counter() - start) / 1e9


def seconds_per_epoch(cohort: Path, config: TrainConfig, fused: bool) -> float:
    """Median seconds per epoch of a real run (first epoch dropped as warm-up)."""
    original = loop._adam
    if not fused:
        loop._adam = lambda params, lr: torch.optim.Adam(params, lr=lr)  # torch's default
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = train_cvae(cohort, Path(tmp) / "run", config, progress=False)
    finally:
        loop._adam = original
    return statistics.median(row["seconds"] for row in result.history[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, help="a cohort .h5ad (default: synthetic)")
    parser.add_argument("--n-train", type=int, default=6400, help="synthetic training profiles")
    parser.add_argument("--genes", type=int, default=969, help="synthetic genes")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per setting (first dropped)")
    parser.add_argument("--large-batch", type=int, default=512)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cohort = args.cohort or synthetic_cohort(
            Path(tmp) / "cohort.h5ad", args.n_train, args.genes
        )
        adata = anndata.read_h5ad(cohort)
        n_genes = adata.n_vars
        n_fit = int(round((adata.obs["split"] == "train").sum() * 0.9))  # val_fraction 0.1
        label_sizes = [adata.obs[c].nunique() for c in ("tissue", "status")]
        base = TrainConfig(epochs=args.epochs, patience=None, device=args.device)
        weights = linear_weights(base, n_genes, label_sizes)
        device = str(loop.resolve_device(args.device))
        print(
            f"cohort: {cohort.name}, {n_fit} training profiles x {n_genes} genes; "
            f"paper CVAE, {weights / 1e6:.2f} M weights; torch {torch.__version__}, {device}"
        )
        settings = [
            (50, 1, True),
            (50, 2, True),
            (50, 2, False),
            (args.large_batch, 1, True),
            (args.large_batch, 2, True),
        ]
        if device != "cpu":
            settings = [(50, 1, True), (50, 1, False), (args.large_batch, 1, True)]
        header = (
            f"{'batch':>6} {'threads':>7} {'adam':>7} {'s/epoch':>8} {'samples/s':>10} "
            f"{'ms/step':>8} {'GFLOP/s':>8} {'GEMM ceil':>9} {'of GEMM':>8}"
        )
        print(header)
        for batch, threads, fused in settings:
            config = base.replace(batch_size=batch, threads=threads)
            seconds = seconds_per_epoch(cohort, config, fused)
            steps = n_fit // batch
            samples = steps * batch
            gflops = 6 * weights * samples / seconds / 1e9
            ceiling = gemm_gflops(batch, 1000, threads, device)
            print(
                f"{batch:>6} {threads:>7} {'fused' if fused else 'default':>7} {seconds:>8.3f} "
                f"{samples / seconds:>10,.0f} {1e3 * seconds / steps:>8.2f} {gflops:>8.1f} "
                f"{ceiling:>9.1f} {gflops / ceiling:>8.0%}"
            )
        print(
            "s/epoch includes the validation pass; the ceiling is torch's fp32 matmul "
            "[batch, 1000] @ [1000, 1000] with the same threads, measured in this run."
        )


if __name__ == "__main__":
    main()
