"""Row-major <-> column-major copies of float32 matrices, in cache-sized blocks."""

from __future__ import annotations

import numpy as np

__all__ = ["transpose_into"]

# bytes of the source read per block: ~2 MiB keeps the written columns in cache.
# Blocks always run along the source's first axis: rows -> columns of 65,536 x 969
# float32 gets ~540-row blocks (as the 512 before), and columns -> rows 8-row blocks,
# measured ~2x faster (150 vs 316 ms) than blocking along the longer axis
BLOCK_BYTES = 2 << 20
MIN_BLOCK = 8


def transpose_into(source: np.ndarray, target: np.ndarray, block: int | None = None) -> np.ndarray:
    """``target[...] = source.T``, copied in blocks of ``block`` source rows.

    ``block=None`` picks about 2 MiB of source per block (at least 8 rows).
    """
    if target.shape != source.shape[::-1]:
        raise ValueError(f"target shape {target.shape} is not {source.shape[::-1]}")
    if block is None:
        row_bytes = max(1, source.shape[1] * source.itemsize)
        block = max(MIN_BLOCK, BLOCK_BYTES // row_bytes)
    for lo in range(0, source.shape[0], block):
        np.copyto(target[:, lo : lo + block], source[lo : lo + block].T)
    return target
