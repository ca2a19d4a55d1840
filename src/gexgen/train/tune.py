"""The paper's model selection: a grid of learning rates x hidden depths, ranked by val loss."""

from __future__ import annotations

import csv
import errno
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gexgen._atomic import atomic_path
from gexgen._lock import folder_lock
from gexgen.errors import GexgenError
from gexgen.train.config import TrainConfig, hidden_for_depth
from gexgen.train.data import prepare_training_data
from gexgen.train.loop import train_cvae

__all__ = ["PAPER_LRS", "PAPER_DEPTHS", "TuneResult", "tune_cvae", "format_table"]

PAPER_LRS = (1e-3, 5e-3, 1e-4, 1e-5)
PAPER_DEPTHS = (2, 3, 4)
TRIALS_DIR = "trials"
BEST_DIR = "best"
TABLE_NAME = "tune.csv"
LOCK_NAME = ".gexgen-tune.lock"  # held while a tune writes the folder


@dataclass(frozen=True)
class TuneResult:
    """Grid rows ranked by validation loss (best first) and where the best run is."""

    best_run_dir: Path
    rows: list[dict[str, Any]] = field(repr=False)


def tune_cvae(
    cohort_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    base_config: TrainConfig | None = None,
    *,
    lrs: Sequence[float] = PAPER_LRS,
    depths: Sequence[int] = PAPER_DEPTHS,
    overwrite: bool = False,
    keep_all: bool = False,
    progress: bool = True,
) -> TuneResult:
    """Train one run per (lr, hidden depth), rank by best validation loss, keep the best.

    The best run ends in ``out_dir/best`` and the ranked table in
    ``out_dir/tune.csv``; the other runs are removed unless ``keep_all``
    (then they stay in ``out_dir/trials``). A run whose loss diverges is ranked
    last with its error.

    Examples
    --------
    >>> result = tune_cvae("cohort.h5ad", "runs/tune", TrainConfig(epochs=100))  # doctest: +SKIP
    >>> print(format_table(result.rows))  # doctest: +SKIP
    """
    base = base_config or TrainConfig()
    out_dir = Path(out_dir)
    if not lrs or not depths:
        raise GexgenError("the grid is empty: give at least one learning rate and one depth")
    grid = []
    for depth in depths:
        enc, dec = hidden_for_depth(int(depth))
        for lr in lrs:
            name = f"lr={lr:g}_layers={depth}"
            grid.append(
                (
                    name,
                    lr,
                    int(depth),
                    base.replace(lr=float(lr), encoder_hidden=enc, decoder_hidden=dec),
                )
            )
    # one tune per folder, from the check to the last write (gexgen._lock)
    with folder_lock(out_dir, LOCK_NAME, what="tuning directory", command="gexgen tune"):
        return _tune_locked(cohort_path, out_dir, base, grid, overwrite, keep_all, progress)


def _tune_locked(
    cohort_path: str | os.PathLike[str],
    out_dir: Path,
    base: TrainConfig,
    grid: list[tuple[str, float, int, TrainConfig]],
    overwrite: bool,
    keep_all: bool,
    progress: bool,
) -> TuneResult:
    if any(p.name != LOCK_NAME for p in out_dir.iterdir()) and not overwrite:
        raise GexgenError(
            f"tuning directory {str(out_dir)!r} already exists and is not empty; "
            "pass --overwrite to replace it"
        )
    prepare_training_data(cohort_path, base)  # bad input fails here, before writing

    for stale in (TRIALS_DIR, BEST_DIR):
        shutil.rmtree(out_dir / stale, ignore_errors=True)
    (out_dir / TABLE_NAME).unlink(missing_ok=True)

    rows = []
    for i, (name, lr, depth, config) in enumerate(grid, start=1):
        if progress:
            print(f"[{i}/{len(grid)}] {name}", flush=True)
        start = time.perf_counter()
        row: dict[str, Any] = {"run": name, "lr": lr, "hidden_layers": depth}
        try:
            result = train_cvae(cohort_path, out_dir / TRIALS_DIR / name, config, progress=progress)
            row.update(
                best_val_loss=result.best_val_loss,
                best_epoch=result.best_epoch,
                epochs_run=result.epochs_run,
                status="ok",
            )
        except GexgenError as exc:  # a diverging loss: rank it last, go on
            row.update(best_val_loss=float("inf"), best_epoch=0, epochs_run=0, status=str(exc))
        row["seconds"] = round(time.perf_counter() - start, 2)
        rows.append(row)

    rows.sort(key=lambda r: r["best_val_loss"])
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    if rows[0]["status"] != "ok":
        raise GexgenError(f"every run of the grid failed; first error: {rows[0]['status']}")
    best = out_dir / BEST_DIR
    _claim_best(out_dir / TRIALS_DIR / rows[0]["run"], best)
    if not keep_all:
        shutil.rmtree(out_dir / TRIALS_DIR, ignore_errors=True)
    # tune.csv is created at its rename without --overwrite: another run's is kept
    with (
        atomic_path(out_dir / TABLE_NAME, exclusive=not overwrite) as tmp,
        open(tmp, "w", newline="") as fh,
    ):
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return TuneResult(best_run_dir=best, rows=rows)


def _claim_best(trial: Path, best: Path) -> None:
    """Rename the best trial to ``best``; refuse (keeping both) if another run made ``best``.

    ``shutil.move`` would move the trial *into* an existing ``best/`` and mix two
    runs; ``os.rename`` onto a folder that is not empty fails instead.
    """
    try:
        os.rename(trial, best)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise
        raise GexgenError(
            f"{str(best)!r} appeared while the grid ran (another gexgen tune writes to this "
            f"folder); it was left as is and this run's best trial stays in {str(trial)!r}: "
            "choose another --out"
        ) from None


def format_table(rows: list[dict[str, Any]]) -> str:
    """The ranked grid as a plain-text table."""
    header = f"{'rank':>4}  {'run':<22} {'val loss':>12} {'best epoch':>10} {'seconds':>9}  status"
    lines = [header]
    for r in rows:
        status = r["status"] if len(r["status"]) < 60 else r["status"][:57] + "..."
        lines.append(
            f"{r['rank']:>4}  {r['run']:<22} {r['best_val_loss']:>12.4f} "
            f"{r['best_epoch']:>10} {r['seconds']:>9.1f}  {status}"
        )
    return "\n".join(lines)
