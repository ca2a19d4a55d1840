"""Load a generator ``.onnx`` file once and draw profiles from it, in memory or chunk by chunk."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.generator_format import EXPRESSION_OUTPUT, LOG_OUTPUT
from gexgen.runtime.conditions import ConditionPlan, Mix, plan_conditions
from gexgen.runtime.generator_graph import GeneratorGraph
from gexgen.runtime.generator_info import GeneratorInfo
from gexgen.runtime.noise import check_seed, fill_noise
from gexgen.runtime.profile_format import SPACES, Space

__all__ = ["GeneratorSession", "ProfileChunk"]

_OUTPUT_OF_SPACE = {"expression": EXPRESSION_OUTPUT, "log2": LOG_OUTPUT}


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
        onnxruntime intra-op threads and noise-drawing threads (default: all cores).

    Notes
    -----
    Reproducibility: row ``i`` takes its latent noise (and decoder noise, when
    the file has an ``eps`` input) from the stream of block ``i // 1024``,
    ``SFC64(SeedSequence(seed, spawn_key=(0, block)))``, and its drawn labels
    from ``spawn_key=(1, block)`` (see ``gexgen.runtime.noise``). The same seed
    thus gives the same profiles whatever the chunk size or thread count, and a
    shorter run is a prefix of a longer one. Label assignment for mixes follows
    ``gexgen.runtime.conditions``.

    Examples
    --------
    >>> gen = GeneratorSession("generator.onnx")  # doctest: +SKIP
    >>> conditions = {"tissue": "kidney", "status": "tumor"}
    >>> df = gen.sample(1000, conditions=conditions, seed=0)  # doctest: +SKIP
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
        self.threads = int(threads) if threads else (os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None

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
            name: np.ascontiguousarray(np.broadcast_to(codes[name], (len(z),)), dtype=np.int64)
            for name in self._label_names(codes)
        }
        if self.info.noise_input:
            eps = (
                np.zeros((len(z), len(self.info.genes)), np.float32)
                if eps is None
                else np.ascontiguousarray(eps, dtype=np.float32)
            )
        out = np.empty((len(z), len(self.info.genes)), dtype=np.float32)
        self._run_into(out, output, z, codes, eps)
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

    def _fill(
        self,
        out: np.ndarray,
        start: int,
        seed: int,
        output: str,
        plan: ConditionPlan,
        z: np.ndarray,
        eps: np.ndarray | None,
    ) -> dict[str, np.ndarray]:
        """Generate rows ``start : start + len(out)`` into ``out``; return their codes."""
        fill_noise(seed, start, z, eps, pool=self._noise_pool(), workers=self.threads)
        codes = plan.codes(start, start + len(out))
        self._run_into(out, output, z, codes, eps)
        return codes

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
    ) -> Iterator[ProfileChunk]:
        """Yield the n profiles of ``sample`` as consecutive chunks of ``chunk_size`` rows.

        The profiles are identical to ``sample(n, ...)`` whatever ``chunk_size``.
        With ``reuse_buffers`` every chunk is written into the same arrays (copy a
        chunk to keep it past the next iteration); streaming writers use it.
        """
        n, seed = _check_n(n), check_seed(seed)
        _output_name(space)
        if isinstance(chunk_size, bool) or int(chunk_size) < 1:
            raise GexgenError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        plan = self.plan(n, conditions, seed, mix)
        return self.iter_planned(n, plan, seed, space, chunk_size, int(reuse_buffers))

    def iter_planned(
        self,
        n: int,
        plan: ConditionPlan,
        seed: int,
        space: Space,
        chunk_size: int,
        n_buffers: int = 0,
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
        return self._chunks(n, plan, seed, output, chunk_size, n_buffers, int(start))

    def _chunks(
        self,
        n: int,
        plan: ConditionPlan,
        seed: int,
        output: str,
        chunk_size: int,
        n_buffers: int,
        first: int = 0,
    ) -> Iterator[ProfileChunk]:
        n_genes = len(self.info.genes)
        z = np.empty((chunk_size, self.info.n_latent), dtype=np.float32)
        eps = np.empty((chunk_size, n_genes), np.float32) if self.info.noise_input else None
        buffers = [np.empty((chunk_size, n_genes), np.float32) for _ in range(n_buffers)]
        label_values = {label.name: label.values for label in self.info.labels}
        for index, start in enumerate(range(first, n, chunk_size)):
            rows = min(chunk_size, n - start)
            out = (
                buffers[index % n_buffers][:rows]
                if buffers
                else np.empty((rows, n_genes), np.float32)
            )
            codes = self._fill(
                out, start, seed, output, plan, z[:rows], None if eps is None else eps[:rows]
            )
            yield ProfileChunk(start, out, codes, label_values)

    def sample(
        self,
        n: int,
        conditions: Any = "training",
        seed: int = 0,
        space: Space = "expression",
        as_frame: bool = True,
        mix: Mix = "training",
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
        """
        n, seed, output = _check_n(n), check_seed(seed), _output_name(space)
        plan = self.plan(n, conditions, seed, mix)
        n_genes = len(self.info.genes)
        matrix = np.empty((n, n_genes), dtype=np.float32)
        step = 65_536
        z = np.empty((min(step, n), self.info.n_latent), dtype=np.float32)
        eps = np.empty((min(step, n), n_genes), np.float32) if self.info.noise_input else None
        for start in range(0, n, step):
            rows = min(step, n - start)
            self._fill(
                matrix[start : start + rows],
                start,
                seed,
                output,
                plan,
                z[:rows],
                None if eps is None else eps[:rows],
            )
        labels = _labels_frame(
            plan.codes(0, n), {label.name: label.values for label in self.info.labels}
        )
        if not self.info.labels:
            labels = pd.DataFrame(index=pd.RangeIndex(n))
        if not as_frame:
            return matrix, labels
        frame = pd.DataFrame(matrix, columns=list(self.info.genes), copy=False)
        for name in labels.columns:
            frame[name] = labels[name].array
        return frame

    def close(self) -> None:
        """Stop the noise threads (the session is freed with the object)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> GeneratorSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"GeneratorSession({str(self.path)!r}, genes={len(self.info.genes)}, "
            f"labels={self.labels and list(self.labels)}, providers={self.providers})"
        )


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise GexgenError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _output_name(space: str) -> str:
    if space not in SPACES:
        raise GexgenError(f"space must be one of {list(SPACES)}, got {space!r}")
    return _OUTPUT_OF_SPACE[space]
