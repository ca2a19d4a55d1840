"""examples/node/generate.js (onnxruntime-node) matches gexgen's Python output.

Given ``z`` and ``eps`` it matches to 1e-6; drawing them itself (its seeded JS
normal sampler) its profiles have the spread of ``gexgen generate``'s.

Node and npm are on every CI machine: their absence fails this test, it never skips.
``npm ci`` runs once when ``examples/node/node_modules`` is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "node"

sys.path.insert(0, str(REPO / "tests" / "train"))
from cohort_factory import make_cohort  # noqa: E402


def _node_ready() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the Node.js example (install Node.js >= 18)")
    if not (EXAMPLE / "node_modules" / "onnxruntime-node").is_dir():
        env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE, env=env,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    return node


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> Path:
    """A tiny CVAE of the default recipe (calibrated observation noise: an eps input)."""
    from gexgen.model import CVAE

    folder = tmp_path_factory.mktemp("node")
    cohort = make_cohort(folder / "cohort.h5ad")
    model = CVAE(
        encoder_hidden=(32,), n_latent=6, decoder_hidden=(32,), batch_size=16, epochs=2,
        device="cpu", threads=1,
    ).fit(cohort)  # fmt: skip
    path = folder / "generator.onnx"
    model.export(path)
    return path


KIDNEY_TUMOR = ("tissue=kidney", "status=tumor")


def _node(node: str, generator: Path, out: Path, *args: str) -> dict:
    done = subprocess.run(
        [node, str(EXAMPLE / "generate.js"), str(generator), str(out), *args, *KIDNEY_TUMOR],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _run(node: str, generator: Path, z: np.ndarray, eps: np.ndarray | None, out: Path) -> dict:
    z_path = out.with_suffix(".z.f32")
    z.astype("<f4").tofile(z_path)
    args = ["--z", str(z_path)]
    if eps is None:
        args.append("--mean")
    else:
        eps.astype("<f4").tofile(out.with_suffix(".eps.f32"))
        args += ["--eps", str(out.with_suffix(".eps.f32"))]
    return _node(node, generator, out, *args)


@pytest.mark.parametrize("metadata", ["sidecar", "embedded"])
@pytest.mark.parametrize("noise", ["given", "mean"])
def test_node_matches_python(generator, tmp_path, metadata, noise):
    from gexgen.runtime import GeneratorSession

    node = _node_ready()
    if metadata == "embedded":  # the model file alone, no .onnx.json beside it
        generator = Path(shutil.copy(generator, tmp_path / "alone.onnx"))
        assert not generator.with_name("alone.onnx.json").exists()
    with GeneratorSession(generator, providers="cpu", threads=1) as gen:
        assert gen.info.noise_input
        rng = np.random.default_rng(0)
        z = rng.standard_normal((37, gen.info.n_latent), dtype=np.float32)
        eps = rng.standard_normal((37, len(gen.genes)), dtype=np.float32)
        eps = eps if noise == "given" else None
        codes = {
            "tissue": gen.labels["tissue"].index("kidney"),
            "status": gen.labels["status"].index("tumor"),
        }
        want = gen.decode(z, codes, eps)
    summary = _run(node, generator, z, eps, tmp_path / "expression.f32")
    assert summary["metadata"] == metadata
    assert summary["shape"] == [37, len(want[0])]
    assert summary["codes"] == codes and summary["eps"] == noise
    got = np.fromfile(tmp_path / "expression.f32", dtype="<f4").reshape(want.shape)
    assert np.isfinite(want).all() and want.max() > 0
    print(f"node vs python ({metadata}, {noise}): max abs diff {np.max(np.abs(got - want)):.3g}")
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


N_DRAWN = 4000


def _python_profiles(generator: Path, tmp_path: Path, space: str) -> np.ndarray:
    """`gexgen generate` itself, for the Node example's label combination."""
    from typer.testing import CliRunner

    from gexgen.cli import app

    out = tmp_path / f"python-{space}.npy"
    args = ["generate", str(generator), "--n", str(N_DRAWN), "--seed", "0", "--space", space]
    for pair in KIDNEY_TUMOR:
        args += ["--condition", pair]
    done = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert done.exit_code == 0, done.output
    return np.load(out).astype(np.float64)


@pytest.mark.parametrize("space", ["log2", "expression"])
def test_node_draws_samples_with_pythons_spread(generator, tmp_path, space):
    """Its own seeded N(0, 1) z and eps: per-gene std within 5% of `gexgen generate`'s."""
    node = _node_ready()
    python = _python_profiles(generator, tmp_path, space)
    out = tmp_path / "drawn.f32"
    summary = _node(node, generator, out, "--n", str(N_DRAWN), "--seed", "7", "--space", space)
    assert summary["z"] == "drawn" and summary["eps"] == "drawn"
    drawn = np.fromfile(out, dtype="<f4").reshape(python.shape).astype(np.float64)
    ratio = np.median(drawn.std(axis=0) / python.std(axis=0))
    print(f"node / python per-gene std ({space}), median over genes: {ratio:.3f}")
    assert abs(ratio - 1) < 0.05, ratio
    # the same seed gives the same profiles; another seed other ones
    again = tmp_path / "again.f32"
    _node(node, generator, again, "--n", str(N_DRAWN), "--seed", "7", "--space", space)
    assert out.read_bytes() == again.read_bytes()
    _node(node, generator, again, "--n", str(N_DRAWN), "--seed", "8", "--space", space)
    assert out.read_bytes() != again.read_bytes()
    # --mean gives the decoder mean: visibly less spread (what the example drew before)
    mean = tmp_path / "mean.f32"
    _node(node, generator, mean, "--n", str(N_DRAWN), "--seed", "7", "--mean", "--space", space)
    means = np.fromfile(mean, dtype="<f4").reshape(python.shape).astype(np.float64)
    assert np.median(means.std(axis=0) / python.std(axis=0)) < 0.9


def test_node_sampler_is_standard_normal():
    node = _node_ready()
    code = (
        f"const g = require({json.dumps(str(EXAMPLE / 'generate.js'))});"
        "const a = g.normalSampler(3)(new Float64Array(200001));"
        "process.stdout.write(JSON.stringify(Array.from(a)));"
    )
    done = subprocess.run([node, "-e", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    values = np.array(json.loads(done.stdout))
    assert abs(values.mean()) < 0.01 and abs(values.std() - 1) < 0.01
    assert abs(np.mean(values**4) - 3) < 0.1  # Gaussian tails, not uniform ones
    assert abs(np.corrcoef(values[:-1], values[1:])[0, 1]) < 0.01  # Box-Muller pairs unlinked


def test_package_lock_is_committed_and_node_modules_ignored():
    assert (EXAMPLE / "package-lock.json").is_file()
    lock = json.loads((EXAMPLE / "package-lock.json").read_text())
    assert "node_modules/onnxruntime-node" in lock["packages"]
    ignored = subprocess.run(["git", "check-ignore", "-q", str(EXAMPLE / "node_modules")], cwd=REPO)
    assert ignored.returncode == 0
