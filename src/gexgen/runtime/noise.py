"""Reproducible random numbers: latent noise in seeded row blocks, observation noise by counter.

Two noise streams exist; a generator file names its own under the metadata key
``noise_stream`` (files written before the key existed use stream 1, so they
keep generating what they did).

Stream 1 (block streams)
    Row ``i`` belongs to block ``i // BLOCK_ROWS``, and block ``b`` draws from
    ``SFC64(SeedSequence(seed, spawn_key=(0, b)))``: first the latent noise
    ``z`` (block x n_latent), then, when the generator has a noise input,
    ``eps`` (block x n_genes), both with numpy's float32 ``standard_normal``.
Stream 2 (counter-based observation noise)
    ``z`` exactly as in stream 1. ``eps`` of row ``i`` comes from Philox4x32-10
    (Salmon et al. 2011; checked against the Random123 known-answer vectors)
    with key ``SeedSequence(seed, spawn_key=(2,)).generate_state(2, uint32)``
    and counter ``(j, i mod 2**32, i // 2**32, 0)`` for the ``j``-th group of
    four normals of the row: its four 32-bit words give two Box-Muller pairs,
    computed in float64 with plain IEEE arithmetic only (a log series and
    sine/cosine polynomials, see :func:`_box_muller`), then rounded to float32.
    Each row's values thus depend on ``(seed, i)`` alone; a numba kernel
    (``gexgen.runtime._philox_kernel``) and the numpy code here give the same
    bits, the kernel about 7x faster than numpy's ``standard_normal``.

Either way the profiles of a given seed do not depend on the chunk size, on
how many threads draw the rows, or on ``n`` (a shorter run is a prefix of a
longer one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gexgen.errors import GexgenError

__all__ = [
    "BLOCK_ROWS",
    "NOISE_STREAM",
    "LABEL_STREAM",
    "EPS_STREAM",
    "NOISE_STREAM_VERSIONS",
    "block_rng",
    "check_seed",
    "fill_noise",
    "philox4x32",
    "philox_key",
    "philox_normals",
]

BLOCK_ROWS = 1024  # rows per random stream; part of the reproducibility contract
NOISE_STREAM = 0  # spawn_key[0] of the latent / observation noise streams
LABEL_STREAM = 1  # spawn_key[0] of the label-mix streams
EPS_STREAM = 2  # spawn_key[0] of the Philox key of stream-2 observation noise
NOISE_STREAM_VERSIONS = (1, 2)  # what this gexgen can generate
_NUMBA_MIN_VALUES = 1 << 16  # fewer normals than this: numpy (no numba import at start-up)

_U = np.uint64
_MASK = _U(0xFFFFFFFF)
_M0, _M1 = _U(0xD2511F53), _U(0xCD9E8D57)  # Philox4x32 multipliers
_W0, _W1 = _U(0x9E3779B9), _U(0xBB67AE85)  # Philox4x32 key increments
LN2 = 0.6931471805599453
SQRT2 = 1.4142135623730951
SQRT_HALF = 0.7071067811865476
HALF_PI = 1.5707963267948966
# ln(m) = 2s (1 + s^2/3 + s^4/5 + ...), s = (m - 1)/(m + 1), |s| <= 0.1716: error < 1e-17
LOG_SERIES = tuple(1.0 / (2 * k + 1) for k in range(1, 10))
# sin/cos Taylor terms beyond the first, |x| <= pi/4: errors < 2e-14
SIN_SERIES = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(1, 7))
COS_SERIES = tuple((-1) ** k / math.factorial(2 * k) for k in range(1, 8))


MAX_SEED = 2**63 - 1  # int64: h5ad attributes, parquet and JSON all hold it


def check_seed(seed: int) -> int:
    """A seed must be an integer in [0, 2**63 - 1] (what every output format can record)."""
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not 0 <= int(seed) <= MAX_SEED
    ):
        shown = (
            repr(seed)
            if len(repr(seed)) < 40
            else f"{repr(seed)[:20]}... ({len(repr(seed))} digits)"
        )
        raise GexgenError(f"seed must be a non-negative integer below 2**63, got {shown}")
    return int(seed)


def block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    """The generator of one block of one stream."""
    return np.random.Generator(
        np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(stream, block)))
    )


def philox_key(seed: int) -> tuple[int, int]:
    """The Philox4x32 key (two 32-bit words) of a seed's stream-2 observation noise."""
    words = np.random.SeedSequence(seed, spawn_key=(EPS_STREAM,)).generate_state(2, np.uint32)
    return int(words[0]), int(words[1])


def philox4x32(
    counter: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], key: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Philox4x32-10 of 32-bit counter words (held in uint64 arrays); four uint64 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counter)
    k0, k1 = _U(key[0]), _U(key[1])
    for round_ in range(10):
        if round_:
            k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = (p1 >> _U(32)) ^ c1 ^ k0, p1 & _MASK, (p0 >> _U(32)) ^ c3 ^ k1, p0 & _MASK
    return c0, c1, c2, c3


def _box_muller(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 normals from two 32-bit words, in exactly the kernel's operations.

    radius ``sqrt(-2 ln u)`` with ``u = (2a + 1) / 2**33``; angle ``(b + 0.5) * 2pi / 2**32``
    taken as quadrant (top 2 bits) plus an offset in (-pi/4, pi/4) around its middle.
    """
    t = (a << _U(1)) | _U(1)  # odd, < 2**33: u = t / 2**33 in (0, 1)
    m, e = np.frexp(t.astype(np.float64))  # exact: t = m 2**e, m in [0.5, 1)
    m, e = m * 2.0, (e - 1).astype(np.float64)  # m in [1, 2): t = m 2**e
    big = m > SQRT2
    m = np.where(big, m * 0.5, m)
    e = np.where(big, e + 1.0, e)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = np.full_like(s, LOG_SERIES[-1])
    for c in LOG_SERIES[-2::-1]:
        p = p * s2 + c
    log_u = (2.0 * s) * (p * s2 + 1.0) + (e - 33.0) * LN2
    radius = np.sqrt(-2.0 * log_u)
    quadrant = b >> _U(30)
    x = ((b & _U(0x3FFFFFFF)).astype(np.float64) + 0.5) * 2.0**-30
    x = (x - 0.5) * HALF_PI
    x2 = x * x
    ps = np.full_like(x, SIN_SERIES[-1])
    for c in SIN_SERIES[-2::-1]:
        ps = ps * x2 + c
    sin_x = x * (ps * x2 + 1.0)
    pc = np.full_like(x, COS_SERIES[-1])
    for c in COS_SERIES[-2::-1]:
        pc = pc * x2 + c
    cos_x = pc * x2 + 1.0
    cos_t = (cos_x - sin_x) * SQRT_HALF  # cos(pi/4 + x)
    sin_t = (sin_x + cos_x) * SQRT_HALF  # sin(pi/4 + x)
    odd = (quadrant & _U(1)) == _U(1)  # +pi/2: (c, s) -> (-s, c)
    neg = (quadrant & _U(2)) == _U(2)  # +pi: (c, s) -> (-c, -s)
    cos_q = np.where(odd, -sin_t, cos_t)
    sin_q = np.where(odd, cos_t, sin_t)
    cos_q = np.where(neg, -cos_q, cos_q)
    sin_q = np.where(neg, -sin_q, sin_q)
    return (radius * cos_q).astype(np.float32), (radius * sin_q).astype(np.float32)


def philox_normals(seed: int, start: int, out: np.ndarray) -> None:
    """Stream-2 observation noise of rows ``start : start + len(out)`` into ``out`` (float32).

    Row layout: with ``q = ceil(n_genes / 4)``, group ``j`` of a row fills columns
    ``j``, ``q + j``, ``2q + j`` and ``3q + j`` (the first pair's cosine and sine
    terms, then the second pair's); columns past ``n_genes`` are dropped.
    """
    if out.size >= _NUMBA_MIN_VALUES:
        from gexgen.runtime._philox_kernel import philox_normals_into

        key = philox_key(seed)
        philox_normals_into(key[0], key[1], start, out)
        return
    out[...] = philox_normals_numpy(seed, start, len(out), out.shape[1])


def philox_normals_numpy(seed: int, start: int, rows: int, n_genes: int) -> np.ndarray:
    """The numpy implementation of :func:`philox_normals` (the kernel's reference)."""
    groups = -(-n_genes // 4)
    row = np.arange(start, start + rows, dtype=np.uint64)[:, None]
    shape = (rows, groups)
    words = philox4x32(
        (
            np.broadcast_to(np.arange(groups, dtype=np.uint64), shape),
            np.broadcast_to(row & _MASK, shape),
            np.broadcast_to(row >> _U(32), shape),
            np.zeros(shape, np.uint64),
        ),
        philox_key(seed),
    )
    first = _box_muller(words[0], words[1])
    second = _box_muller(words[2], words[3])
    return np.concatenate([*first, *second], axis=1)[:, :n_genes]


def _fill_block(
    seed: int,
    block: int,
    lo: int,
    hi: int,
    start: int,
    z: np.ndarray,
    eps: np.ndarray | None,
    stream: int,
) -> None:
    """Rows ``lo:hi`` (absolute, inside ``block``) into ``z``/``eps`` (whose row 0 is ``start``)."""
    rng = block_rng(seed, NOISE_STREAM, block)
    first = block * BLOCK_ROWS
    whole = lo == first and hi == first + BLOCK_ROWS
    if whole:  # a whole block: draw in place
        rng.standard_normal(dtype=np.float32, out=z[lo - start : hi - start])
    else:
        z_block = rng.standard_normal((BLOCK_ROWS, z.shape[1]), dtype=np.float32)
        z[lo - start : hi - start] = z_block[lo - first : hi - first]
    if eps is None:
        return
    if stream == 2:
        philox_normals(seed, lo, eps[lo - start : hi - start])
    elif whole:
        rng.standard_normal(dtype=np.float32, out=eps[lo - start : hi - start])
    else:
        eps_block = rng.standard_normal((BLOCK_ROWS, eps.shape[1]), dtype=np.float32)
        eps[lo - start : hi - start] = eps_block[lo - first : hi - first]


def fill_noise(
    seed: int,
    start: int,
    z: np.ndarray,
    eps: np.ndarray | None = None,
    pool: ThreadPoolExecutor | None = None,
    workers: int = 1,
    stream: int = 1,
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
    stream
        The generator's noise stream version (1 or 2, see the module notes).
    """
    if stream not in NOISE_STREAM_VERSIONS:
        raise GexgenError(
            f"noise stream {stream!r} is unknown; this gexgen draws streams "
            f"{list(NOISE_STREAM_VERSIONS)}: upgrade gexgen"
        )
    stop = start + len(z)
    tasks: list[Callable[[], None]] = []
    for block in range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1 if stop > start else 0):
        lo = max(start, block * BLOCK_ROWS)
        hi = min(stop, (block + 1) * BLOCK_ROWS)
        tasks.append(
            lambda b=block, lo=lo, hi=hi: _fill_block(seed, b, lo, hi, start, z, eps, stream)
        )
    if pool is None or workers < 2 or len(tasks) < 2:
        for task in tasks:
            task()
        return
    size = -(-len(tasks) // workers)
    groups = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    futures = [pool.submit(lambda group=group: [task() for task in group]) for group in groups]
    for future in futures:
        future.result()
