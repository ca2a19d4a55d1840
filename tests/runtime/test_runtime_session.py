"""GeneratorSession against a numpy reference of the graph, determinism, and bad files."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd
import pytest
from tiny_generator import DEFAULT_LABELS, write_generator

from gexgen.errors import GexgenError
from gexgen.generator_format import METADATA_KEY
from gexgen.runtime import GeneratorSession, resolve_providers
from gexgen.runtime.noise import BLOCK_ROWS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_generator(tmp_path_factory.mktemp("gen") / "tiny.onnx", seed=1)


@pytest.fixture(scope="module")
def tiny_eps(tmp_path_factory):
    return write_generator(
        tmp_path_factory.mktemp("gen") / "tiny_eps.onnx", seed=2, noise_input=True
    )


def reference_noise(seed, n, n_latent, n_genes=None):
    """The documented streams: block b draws z, then eps, from SFC64(SeedSequence(seed, (0, b)))."""
    zs, epss = [], []
    for block in range(-(-n // BLOCK_ROWS)):
        rng = np.random.Generator(
            np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(0, block)))
        )
        zs.append(rng.standard_normal((BLOCK_ROWS, n_latent), dtype=np.float32))
        if n_genes:
            epss.append(rng.standard_normal((BLOCK_ROWS, n_genes), dtype=np.float32))
    z = np.concatenate(zs)[:n]
    return z, (np.concatenate(epss)[:n] if n_genes else None)


def test_metadata_is_read(tiny):
    gen = GeneratorSession(tiny.path)
    assert gen.genes == tiny.genes
    assert gen.entrez_ids == [1000 + j for j in range(len(tiny.genes))]
    assert gen.labels == DEFAULT_LABELS
    assert {tuple(c["values"].values()): c["count"] for c in gen.combinations} == {
        tuple(c["values"].values()): c["count"] for c in tiny.metadata["combinations"]
    }
    assert gen.metadata["n_latent"] == 4
    assert gen.providers == ["CPUExecutionProvider"]


@pytest.mark.parametrize("space", ["expression", "log2"])
def test_sample_matches_numpy_reference(tiny, tiny_eps, space):
    for gen_file in (tiny, tiny_eps):
        gen = GeneratorSession(gen_file.path)
        n = 2 * BLOCK_ROWS + 37
        values, labels = gen.sample(n, conditions="training", seed=5, space=space, as_frame=False)
        z, eps = reference_noise(5, n, 4, len(gen.genes) if gen.info.noise_input else None)
        codes = {name: labels[name].cat.codes.to_numpy() for name in gen.labels}
        expected = gen_file.reference(z, codes, eps, space=space)
        np.testing.assert_allclose(values, expected, rtol=2e-5, atol=2e-5)
        if space == "expression":
            assert (values >= 0).all()


def test_decode_matches_reference_and_eps_defaults_to_mean(tiny_eps):
    gen = GeneratorSession(tiny_eps.path)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 4))
    codes = {"tissue": rng.integers(0, 4, 50), "status": rng.integers(0, 2, 50)}
    got = gen.decode(z, codes, space="log2")
    np.testing.assert_allclose(got, tiny_eps.reference(z, codes, None, "log2"), atol=2e-5)
    with pytest.raises(GexgenError, match=r"z must have shape \(n, 4\)"):
        gen.decode(z[:, :3], codes)
    with pytest.raises(GexgenError, match="codes missing for label"):
        gen.decode(z, {"tissue": codes["tissue"]})


@pytest.mark.parametrize("which", ["tiny", "tiny_eps"])
def test_same_profiles_whatever_the_chunk_size(request, which):
    gen = GeneratorSession(request.getfixturevalue(which).path)
    n = 3 * BLOCK_ROWS + 101
    full = gen.sample(n, seed=11, as_frame=False)[0]
    for chunk_size in (1, 333, BLOCK_ROWS, 1500, n, 10 * n):
        if chunk_size == 1:
            chunks = list(gen.iter_chunks(40, seed=11, chunk_size=1))
            assert np.array_equal(np.concatenate([c.values for c in chunks]), full[:40])
            continue
        chunks = list(gen.iter_chunks(n, seed=11, chunk_size=chunk_size))
        assert [c.start for c in chunks] == list(range(0, n, min(chunk_size, n)))
        assert np.array_equal(np.concatenate([c.values for c in chunks]), full), chunk_size
        labels = pd.concat([c.labels for c in chunks])
        assert list(labels.index) == list(range(n))


def test_reused_buffers_give_the_same_values(tiny):
    gen = GeneratorSession(tiny.path)
    full = gen.sample(5000, seed=3, as_frame=False)[0]
    copies = [
        c.values.copy() for c in gen.iter_chunks(5000, seed=3, chunk_size=1200, reuse_buffers=True)
    ]
    assert np.array_equal(np.concatenate(copies), full)


def test_threads_and_prefix_do_not_change_profiles(tiny_eps):
    one = GeneratorSession(tiny_eps.path, threads=1).sample(4000, seed=9, as_frame=False)[0]
    two = GeneratorSession(tiny_eps.path, threads=2).sample(4000, seed=9, as_frame=False)[0]
    assert np.array_equal(one, two)
    shorter = GeneratorSession(tiny_eps.path).sample(1500, seed=9, as_frame=False)[0]
    assert np.array_equal(shorter, one[:1500])


def test_seeds_differ_and_frame_layout(tiny):
    gen = GeneratorSession(tiny.path)
    a = gen.sample(200, seed=0)
    b = gen.sample(200, seed=1)
    assert list(a.columns) == [*tiny.genes, "tissue", "status"]
    assert isinstance(a["tissue"].dtype, pd.CategoricalDtype)
    assert a[tiny.genes].to_numpy().dtype == np.float32
    assert not np.allclose(a[tiny.genes].to_numpy(), b[tiny.genes].to_numpy())
    assert gen.sample(0).shape == (0, len(tiny.genes) + 2)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_n_and_seed(tiny, bad):
    gen = GeneratorSession(tiny.path)
    with pytest.raises(GexgenError, match="n must be a non-negative integer"):
        gen.sample(bad)
    with pytest.raises(GexgenError, match="seed must be a non-negative integer"):
        gen.sample(5, seed=bad)


def test_bad_space_and_chunk_size(tiny):
    gen = GeneratorSession(tiny.path)
    with pytest.raises(GexgenError, match="space must be one of"):
        gen.sample(5, space="linear")
    with pytest.raises(GexgenError, match="chunk_size must be a positive integer"):
        gen.iter_chunks(5, chunk_size=0)


def test_missing_provider_lists_available(tiny):
    with pytest.raises(GexgenError, match=r"not available.*available: .*CPUExecutionProvider"):
        GeneratorSession(tiny.path, providers=["CUDAExecutionProvider"])
    assert GeneratorSession(tiny.path, providers="cpu").providers == ["CPUExecutionProvider"]


def test_resolve_providers_defaults_and_short_names():
    both = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(None, available=both) == both
    assert resolve_providers(None, available=["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert resolve_providers("cuda, cpu", available=both) == both
    with pytest.raises(GexgenError, match="available: CPUExecutionProvider"):
        resolve_providers(["tensorrt"], available=["CPUExecutionProvider"])


def test_missing_file(tmp_path):
    with pytest.raises(GexgenError, match="not found"):
        GeneratorSession(tmp_path / "nope.onnx")


def test_not_onnx_and_truncated_files(tiny, tmp_path):
    text = tmp_path / "text.onnx"
    text.write_text("hello, I am not a model\n")
    with pytest.raises(GexgenError, match="truncated, damaged or not ONNX"):
        GeneratorSession(text)
    truncated = tmp_path / "truncated.onnx"
    data = tiny.path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(GexgenError, match="truncated, damaged or not ONNX"):
        GeneratorSession(truncated)


def test_onnx_model_without_gexgen_metadata(tmp_path):
    plain = write_generator(tmp_path / "plain.onnx", with_metadata=False)
    with pytest.raises(GexgenError, match="not a gexgen generator"):
        GeneratorSession(plain.path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"format": "something-else"}, "expected 'gexgen-generator'"),
        ({"format_version": 99}, "upgrade gexgen"),
        ({"n_latent": 7}, "metadata says n_latent=7"),
        ({"noise_input": True}, "do not match the metadata"),
        ({"genes": {"symbols": []}}, "no gene symbols"),
    ],
)
def test_inconsistent_metadata_is_rejected(tmp_path, override, message):
    gen = write_generator(tmp_path / "g.onnx", metadata_overrides=override)
    with pytest.raises(GexgenError, match=message):
        GeneratorSession(gen.path)


def test_metadata_that_is_not_json(tmp_path):
    gen = write_generator(tmp_path / "g.onnx")
    model = onnx.load(gen.path)
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = "{not json"
    onnx.save(model, gen.path)
    with pytest.raises(GexgenError, match="not valid JSON"):
        GeneratorSession(gen.path)
    json.loads(json.dumps(gen.metadata))  # the original was fine
