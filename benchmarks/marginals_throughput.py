"""Generation rate of a quantile-marginals generator against a standardized one (issue 31).

The default recipe's graph maps normal scores back through per-gene quantile knots
(``Erf`` + ``Gather``) and floors log2 at 0; the paper recipe's graph only
de-standardizes. This script times ``GeneratorSession.iter_chunks`` (reused
buffers, expression space) on two generator files of the same network shape,
``--quantile`` (e.g. ``gexgen train cohort.h5ad --out q`` exported) and
``--standardized`` (the same with ``--marginals gaussian``), and on int8 copies of
both (``gexgen.export.quantize``), in interleaved rounds (each round in its own
seeded random order); a ratio is the median of the per-round ratios, so load
from other processes touches both sides. The ceiling is the standardized fp32
file measured in the same rounds.

Run: ``.venv/bin/python benchmarks/marginals_throughput.py --quantile q.onnx
--standardized g.onnx --cohort cohort.h5ad`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np


def _rate(session, rows: int, chunk: int) -> float:
    start = time.perf_counter()
    for _ in session.iter_chunks(rows, seed=0, chunk_size=chunk, reuse_buffers=True):
        pass
    return rows / (time.perf_counter() - start)


def main() -> None:
    from gexgen.export.quantize import quantize_generator
    from gexgen.runtime import GeneratorSession

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quantile", type=Path, required=True, help="quantile-marginals .onnx")
    parser.add_argument("--standardized", type=Path, required=True, help="standardized .onnx")
    parser.add_argument("--cohort", type=Path, default=None, help="training cohort (int8 check)")
    parser.add_argument("--rows", type=int, default=65_536, help="profiles per timing")
    parser.add_argument("--chunk", type=int, default=8_192, help="rows per chunk")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument("--json", type=Path, default=None, help="save the numbers here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        files = {"quantile fp32": args.quantile, "standardized fp32": args.standardized}
        for name, path in list(files.items()):
            int8 = Path(tmp) / f"{path.stem}_int8.onnx"
            quantize_generator(path, int8, cohort=args.cohort, n_check=5_000, force=True)
            files[name.replace("fp32", "int8")] = int8
        sessions = {k: GeneratorSession(v, threads=args.threads) for k, v in files.items()}
        for s in sessions.values():  # warm-up
            _rate(s, args.chunk, args.chunk)
        rates: dict[str, list[float]] = {k: [] for k in sessions}
        for r in range(args.rounds):
            order = list(sessions)
            random.Random(r).shuffle(order)
            for name in order:
                rates[name].append(_rate(sessions[name], args.rows, args.chunk))

    def ratio(a: str, b: str) -> float:
        return float(np.median(np.array(rates[a]) / np.array(rates[b])))

    ceiling = "standardized fp32"
    print(f"{'generator':<20} {'profiles/s (median)':>20} {'x ceiling':>10}")
    for name in rates:
        print(f"{name:<20} {np.median(rates[name]):>20,.0f} {ratio(name, ceiling):>10.3f}")
    summary = {
        "quantile_over_standardized_fp32": ratio("quantile fp32", ceiling),
        "int8_over_fp32_quantile": ratio("quantile int8", "quantile fp32"),
        "int8_over_fp32_standardized": ratio("standardized int8", ceiling),
    }
    for key, value in summary.items():
        print(f"{key}: {value:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"rates": rates, **summary}, indent=1))


if __name__ == "__main__":
    main()
