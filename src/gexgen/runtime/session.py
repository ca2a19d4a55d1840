"""Load a generator ``.onnx`` file once and draw profiles from it, in memory or chunk by chunk."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gexgen.errors import GexgenError
from gexgen.generator_format import EXPRESSION_OUTPUT, LOG_OUTPUT
from gexgen.runtime.conditions import ConditionPlan, Mix, plan_conditions
from gexgen.runtime.fresh_memory import fresh_matrix
from gexgen.runtime.generator_graph import GeneratorGraph
from gexgen.runtime.generator_info import GeneratorInfo
from gexgen.runtime.noise import BLOCK_ROWS, NOISE_STREAM_VERSIONS, check_seed, fill_noise
from gexgen.runtime.profile_format import SPACES, Space
from gexgen.runtime.run_batches import BatchWorkers, default_threads

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GeneratorSession", "ProfileChunk"]

_Scratch = tuple[np.ndarray, np.ndarray | None]  # one run batch's z and eps
_OUTPUT_OF_SPACE = {"expression": EXPRESSION_OUTPUT, "log2": LOG_OUTPUT}
# sys.getrefcount of an array held by one list only, measured as _take_buffers does
_PROBE = [np.empty(0)]
_UNREFERENCED = sys.getrefcount(_PROBE[0])
del _PROBE


@dataclass
class ProfileChunk:
    """Rows ``start : start + len(values)`` of a generation.

    ``values`` is float32 (rows x genes); ``codes`` maps each label to its int64
    codes, indices into ``label_values[label]``.
    """

    start: int
    values: np.ndarray
    codes: dict[str, np.ndarray]
    label_values: dict[str, tuple[str, ...]]

    @property
    def labels(self) -> pd.DataFrame:
        """The chunk's labels as categorical columns."""
        return _labels_frame(self.codes, self.label_values, self.start)


def _labels_frame(
    codes: Mapping[str, np.ndarray], values: Mapping[str, tuple[str, ...]], start: int = 0
) -> pd.DataFrame:
    import pandas as pd

    n = len(next(iter(codes.values()))) if codes else 0
    return pd.DataFrame(
        {
            name: pd.Categorical.from_codes(code, categories=list(values[name]))
            for name, code in codes.items()
        },
        index=pd.RangeIndex(start, start + n),
    )


class GeneratorSession:
    """A gexgen generator file opened in onnxruntime.

    Parameters
    ----------
    path
        The ``.onnx`` file written by ``gexgen export``.
    providers
        onnxruntime execution providers (full or short names, e.g. ``["cuda", "cpu"]``);
        default CUDA when available, else CPU.
    threads
        Cores to use (default: those this process may run on,
        ``os.sched_getaffinity``).

    Notes
    -----
    Reproducibility: row ``i`` takes its latent noise from the stream of block
    ``i // 1024``, ``SFC64(SeedSequence(seed, spawn_key=(0, block)))``, its decoder
    noise (files with an ``eps`` input) from the file's noise stream (stream 2:
    a Philox counter keyed by the seed and ``i``; stream 1, files exported before
    the stream was versioned: the same block stream), and its drawn labels from
    ``spawn_key=(1, block)`` (see ``gexgen.runtime.noise``). The same seed thus
    gives the same profiles whatever the chunk size or thread count, and a
    shorter run is a prefix of a longer one. Label assignment for mixes follows
    ``gexgen.runtime.conditions``.

    Rows are generated in run batches cut at absolute multiples of their size.
    On CPU, ``threads`` threads each take whole batches of 1,024 rows, draw
    their noise and run the graph on them with one onnxruntime thread
    (``gexgen.runtime.run_batches``), so the noise is read back from that
    core's cache. On an accelerator a batch is 65,536 rows, its noise drawn by
    ``threads`` threads before one graph call. Scratch arrays, and the chunk
    arrays of ``iter_chunks(..., reuse_buffers=True)``, are kept by the session
    for the next call (fresh memory costs a page fault per page on first write).

    Examples
    --------
    >>> gen = GeneratorSession("generator.onnx")  # doctest: +SKIP
    >>> conditions = {"tissue": "kidney", "status": "tumor"}
    >>> df = gen.sample(1000, conditions=conditions, seed=0)  # doctest: +SKIP
    >>> means = gen.sample(1000, conditions=conditions, seed=0, mean=True)  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        providers: str | list[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._graph = GeneratorGraph(self.path, providers, threads)
        self.info: GeneratorInfo = self._graph.info
        self.providers: list[str] = self._graph.providers
        self.threads = int(threads) if threads else default_threads()
        self.noise_stream = _noise_stream_of(self.info, str(self.path))
        self._pool: ThreadPoolExecutor | None = None
        # run batches at once: one per core on CPU; on an accelerator one (its noise is
        # drawn by the noise pool); the workers keep each batch's (z, eps) scratch
        self._workers: BatchWorkers[_Scratch] = BatchWorkers(
            self.threads if self._graph.data_parallel else 1, self._new_scratch
        )
        # chunk buffers, reused across calls
        self._kept_buffers: dict[tuple[int, int], list[np.ndarray]] = {}
        self._lock = threading.Lock()
        self._zeros: np.ndarray | None = None

    # ------------------------------------------------------------------ metadata
    @property
    def metadata(self) -> dict[str, Any]:
        """The full metadata JSON of the file."""
        return self.info.metadata

    @property
    def genes(self) -> list[str]:
        return list(self.info.genes)

    @property
    def entrez_ids(self) -> list[int | None] | None:
        return None if self.info.entrez_ids is None else list(self.info.entrez_ids)

    @property
    def labels(self) -> dict[str, list[str]]:
        """Label name -> vocabulary (in code order)."""
        return {label.name: list(label.values) for label in self.info.labels}

    @property
    def combinations(self) -> list[dict[str, Any]]:
        """Label combinations seen in training: ``{"values": {...}, "count": n}``."""
        names = [label.name for label in self.info.labels]
        return [
            {"values": dict(zip(names, combo, strict=True)), "count": count}
            for combo, count in self.info.combinations
        ]

    @property
    def precision(self) -> str:
        """``"fp32"`` or ``"int8"`` (quantized weights), from the metadata."""
        export = self.info.metadata.get("export")
        return str(export.get("precision", "fp32")) if isinstance(export, dict) else "fp32"

    # ------------------------------------------------------------------ running
    def decode(
        self,
        z: np.ndarray,
        codes: Mapping[str, np.ndarray],
        eps: np.ndarray | None = None,
        space: Space = "expression",
    ) -> np.ndarray:
        """Run the graph on given latent noise and label codes (no random draws).

        ``eps`` defaults to zeros (the decoder mean) for generators with a noise input.
        """
        output = _output_name(space)
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.info.n_latent:
            raise GexgenError(f"z must have shape (n, {self.info.n_latent}), got {z.shape}")
        codes = {
            name: _integer_codes(codes[name], name, len(z)) for name in self._label_names(codes)
        }
        for label in self.info.labels:  # the graph would give NaN rows: say why instead
            bad = (codes[label.name] < 0) | (codes[label.name] >= len(label.values))
            if bad.any():
                raise GexgenError(
                    f"codes of {label.name!r} outside 0..{len(label.values) - 1} in "
                    f"{int(bad.sum())} row(s) (e.g. {int(codes[label.name][bad][0])}); "
                    f"a code is the index of a value in {list(label.values)[:10]}"
                )
        if self.info.noise_input:
            eps = (
                np.zeros((len(z), len(self.info.genes)), np.float32)
                if eps is None
                else np.ascontiguousarray(eps, dtype=np.float32)
            )
        out = fresh_matrix(len(z), len(self.info.genes))

        def task(lo: int, hi: int, scratch: _Scratch) -> None:
            part = {name: c[lo:hi] for name, c in codes.items()}
            self._run_into(out[lo:hi], output, z[lo:hi], part, None if eps is None else eps[lo:hi])

        self._workers.run(0, len(z), self._graph.run_batch, task)
        return out

    def _label_names(self, codes: Mapping[str, Any]) -> list[str]:
        names = [label.name for label in self.info.labels]
        missing = [name for name in names if name not in codes]
        if missing:
            raise GexgenError(f"codes missing for label(s) {missing}; labels are {names}")
        return names

    def _run_into(
        self,
        out: np.ndarray,
        output: str,
        z: np.ndarray,
        codes: Mapping[str, np.ndarray],
        eps: np.ndarray | None,
    ) -> None:
        self._graph.run_into(out, output, z, codes, eps)

    def _noise_pool(self) -> ThreadPoolExecutor | None:
        if self.threads < 2:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="gexgen-noise")
        return self._pool

    def _mean_eps(self, rows: int) -> np.ndarray:
        """Zeros for the ``eps`` input (the decoder mean), shared and never written."""
        with self._lock:
            if self._zeros is None or len(self._zeros) < rows:
                self._zeros = np.zeros((rows, len(self.info.genes)), np.float32)
            return self._zeros[:rows]

    def _batch_rows(self) -> int:
        """Rows per run batch: the graph's, a multiple of the noise block."""
        size = self._graph.run_batch
        return max(BLOCK_ROWS, size - size % BLOCK_ROWS)

    def _new_scratch(self) -> _Scratch:
        """Empty ``z`` and ``eps`` arrays of one run batch."""
        size, n_genes = self._batch_rows(), len(self.info.genes)
        z = np.empty((size, self.info.n_latent), np.float32)
        return z, np.empty((size, n_genes), np.float32) if self.info.noise_input else None

    def _fill(
        self,
        out: np.ndarray,
        start: int,
        seed: int,
        output: str,
        codes: Mapping[str, np.ndarray],
        mean: bool = False,
    ) -> None:
        """Generate rows ``start : start + len(out)`` into ``out``, given their label codes.

        Each run batch's noise is drawn, then the graph runs on it. On CPU the batches
        run data-parallel (each worker draws its batch's noise alone); on an
        accelerator one at a time, the noise drawn by the noise pool's threads.
        """
        draw_eps = self.info.noise_input and not mean
        pool = None if self._graph.data_parallel else self._noise_pool()

        def task(lo: int, hi: int, scratch: _Scratch) -> None:
            z, eps = scratch[0][: hi - lo], scratch[1]
            eps = None if eps is None else eps[: hi - lo]
            fill_noise(
                seed,
                lo,
                z,
                eps if draw_eps else None,
                pool=pool,
                workers=self.threads,
                stream=self.noise_stream,
            )
            if eps is not None and mean:
                eps = self._mean_eps(hi - lo)
            part = {name: c[lo - start : hi - start] for name, c in codes.items()}
            self._run_into(out[lo - start : hi - start], output, z, part, eps)

        self._workers.run(start, start + len(out), self._batch_rows(), task)

    def plan(
        self, n: int, conditions: Any = "training", seed: int = 0, mix: Mix = "training"
    ) -> ConditionPlan:
        """Check ``conditions`` for n rows (see ``gexgen.runtime.conditions``) and plan them."""
        return plan_conditions(conditions, self.info.labels, self.info.combinations, n, seed, mix)

    def iter_chunks(
        self,
        n: int,
        conditions: Any = "training",
        seed: int = 0,
        space: Space = "expression",
        chunk_size: int = 65_536,
        mix: Mix = "training",
        reuse_buffers: bool = False,
        mean: bool = False,
    ) -> Iterator[ProfileChunk]:
        """Yield the n profiles of ``sample`` as consecutive chunks of ``chunk_size`` rows.

        The profiles are identical to ``sample(n, ...)`` whatever ``chunk_size``.
        With ``reuse_buffers`` every chunk is written into the same arrays (copy a
        chunk to keep it past the next iteration); streaming writers use it.
        ``mean`` is as in :meth:`sample`.
        """
        n, seed = _check_n(n), check_seed(seed)
        _output_name(space)
        if isinstance(chunk_size, bool) or int(chunk_size) < 1:
            raise GexgenError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        plan = self.plan(n, conditions, seed, mix)
        return self.iter_planned(n, plan, seed, space, chunk_size, int(reuse_buffers), mean)

    def iter_planned(
        self,
        n: int,
        plan: ConditionPlan,
        seed: int,
        space: Space,
        chunk_size: int,
        n_buffers: int = 0,
        mean: bool = False,
        start: int = 0,
    ) -> Iterator[ProfileChunk]:
        """``iter_chunks`` with conditions already planned (``plan``); chunk values cycle
        through ``n_buffers`` arrays (0: a fresh array per chunk). Writers use 2 buffers
        so that one chunk is written while the next is generated.

        ``start`` skips to that row: the chunks then hold rows ``start : n`` of the
        generation, identical to the same rows of a run from row 0 (partitioned
        writers draw each row range on its own)."""
        n, seed, output = _check_n(n), check_seed(seed), _output_name(space)
        if isinstance(chunk_size, bool) or int(chunk_size) < 1:
            raise GexgenError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        if isinstance(start, bool) or not 0 <= int(start) <= n:
            raise GexgenError(f"start must be a row in 0..{n}, got {start!r}")
        chunk_size = min(int(chunk_size), max(n - int(start), 1))
        return self._chunks(n, plan, seed, output, chunk_size, n_buffers, bool(mean), int(start))

    def _chunks(
        self,
        n: int,
        plan: ConditionPlan,
        seed: int,
        output: str,
        chunk_size: int,
        n_buffers: int,
        mean: bool,
        first: int = 0,
    ) -> Iterator[ProfileChunk]:
        n_genes = len(self.info.genes)
        buffers = self._take_buffers((chunk_size, n_genes), n_buffers)
        label_values = {label.name: label.values for label in self.info.labels}
        for index, start in enumerate(range(first, n, chunk_size)):
            rows = min(chunk_size, n - start)
            out = buffers[index % n_buffers][:rows] if buffers else fresh_matrix(rows, n_genes)
            codes = plan.codes(start, start + rows)
            self._fill(out, start, seed, output, codes, mean)
            yield ProfileChunk(start, out, codes, label_values)

    def _take_buffers(self, shape: tuple[int, int], count: int) -> list[np.ndarray]:
        """``count`` chunk arrays: ones this session made before and that nothing uses
        any more (no array or view of them is alive: a writer may still hold the last
        chunk of a finished iteration), else new ones (up to 4 of a shape are kept)."""
        with self._lock:
            kept = self._kept_buffers.setdefault(shape, [])
            chosen: list[np.ndarray] = []
            for index in range(len(kept)):
                if len(chosen) == count:
                    break
                if sys.getrefcount(kept[index]) <= _UNREFERENCED:
                    chosen.append(kept[index])
            while len(chosen) < count:
                chosen.append(np.empty(shape, np.float32))
                if len(kept) < 4:
                    kept.append(chosen[-1])
            return chosen

    def sample(
        self,
        n: int,
        conditions: Any = "training",
        seed: int = 0,
        space: Space = "expression",
        as_frame: bool = True,
        mix: Mix = "training",
        mean: bool = False,
    ) -> pd.DataFrame | tuple[np.ndarray, pd.DataFrame]:
        """Draw ``n`` profiles.

        Parameters
        ----------
        n
            Number of profiles.
        conditions
            ``"training"`` (default: combinations in training proportions),
            ``"uniform"`` (uniform over seen combinations), a dict of label -> value
            (labels left out are drawn by ``mix`` among the seen combinations that
            match), or per-row values (DataFrame or dict of arrays). Unknown labels
            or values raise an error listing the valid ones.
        seed
            Same seed and n, same profiles (whatever chunking ``iter_chunks`` uses).
        space
            ``"expression"`` (original units) or ``"log2"`` (log2(x + 1)).
        as_frame
            Return one DataFrame (gene columns, then categorical label columns);
            else a tuple (float32 matrix, labels DataFrame).
        mix
            How labels that ``conditions`` leaves free are drawn.
        mean
            For generators with a decoder noise input (``eps``): the decoder mean
            (``eps = 0``), with the same latent noise and labels as the sampled
            profiles of the same seed. Generators without one always give it.
        """
        import pandas as pd

        n, seed, output = _check_n(n), check_seed(seed), _output_name(space)
        plan = self.plan(n, conditions, seed, mix)
        matrix = fresh_matrix(n, len(self.info.genes))
        codes = plan.codes(0, n)
        self._fill(matrix, 0, seed, output, codes, bool(mean))
        labels = _labels_frame(codes, {label.name: label.values for label in self.info.labels})
        if not self.info.labels:
            labels = pd.DataFrame(index=pd.RangeIndex(n))
        if not as_frame:
            return matrix, labels
        frame = pd.DataFrame(matrix, columns=list(self.info.genes), copy=False)
        for name in labels.columns:
            frame[name] = labels[name].array
        return frame

    def close(self) -> None:
        """Stop the noise threads and drop the kept arrays (the session is freed with
        the object)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._workers.close()
        self._kept_buffers.clear()
        self._zeros = None

    def __enter__(self) -> GeneratorSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"GeneratorSession({str(self.path)!r}, genes={len(self.info.genes)}, "
            f"labels={self.labels and list(self.labels)}, providers={self.providers})"
        )


def _integer_codes(codes: Any, name: str, n: int) -> np.ndarray:
    """Label codes as int64, refusing fractional ones (1.7 is no code; astype would give 1)."""
    array = np.asarray(codes)
    if array.dtype.kind not in "iub":
        as_float = np.asarray(array, dtype=np.float64) if array.dtype.kind == "f" else None
        if as_float is None or not np.all(np.isfinite(as_float)) or np.any(as_float % 1 != 0):
            raise GexgenError(
                f"codes of {name!r} must be integers (the index of a value), got dtype "
                f"{array.dtype} with values such as {array.ravel()[:3].tolist()}"
            )
    return np.ascontiguousarray(np.broadcast_to(array, (n,)), dtype=np.int64)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise GexgenError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _output_name(space: str) -> str:
    if space not in SPACES:
        raise GexgenError(f"space must be one of {list(SPACES)}, got {space!r}")
    return _OUTPUT_OF_SPACE[space]


def _noise_stream_of(info: GeneratorInfo, where: str) -> int:
    """The file's noise stream version (``metadata["noise_stream"]``, 1 when absent)."""
    stream = info.metadata.get("noise_stream", 1)
    if isinstance(stream, bool) or not isinstance(stream, int) or stream < 1:
        raise GexgenError(
            f"{where}: metadata noise_stream is {stream!r}, expected a positive integer; "
            "re-export the generator"
        )
    if stream not in NOISE_STREAM_VERSIONS:
        raise GexgenError(
            f"{where}: the generator draws noise stream {stream}; this gexgen draws streams "
            f"{list(NOISE_STREAM_VERSIONS)}: upgrade gexgen"
        )
    return stream
