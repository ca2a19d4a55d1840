"""Generate profiles straight into a file, chunk by chunk, with bounded memory."""

from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gexgen.runtime.conditions import Mix
from gexgen.runtime.profile_format import (
    PROFILE_FORMAT_NAME,
    PROFILE_FORMAT_VERSION,
    Space,
    profile_suffix,
)
from gexgen.runtime.profile_writers import ParquetOptions, profile_writer
from gexgen.runtime.session import GeneratorSession

__all__ = ["DEFAULT_CHUNK_SIZE", "write_profiles", "file_sha256"]

DEFAULT_CHUNK_SIZE = 32_768  # rows per chunk: ~127 MB of float32 at 969 genes


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def write_profiles(
    session: GeneratorSession,
    out: str | os.PathLike[str],
    n: int,
    conditions: Any = "training",
    seed: int = 0,
    space: Space = "expression",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    mix: Mix = "training",
    progress: bool = True,
    parquet: ParquetOptions = ParquetOptions(),
    mean: bool = False,
) -> Path:
    """Write ``session.sample(n, ...)`` to ``out`` (.parquet, .h5ad, .npy or .csv).

    The file is written under a temporary name and renamed once complete; the
    profiles equal ``session.sample`` with the same arguments. Memory stays
    around two chunks whatever ``n``: one chunk is written by a background
    thread while the next is generated. The scale (``space``), seed, conditions
    and the generator's provenance are recorded in the file (see
    ``gexgen.runtime.profile_format``). ``mean`` writes the decoder mean (see
    ``GeneratorSession.sample``).

    Examples
    --------
    >>> write_profiles(GeneratorSession("generator.onnx"), "synthetic.parquet", 1_000_000,
    ...                conditions={"tissue": "kidney"}, seed=0)  # doctest: +SKIP
    """
    from gexgen import __version__

    out = Path(out)
    profile_suffix(out)  # unsupported extension: fail before any work
    plan = session.plan(n, conditions, seed, mix)
    chunks = session.iter_planned(n, plan, seed, space, chunk_size, n_buffers=2, mean=mean)
    info = session.info
    metadata = {
        "format": PROFILE_FORMAT_NAME,
        "format_version": PROFILE_FORMAT_VERSION,
        "space": space,
        "n": int(n),
        "genes": list(info.genes),
        "entrez_ids": None if info.entrez_ids is None else list(info.entrez_ids),
        "labels": [label.name for label in info.labels],
        "seed": int(seed),
        "mean": bool(mean),
        "conditions": plan.description,
        "gexgen_version": __version__,
        "generator": {
            "file": session.path.name,
            "sha256": file_sha256(session.path),
            "model_type": info.metadata.get("model_type"),
            "gexgen_version": info.metadata.get("gexgen_version"),
            "created": info.metadata.get("created"),
            "training_data_sha256": (info.metadata.get("training") or {}).get("data_sha256"),
        },
    }
    label_values = {label.name: label.values for label in info.labels}
    with profile_writer(
        out, n, info.genes, label_values, metadata, info.entrez_ids, parquet
    ) as writer:
        bar = _progress(n, out.name, progress)
        # one thread writes chunk k (buffer k % 2) while this one generates chunk k + 1;
        # leaving the pool's block waits for that write, before any file is renamed or removed
        with bar, ThreadPoolExecutor(1, thread_name_prefix="gexgen-writer") as pool:
            pending: tuple[Future[None], int] | None = None
            for chunk in chunks:
                _finish(pending, bar)
                pending = (
                    pool.submit(writer.write, chunk.start, chunk.values, chunk.codes),
                    len(chunk.values),
                )
            _finish(pending, bar)
    return out


def _finish(pending: tuple[Future[None], int] | None, bar: Any) -> None:
    if pending is not None:
        pending[0].result()  # re-raises a failed write here
        bar.update(pending[1])


def _progress(total: int, name: str, enabled: bool) -> Any:
    if not enabled:  # tqdm.auto imports asyncio: skip it when nothing is shown
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=f"generating {name}",
        unit=" profiles",
        unit_scale=True,
        disable=not enabled,
        dynamic_ncols=True,
    )


class _NoProgress(contextlib.nullcontext):
    def update(self, n: int) -> None:
        pass
