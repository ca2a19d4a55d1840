"""Exact nearest neighbours for the privacy metrics: gexgen's kernel against its ceiling.

For m synthetic x n real profiles x 975 genes (default 5,000 x 1,078, the
demo's privacy workload), times :func:`gexgen.metrics.cross_nearest` (both
directions: each synthetic row's nearest real row and each real row's nearest
synthetic row) and scikit-learn's ``NearestNeighbors(algorithm="brute")`` run
twice (one direction each, as a user would without a fused kernel). The
ceiling is the bare float32 product ``A @ B.T`` in the same blocks: the
arithmetic any exact Euclidean search must do, at BLAS speed. Each figure is
the median of ``--repeats`` runs after one warm-up; the ratio to the ceiling
is what to compare across machines.

Usage::

    .venv/bin/python benchmarks/nearest_throughput.py
    .venv/bin/python benchmarks/nearest_throughput.py --m 20000 --n 2000 --json out.json

Runs vary by 10% or more on a shared machine; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (numba compile / cache load, BLAS threads)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=5_000, help="synthetic rows")
    parser.add_argument("--n", type=int, default=1_078, help="real rows")
    parser.add_argument("--genes", type=int, default=975)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)

    from sklearn.neighbors import NearestNeighbors

    from gexgen.metrics.nearest import _BLOCK_ROWS, cross_nearest

    rng = np.random.default_rng(0)
    loadings = rng.normal(size=(20, args.genes))
    a = (rng.normal(size=(args.m, 20)) @ loadings + rng.normal(size=(args.m, args.genes))).astype(
        np.float32
    )
    b = (rng.normal(size=(args.n, 20)) @ loadings + rng.normal(size=(args.n, args.genes))).astype(
        np.float32
    )

    def ceiling() -> None:
        bt = np.ascontiguousarray(b.T)
        for start in range(0, args.m, _BLOCK_ROWS):
            a[start : start + _BLOCK_ROWS] @ bt

    def gexgen() -> object:
        return cross_nearest(a, b)

    def sklearn() -> object:
        one = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(b).kneighbors(a)
        two = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(a).kneighbors(b)
        return one, two

    mine, theirs = cross_nearest(a, b), sklearn()
    agree = float(np.mean(mine.a_index == theirs[0][1][:, 0]))
    rows = []
    base = _median_seconds(ceiling, args.repeats)
    for name, fn in (("ceiling", ceiling), ("gexgen", gexgen), ("sklearn", sklearn)):
        seconds = base if name == "ceiling" else _median_seconds(fn, args.repeats)
        rows.append({"method": name, "seconds": seconds, "ratio_to_ceiling": seconds / base})
    print(f"{args.m:,} x {args.n:,} profiles, {args.genes} genes (median of {args.repeats})")
    labels = {
        "ceiling": "the bare float32 A @ B.T (ceiling)",
        "gexgen": "gexgen cross_nearest, both directions",
        "sklearn": "sklearn NearestNeighbors brute, both directions",
    }
    for row in rows:
        print(
            f"  {labels[row['method']]:<50} {row['seconds']:8.3f} s  "
            f"{row['ratio_to_ceiling']:5.2f}x ceiling"
        )
    print(f"  nearest-neighbour indices agreeing with sklearn: {agree:.4f}")
    rows.append({"method": "agreement", "share": agree})
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return rows


if __name__ == "__main__":
    main()
