"""Generate a partitioned profile dataset, one task per row range, on a pool or a Dask cluster."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gexgen import __version__
from gexgen._lock import folder_lock
from gexgen.distributed._executor import open_executor, run_ordered
from gexgen.distributed._layout import (
    DATASET_FORMAT_NAME,
    DATASET_FORMAT_VERSION,
    DEFAULT_PARTITION_ROWS,
    MANIFEST_NAME,
    dataset_files,
    partition_is_complete,
    plan_partitions,
    read_manifest,
    remove_stale_temporaries,
    write_manifest,
)
from gexgen.distributed._partition import (
    WRITE_CHUNK_ROWS,
    RowRangePlan,
    WriteTask,
    write_partition,
)
from gexgen.errors import GexgenError
from gexgen.runtime.conditions import ConditionPlan, Mix
from gexgen.runtime.profile_format import PROFILE_FORMAT_NAME, PROFILE_FORMAT_VERSION, Space
from gexgen.runtime.profile_writers import ParquetOptions

__all__ = ["generate"]

# held by the generate writing the folder (gexgen._lock): one generation per folder at a time
LOCK_NAME = ".gexgen-dataset.lock"
# manifest fields a resumed run must agree on
_RUN_FIELDS = ("n", "seed", "space", "conditions", "plan_sha256", "partition_rows", "genes")


def generate(
    generator: str | os.PathLike[str],
    out: str | os.PathLike[str],
    n: int,
    conditions: Any = "training",
    seed: int = 0,
    space: Space = "expression",
    mix: Mix = "training",
    *,
    partition_rows: int | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    parquet: ParquetOptions = ParquetOptions(),
    progress: bool = False,
    providers: str | list[str] | None = "cpu",
    threads: int = 1,
    chunk_rows: int = WRITE_CHUNK_ROWS,
) -> dict[str, Any]:
    """Write ``n`` profiles to the dataset folder ``out``, one parquet file per row range.

    The partitions, read in order, hold exactly the profiles of a single-process
    ``gexgen generate`` with the same seed and n (same bytes), whatever the
    partition size, the number of workers or the scheduler.

    Parameters
    ----------
    generator
        The ``.onnx`` file; with a Dask scheduler it must sit on a path every
        worker reads (its sha256 is checked on each worker).
    out
        Dataset folder; partition files and ``_manifest.json`` go there.
    n, conditions, seed, space, mix
        As for ``GeneratorSession.sample``.
    partition_rows
        Rows per partition file (default 131,072; on resume: the manifest's).
    scheduler
        None: a local process pool; ``"local"``: a Dask LocalCluster; an
        address such as ``"tcp://10.0.0.5:8786"``; or a ``distributed.Client``.
    workers
        Processes of the local pool or LocalCluster (default: the cores).
    resume
        Keep the partitions a previous run of the same generation completed.
    overwrite
        Replace an existing dataset in ``out``.
    providers, threads, chunk_rows
        onnxruntime providers and threads of each task (one task per core by
        default), and the rows it generates at a time.

    Returns
    -------
    dict
        The manifest written to ``out/_manifest.json``.

    Examples
    --------
    >>> generate("generator.onnx", "synthetic/", 10_000_000, seed=0,
    ...          scheduler="tcp://10.0.0.5:8786")  # doctest: +SKIP
    """
    return _generate(
        generator,
        out,
        n,
        conditions,
        seed,
        space,
        mix,
        partition_rows=partition_rows,
        scheduler=scheduler,
        workers=workers,
        resume=resume,
        overwrite=overwrite,
        parquet=parquet,
        progress=progress,
        providers=providers,
        threads=threads,
        chunk_rows=chunk_rows,
    )


def _generate(
    generator: str | os.PathLike[str], out: str | os.PathLike[str], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """``_generate_locked`` holding the dataset folder's lock from the first check to the end.

    A second ``generate`` into the same folder meanwhile is refused with one line.
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise GexgenError(f"{str(folder)!r} is a file; a partitioned dataset needs a folder")
    with folder_lock(folder, LOCK_NAME, what="dataset folder", command="gexgen generate"):
        return _generate_locked(generator, out, *args, **kwargs)


def _generate_locked(
    generator: str | os.PathLike[str],
    out: str | os.PathLike[str],
    n: int,
    conditions: Any,
    seed: int,
    space: Space,
    mix: Mix,
    *,
    partition_rows: int | None,
    scheduler: Any,
    workers: int | None,
    resume: bool,
    overwrite: bool,
    parquet: ParquetOptions,
    progress: bool,
    providers: str | list[str] | None = "cpu",
    threads: int = 1,
    chunk_rows: int = WRITE_CHUNK_ROWS,
    task_function: Callable[[WriteTask], dict[str, Any]] = write_partition,
) -> dict[str, Any]:
    """``generate`` with the partition function as a parameter (tests inject failures)."""
    from gexgen.runtime import GeneratorSession
    from gexgen.runtime.noise import check_seed
    from gexgen.runtime.write_profiles import file_sha256

    if resume and overwrite:
        raise GexgenError("give --resume or --overwrite, not both")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise GexgenError(f"n must be a positive integer, got {n!r}")
    n, seed = int(n), check_seed(seed)
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise GexgenError(f"workers must be a positive integer, got {workers!r}")  # before writing
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise GexgenError(f"{str(folder)!r} is a file; a partitioned dataset needs a folder")
    generator = Path(generator).resolve()
    with GeneratorSession(generator, providers="cpu", threads=1) as session:
        plan = session.plan(n, conditions, seed, mix)
        info = session.info
    sha256 = file_sha256(generator)
    previous = _existing(folder, resume, overwrite)
    if partition_rows is None:
        partition_rows = int(previous["partition_rows"]) if previous else DEFAULT_PARTITION_ROWS
    partitions = plan_partitions(n, partition_rows)
    file_metadata = {
        "format": PROFILE_FORMAT_NAME,
        "format_version": PROFILE_FORMAT_VERSION,
        "space": space,
        "n": n,
        "genes": list(info.genes),
        "entrez_ids": None if info.entrez_ids is None else list(info.entrez_ids),
        "labels": [label.name for label in info.labels],
        "seed": seed,
        "conditions": plan.description,
        "gexgen_version": __version__,
        "generator": {
            "file": generator.name,
            "sha256": sha256,
            "model_type": info.metadata.get("model_type"),
            "gexgen_version": info.metadata.get("gexgen_version"),
            "created": info.metadata.get("created"),
            "training_data_sha256": (info.metadata.get("training") or {}).get("data_sha256"),
        },
    }
    manifest: dict[str, Any] = {
        "format": DATASET_FORMAT_NAME,
        "format_version": DATASET_FORMAT_VERSION,
        "complete": False,
        "n": n,
        "seed": seed,
        "space": space,
        "conditions": plan.description,
        "plan_sha256": _plan_sha256(plan, n),
        "partition_rows": int(partition_rows),
        "genes": len(info.genes),
        "labels": [label.name for label in info.labels],
        "gexgen_version": __version__,
        "generator": file_metadata["generator"],
        "partitions": [
            {"index": p.index, "file": p.file, "start": p.start, "stop": p.stop, "rows": p.rows}
            for p in partitions
        ],
    }
    done = _completed(folder, previous, manifest) if previous else set()
    for entry in manifest["partitions"]:
        if entry["index"] in done:
            entry.update(complete=True, bytes=previous["partitions"][entry["index"]]["bytes"])
        else:
            entry.update(complete=False, bytes=None)
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder, manifest)
    todo = [p for p in partitions if p.index not in done]
    say = _reporter(progress)
    say(
        f"{len(partitions)} partitions of up to {partition_rows:,} rows in {folder}"
        + (f"; {len(done)} already complete" if done else "")
    )
    tasks = [
        WriteTask(
            generator=str(generator),
            generator_sha256=sha256,
            out=str(folder / p.file),
            start=p.start,
            stop=p.stop,
            seed=seed,
            space=space,
            plan=_task_plan(plan, p.start, p.stop),
            metadata={**file_metadata, "partition": {"index": p.index, "start": p.start}},
            parquet=parquet,
            threads=int(threads),
            providers=providers,
            chunk_rows=int(chunk_rows),
        )
        for p in todo
    ]
    from tqdm.auto import tqdm

    bar = tqdm(
        total=sum(p.rows for p in todo),
        desc=f"generating {folder.name}/",
        unit=" profiles",
        unit_scale=True,
        disable=not progress,
        dynamic_ncols=True,
    )

    def record(index: int, result: dict[str, Any]) -> None:
        entry = manifest["partitions"][todo[index].index]
        if int(result["rows"]) != entry["rows"]:
            raise GexgenError(
                f"partition {entry['index']} wrote {result['rows']} rows, expected {entry['rows']}"
            )
        entry.update(complete=True, bytes=int(result["bytes"]))
        write_manifest(folder, manifest)
        bar.update(entry["rows"])

    if tasks:
        with bar, open_executor(scheduler, workers) as executor:
            run_ordered(executor, task_function, tasks, lambda i, r: None, on_done=record)
    missing = [e["index"] for e in manifest["partitions"] if not e["complete"]]
    if missing:  # pragma: no cover - run_ordered raises first
        raise GexgenError(f"partitions {missing[:10]} did not complete; rerun with --resume")
    remove_stale_temporaries(folder)
    manifest["complete"] = True
    write_manifest(folder, manifest)
    return manifest


def _reporter(enabled: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if enabled:
            print(f"generate: {message}", file=sys.stderr, flush=True)

    return say


def _task_plan(plan: ConditionPlan, start: int, stop: int) -> ConditionPlan:
    """Per-row plans are cut to the task's rows; drawn and fixed ones are small as they are."""
    return RowRangePlan.cut(plan, start, stop) if plan.description.get("per_row") else plan


def _plan_sha256(plan: ConditionPlan, n: int) -> str | None:
    """A digest of per-row label codes (other plans are described in full by their JSON)."""
    if not plan.description.get("per_row"):
        return None
    digest = hashlib.sha256()
    for name, codes in sorted(plan.codes(0, n).items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(codes, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _existing(folder: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """The previous manifest to resume from (None: start afresh); refuse to clobber."""
    ours = dataset_files(folder)
    others = (
        [p for p in folder.iterdir() if p not in ours and p.name != LOCK_NAME]
        if folder.is_dir()
        else []
    )
    if not ours:
        if others and not overwrite:
            raise GexgenError(
                f"{str(folder)!r} already holds {len(others)} other file(s) (e.g. "
                f"{others[0].name!r}); give an empty or new folder"
            )
        return None
    if overwrite:
        for p in ours:
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
        return None
    if not resume:
        raise GexgenError(
            f"{str(folder)!r} already holds a dataset; give --overwrite to replace it "
            "or --resume to finish it"
        )
    if not (folder / MANIFEST_NAME).is_file():
        raise GexgenError(
            f"{str(folder)!r} holds partition files but no {MANIFEST_NAME}; nothing to "
            "resume from: give --overwrite"
        )
    return read_manifest(folder)


def _completed(folder: Path, previous: dict[str, Any], manifest: dict[str, Any]) -> set[int]:
    """Indices of partitions the previous run completed, after checking it was the same run."""
    differ = [
        key
        for key in (*_RUN_FIELDS, "generator")
        if _run_value(previous, key) != _run_value(manifest, key)
    ]
    if differ:
        shown = ", ".join(
            f"{key}: {_run_value(previous, key)!r} there, {_run_value(manifest, key)!r} now"
            for key in differ
        )
        raise GexgenError(
            f"cannot resume {str(folder)!r}: it holds a different generation ({shown}); "
            "rerun with the same arguments, or give --overwrite"
        )
    return {
        int(entry["index"])
        for entry in previous.get("partitions", [])
        if partition_is_complete(folder, entry)
    }


def _run_value(manifest: dict[str, Any], key: str) -> Any:
    if key == "generator":
        return (manifest.get("generator") or {}).get("sha256")
    return manifest.get(key)
