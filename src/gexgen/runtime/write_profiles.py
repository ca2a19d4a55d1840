"""Generate profiles straight into a file, chunk by chunk, with bounded memory."""

from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gexgen._outputs import check_output_file
from gexgen.errors import GexgenError
from gexgen.runtime.anndata_conventions import obs_name_prefix, units_of
from gexgen.runtime.conditions import Mix
from gexgen.runtime.profile_format import (
    PROFILE_FORMAT_NAME,
    PROFILE_FORMAT_VERSION,
    Space,
    profile_suffix,
)
from gexgen.runtime.profile_writers import (
    STDOUT,
    STREAM_FORMATS,
    ParquetOptions,
    profile_writer,
    sidecars_of,
)
from gexgen.runtime.session import GeneratorSession, _check_n

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "write_profiles",
    "file_sha256",
    "profile_metadata",
    "estimated_bytes",
    "check_free_space",
]

DEFAULT_CHUNK_SIZE = 32_768  # rows per chunk: ~127 MB of float32 at 969 genes


# bytes per value on disk: float32 in binary formats; "%g"-like text with a separator in csv
_BYTES_PER_VALUE = {".csv": 12.0, ".parquet": 4.0, ".h5ad": 4.0, ".npy": 4.0}
_SPACE_MARGIN = 1.05


def estimated_bytes(n: int, n_genes: int, suffix: str) -> int:
    """A lower estimate of the size of n profiles x n_genes written as ``suffix``."""
    return int(n * n_genes * _BYTES_PER_VALUE.get(suffix, 4.0))


def check_free_space(out: Path, needed: int) -> None:
    """Refuse when ``needed`` bytes (plus 5%) exceed the free space where ``out`` goes."""
    import shutil

    folder = out.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell: let the write itself report a full disk
    if needed * _SPACE_MARGIN > free:
        raise GexgenError(
            f"{str(out)!r} would take about {_size(needed)} but only {_size(free)} are free "
            "there; lower --n, write elsewhere, or pass --force to try anyway"
        )


def _size(n_bytes: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def profile_metadata(
    session: GeneratorSession,
    n: int,
    seed: int,
    space: Space,
    conditions: Any,
    mean: bool = False,
) -> dict[str, Any]:
    """The metadata stored with generated profiles (``gexgen.runtime.profile_format``).

    Besides the scale, seed, conditions and the generator's provenance it says
    that the rows are synthetic, their units, and how rows are named in AnnData
    (``gexgen.runtime.anndata_conventions``).
    """
    from gexgen import __version__  # looked up lazily (importlib.metadata costs start-up time)

    info = session.info
    units = info.metadata.get("units")
    return {
        "format": PROFILE_FORMAT_NAME,
        "format_version": PROFILE_FORMAT_VERSION,
        "synthetic": True,
        "space": space,
        "units": units_of(space, units),
        "n": int(n),
        "genes": list(info.genes),
        "entrez_ids": None if info.entrez_ids is None else list(info.entrez_ids),
        "labels": [label.name for label in info.labels],
        "seed": int(seed),
        "obs_names": f"{obs_name_prefix(seed)}<row>",
        "mean": bool(mean),
        "conditions": conditions,
        "gexgen_version": __version__,
        "generator": {
            "file": session.path.name,
            # the hash of the bytes the session loaded (not the file re-read later)
            "sha256": getattr(getattr(session, "_graph", None), "sha256", None)
            or file_sha256(session.path),
            "model_type": info.metadata.get("model_type"),
            "gexgen_version": info.metadata.get("gexgen_version"),
            "created": info.metadata.get("created"),
            "training_data_sha256": (info.metadata.get("training") or {}).get("data_sha256"),
            "units": units,
        },
    }


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
    overwrite: bool = False,
    force: bool = False,
    stream_format: str | None = None,
    mean: bool = False,
) -> Path:
    """Write ``session.sample(n, ...)`` to ``out`` (.parquet, .h5ad, .npy or .csv).

    The file is written under a temporary name and renamed once complete; the
    profiles equal ``session.sample`` with the same arguments. Memory stays
    around two chunks whatever ``n``: one chunk is written by a background
    thread while the next is generated. The scale (``space``), seed, conditions
    and the generator's provenance are recorded in the file (see
    ``gexgen.runtime.profile_format``). ``out`` ``"-"`` streams to stdout in
    ``stream_format`` (parquet, csv, or npy without its labels).

    An existing ``out`` (or sidecar) is refused unless ``overwrite``; an ``n``
    whose estimated file size exceeds the free space of ``out``'s disk is
    refused unless ``force`` (both before any profile is generated).

    ``mean`` writes the decoder mean (see
    ``GeneratorSession.sample``).

    Examples
    --------
    >>> write_profiles(GeneratorSession("generator.onnx"), "synthetic.parquet", 1_000_000,
    ...                conditions={"tissue": "kidney"}, seed=0)  # doctest: +SKIP
    """
    to_stdout = str(out) == STDOUT
    out = Path(out)
    _check_n(n)
    if not to_stdout:
        suffix = profile_suffix(out)  # unsupported extension: fail before any work
        check_output_file(out, overwrite, sidecars=sidecars_of(out))
        if not force:
            check_free_space(out, estimated_bytes(n, len(session.info.genes), suffix))
    elif stream_format not in STREAM_FORMATS:
        raise GexgenError(
            f"--out - (stdout) needs --format parquet, csv or npy, got {stream_format!r}"
        )
    plan = session.plan(n, conditions, seed, mix)
    chunks = session.iter_planned(n, plan, seed, space, chunk_size, n_buffers=2, mean=mean)
    info = session.info
    metadata = profile_metadata(session, n, seed, space, plan.description, mean)
    label_values = {label.name: label.values for label in info.labels}
    with profile_writer(
        STDOUT if to_stdout else out, n, info.genes, label_values, metadata, info.entrez_ids,
        parquet, stream_format, overwrite=overwrite,
    ) as writer:  # fmt: skip
        bar = _progress(n, "stdout" if to_stdout else out.name, progress)
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
