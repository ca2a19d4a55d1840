"""examples/node/generate.js (onnxruntime-node) matches gexgen's Python output to 1e-6.

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
    """A tiny CVAE with a learned decoder variance (so the graph has an eps input)."""
    from gexgen.model import CVAE

    folder = tmp_path_factory.mktemp("node")
    cohort = make_cohort(folder / "cohort.h5ad")
    model = CVAE(
        encoder_hidden=(32,), n_latent=6, decoder_hidden=(32,), batch_size=16, epochs=2,
        device="cpu", patience=None, threads=1, learned_variance=True,
    ).fit(cohort)  # fmt: skip
    path = folder / "generator.onnx"
    model.export(path)
    return path


def _run(node: str, generator: Path, z: np.ndarray, out: Path) -> dict:
    z_path = out.with_suffix(".z.f32")
    z.astype("<f4").tofile(z_path)
    done = subprocess.run(
        [node, str(EXAMPLE / "generate.js"), str(generator), str(z_path), str(out),
         "tissue=kidney", "status=tumor"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("metadata", ["sidecar", "embedded"])
def test_node_matches_python(generator, tmp_path, metadata):
    from gexgen.runtime import GeneratorSession

    node = _node_ready()
    if metadata == "embedded":  # the model file alone, no .onnx.json beside it
        generator = Path(shutil.copy(generator, tmp_path / "alone.onnx"))
        assert not generator.with_name("alone.onnx.json").exists()
    with GeneratorSession(generator, providers="cpu", threads=1) as gen:
        z = np.random.default_rng(0).standard_normal((37, gen.info.n_latent), dtype=np.float32)
        codes = {
            "tissue": gen.labels["tissue"].index("kidney"),
            "status": gen.labels["status"].index("tumor"),
        }
        want = gen.decode(z, codes)
    summary = _run(node, generator, z, tmp_path / "expression.f32")
    assert summary["metadata"] == metadata
    assert summary["shape"] == [37, len(want[0])]
    assert summary["codes"] == codes
    got = np.fromfile(tmp_path / "expression.f32", dtype="<f4").reshape(want.shape)
    assert np.isfinite(want).all() and want.max() > 0
    print(f"node vs python ({metadata}): max abs diff {np.max(np.abs(got - want)):.3g}")
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_package_lock_is_committed_and_node_modules_ignored():
    assert (EXAMPLE / "package-lock.json").is_file()
    lock = json.loads((EXAMPLE / "package-lock.json").read_text())
    assert "node_modules/onnxruntime-node" in lock["packages"]
    ignored = subprocess.run(["git", "check-ignore", "-q", str(EXAMPLE / "node_modules")], cwd=REPO)
    assert ignored.returncode == 0
