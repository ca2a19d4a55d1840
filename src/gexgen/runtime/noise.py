"""Reproducible random numbers drawn in fixed-size row blocks, each with its own stream.

Row ``i`` of a generation always belongs to block ``i // BLOCK_ROWS``, and block
``b`` draws from ``SFC64(SeedSequence(seed, spawn_key=(stream, b)))``. So the
profiles of a given seed do not depend on the chunk size, on how many threads
draw the blocks, or on ``n`` (a shorter run is a prefix of a longer one).
Within a block the latent noise ``z`` (block x n_latent) is drawn first, then,
when the generator has a noise input, ``eps`` (block x n_genes).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gexgen.errors import GexgenError

__all__ = ["BLOCK_ROWS", "NOISE_STREAM", "LABEL_STREAM", "block_rng", "check_seed", "fill_noise"]

BLOCK_ROWS = 1024  # rows per random stream; part of the reproducibility contract
NOISE_STREAM = 0  # spawn_key[0] of the latent / observation noise streams
LABEL_STREAM = 1  # spawn_key[0] of the label-mix streams


def check_seed(seed: int) -> int:
    """A seed must be a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise GexgenError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    """The generator of one block of one stream."""
    return np.random.Generator(
        np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(stream, block)))
    )


def _fill_block(
    seed: int, block: int, lo: int, hi: int, start: int, z: np.ndarray, eps: np.ndarray | None
) -> None:
    """Rows ``lo:hi`` (absolute, inside ``block``) into ``z``/``eps`` (whose row 0 is ``start``)."""
    rng = block_rng(seed, NOISE_STREAM, block)
    first = block * BLOCK_ROWS
    if lo == first and hi == first + BLOCK_ROWS:  # a whole block: draw in place
        rng.standard_normal(dtype=np.float32, out=z[lo - start : hi - start])
        if eps is not None:
            rng.standard_normal(dtype=np.float32, out=eps[lo - start : hi - start])
        return
    z_block = rng.standard_normal((BLOCK_ROWS, z.shape[1]), dtype=np.float32)
    z[lo - start : hi - start] = z_block[lo - first : hi - first]
    if eps is not None:
        eps_block = rng.standard_normal((BLOCK_ROWS, eps.shape[1]), dtype=np.float32)
        eps[lo - start : hi - start] = eps_block[lo - first : hi - first]


def fill_noise(
    seed: int,
    start: int,
    z: np.ndarray,
    eps: np.ndarray | None = None,
    pool: ThreadPoolExecutor | None = None,
    workers: int = 1,
) -> None:
    """Fill ``z`` (and ``eps``) with the noise of rows ``start : start + len(z)``.

    Parameters
    ----------
    seed
        The generation's seed.
    start
        Absolute index of the first row.
    z, eps
        C-contiguous float32 outputs, ``len(z)`` rows each.
    pool, workers
        Threads to draw blocks in parallel, and how many of them to use (the
        result is the same without).
    """
    stop = start + len(z)
    tasks: list[Callable[[], None]] = []
    for block in range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1 if stop > start else 0):
        lo = max(start, block * BLOCK_ROWS)
        hi = min(stop, (block + 1) * BLOCK_ROWS)
        tasks.append(lambda b=block, lo=lo, hi=hi: _fill_block(seed, b, lo, hi, start, z, eps))
    if pool is None or workers < 2 or len(tasks) < 2:
        for task in tasks:
            task()
        return
    size = -(-len(tasks) // workers)
    groups = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    futures = [pool.submit(lambda group=group: [task() for task in group]) for group in groups]
    for future in futures:
        future.result()
