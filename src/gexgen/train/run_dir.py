"""The run directory: what a training run writes and the checks before writing."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from gexgen._atomic import atomic_path
from gexgen.errors import GexgenError
from gexgen.train.checkpoint import CHECKPOINT_NAME, TRAINING_STATE_NAME
from gexgen.train.config import RESUMABLE_FIELDS, TrainConfig
from gexgen.train.run_lock import LOCK_NAME

__all__ = [
    "CONFIG_NAME",
    "HISTORY_NAME",
    "RUN_FILES",
    "check_new_run_dir",
    "clear_run_files",
    "start_run_dir",
    "config_differences",
    "write_json",
    "write_history",
]

CONFIG_NAME = "config.json"
HISTORY_NAME = "history.csv"
RUN_FILES = (CHECKPOINT_NAME, TRAINING_STATE_NAME, CONFIG_NAME, HISTORY_NAME)


def check_new_run_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse a non-empty directory (or a file) unless ``overwrite``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise GexgenError(f"run directory {str(out_dir)!r} is a file; choose another --out")
    if out_dir.is_dir() and any(p.name != LOCK_NAME for p in out_dir.iterdir()) and not overwrite:
        raise GexgenError(
            f"run directory {str(out_dir)!r} already exists and is not empty; "
            "pass --overwrite to replace it or --resume to continue it"
        )


def clear_run_files(out_dir: Path) -> None:
    """Remove the files a previous run wrote (only those: other files stay)."""
    for name in RUN_FILES:
        (out_dir / name).unlink(missing_ok=True)


def start_run_dir(out_dir: Path, config: dict[str, Any], *, fresh: bool = True) -> None:
    """Create ``out_dir`` and write ``config.json``; a ``fresh`` run first removes old run files.

    The first write of a run: everything that can fail on the inputs is checked
    before it is called.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        clear_run_files(out_dir)
    write_json(config, out_dir / CONFIG_NAME)


def config_differences(saved: TrainConfig, wanted: TrainConfig) -> list[str]:
    """Fields (other than the resumable ones) where two configs differ."""
    a, b = saved.to_dict(), wanted.to_dict()
    return [
        f"{k}: saved {a[k]!r}, asked {b[k]!r}"
        for k in a
        if k not in RESUMABLE_FIELDS and a[k] != b[k]
    ]


def write_json(d: dict[str, Any], path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(d, indent=2) + "\n")


def write_history(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """One row per epoch: losses and seconds (and selection scores where computed)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        if rows:
            fields = list(dict.fromkeys(k for row in rows for k in row))  # first-seen order
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
