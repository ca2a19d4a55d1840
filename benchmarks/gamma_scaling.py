"""How gamma_score scales with the number of synthetic profiles (time and peak extra memory).

For n synthetic profiles x 969 genes (default n in 10k, 100k, 1M) against a
real set, measures :func:`gexgen.metrics.gamma_score` (streaming, shifted
float32 Gram blocks accumulated in float64) and, at 100k, the numpy reference
(``np.corrcoef`` of both sets, then the Pearson correlation of the strict upper
triangles of 1 - R), each in a fresh subprocess. The ceiling is the bare
float32 Gram product ``X.T @ X`` of the same synthetic rows in blocks of 16,384
rows (no shift, sums or real set): the arithmetic any exact correlation must
do, at BLAS speed; gamma's time is reported as a ratio to it. The matrices are
built chunk by chunk before the clock starts, so neither their time nor their
memory is counted: "extra" memory is the peak resident set during the call
minus the resident set just before it (Linux VmHWM, reset through
/proc/self/clear_refs).

Usage::

    .venv/bin/python benchmarks/gamma_scaling.py            # 10k, 100k, 1M; reference at 100k
    .venv/bin/python benchmarks/gamma_scaling.py --sizes 10000 100000 --json out.json

Runs vary by 10% or more on a shared machine; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

GENES = 969
N_FACTORS = 20
CHUNK = 65_536


def make_profiles(n: int, loadings: np.ndarray, seed: int) -> np.ndarray:
    """log2-like float32 profiles from a factor model, filled chunk by chunk (no n-size temps)."""
    rng = np.random.default_rng(seed)
    g = loadings.shape[1]
    out = np.empty((n, g), dtype=np.float32)
    for start in range(0, n, CHUNK):
        rows = min(CHUNK, n - start)
        block = out[start : start + rows]
        rng.standard_normal(size=(rows, g), dtype=np.float32, out=block)
        block *= np.float32(1.5)
        block += rng.standard_normal(size=(rows, N_FACTORS), dtype=np.float32) @ loadings
        block += np.float32(8.0)
    return out


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


class PeakMemory:
    """Peak RSS above the current RSS during a block (VmHWM reset, else a sampling thread)."""

    def __enter__(self) -> PeakMemory:
        self.base = _status_kib("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            self.hwm = _status_kib("VmHWM") <= self.base + 1024
        except OSError:
            self.hwm = False
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _status_kib("VmRSS"))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.hwm:
            self.peak = max(self.peak, _status_kib("VmHWM"))

    @property
    def extra_mib(self) -> float:
        return (self.peak - self.base) / 1024


def reference_gamma(real: np.ndarray, synthetic: np.ndarray) -> float:
    """The plain numpy reference: np.corrcoef, D = 1 - R, Pearson of the upper triangles."""
    d_real = 1.0 - np.corrcoef(real, rowvar=False)
    d_synth = 1.0 - np.corrcoef(synthetic, rowvar=False)
    iu = np.triu_indices(d_real.shape[0], k=1)
    return float(np.corrcoef(d_real[iu], d_synth[iu])[0, 1])


def worker(method: str, n: int, n_real: int, seed: int) -> dict[str, Any]:
    from gexgen.metrics import gamma_score

    rng = np.random.default_rng(seed)
    loadings = rng.normal(scale=0.7, size=(N_FACTORS, GENES)).astype(np.float32)
    real = make_profiles(n_real, loadings, seed + 1)
    synthetic = make_profiles(n, loadings, seed + 2)
    started = time.perf_counter()
    gamma_score(real[:50], synthetic[:50])  # load (or compile) the numba kernels
    warmup = time.perf_counter() - started
    with PeakMemory() as mem:
        cpu_started = time.process_time()
        started = time.perf_counter()
        if method == "gexgen":
            gamma = gamma_score(real, synthetic).gamma
        elif method == "ceiling":
            gamma = float("nan")
            gram = np.zeros((GENES, GENES), dtype=np.float64)
            for start in range(0, n, 16_384):
                block = synthetic[start : start + 16_384]
                gram += block.T @ block
        else:
            gamma = reference_gamma(real, synthetic)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    return {
        "method": method,
        "n": n,
        "n_real": n_real,
        "genes": GENES,
        "gamma": gamma,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "extra_mib": mem.extra_mib,
        "input_mib": synthetic.nbytes / 2**20,
        "warmup_seconds": warmup,
        "memory_probe": "VmHWM" if mem.hwm else "sampled RSS",
    }


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return ", ".join(
            f"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}" for i in info
        )
    except ImportError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reference-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument(
        "--no-ceiling", action="store_true", help="skip the bare-GEMM ceiling at each size"
    )
    parser.add_argument("--n-real", type=int, default=3_000, help="rows of the real set")
    parser.add_argument("--repeats", type=int, default=1, help="runs per point (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        method, n = args.worker
        print(json.dumps(worker(method, int(n), args.n_real, args.seed)))
        return

    import numba

    print(
        f"gamma scaling: {GENES} genes, real set {args.n_real} rows, cpus {os.cpu_count()}, "
        f"numba threads {numba.config.NUMBA_NUM_THREADS}, BLAS {_blas()}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    plan = [("gexgen", n) for n in args.sizes] + [("numpy", n) for n in args.reference_sizes]
    if not args.no_ceiling:
        plan += [("ceiling", n) for n in args.sizes]
    results = []
    for method, n in plan:
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    method,
                    str(n),
                    "--n-real",
                    str(args.n_real),
                    "--seed",
                    str(args.seed),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        runs.sort(key=lambda r: r["seconds"])
        r = runs[len(runs) // 2]
        r["all_seconds"] = [x["seconds"] for x in runs]
        results.append(r)
        print(
            f"{method:>7} n={n:>9,}: {r['seconds']:7.2f} s (cpu {r['cpu_seconds']:.1f} s)  "
            f"peak extra {r['extra_mib']:5.0f} MiB  (input {r['input_mib']:.0f} MiB; "
            f"gamma {r['gamma']:.6f}; "
            f"warm-up {r['warmup_seconds']:.2f} s)",
            flush=True,
        )
    ours = {r["n"]: r for r in results if r["method"] == "gexgen"}
    for ceil in (r for r in results if r["method"] == "ceiling"):
        o = ours[ceil["n"]]
        print(
            f"at n={ceil['n']:,}: gamma takes {o['seconds'] / ceil['seconds']:.2f}x "
            "the bare float32 X.T @ X (ceiling)"
        )
    for ref in (r for r in results if r["method"] == "numpy"):
        if ref["n"] in ours:
            o = ours[ref["n"]]
            print(
                f"at n={ref['n']:,}: numpy reference / gexgen = "
                f"{ref['seconds'] / o['seconds']:.2f}x time, "
                f"{ref['extra_mib'] / max(o['extra_mib'], 1):.1f}x extra memory, "
                f"|gamma difference| = {abs(ref['gamma'] - o['gamma']):.2e}"
            )
    sizes = sorted(ours)
    for a, b in zip(sizes, sizes[1:], strict=False):
        print(
            f"n {a:,} -> {b:,}: time x{ours[b]['seconds'] / ours[a]['seconds']:.1f} "
            f"for rows x{b / a:.0f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
