"""Partitioned generation and the gamma scan: one process vs a Dask LocalCluster, per core.

Every figure is a rate per core measured in this run, so the ratios are what
to read (the absolute rates move with the machine's load). Before anything is
imported, BLAS, OpenMP and numba are limited to one thread, and every
generator session runs one onnxruntime thread: a process is one core,
whether it is this one or a Dask worker (LocalCluster workers are spawned
with this environment).

1. generation, ``n`` profiles of a paper-shaped generator (969 genes) to parquet:
   - single process: ``write_profiles`` into one file (the baseline);
   - the same process writing the partitions one after the other with the
     plain partition function (``write_partition``, no Dask): the partition
     overhead at this partition size;
   - ``gexgen.distributed.generate`` on a LocalCluster of 1 and 2 worker
     processes (1 thread each).
2. the gamma scan (Gram sums, group moments, subsample) of the same rows:
   the single-process ``_scan`` of the one file against ``scan_dataset`` over
   the partitions on the LocalCluster of 1 and 2 workers.
3. a paper model: 1e9 profiles on 100 nodes from the measured per-core rates.

Usage::

    nice -n 10 .venv/bin/python benchmarks/distributed_scaling.py
    .venv/bin/python benchmarks/distributed_scaling.py --n 4000 --partition-rows 1000 --json o.json

The target (issue #13): per-core rate on the cluster >= 0.9 of one process,
partition overhead < 5% at the default partition size (131,072 rows).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runtime"))


def _timed(function: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def generation(gen: Path, work: Path, n: int, rows: int, seed: int) -> dict[str, Any]:
    from gexgen.distributed import generate
    from gexgen.distributed._layout import plan_partitions
    from gexgen.distributed._partition import WriteTask, write_partition
    from gexgen.runtime import GeneratorSession, write_profiles
    from gexgen.runtime.write_profiles import file_sha256

    with GeneratorSession(gen, providers="cpu", threads=1) as session:
        write_profiles(
            session, work / "warm.parquet", min(n, 2048), seed=seed, progress=False, overwrite=True
        )
        single, _ = _timed(
            lambda: write_profiles(
                session, work / "single.parquet", n, seed=seed, progress=False, overwrite=True
            )
        )
        plan = session.plan(n, "training", seed)
    sha = file_sha256(gen)
    (work / "parts").mkdir()

    def partitions_in_process() -> None:
        for p in plan_partitions(n, rows):
            write_partition(
                WriteTask(
                    str(gen),
                    sha,
                    str(work / "parts" / p.file),
                    p.start,
                    p.stop,
                    seed,
                    "expression",
                    plan,
                    {"space": "expression"},
                )  # fmt: skip
            )

    in_process, _ = _timed(partitions_in_process)
    result = {
        "n": n,
        "partition_rows": rows,
        "single_s": single,
        "partitions_in_process_s": in_process,
    }
    for workers in (1, 2):
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            # warm-up, not timed: each worker opens the generator and compiles the scan kernels
            warm = work / f"warm{workers}"
            generate(gen, warm, 1_024 * workers, seed=seed, partition_rows=1_024, scheduler=client)
            if workers == 2:
                warm_scan(warm, client)
            out = work / f"cluster{workers}"
            seconds, _ = _timed(
                lambda out=out, client=client: generate(
                    gen, out, n, seed=seed, partition_rows=rows, scheduler=client
                )
            )
            result[f"cluster{workers}_s"] = seconds
            if workers == 2:
                scan = gamma_scan(work, client, n)
    return {"generation": result, "scan": scan}


def warm_scan(folder: Path, client: Any) -> None:
    from gexgen.distributed import open_dataset
    from gexgen.distributed._executor import open_executor
    from gexgen.distributed.evaluate_dataset import scan_dataset
    from gexgen.metrics._sources import ProfileSet

    table = open_dataset(folder)
    warm = ProfileSet("warm", table.genes, table.labels, table.space, table=table)
    with open_executor(client) as executor:
        scan_dataset(warm, None, len(table.genes), ["tissue"], 100, 0, 2, 512, executor=executor)


def gamma_scan(work: Path, client: Any, n: int) -> dict[str, Any]:

    from gexgen.distributed import open_dataset
    from gexgen.distributed._executor import open_executor
    from gexgen.distributed.evaluate_dataset import scan_dataset
    from gexgen.metrics._sources import ProfileSet, load_profiles
    from gexgen.metrics.evaluation import _scan

    single_set = load_profiles(work / "single.parquet", "single")
    table = open_dataset(work / "cluster2")
    part_set = ProfileSet("dataset", table.genes, table.labels, table.space, table=table)
    args = (None, len(table.genes), ["tissue", "status"], 5_000, 0)
    _scan(load_profiles(work / "warm.parquet", "warm"), *args, stream=2, chunk_rows=65_536)
    single, one = _timed(lambda: _scan(single_set, *args, stream=2, chunk_rows=65_536))
    with open_executor(client) as executor:
        cluster2, two = _timed(
            lambda: scan_dataset(part_set, *args, stream=2, chunk_rows=65_536, executor=executor)
        )
    from gexgen.metrics.gamma import gamma_score

    diff = abs(
        gamma_score(one.correlation, two.correlation).gamma
        - gamma_score(one.correlation, one.correlation).gamma
    )
    return {"n": n, "single_s": single, "cluster2_s": cluster2, "gamma_self_diff": diff}


def report(results: dict[str, Any], nodes: int, cores: int) -> list[str]:
    g, s = results["generation"], results["scan"]
    n = g["n"]
    rate1 = n / g["single_s"]
    lines = [
        f"generation of {n:,} profiles x 969 genes to parquet (1 core per process; "
        f"load {results['load']:.1f} on {results['cpus']} cores)",
        f"  single process, one file            {rate1:>10,.0f} profiles/s per core",
        f"  same process, {g['partition_rows']:,}-row partitions   "
        f"{n / g['partitions_in_process_s']:>10,.0f}   partition overhead "
        f"{g['partitions_in_process_s'] / g['single_s'] - 1:+.1%}",
    ]
    for w in (1, 2):
        rate = n / g[f"cluster{w}_s"]
        lines.append(
            f"  LocalCluster, {w} worker(s)           {rate / w:>10,.0f} profiles/s per core"
            f"   per-core ratio to single {rate / w / rate1:.2f}"
        )
    scan1 = n / s["single_s"]
    scan2 = n / s["cluster2_s"]
    lines += [
        "gamma scan (Gram + moments + subsample) of the same rows",
        f"  single process                      {scan1:>10,.0f} profiles/s per core",
        f"  LocalCluster, 2 workers             {scan2 / 2:>10,.0f} profiles/s per core"
        f"   per-core ratio to single {scan2 / 2 / scan1:.2f}",
        f"  |gamma(one-pass, map-reduce) - gamma(one-pass, one-pass)| {s['gamma_self_diff']:.1e}",
    ]
    per_core = min(n / g["cluster2_s"] / 2, rate1)
    total = 1e9
    seconds = total / (nodes * cores * per_core)
    scan_seconds = total / (nodes * cores * min(scan2 / 2, scan1))
    partitions = total / 131_072
    gather_gb = partitions * 969 * 969 * 8 * 1.0 / 1e9
    lines += [
        f"paper model: 1e9 profiles on {nodes} nodes x {cores} cores at the measured "
        f"per-core rate (no I/O limit)",
        f"  generation ~{seconds / 60:.1f} min, {total * 969 * 4 / 1e12:.1f} TB of float32 "
        f"(~{total * 969 * 4 / seconds / 1e9:.0f} GB/s to shared storage)",
        f"  gamma scan ~{scan_seconds / 60:.1f} min, plus ~{gather_gb:.0f} GB of per-partition "
        f"Gram matrices ({partitions:,.0f} x 7.5 MB) sent to the client",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2 * 131_072, help="profiles to generate")
    parser.add_argument("--partition-rows", type=int, default=131_072)
    parser.add_argument("--generator", type=Path, default=None, help="default: paper-shaped")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--cores-per-node", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gexgen_bench_", dir=args.workdir))
    try:
        gen = args.generator
        if gen is None:
            from tiny_generator import write_paper_generator

            gen = write_paper_generator(work / "paper_generator.onnx").path
        results = generation(gen.resolve(), work, args.n, args.partition_rows, seed=0)
        results["load"] = os.getloadavg()[0]
        results["cpus"] = os.cpu_count()
        for line in report(results, args.nodes, args.cores_per_node):
            print(line)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
