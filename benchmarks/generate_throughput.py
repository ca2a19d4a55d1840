"""Throughput of ``gexgen.runtime`` against ceilings measured in the same run.

Sections (each prints a table; ``--json`` saves all numbers):

1. in-memory generation vs the bare-graph ceiling: onnxruntime running a bare
   MLP of the paper decoder's shape (67 -> 256 -> 512 -> 1000 -> 969) at batch
   1024 on ready inputs, two ways (one call at a time with all intra-op
   threads; and data-parallel, one intra-op thread per call and one call per
   thread at once), against the runtime drawing noise + labels and running a
   paper-shaped generator graph (``iter_chunks`` into reused buffers, and
   ``sample`` into a fresh matrix). The ceiling of a round is the faster of
   the two bare graphs in that round. Rounds are interleaved (each in its own
   seeded random order) and a ratio is the median of per-round ratios, so load
   from other processes affects both sides.
2. ``.npy`` writer vs ``np.save`` of the same bytes.
3. parquet encoding options (write speed, size, read-back speed), with the
   ``.npy`` writer on the same rows as the reference.
4. end-to-end generation to each file format, against in-memory generation.
5. ``n`` (default 10 million) profiles to a file in a subprocess: peak RSS.
6. cold start: ``gexgen generate GEN --n 1`` in a fresh process, against the
   cold start of the bare graph itself (import numpy + onnxruntime, load, 1 row).

Section 1 also runs, in the same interleaved rounds: ``sample`` against the bare
graph writing into fresh memory (its own ceiling: a new matrix costs the kernel
a cleared page per page; the faster of ``np.empty``'s huge pages and
``gexgen.runtime.fresh_memory.fresh_matrix``'s 4 KiB pages), observation noise
(stream 1: numpy, stream 2: Philox; and ``mean=True``), and the int8 generator
(``gexgen export --precision int8``'s quantization of the same graph) against
the fp32 ceiling.

Run: ``.venv/bin/python benchmarks/generate_throughput.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "runtime"))

from tiny_generator import write_bare_mlp, write_paper_generator  # noqa: E402

from gexgen.runtime import GeneratorSession, ParquetOptions, open_profiles  # noqa: E402
from gexgen.runtime.fresh_memory import fresh_matrix  # noqa: E402
from gexgen.runtime.profile_writers import profile_writer  # noqa: E402
from gexgen.runtime.run_batches import default_threads  # noqa: E402
from gexgen.runtime.write_profiles import write_profiles  # noqa: E402

GB = 1e9


def interleaved(candidates: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each candidate, rounds interleaved (one warm-up round dropped).

    Each round runs the candidates in its own seeded random order: in a fixed order a
    candidate always follows the same neighbour (one that just freed a large matrix, or
    heated the caches), which biased ratios by up to 0.1 on this machine."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for round_ in range(rounds + 1):
        random.Random(round_).shuffle(names)
        for name in names:
            call = candidates[name]
            start = time.perf_counter()
            call()
            if round_:
                times[name].append(time.perf_counter() - start)
    return times


def ratio(times: dict[str, list[float]], name: str, reference: str) -> float:
    """Median over rounds of reference_time / candidate_time (>1: candidate faster)."""
    return float(np.median(np.array(times[reference]) / np.array(times[name])))


def write_models(work: Path) -> None:
    """The bare MLP and the paper-shaped generators (with and without a noise input)."""
    write_bare_mlp(work / "bare_mlp.onnx")
    write_paper_generator(work / "paper_generator.onnx")
    # a noise input drawn with stream 1 (files exported before "noise_stream"), and stream 2
    write_paper_generator(work / "paper_generator_eps1.onnx", noise_input=True)
    eps2 = write_paper_generator(work / "paper_generator_eps.onnx", noise_input=True)
    _set_metadata(eps2.path, {**eps2.metadata, "noise_stream": 2})


def _set_metadata(path: Path, metadata: dict) -> None:
    import onnx

    from gexgen.generator_format import METADATA_KEY

    model = onnx.load(path)
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = json.dumps(metadata)
    onnx.save(model, path)


def write_int8(work: Path, name: str) -> Path:
    """A paper-shaped generator quantized by ``gexgen export --precision int8``'s code."""
    from gexgen.export.quantize import quantize_generator

    out = work / name.replace(".onnx", "_int8.onnx")
    report = quantize_generator(work / name, out, n_check=2000, force=True)
    print(
        f"   {out.name} (random weights): max |Δ log2| {report.max_abs_log2:.3f}, mean "
        f"{report.mean_abs_log2:.4f}, Δgamma {report.gamma_diff:+.4f} vs an fp32 sample"
    )
    return out


CEILINGS = (
    "bare graph, all threads in one call",
    "bare graph, data-parallel (1 thread/call)",
)
CEILING = "ceiling (faster bare graph per round)"
FRESH = ("bare graph into fresh np.empty (huge pages)", "bare graph into fresh_matrix (4 KiB)")
FRESH_CEILING = "fresh-memory ceiling (faster of the two)"


def section_throughput(work: Path, rows: int, rounds: int, threads: int | None) -> dict:
    bare_path = work / "bare_mlp.onnx"
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    bare = ort.InferenceSession(str(bare_path), options, providers=["CPUExecutionProvider"])
    # the data-parallel ceiling: one onnxruntime thread per call, one call per core at once
    one = ort.SessionOptions()
    one.intra_op_num_threads = 1
    bare_one = ort.InferenceSession(str(bare_path), one, providers=["CPUExecutionProvider"])
    workers = threads or default_threads()
    pool = ThreadPoolExecutor(workers)
    x = np.random.default_rng(0).standard_normal((1024, 67), dtype=np.float32)

    def session(name: str) -> GeneratorSession:
        return GeneratorSession(work / name, providers="cpu", threads=threads)

    gen = session("paper_generator.onnx")
    gen_eps1 = session("paper_generator_eps1.onnx")
    gen_eps = session("paper_generator_eps.onnx")
    gen_int8 = session(write_int8(work, "paper_generator.onnx").name)
    gen_eps_int8 = session(write_int8(work, "paper_generator_eps.onnx").name)

    def bare_graph() -> None:
        for _ in range(rows // 1024):
            bare.run(["y"], {"x": x})

    def bare_graph_data_parallel() -> None:
        def share(calls: int) -> None:
            for _ in range(calls):
                bare_one.run(["y"], {"x": x})

        calls = rows // 1024
        parts = [calls // workers + (i < calls % workers) for i in range(workers)]
        for future in [pool.submit(share, part) for part in parts]:
            future.result()

    def into(session: ort.InferenceSession, out: np.ndarray, starts: range) -> None:
        binding = session.io_binding()
        for lo in starts:
            binding.bind_cpu_input("x", x)
            block = out[lo : lo + 1024]
            binding.bind_output("y", "cpu", 0, np.float32, block.shape, block.ctypes.data)
            session.run_with_iobinding(binding)

    def bare_graph_fresh(allocate: Callable[[int, int], np.ndarray]) -> Callable[[], None]:
        def call() -> None:
            out = allocate(rows, 969)
            step = 1024 * workers
            futures = [
                pool.submit(into, bare_one, out, range(1024 * i, rows - 1023, step))
                for i in range(workers)
            ]
            for future in futures:
                future.result()

        return call

    def stream(s: GeneratorSession, mean: bool = False) -> Callable[[], None]:
        def call() -> None:
            for _ in s.iter_chunks(
                rows, "training", seed=1, chunk_size=32_768, reuse_buffers=True, mean=mean
            ):
                pass

        return call

    candidates = {
        CEILINGS[0]: bare_graph,
        CEILINGS[1]: bare_graph_data_parallel,
        FRESH[0]: bare_graph_fresh(lambda r, c: np.empty((r, c), np.float32)),
        FRESH[1]: bare_graph_fresh(fresh_matrix),
        "iter_chunks (noise+labels+graph)": stream(gen),
        "sample (fresh matrix)": lambda: gen.sample(rows, seed=1, as_frame=False),
        "iter_chunks, eps, stream 1 (numpy)": stream(gen_eps1),
        "iter_chunks, eps, stream 2 (Philox)": stream(gen_eps),
        "iter_chunks, eps, --mean": stream(gen_eps, mean=True),
        "iter_chunks, int8": stream(gen_int8),
        "iter_chunks, int8, eps stream 2": stream(gen_eps_int8),
    }
    times = interleaved(candidates, rounds)
    pool.shutdown()
    # the ceiling is the best the graph does: per round, the faster of the two bare graphs
    times[CEILING] = list(np.minimum(times[CEILINGS[0]], times[CEILINGS[1]]))
    times[FRESH_CEILING] = list(np.minimum(times[FRESH[0]], times[FRESH[1]]))
    result: dict = {}
    print(
        f"\n1. in-memory generation, {rows:,} profiles x 969 genes, {rounds} rounds, "
        f"{workers} threads, load {os.getloadavg()[0]:.1f}; ratios against the ceiling, "
        "per round the faster of the first two rows"
    )
    print(f"   {'':42s} {'profiles/s':>11s} {'vs ceiling':>10s}")
    for name in [CEILING, *candidates]:
        rate = rows / float(np.median(times[name]))
        r = ratio(times, name, CEILING)
        result[name] = {"profiles_per_s": rate, "ratio_to_ceiling": r}
        print(f"   {name:42s} {rate:11,.0f} {r:10.3f}")
    derived = {
        "data-parallel vs one-call bare graph": ratio(times, CEILINGS[1], CEILINGS[0]),
        "sample vs bare graph into fresh memory (faster of two)": ratio(
            times, "sample (fresh matrix)", FRESH_CEILING
        ),
        "fresh memory: fresh_matrix vs np.empty (bare graph)": ratio(times, FRESH[1], FRESH[0]),
        "eps stream 2 vs no noise input": ratio(
            times, "iter_chunks, eps, stream 2 (Philox)", "iter_chunks (noise+labels+graph)"
        ),
        "eps stream 2 vs --mean (same graph, no noise drawn)": ratio(
            times, "iter_chunks, eps, stream 2 (Philox)", "iter_chunks, eps, --mean"
        ),
        "eps stream 1 vs no noise input": ratio(
            times, "iter_chunks, eps, stream 1 (numpy)", "iter_chunks (noise+labels+graph)"
        ),
        "int8 vs fp32 iter_chunks (speed-up)": ratio(
            times, "iter_chunks, int8", "iter_chunks (noise+labels+graph)"
        ),
    }
    for name, value in derived.items():
        print(f"   {name:56s} {value:6.3f}")
    result["derived"] = derived
    return result


COLD_CHILD = "import sys, time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"


def section_cold_start(work: Path, repeats: int) -> dict:
    """Wall time of ``gexgen generate GEN --n 1 --out x.npy`` in a fresh process, against
    the bare-graph ceiling's own cold start (interpreter + numpy + onnxruntime, load the
    bare MLP, run one row).

    Every command runs with Python's bytecode cache (in the scratch folder), as an
    installed package has it, and a first round is dropped; one more row runs gexgen
    with ``PYTHONDONTWRITEBYTECODE=1``, where an editable install recompiles its own
    sources at every start."""
    gexgen = Path(sys.executable).with_name("gexgen")
    out = work / "cold.npy"
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    uncached = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    uncached["PYTHONDONTWRITEBYTECODE"] = "1"

    def generate_one(generator: str) -> list[str]:
        # --overwrite: the same file each round
        args = ["--n", "1", "--out", str(out), "--no-progress", "--overwrite"]
        return [str(gexgen), "generate", str(work / generator), *args]

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ceiling: onnxruntime, bare MLP, 1 row": [
            sys.executable,
            "-c",
            "import numpy as np, onnxruntime as ort; "
            f"s = ort.InferenceSession({str(work / 'bare_mlp.onnx')!r}, "
            "providers=['CPUExecutionProvider']); "
            "s.run(None, {'x': np.zeros((1, 67), np.float32)})",
        ],
        "gexgen generate --n 1 (no noise input)": generate_one("paper_generator.onnx"),
        "gexgen generate --n 1 (eps, stream 2)": generate_one("paper_generator_eps.onnx"),
    }
    no_cache = "gexgen generate --n 1 (no noise), no bytecode cache"
    commands[no_cache] = commands["gexgen generate --n 1 (no noise input)"]
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeats + 1):
        for name, command in commands.items():
            start = time.perf_counter()
            env = uncached if name == no_cache else cached
            subprocess.run(command, check=True, capture_output=True, env=env)
            if round_:
                seconds[name].append(time.perf_counter() - start)
    print(
        f"\n6. cold start, median of {repeats} rounds after a dropped one, bytecode cached "
        f"(load {os.getloadavg()[0]:.1f})"
    )
    result = {}
    ceiling = float(np.median(seconds["ceiling: onnxruntime, bare MLP, 1 row"]))
    for name, values in seconds.items():
        median = float(np.median(values))
        result[name] = {"seconds": median, "vs_ceiling": median / ceiling}
        print(f"   {name:52s} {median:6.2f} s  ({median / ceiling:.2f}x the ceiling's)")
    return result


def _chunks_of(values: np.ndarray, chunk: int):
    for start in range(0, len(values), chunk):
        yield start, values[start : start + chunk]


def _write_all(
    path: Path,
    values: np.ndarray,
    codes: dict,
    chunk: int,
    options: ParquetOptions = ParquetOptions(),
) -> None:
    vocab = {"tissue": [f"t{i}" for i in range(15)], "status": ["normal", "tumor"]}
    genes = [f"G{j}" for j in range(values.shape[1])]
    meta = {"space": "expression", "genes": genes}
    with profile_writer(path, len(values), genes, vocab, meta, parquet=options) as writer:
        for start, block in _chunks_of(values, chunk):
            writer.write(start, block, {k: v[start : start + len(block)] for k, v in codes.items()})


def _sample_rows(work: Path, rows: int) -> tuple[np.ndarray, dict]:
    gen = GeneratorSession(work / "paper_generator.onnx", providers="cpu")
    values, labels = gen.sample(rows, seed=2, as_frame=False)
    codes = {name: labels[name].cat.codes.to_numpy().astype(np.int64) for name in labels}
    return values, codes


def section_npy(work: Path, values: np.ndarray, codes: dict, rounds: int) -> dict:
    target = work / "npy"
    target.mkdir(exist_ok=True)

    def np_save() -> None:
        np.save(target / "np_save.npy", values)
        (target / "np_save.npy").unlink()

    def writer() -> None:
        _write_all(target / "writer.npy", values, codes, 32_768)
        for p in target.iterdir():
            p.unlink()

    times = interleaved({"np.save": np_save, ".npy writer": writer}, rounds)
    size = values.nbytes / GB
    # page-cache writes here are bimodal (~0.4 or ~2.5 GB/s, the slow mode being the
    # first touch of guest memory): report the best round, the median, and both ratios
    out = {
        name: {"best_gb_per_s": size / min(t), "median_gb_per_s": size / float(np.median(t))}
        for name, t in times.items()
    }
    out["ratio_of_best"] = min(times["np.save"]) / min(times[".npy writer"])
    out["median_of_round_ratios"] = ratio(times, ".npy writer", "np.save")
    print(
        f"\n2. .npy writing, {len(values):,} x {values.shape[1]} float32 ({size:.2f} GB), "
        f"{rounds} rounds (write + unlink); GB/s best / median"
    )
    for name in times:
        print(
            f"   {name:12s} {out[name]['best_gb_per_s']:5.2f} / {out[name]['median_gb_per_s']:5.2f}"
        )
    print(
        f"   .npy writer vs np.save: {out['ratio_of_best']:.3f} (best rounds), "
        f"{out['median_of_round_ratios']:.3f} (median of per-round ratios)"
    )
    return out


PARQUET_CHOICES = {
    "plain, no compression": ParquetOptions(),
    "plain + statistics": ParquetOptions(statistics=True),
    "byte_stream_split": ParquetOptions(byte_stream_split=True),
    "snappy": ParquetOptions(compression="snappy"),
    "lz4": ParquetOptions(compression="lz4"),
    "zstd": ParquetOptions(compression="zstd"),
    "byte_stream_split + zstd": ParquetOptions(compression="zstd", byte_stream_split=True),
    "byte_stream_split + lz4": ParquetOptions(compression="lz4", byte_stream_split=True),
}


def section_parquet(work: Path, values: np.ndarray, codes: dict, repeats: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = work / "parquet"
    target.mkdir(exist_ok=True)
    size = values.nbytes / GB
    rows = {}
    print(
        f"\n3. parquet options, {len(values):,} x {values.shape[1]} float32 ({size:.2f} GB), "
        "chunks of 32,768 rows; median of "
        f"{repeats}; the .npy writer on the same rows is the reference"
    )
    print(
        f"   {'option':28s} {'write s':>8s} {'GB/s':>6s} {'vs npy':>7s} {'size GB':>8s} "
        f"{'read s':>7s}"
    )
    choices: dict[str, ParquetOptions | str] = {
        ".npy writer": "npy",
        **PARQUET_CHOICES,
        "pyarrow defaults (dictionary)": "defaults",
    }
    for name, option in choices.items():
        path = target / ("x.npy" if option == "npy" else "x.parquet")
        seconds, read_s = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            if option == "defaults":
                table = pa.Table.from_pydict(
                    {f"G{j}": values[:, j] for j in range(values.shape[1])}
                )
                pq.write_table(table, path)
                del table
            elif option == "npy":
                _write_all(path, values, codes, 32_768)
            else:
                _write_all(path, values, codes, 32_768, option)
            seconds.append(time.perf_counter() - start)
            file_size = path.stat().st_size / GB
            if option != "defaults":
                start = time.perf_counter()
                for _ in open_profiles(path).iter_chunks(65_536):
                    pass
                read_s.append(time.perf_counter() - start)
            for p in target.iterdir():
                p.unlink()
        write = float(np.median(seconds))
        rows[name] = {
            "write_s": write,
            "gb_per_s": size / write,
            "size_gb": file_size,
            "read_s": float(np.median(read_s)) if read_s else None,
        }
        rel = rows[".npy writer"]["write_s"] / write
        read = f"{rows[name]['read_s']:7.2f}" if read_s else f"{'-':>7s}"
        print(f"   {name:28s} {write:8.2f} {size / write:6.2f} {rel:7.2f} {file_size:8.2f} {read}")
    return rows


def section_formats(work: Path, rows: int, rounds: int) -> dict:
    gen = GeneratorSession(work / "paper_generator.onnx", providers="cpu")
    target = work / "formats"
    target.mkdir(exist_ok=True)

    def in_memory() -> None:
        for _ in gen.iter_chunks(rows, reuse_buffers=True, chunk_size=32_768):
            pass

    def to_file(suffix: str) -> Callable[[], None]:
        def call() -> None:
            n = rows // 8 if suffix == ".csv" else rows
            write_profiles(gen, target / f"x{suffix}", n, progress=False, overwrite=True)
            for path in target.iterdir():
                path.unlink()

        return call

    suffixes = (".npy", ".parquet", ".h5ad", ".csv")
    candidates = {"in memory": in_memory, **{s: to_file(s) for s in suffixes}}
    times = interleaved(candidates, rounds)
    print(
        f"\n4. end-to-end generation to a file, {rows:,} profiles (csv: {rows // 8:,}), "
        f"{rounds} rounds interleaved"
    )
    out = {}
    for name in candidates:
        n = rows // 8 if name == ".csv" else rows
        rate = n / float(np.median(times[name]))
        # per-round ratio of rates: (n / t_file) / (rows / t_memory)
        rel = float(np.median(np.array(times["in memory"]) * n / rows / np.array(times[name])))
        out[name] = {"profiles_per_s": rate, "vs_in_memory": rel}
        print(f"   {name:10s} {rate:10,.0f} profiles/s  ({rel:.2f} of in-memory)")
    return out


LARGE_CHILD = """
import resource, sys, time
from gexgen.runtime import GeneratorSession, write_profiles
gen = GeneratorSession(sys.argv[1], providers="cpu")
start = time.perf_counter()
write_profiles(gen, sys.argv[2], int(sys.argv[3]), progress=False, overwrite=True)
seconds = time.perf_counter() - start
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, status["VmHWM"].split()[0])
"""


def section_large(work: Path, n: int, suffix: str) -> dict:
    out_path = work / f"large{suffix}"
    print(f"\n5. {n:,} profiles to {suffix} in a subprocess")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            LARGE_CHILD,
            str(work / "paper_generator.onnx"),
            str(out_path),
            str(n),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rusage_kb, hwm_kb = proc.stdout.split()
    size = out_path.stat().st_size / GB
    # ru_maxrss of a child started by fork+exec also counts the parent's pages before the
    # exec (Linux keeps the larger of the two), so the child's own VmHWM is the figure
    result = {
        "n": n,
        "seconds": float(seconds),
        "profiles_per_s": n / float(seconds),
        "file_gb": size,
        "peak_rss_mib": int(hwm_kb) / 1024,
        "ru_maxrss_mib": int(rusage_kb) / 1024,
        "ru_maxrss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    for p in work.glob("large*"):
        p.unlink()
    print(
        f"   {float(seconds):.0f} s ({n / float(seconds):,.0f} profiles/s), file {size:.1f} GB, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB (child's VmHWM; getrusage ru_maxrss "
        f"{result['ru_maxrss_mib']:.0f} MiB includes the parent's pages at fork)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=65_536, help="profiles per throughput round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument(
        "--file-rows",
        type=int,
        default=262_144,
        help="rows for the .npy / parquet / format sections",
    )
    parser.add_argument(
        "--large-n",
        type=int,
        default=10_000_000,
        help="profiles for the peak-memory run (0 skips it)",
    )
    parser.add_argument("--large-format", default=".npy", choices=[".npy", ".parquet", ".h5ad"])
    parser.add_argument("--sections", default="1,2,3,4,5,6", help="which sections to run")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (disk)")
    parser.add_argument("--json", type=Path, default=None, help="save the numbers here")
    args = parser.parse_args()
    sections = {int(s) for s in args.sections.split(",")}
    work = Path(tempfile.mkdtemp(prefix="gexgen_bench_", dir=args.workdir))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"load {os.getloadavg()[0]:.1f}; onnxruntime {ort.__version__}, numpy "
        f"{np.__version__}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"
    )
    results: dict = {}
    try:
        write_models(work)
        if 1 in sections:
            results["throughput"] = section_throughput(work, args.rows, args.rounds, args.threads)
        if sections & {2, 3}:
            values, codes = _sample_rows(work, args.file_rows)
            if 2 in sections:
                results["npy"] = section_npy(work, values, codes, args.rounds)
            if 3 in sections:
                results["parquet"] = section_parquet(work, values, codes, 3)
            del values
        if 4 in sections:
            results["formats"] = section_formats(work, args.file_rows // 2, 3)
        if 5 in sections and args.large_n:
            results["large"] = section_large(work, args.large_n, args.large_format)
        if 6 in sections:
            results["cold_start"] = section_cold_start(work, max(3, args.rounds))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
