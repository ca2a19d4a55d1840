"""Data-parallel run batches: the scheduler, and the bits it gives whatever the threads."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from tiny_generator import write_generator

from gexgen.runtime import GeneratorSession
from gexgen.runtime.noise import BLOCK_ROWS
from gexgen.runtime.run_batches import BatchWorkers, default_threads, run_batches


def naive_batches(start, stop, size):
    """Cut [start, stop) before every multiple of size."""
    cuts = [start, *(m for m in range(start + 1, stop) if m % size == 0), stop]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if a < b]


@pytest.mark.parametrize(
    ("start", "stop", "size"),
    [(0, 0, 4), (0, 10, 4), (3, 9, 4), (4, 8, 4), (1000, 5000, 1024), (7, 8, 1)],
)
def test_run_batches_cut_at_absolute_multiples(start, stop, size):
    assert list(run_batches(start, stop, size)) == naive_batches(start, stop, size)


def test_default_threads_is_the_cores_we_may_use(generators):
    assert default_threads() == len(os.sched_getaffinity(0))
    assert GeneratorSession(generators["plain"], providers="cpu").threads == default_threads()


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_every_batch_runs_once_and_scratch_is_kept(threads):
    made = []

    def make():
        made.append(np.empty(4))
        return made[-1]

    workers = BatchWorkers(threads, make)
    seen, names, scratches = [], set(), set()
    lock = threading.Lock()

    def task(lo, hi, scratch):
        with lock:
            seen.append((lo, hi))
            names.add(threading.current_thread().name)
            scratches.add(id(scratch))

    for _ in range(3):
        workers.run(5, 5000, 64, task)
    assert sorted(seen) == sorted(naive_batches(5, 5000, 64) * 3)
    assert len(made) <= threads  # one scratch per running thread, kept across calls
    assert scratches <= {id(s) for s in made}
    assert len(names) <= threads
    workers.close()


def test_an_error_in_a_pool_thread_reaches_the_caller():
    workers = BatchWorkers(3, lambda: None)
    ran = []
    main = threading.current_thread()

    def task(lo, hi, scratch):
        if threading.current_thread() is not main:
            raise RuntimeError(f"batch {lo} failed")
        ran.append(lo)
        threading.Event().wait(0.001)  # leave batches to the pool threads

    with pytest.raises(RuntimeError, match="batch .* failed"):
        workers.run(0, 10_000, 10, task)
    assert len(ran) < 1000  # the others stopped taking batches
    workers.run(0, 30, 10, lambda lo, hi, s: ran.append(-lo))  # still usable
    workers.close()


def test_no_task_still_runs_when_the_error_is_raised():
    workers = BatchWorkers(3, lambda: None)
    started, finished = [], []

    def task(lo, hi, scratch):
        started.append(lo)
        if lo == 40:
            raise ValueError("bad batch")
        threading.Event().wait(0.02)  # other batches take a while
        finished.append(lo)

    with pytest.raises(ValueError, match="bad batch"):
        workers.run(0, 2000, 10, task)
    assert len(finished) == len(started) - 1  # every other task that began has ended
    workers.close()


# --------------------------------------------------------------- through GeneratorSession
@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    """No noise input; eps stream 1 (numpy); eps stream 2 with enough genes (100) that
    the numba Philox kernel draws it, from several threads at once."""
    folder = tmp_path_factory.mktemp("dp")
    return {
        "plain": write_generator(folder / "plain.onnx", seed=1).path,
        "eps1": write_generator(folder / "eps1.onnx", seed=2, noise_input=True).path,
        "eps2": write_generator(
            folder / "eps2.onnx",
            seed=3,
            n_genes=100,
            noise_input=True,
            metadata_overrides={"noise_stream": 2},
        ).path,
    }


@pytest.mark.parametrize("which", ["plain", "eps1", "eps2"])
@pytest.mark.parametrize("mean", [False, True])
def test_same_bits_whatever_threads_and_chunks(generators, which, mean):
    n = 5 * BLOCK_ROWS + 77
    one = GeneratorSession(generators[which], providers="cpu", threads=1)
    assert one._graph.data_parallel
    assert one._graph.session.get_session_options().intra_op_num_threads == 1
    full = one.sample(n, seed=4, as_frame=False, mean=mean)[0]
    for threads in (2, 3):
        gen = GeneratorSession(generators[which], providers="cpu", threads=threads)
        assert np.array_equal(gen.sample(n, seed=4, as_frame=False, mean=mean)[0], full)
        for chunk_size in (500, BLOCK_ROWS, 3000):
            chunks = [
                c.values.copy()
                for c in gen.iter_chunks(
                    n, seed=4, chunk_size=chunk_size, reuse_buffers=True, mean=mean
                )
            ]
            assert np.array_equal(np.concatenate(chunks), full), (threads, chunk_size)
        rows = list(gen.iter_planned(n, gen.plan(n, seed=4), 4, "expression", 700, 0, mean, 1500))
        assert np.array_equal(np.concatenate([c.values for c in rows]), full[1500:])
    if which != "plain":
        noisy = one.sample(n, seed=4, as_frame=False)[0]
        assert np.array_equal(noisy, full) == (not mean)  # mean=True: eps = 0


def test_decode_runs_in_batches_and_matches_one_call(generators):
    gen = GeneratorSession(generators["eps2"], providers="cpu", threads=3)
    rng = np.random.default_rng(0)
    n = 3 * BLOCK_ROWS + 5
    z = rng.standard_normal((n, 4)).astype(np.float32)
    codes = {"tissue": rng.integers(0, 4, n), "status": rng.integers(0, 2, n)}
    eps = rng.standard_normal((n, 100)).astype(np.float32)
    got = gen.decode(z, codes, eps)
    rows = [gen.decode(z[i : i + 1], {k: v[i : i + 1] for k, v in codes.items()}, eps[i : i + 1])
            for i in (0, 1500, n - 1)]  # fmt: skip
    assert np.array_equal(got[[0, 1500, n - 1]], np.concatenate(rows))


def test_one_session_used_by_two_threads_at_once(generators):
    """Process-pool workers with several threads share one session per process."""
    gen = GeneratorSession(generators["eps2"], providers="cpu", threads=2)
    n = 4 * BLOCK_ROWS
    expected = {seed: gen.sample(n, seed=seed, as_frame=False)[0] for seed in (1, 2)}
    got: dict[int, np.ndarray] = {}

    def draw(seed):
        got[seed] = np.concatenate(
            [c.values.copy() for c in gen.iter_chunks(n, seed=seed, chunk_size=900)]
        )

    threads = [threading.Thread(target=draw, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(got[seed], expected[seed]) for seed in (1, 2))


def test_a_failing_batch_fails_the_call_and_the_session_recovers(generators, monkeypatch):
    gen = GeneratorSession(generators["plain"], providers="cpu", threads=3)
    expected = gen.sample(6 * BLOCK_ROWS, seed=1, as_frame=False)[0]
    original = gen._run_into

    calls = iter(range(100))
    lock = threading.Lock()

    def failing(out, output, z, codes, eps):
        with lock:
            call = next(calls)
        if call == 3:  # one batch of six, on whichever thread took it
            raise RuntimeError("out of memory in a worker")
        return original(out, output, z, codes, eps)

    monkeypatch.setattr(gen, "_run_into", failing)
    with pytest.raises(RuntimeError, match="out of memory in a worker"):
        gen.sample(6 * BLOCK_ROWS, seed=1, as_frame=False)
    monkeypatch.undo()
    assert np.array_equal(gen.sample(6 * BLOCK_ROWS, seed=1, as_frame=False)[0], expected)
    gen.close()
