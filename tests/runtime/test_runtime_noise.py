"""Noise streams: Philox against Random123's vectors, the numba kernel against numpy,
the normals against the normal law, and stream-2 / mean generation against references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from tiny_generator import write_generator

from gexgen.errors import GexgenError
from gexgen.runtime import GeneratorSession
from gexgen.runtime._philox_kernel import philox_normals_into
from gexgen.runtime.noise import (
    BLOCK_ROWS,
    philox4x32,
    philox_key,
    philox_normals,
    philox_normals_numpy,
)

# Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter, key, expected
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF,) * 4,
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_matches_random123_vectors(counter, key, expected):
    words = philox4x32(tuple(np.array([c], np.uint64) for c in counter), key)
    assert tuple(int(w[0]) for w in words) == expected


@pytest.mark.parametrize("n_genes", [1, 3, 4, 13, 969])
def test_kernel_gives_the_bits_of_the_numpy_reference(n_genes):
    start = 2**32 - 5  # rows on both sides of the counter's 32-bit word boundary
    want = philox_normals_numpy(7, start, 40, n_genes)
    got = np.empty((40, n_genes), np.float32)
    key = philox_key(7)
    philox_normals_into(key[0], key[1], start, got)
    assert np.array_equal(got, want)
    # philox_normals picks numpy or the kernel by size: same bits either way
    big = np.empty((100, 969), np.float32)
    philox_normals(7, 10, big)
    small = np.empty((3, 969), np.float32)
    philox_normals(7, 12, small)
    assert np.array_equal(big[2:5], small)


def test_rows_depend_on_seed_and_row_only():
    a = philox_normals_numpy(3, 100, 5, 20)
    assert np.array_equal(a[2:], philox_normals_numpy(3, 102, 3, 20))
    assert not np.array_equal(a, philox_normals_numpy(4, 100, 5, 20))
    assert not np.array_equal(a[0], a[1])


def test_normals_follow_the_normal_law():
    values = np.empty((2048, 969), np.float32)
    philox_normals(11, 0, values)
    flat = values.ravel().astype(np.float64)
    n = flat.size
    assert abs(flat.mean()) < 5 / np.sqrt(n)
    assert abs(flat.var() - 1.0) < 5 * np.sqrt(2 / n)
    assert abs(stats.kurtosis(flat)) < 5 * np.sqrt(24 / n)
    assert abs(stats.skew(flat)) < 5 * np.sqrt(6 / n)
    assert stats.kstest(flat[:200_000], "norm").pvalue > 1e-4
    # tails: |x| > 4 has probability 6.3e-5
    tail = np.mean(np.abs(flat) > 4)
    assert 0.5 * 6.33e-5 < tail < 1.5 * 6.33e-5
    # columns of a row are independent: no correlation between neighbouring genes
    assert abs(np.corrcoef(values[:, 0], values[:, 1])[0, 1]) < 5 / np.sqrt(2048)


@pytest.fixture(scope="module")
def stream2(tmp_path_factory):
    return write_generator(
        tmp_path_factory.mktemp("gen") / "eps2.onnx",
        seed=4,
        noise_input=True,
        metadata_overrides={"noise_stream": 2},
    )


def latent_reference(seed, n, n_latent):
    blocks = []
    for block in range(-(-n // BLOCK_ROWS)):
        rng = np.random.Generator(
            np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(0, block)))
        )
        blocks.append(rng.standard_normal((BLOCK_ROWS, n_latent), dtype=np.float32))
    return np.concatenate(blocks)[:n]


@pytest.mark.parametrize("space", ["expression", "log2"])
def test_stream2_sample_matches_reference(stream2, space):
    gen = GeneratorSession(stream2.path)
    assert gen.noise_stream == 2
    n = 2 * BLOCK_ROWS + 37
    values, labels = gen.sample(n, seed=5, space=space, as_frame=False)
    z = latent_reference(5, n, 4)
    eps = philox_normals_numpy(5, 0, n, len(gen.genes))
    codes = {name: labels[name].cat.codes.to_numpy() for name in gen.labels}
    np.testing.assert_allclose(
        values, stream2.reference(z, codes, eps, space=space), rtol=2e-5, atol=2e-5
    )


def test_stream2_same_profiles_whatever_chunks_and_threads(stream2):
    n = 3 * BLOCK_ROWS + 101
    full = GeneratorSession(stream2.path, threads=1).sample(n, seed=9, as_frame=False)[0]
    gen = GeneratorSession(stream2.path, threads=2)
    assert np.array_equal(gen.sample(n, seed=9, as_frame=False)[0], full)
    for chunk_size in (1, 333, BLOCK_ROWS, 2500, n):
        m = 40 if chunk_size == 1 else n
        chunks = [
            c.values.copy()
            for c in gen.iter_chunks(m, seed=9, chunk_size=chunk_size, reuse_buffers=True)
        ]
        assert np.array_equal(np.concatenate(chunks), full[:m]), chunk_size
    assert np.array_equal(gen.sample(1, seed=9, as_frame=False)[0], full[:1])


def test_mean_is_the_decoder_mean_with_the_same_latents(stream2, tmp_path):
    gen = GeneratorSession(stream2.path)
    n = BLOCK_ROWS + 10
    noisy, labels = gen.sample(n, seed=3, space="log2", as_frame=False)
    mean, mean_labels = gen.sample(n, seed=3, space="log2", as_frame=False, mean=True)
    assert labels.equals(mean_labels)
    codes = {name: labels[name].cat.codes.to_numpy() for name in gen.labels}
    z = latent_reference(3, n, 4)
    np.testing.assert_allclose(mean, stream2.reference(z, codes, None, "log2"), atol=2e-5)
    assert not np.allclose(mean, noisy)
    chunks = [
        c.values.copy() for c in gen.iter_chunks(n, seed=3, space="log2", chunk_size=300, mean=True)
    ]
    assert np.array_equal(np.concatenate(chunks), mean)
    # a generator without a noise input: mean changes nothing
    plain = GeneratorSession(write_generator(tmp_path / "plain.onnx", seed=1).path)
    a = plain.sample(500, seed=2, as_frame=False)[0]
    assert np.array_equal(a, plain.sample(500, seed=2, as_frame=False, mean=True)[0])


def test_stream1_files_keep_their_noise(tmp_path):
    """A file without "noise_stream" draws eps from the block streams, as before."""
    old = write_generator(tmp_path / "old.onnx", seed=2, noise_input=True)
    gen = GeneratorSession(old.path)
    assert gen.noise_stream == 1
    n = BLOCK_ROWS + 5
    values, labels = gen.sample(n, seed=4, space="log2", as_frame=False)
    rng = np.random.Generator(np.random.SFC64(np.random.SeedSequence(4, spawn_key=(0, 1))))
    rng.standard_normal((BLOCK_ROWS, 4), dtype=np.float32)
    eps_row = rng.standard_normal((BLOCK_ROWS, len(gen.genes)), dtype=np.float32)[:5]
    codes = {name: labels[name].cat.codes.to_numpy()[BLOCK_ROWS:] for name in gen.labels}
    z = latent_reference(4, n, 4)[BLOCK_ROWS:]
    np.testing.assert_allclose(
        values[BLOCK_ROWS:], old.reference(z, codes, eps_row, "log2"), atol=2e-5
    )


@pytest.mark.parametrize(("stream", "message"), [(3, "upgrade gexgen"), ("2", "positive integer")])
def test_unknown_noise_stream_is_refused(tmp_path, stream, message):
    bad = write_generator(tmp_path / "bad.onnx", metadata_overrides={"noise_stream": stream})
    with pytest.raises(GexgenError, match=message):
        GeneratorSession(bad.path)


def test_reused_buffers_are_not_handed_out_while_a_view_lives(tmp_path):
    gen = GeneratorSession(write_generator(tmp_path / "g.onnx", seed=1).path)
    kept = [c.values for c in gen.iter_chunks(2000, seed=1, chunk_size=1000, reuse_buffers=True)]
    held = kept[-1]  # a view of the session's buffer, alive past the iteration
    before = held.copy()
    other = [
        c.values.copy() for c in gen.iter_chunks(2000, seed=2, chunk_size=1000, reuse_buffers=True)
    ]
    assert np.array_equal(held, before)
    assert not np.array_equal(other[-1], before)
