"""numba kernel of the stream-2 observation noise (see :mod:`gexgen.runtime.noise`).

Same operations, in the same order, as ``noise.philox_normals_numpy``: plain
IEEE arithmetic without fast-math (no fused multiply-add, no reassociation), so
the two give identical bits. The loops vectorize (AVX-512 where present).
Imported only when a generation draws enough noise to need it.
"""

from __future__ import annotations

import numba
import numpy as np

from gexgen.runtime.noise import (
    COS_SERIES,
    HALF_PI,
    LN2,
    LOG_SERIES,
    SIN_SERIES,
    SQRT2,
    SQRT_HALF,
)

__all__ = ["philox_normals_into"]

_FLAGS: dict[str, object] = {
    "nogil": True,
    "cache": True,
    "boundscheck": False,
    "error_model": "numpy",
}
_U = np.uint64
_MASK = _U(0xFFFFFFFF)
_M0, _M1 = _U(0xD2511F53), _U(0xCD9E8D57)
_W0, _W1 = _U(0x9E3779B9), _U(0xBB67AE85)
_L1, _L2, _L3, _L4, _L5, _L6, _L7, _L8, _L9 = LOG_SERIES
_S1, _S2, _S3, _S4, _S5, _S6 = SIN_SERIES
_C1, _C2, _C3, _C4, _C5, _C6, _C7 = COS_SERIES


@numba.njit(**_FLAGS)
def _philox_row(k0, k1, c1, c2, w0, w1, w2, w3):  # pragma: no cover - compiled
    for j in range(w0.shape[0]):
        x0 = _U(j)
        x1 = c1
        x2 = c2
        x3 = _U(0)
        key0 = k0
        key1 = k1
        for _ in range(10):
            p0 = _M0 * x0
            p1 = _M1 * x2
            y0 = (p1 >> _U(32)) ^ x1 ^ key0
            y2 = (p0 >> _U(32)) ^ x3 ^ key1
            x1 = p1 & _MASK
            x3 = p0 & _MASK
            x0 = y0
            x2 = y2
            key0 = (key0 + _W0) & _MASK
            key1 = (key1 + _W1) & _MASK
        w0[j] = x0
        w1[j] = x1
        w2[j] = x2
        w3[j] = x3


@numba.njit(**_FLAGS)
def _box_muller(a, b, out_cos, out_sin):  # pragma: no cover - compiled
    for j in range(a.shape[0]):
        t = (a[j] << _U(1)) | _U(1)
        # e = bit length of t minus one (t < 2**33), branch-free
        u = t
        e = _U(0)
        step = _U(32) * _U(u >= _U(1 << 32))
        e += step
        u >>= step
        step = _U(16) * _U(u >= _U(1 << 16))
        e += step
        u >>= step
        step = _U(8) * _U(u >= _U(1 << 8))
        e += step
        u >>= step
        step = _U(4) * _U(u >= _U(1 << 4))
        e += step
        u >>= step
        step = _U(2) * _U(u >= _U(1 << 2))
        e += step
        u >>= step
        e += _U(u >= _U(2))
        m = np.float64(t << (_U(32) - e)) * 2.0**-32  # exact, in [1, 2)
        big = m > SQRT2
        m = m * 0.5 if big else m
        ef = np.float64(e) + 1.0 if big else np.float64(e)
        s = (m - 1.0) / (m + 1.0)
        s2 = s * s
        p = _L9
        p = p * s2 + _L8
        p = p * s2 + _L7
        p = p * s2 + _L6
        p = p * s2 + _L5
        p = p * s2 + _L4
        p = p * s2 + _L3
        p = p * s2 + _L2
        p = p * s2 + _L1
        log_u = (2.0 * s) * (p * s2 + 1.0) + (ef - 33.0) * LN2
        radius = np.sqrt(-2.0 * log_u)
        bb = b[j]
        quadrant = bb >> _U(30)
        x = (np.float64(bb & _U(0x3FFFFFFF)) + 0.5) * 2.0**-30
        x = (x - 0.5) * HALF_PI
        x2 = x * x
        ps = _S6
        ps = ps * x2 + _S5
        ps = ps * x2 + _S4
        ps = ps * x2 + _S3
        ps = ps * x2 + _S2
        ps = ps * x2 + _S1
        sin_x = x * (ps * x2 + 1.0)
        pc = _C7
        pc = pc * x2 + _C6
        pc = pc * x2 + _C5
        pc = pc * x2 + _C4
        pc = pc * x2 + _C3
        pc = pc * x2 + _C2
        pc = pc * x2 + _C1
        cos_x = pc * x2 + 1.0
        cos_t = (cos_x - sin_x) * SQRT_HALF
        sin_t = (sin_x + cos_x) * SQRT_HALF
        odd = (quadrant & _U(1)) == _U(1)
        neg = (quadrant & _U(2)) == _U(2)
        cos_q = -sin_t if odd else cos_t
        sin_q = cos_t if odd else sin_t
        cos_q = -cos_q if neg else cos_q
        sin_q = -sin_q if neg else sin_q
        out_cos[j] = np.float32(radius * cos_q)
        out_sin[j] = np.float32(radius * sin_q)


@numba.njit(**_FLAGS)
def _normals(k0, k1, start, out):  # pragma: no cover - compiled
    rows, n_genes = out.shape
    q = (n_genes + 3) // 4
    words = np.empty((4, q), np.uint64)
    row_values = np.empty(4 * q, np.float32)
    for i in range(rows):
        row = _U(start) + _U(i)
        _philox_row(k0, k1, row & _MASK, row >> _U(32), words[0], words[1], words[2], words[3])
        _box_muller(words[0], words[1], row_values[0:q], row_values[q : 2 * q])
        _box_muller(words[2], words[3], row_values[2 * q : 3 * q], row_values[3 * q :])
        out[i, :] = row_values[:n_genes]


def philox_normals_into(k0: int, k1: int, start: int, out: np.ndarray) -> None:
    """Stream-2 normals of rows ``start : start + len(out)`` into C-contiguous float32 ``out``."""
    _normals(_U(k0), _U(k1), _U(start), out)
