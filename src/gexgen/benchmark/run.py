"""One command that reproduces the paper's comparison on any cohort.

``BENCH_DIR`` receives ``results.json`` (everything), ``table.txt`` (the
printed table), ``benchmark.html`` (table + UMAP panels), ``umap.png`` and
``models/<name>/`` (each model's run directory; the CVAE's and WGAN-GP's hold
their checkpoint and ``generator.onnx``).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gexgen import __version__
from gexgen._atomic import atomic_path
from gexgen._json import json_default
from gexgen._lock import folder_lock
from gexgen.benchmark.config import PAPER_GAMMA, BenchmarkConfig
from gexgen.benchmark.models import (
    MODEL_RUNNERS,
    BenchmarkData,
    ModelOutput,
    load_benchmark_data,
    run_tabular,
)
from gexgen.benchmark.scoring import (
    format_table,
    real_profiles,
    reference_row,
    score_output,
    summary_row,
)
from gexgen.errors import GexgenError

__all__ = ["run_benchmark", "RESULTS_NAME", "PAGE_NAME", "TABLE_NAME"]

RESULTS_NAME = "results.json"
PAGE_NAME = "benchmark.html"
TABLE_NAME = "table.txt"
UMAP_NAME = "umap.png"
SYNTHETIC_NAME = "synthetic.parquet"
LOCK_NAME = ".gexgen-benchmark.lock"  # held while a benchmark writes the folder


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise GexgenError(f"--out {str(out_dir)!r} is a file; choose a directory")
    if out_dir.is_dir() and any(p.name != LOCK_NAME for p in out_dir.iterdir()) and not overwrite:
        raise GexgenError(
            f"benchmark directory {str(out_dir)!r} already exists and is not empty; "
            "pass --overwrite to replace its results or choose another --out"
        )


def _set_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads; returns the previous count (None: unchanged)."""
    if threads is None:
        return None
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return previous


def _fit_and_sample(
    name: str,
    data: BenchmarkData,
    config: BenchmarkConfig,
    model_dir: Path,
    log: Callable,
    progress: bool,
    cache: Any,
) -> ModelOutput:
    if name in ("ctgan", "tvae"):
        return run_tabular(name, data, config, model_dir, log, progress, cache)
    return MODEL_RUNNERS[name](data, config, model_dir, log, progress)


def run_benchmark(
    cohort_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: BenchmarkConfig | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
    log: Callable[[str], None] = _stderr,
) -> dict[str, Any]:
    """Train, sample and score every model of ``config.models``; write ``out_dir``.

    A model that fails is recorded with its error in ``results["models"]``
    and the others still run; ``results["failed"]`` lists them.

    Examples
    --------
    >>> r = run_benchmark("cohort.h5ad", "bench", BenchmarkConfig.quick())  # doctest: +SKIP
    >>> print(r["table_text"])  # doctest: +SKIP
    """
    config = config or BenchmarkConfig()
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, overwrite)
    # one benchmark per folder, from the check to the last write (gexgen._lock)
    with folder_lock(out_dir, LOCK_NAME, what="benchmark directory", command="gexgen benchmark"):
        _check_out_dir(out_dir, overwrite)  # again: what another run wrote before the lock
        log(f"reading {cohort_path} (labels {', '.join(config.conditions)})")
        data = load_benchmark_data(cohort_path, list(config.conditions), config.seed)
        split = data.split_summary()
        log(
            f"split: {split['n_fit']} fit + {split['n_val']} validation (train split), "
            f"{split['n_test']} test; {len(data.genes)} genes; "
            f"{len(split['test_combinations'])} label combinations in the test split"
        )
        previous_threads = _set_threads(config.threads)
        try:
            return _run_models(data, out_dir, config, progress, command, log, overwrite)
        finally:
            _set_threads(previous_threads)


def _run_models(
    data: BenchmarkData,
    out_dir: Path,
    config: BenchmarkConfig,
    progress: bool,
    command: str | None,
    log: Callable[[str], None],
    overwrite: bool = False,
) -> dict[str, Any]:
    from gexgen.baselines import TransformerCache
    from gexgen.benchmark.html_page import render_page, umap_figure_png, umap_panel

    split = data.split_summary()
    out_dir.mkdir(parents=True, exist_ok=True)
    real = real_profiles(data)
    real_log2 = data.to_log2(data.x[data.test_rows])
    cache = TransformerCache() if config.share_transformer else None
    models: dict[str, Any] = {}
    rows, panels, notes, failed = [], [], [], []
    reference: dict[str, Any] | None = None
    start_all = time.perf_counter()
    for i, name in enumerate(config.models):
        log(f"[{i + 1}/{len(config.models)}] {name}")
        # numba (metrics, UMAP) restores its own thread count through the OpenMP
        # runtime torch shares, which silently undoes torch.set_num_threads
        _set_threads(config.threads)
        model_dir = out_dir / "models" / name
        try:
            output = _fit_and_sample(name, data, config, model_dir, log, progress, cache)
            log("  scoring")
            metrics = score_output(output, real, data, config.seed)
        except Exception as exc:  # one model's failure must not lose the others' results
            message = f"{type(exc).__name__}: {exc}"
            log(f"  FAILED: {message}")
            models[name] = {"error": message}
            failed.append(name)
            continue
        synthetic_path = _write_synthetic(output, data, model_dir / SYNTHETIC_NAME, config.seed)
        models[name] = {
            "synthetic": str(synthetic_path.relative_to(out_dir)),
            "fit_seconds": output.fit_seconds,
            "sampling": output.sampling,
            "n_synthetic": len(output.labels),
            "details": output.details,
            "metrics": metrics,
        }
        reference = reference or reference_row(metrics)
        row = summary_row(name, metrics, output)
        rows.append(row)
        if output.details.get("shortfall"):
            notes.append(
                f"{name}: rejection sampling fell short for {output.details['shortfall']} "
                "(missing profiles are not replaced)"
            )
        if output.details.get("sampler_note"):
            notes.append(f"{name}: {output.details['sampler_note']}")
        log(
            f"  gamma {row['gamma']:.3f} (real-vs-real {reference['gamma']:.3f}), "
            f"fit {output.fit_seconds:.0f} s, {output.sampling['rows_per_s']:,.0f} samples/s"
        )
        if config.umap:
            log("  UMAP")
            panels.append(
                umap_panel(
                    name, real_log2, data.test_labels, output.log2, output.labels, config.seed
                )
            )
    table = ([reference] if reference else []) + rows
    notes += _standing_notes(config, models)
    results: dict[str, Any] = {
        "gexgen_version": __version__,
        "command": command,
        "cohort": str(data.cohort_path),
        "data_sha256": data.data_sha256,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": config.to_dict(),
        "split_sizes": {k: split[k] for k in ("n_fit", "n_val", "n_test")},
        "split": split,
        "n_genes": len(data.genes),
        "paper_gamma": PAPER_GAMMA,
        "table": table,
        "table_text": format_table(table) if table else "",
        "models": models,
        "failed": failed,
        "notes": notes,
        "total_seconds": time.perf_counter() - start_all,
    }
    umap_png = umap_figure_png(panels) if panels else None
    # without --overwrite each file is created at its rename: one another run wrote
    # meanwhile is kept and this run fails (never a silent replacement)
    exclusive = not overwrite
    if umap_png is not None:
        with atomic_path(out_dir / UMAP_NAME, exclusive=exclusive) as tmp:
            tmp.write_bytes(umap_png)
    with atomic_path(out_dir / TABLE_NAME, exclusive=exclusive) as tmp:
        tmp.write_text(results["table_text"] + "\n")
    with atomic_path(out_dir / PAGE_NAME, exclusive=exclusive) as tmp:
        tmp.write_text(render_page(results, umap_png), encoding="utf-8")
    with atomic_path(out_dir / RESULTS_NAME, exclusive=exclusive) as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=json_default) + "\n")
    return results


def _write_synthetic(output: ModelOutput, data: BenchmarkData, path: Path, seed: int) -> Path:
    """The matched synthetic set (log2) as a gexgen profile file that `evaluate` reads."""
    import numpy as np

    from gexgen.runtime import profile_writer
    from gexgen.runtime.profile_format import PROFILE_FORMAT_NAME, PROFILE_FORMAT_VERSION

    vocab = {c: sorted(output.labels[c].astype(str).unique()) for c in data.conditions}
    metadata = {
        "format": PROFILE_FORMAT_NAME,
        "format_version": PROFILE_FORMAT_VERSION,
        "space": "log2",
        "n": len(output.labels),
        "genes": data.genes,
        "entrez_ids": None,
        "labels": list(data.conditions),
        "seed": seed,
        "conditions": "matched to the cohort's test split",
        "gexgen_version": __version__,
        "generator": {"benchmark_model": output.name},
    }
    codes = {
        c: np.searchsorted(vocab[c], output.labels[c].astype(str).to_numpy()).astype(np.int64)
        for c in data.conditions
    }
    with profile_writer(path, len(output.labels), data.genes, vocab, metadata) as writer:
        writer.write(0, np.ascontiguousarray(output.log2, dtype=np.float32), codes)
    return path


def _standing_notes(config: BenchmarkConfig, models: dict[str, Any]) -> list[str]:
    notes = []
    if config.quick_preset:
        notes.append(
            "--quick budgets (not the published ones): "
            + ", ".join(
                f"{m} {config.epochs_of(m)} epochs"
                for m in config.models
                if config.epochs_of(m) is not None
            )
        )
    tabular = [m for m in ("ctgan", "tvae") if m in models and "error" not in models[m]]
    for m in tabular:
        t = models[m]["details"]["transformer"]
        notes.append(
            f"{m}: ctgan's data transformer on {t['n_continuous']} continuous + "
            f"{t['n_discrete']} discrete columns: fit {t['fit_seconds']:.1f} s, transform "
            f"{t['transform_seconds']:.1f} s, inverse {t['inverse_seconds']:.1f} s for "
            f"{t['inverse_rows']} rows"
            + (" (fit shared with the other ctgan model)" if t["reused"] else "")
        )
    return notes


def command_line() -> str:
    """The command line of this process, for the results (``gexgen benchmark ...``)."""
    return " ".join(shlex.quote(a) for a in ["gexgen", *sys.argv[1:]])
