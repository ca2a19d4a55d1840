"""Fit each benchmarked model on the same data and draw the matched synthetic set.

Every model sees the same rows: the cohort's recorded train split minus the
validation part that the CVAE run holds out (same seed, same stratified
mask); the CVAE and the WGAN-GP use that validation part for model choice,
CTGAN and TVAE (which have no validation step) ignore it. Each model then
draws, per label combination, as many profiles as the real test split has.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.data.cohort import is_log_scaled, read_cohort
from gexgen.data.preprocess import log2p1
from gexgen.errors import GexgenError

__all__ = ["BenchmarkData", "ModelOutput", "load_benchmark_data", "MODEL_RUNNERS"]

Log = Callable[[str], None]


@dataclass
class BenchmarkData:
    """The cohort as every model sees it: raw values, labels and the shared split."""

    cohort_path: Path
    genes: list[str]
    conditions: list[str]
    x: np.ndarray  # float32 [n, genes] in the cohort's units
    log_input: bool  # X is already log2(x + 1)
    labels: pd.DataFrame  # the condition columns as strings, one row per sample
    fit_rows: np.ndarray
    val_rows: np.ndarray
    test_rows: np.ndarray
    data_sha256: str

    @property
    def test_labels(self) -> pd.DataFrame:
        return self.labels.iloc[self.test_rows].reset_index(drop=True)

    def to_log2(self, x: np.ndarray) -> np.ndarray:
        """Cohort units -> log2(x + 1), negatives clipped to 0 first."""
        x = np.maximum(np.asarray(x, dtype=np.float32), np.float32(0.0))
        return x if self.log_input else log2p1(x)

    def split_summary(self) -> dict[str, Any]:
        test = self.test_labels
        counts = test.astype(str).value_counts().sort_index()
        return {
            "n_fit": int(len(self.fit_rows)),
            "n_val": int(len(self.val_rows)),
            "n_test": int(len(self.test_rows)),
            "test_combinations": {"|".join(k): int(n) for k, n in counts.items()},
        }


def load_benchmark_data(
    cohort_path: str | os.PathLike[str], conditions: list[str], seed: int
) -> BenchmarkData:
    """Read the cohort and the split every model shares (the CVAE's fit/validation/test)."""
    from gexgen.train.config import TrainConfig
    from gexgen.train.data import prepare_training_data

    cohort_path = Path(cohort_path)
    prepared = prepare_training_data(cohort_path, TrainConfig(conditions=conditions, seed=seed))
    adata = read_cohort(cohort_path, require=conditions)
    index = pd.Index(adata.obs_names.astype(str))
    rows = {k: index.get_indexer(v) for k, v in prepared.sample_ids.items()}
    x = np.asarray(adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X, np.float32)
    return BenchmarkData(
        cohort_path=cohort_path,
        genes=[str(g) for g in adata.var_names],
        conditions=list(conditions),
        x=x,
        log_input=is_log_scaled(adata),
        labels=adata.obs[list(conditions)].astype(str).reset_index(drop=True),
        fit_rows=rows["train"],
        val_rows=rows["val"],
        test_rows=rows["test"],
        data_sha256=prepared.data_sha256,
    )


@dataclass
class ModelOutput:
    """A fitted model's matched synthetic set (log2) and its costs."""

    name: str
    log2: np.ndarray
    labels: pd.DataFrame
    fit_seconds: float
    sampling: dict[str, Any]  # rows_per_s, n, seconds, via
    details: dict[str, Any] = field(default_factory=dict)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _rate(n: int, seconds: float, via: str) -> dict[str, Any]:
    return {"n": n, "seconds": round(seconds, 4), "rows_per_s": n / seconds, "via": via}


# -- CVAE and WGAN-GP: a checkpoint, sampled through the exported ONNX generator ----------


def _generator_sampler(run_dir: Path, cfg: Any, details: dict[str, Any], log: Log) -> Any:
    from gexgen.benchmark.samplers import OnnxSampler, TorchSampler, export_onnx

    log("  exporting generator.onnx (parity-checked against torch)")
    onnx_path, why, report = export_onnx(run_dir, run_dir / "generator.onnx")
    if onnx_path is not None:
        details["generator"] = str(onnx_path)
        details["export"] = report
        return OnnxSampler(onnx_path, threads=cfg.threads)
    log(f"  export to ONNX not available ({why}); sampling the checkpoint with torch")
    details["sampler_note"] = f"sampled with torch: {why}"
    return TorchSampler(run_dir)


def _sample_generator(
    name: str, data: BenchmarkData, cfg: Any, run_dir: Path, fit_s: float, details: dict, log: Log
) -> ModelOutput:
    sampler = _generator_sampler(run_dir, cfg, details, log)
    log(f"  sampling {len(data.test_rows)} profiles matched to the test labels")
    log2 = sampler.sample_log2(data.test_labels, seed=cfg.seed)
    n = cfg.throughput_samples
    _, seconds = _timed(lambda: sampler.sample_expression(n, seed=cfg.seed + 1))
    return ModelOutput(name, log2, data.test_labels, fit_s, _rate(n, seconds, sampler.via), details)


def _run_settings(data: BenchmarkData, cfg: Any) -> dict[str, Any]:
    """The config fields every trained model takes from the benchmark run."""
    return {
        "conditions": tuple(data.conditions),
        "seed": cfg.seed,
        "device": cfg.device,
        "threads": cfg.threads,
    }


def _fit_details(config: Any, result: Any, fit_s: float, score: dict, log: Log) -> dict:
    """What results.json says of a training run (``score``: its best validation figure)."""
    log(f"  trained {result.epochs_run} epochs in {fit_s:.0f} s (best {result.best_epoch})")
    return {
        "budget": {"epochs": config.epochs, "patience": config.patience},
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        **score,
        "stopped_early": result.stopped_early,
        "config": config.to_dict(),
    }


def _run_any_cvae(
    name: str, config: Any, data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool
) -> ModelOutput:
    """Train a CVAE with ``config``, export it and sample it as model ``name``."""
    from gexgen.train.loop import train_cvae

    result, fit_s = _timed(
        lambda: train_cvae(data.cohort_path, out_dir, config, overwrite=True, progress=progress)
    )
    details = _fit_details(config, result, fit_s, {"best_val_loss": result.best_val_loss}, log)
    details["kept_epoch"] = result.kept_epoch
    return _sample_generator(name, data, cfg, out_dir, fit_s, details, log)


def run_cvae(data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool) -> ModelOutput:
    from gexgen.train.config import TrainConfig

    config = TrainConfig.recipe(  # the paper's settings, explicitly
        "paper", epochs=cfg.cvae_epochs, patience=cfg.cvae_patience, **_run_settings(data, cfg)
    )
    log(f"  training (up to {config.epochs} epochs, patience {config.patience})")
    return _run_any_cvae("cvae", config, data, cfg, out_dir, log, progress)


def run_gexgen(
    data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool
) -> ModelOutput:
    """gexgen's default recipe (what ``gexgen train`` uses without options)."""
    from gexgen.train.config import DEFAULT_RECIPE, TrainConfig

    config = TrainConfig.recipe(
        DEFAULT_RECIPE, epochs=cfg.cvae_fast_epochs, **_run_settings(data, cfg)
    )
    log(f"  training gexgen's default recipe ({config.epochs} epochs, keep {config.keep})")
    return _run_any_cvae("gexgen", config, data, cfg, out_dir, log, progress)


def run_cvae_fast(
    data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool
) -> ModelOutput:
    """gexgen's recipe (``TrainConfig.recipe("fast")``): no early stop, the last epoch kept."""
    from gexgen.train.config import TrainConfig

    config = TrainConfig.recipe("fast", epochs=cfg.cvae_fast_epochs, **_run_settings(data, cfg))
    log(f"  training gexgen's fast recipe ({config.epochs} epochs, cosine lr {config.lr:g})")
    return _run_any_cvae("cvae-fast", config, data, cfg, out_dir, log, progress)


def run_wgan(data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool) -> ModelOutput:
    from gexgen.train.wgan_loop import WGANConfig, train_wgan

    config = WGANConfig(
        epochs=cfg.wgan_epochs, patience=cfg.wgan_patience, **_run_settings(data, cfg)
    )
    log(
        f"  training (up to {config.epochs} epochs, gamma every {config.eval_every}, "
        f"patience {config.patience} evaluations)"
    )
    result, fit_s = _timed(
        lambda: train_wgan(data.cohort_path, out_dir, config, overwrite=True, progress=progress)
    )
    details = _fit_details(config, result, fit_s, {"best_val_gamma": result.best_val_gamma}, log)
    return _sample_generator("wgan-gp", data, cfg, out_dir, fit_s, details, log)


# -- CTGAN and TVAE: raw expression + discrete labels, rejection-matched sampling ----------


def run_tabular(
    kind: str,
    data: BenchmarkData,
    cfg: Any,
    out_dir: Path,
    log: Log,
    progress: bool,
    cache: Any,
) -> ModelOutput:
    from gexgen.baselines import TabularBaseline, TabularConfig, sample_matching

    config = TabularConfig(
        epochs=cfg.ctgan_epochs if kind == "ctgan" else cfg.tvae_epochs,
        batch_size=cfg.tabular_batch_size,
        seed=cfg.seed,
    )
    model = TabularBaseline(kind, config, cache=cache, verbose=progress)  # type: ignore[arg-type]
    n_cont = len(data.genes)
    log(
        f"  fitting on {len(data.fit_rows)} rows x {n_cont} continuous + "
        f"{len(data.conditions)} discrete columns ({config.epochs} epochs, batch "
        f"{config.batch_size}); the data transformer first fits one Gaussian mixture per gene"
    )
    fit_labels = data.labels.iloc[data.fit_rows].reset_index(drop=True)
    fit_s = model.fit(data.x[data.fit_rows], data.genes, fit_labels)
    t = model.times
    log(
        f"  fitted in {fit_s:.0f} s; data transformer: fit {t.fit_seconds:.0f} s, "
        f"transform {t.transform_seconds:.0f} s" + (" (reused)" if t.reused else "")
    )
    if t.reused:  # count the shared transformer's cost in this model's fit time too
        fit_s += t.fit_seconds + t.transform_seconds
    log(f"  sampling {len(data.test_rows)} profiles matched to the test labels (rejection)")
    matched = sample_matching(
        lambda n, condition: model.sample(n, condition),
        data.test_labels,
        condition_on=data.conditions[0] if kind == "ctgan" else None,
    )
    if len(matched.labels) == 0:
        raise GexgenError(f"{kind} produced no profile with a label combination of the test split")
    if matched.shortfall:
        log(f"  shortfall (combinations never drawn enough): {matched.shortfall}")
    n_negative = int((matched.expression < 0).sum())
    transformer = model.times.to_dict()
    n = cfg.throughput_samples
    _, seconds = _timed(lambda: model.sample(n))
    details = {
        "budget": {"epochs": config.epochs, "batch_size": config.batch_size},
        "transformer": transformer,
        "transformer_shared": cache is not None,
        "n_drawn": matched.n_drawn,
        "acceptance": matched.acceptance,
        "shortfall": matched.shortfall,
        "negative_values_clipped": n_negative,
        "fit_seconds_measured": model.fit_seconds,
    }
    return ModelOutput(
        kind,
        data.to_log2(matched.expression),
        matched.labels,
        fit_s,
        _rate(n, seconds, "ctgan package (torch + inverse data transform)"),
        details,
    )


# -- class-conditional Gaussian: the privacy reference (numpy, no torch) --------------------


def run_gaussian(
    data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool
) -> ModelOutput:
    """Per-gene mean and std of log2 values per label combination, fitted on the fit rows."""
    from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian

    fit_x = data.to_log2(data.x[data.fit_rows])
    fit_labels = data.labels.iloc[data.fit_rows].reset_index(drop=True)
    log(f"  fitting per-gene mean and std per label combination on {len(fit_x)} rows")
    model, fit_s = _timed(lambda: ClassConditionalGaussian.fit(fit_x, fit_labels, data.conditions))
    log2 = model.sample(data.test_labels, seed=cfg.seed)
    n = cfg.throughput_samples

    def draw_expression() -> np.ndarray:
        x, _ = model.sample_like_training(n, seed=cfg.seed + 1)
        return np.exp2(x, dtype=np.float32) - np.float32(1.0)

    _, seconds = _timed(draw_expression)
    details = {
        "budget": None,
        "combinations": len(model.means),
        "what": "class-conditional diagonal Gaussian on log2(x + 1), fitted on the fit rows",
    }
    return ModelOutput(
        "gaussian", log2, data.test_labels, fit_s, _rate(n, seconds, "numpy"), details
    )


def run_mvn(data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool) -> ModelOutput:
    """The challenge's multivariate normal (gexgen.baselines.mvn), fitted on the fit rows."""
    from gexgen.benchmark.numpy_gaussians import run_numpy_gaussian

    return run_numpy_gaussian("mvn", data, cfg, log)


def run_lowrank(
    data: BenchmarkData, cfg: Any, out_dir: Path, log: Log, progress: bool
) -> ModelOutput:
    """The class-conditional low-rank Gaussian (gexgen.baselines.lowrank_gaussian)."""
    from gexgen.benchmark.numpy_gaussians import run_numpy_gaussian

    return run_numpy_gaussian("lowrank", data, cfg, log)


MODEL_RUNNERS: dict[str, Callable[..., ModelOutput]] = {
    "gexgen": run_gexgen,
    "cvae-fast": run_cvae_fast,
    "cvae": run_cvae,
    "wgan-gp": run_wgan,
    "gaussian": run_gaussian,
    "mvn": run_mvn,
    "lowrank": run_lowrank,
}
