"""The README's Python and embedding sections, executed as written (tiny training budget).

The object-API block ("Use it from Python") runs in a folder holding a small synthetic
``cohort.h5ad``; the ``default`` recipe is cut to 2 epochs so that the block runs in
seconds. The onnxruntime block ("Embedding the generator") then runs on the
``generator.onnx`` the first block exported; it and docs/ draw ``eps`` from N(0, 1).
The label-mix description is checked against the runtime.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "train"))
sys.path.insert(0, str(REPO / "tests" / "runtime"))
from cohort_factory import make_cohort  # noqa: E402
from tiny_generator import write_generator  # noqa: E402


def _section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(f"## {title}")
    end = text.index("\n## ", start + 3)
    return text[start:end]


def _blocks(language: str, title: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _section(title), flags=re.S)


OBJECTS, EMBEDDING = "Use it from Python", "Embedding the generator"


@pytest.mark.slow
def test_python_blocks_run_as_written(tmp_path, monkeypatch):
    import anndata

    from gexgen.train import config

    python = _blocks("python", OBJECTS)[:1] + _blocks("python", EMBEDDING)
    assert len(python) == 2 and "from gexgen import CVAE" in python[0]
    assert 'recipe="default"' in python[0] and "standard_normal((n, len(" in python[1]
    cohort = make_cohort(tmp_path / "cohort.h5ad")
    adata = anndata.read_h5ad(cohort)
    adata.uns["gexgen"] = {"log_scaled": False, "units": "FPKM"}
    adata.write_h5ad(cohort)
    monkeypatch.setitem(config.RECIPES, "default", {**config.RECIPES["default"], "epochs": 2})
    monkeypatch.chdir(tmp_path)

    namespace: dict = {}
    exec(compile(python[0], "README.md (object API)", "exec"), namespace)
    assert (tmp_path / "generator.onnx").is_file() and (tmp_path / "generator.onnx.json").is_file()
    assert (tmp_path / "report" / "metrics.json").is_file()
    assert (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "kidney_model" / "checkpoint.pt").is_file()
    synthetic = namespace["synthetic"]
    assert synthetic.shape == (1000, 24) and synthetic.obs_names[0] == "syn-0-0"
    assert synthetic.uns["gexgen"]["units"] == "FPKM" and synthetic.uns["gexgen"]["synthetic"]
    assert namespace["metrics"]["gamma"]["gamma"] is not None
    assert namespace["model"].config.epochs == 2

    exec(compile(python[1], "README.md (onnxruntime)", "exec"), {})


def test_node_block_names_the_tested_program():
    (bash,) = _blocks("bash", EMBEDDING)
    assert "ONNXRUNTIME_NODE_INSTALL=skip npm ci" in bash
    command = "node generate.js generator.onnx expression.f32 --n 1000 --seed 0 tissue=kidney"
    assert command in bash  # the example draws z and eps itself (seeded N(0, 1))
    usage = (REPO / "examples" / "node" / "generate.js").read_text()
    assert "node generate.js GENERATOR.onnx OUT.f32 --n 1000 --seed 0" in usage


@pytest.mark.parametrize("mix", ["training", "uniform"])
def test_the_documented_label_mix(tmp_path, mix):
    """Re-implement the README's description of the label mix and compare with the runtime."""
    from gexgen.runtime import GeneratorSession

    path = write_generator(tmp_path / "g.onnx", seed=1).path
    seed, n = 11, 2500  # three blocks, the last one partial
    with GeneratorSession(path, providers="cpu", threads=1) as gen:
        _, labels = gen.sample(n, {"status": "tumor"}, seed=seed, as_frame=False, mix=mix)
        names = list(gen.labels)
        candidates = [c for c in gen.combinations if c["values"]["status"] == "tumor"]
    weights = np.array([c["count"] if mix == "training" else 1 for c in candidates], float)
    cumulative = np.cumsum(weights) / weights.sum()
    picks = []
    for block in range(-(-n // 1024)):
        stream = np.random.SeedSequence(seed, spawn_key=(1, block))
        rng = np.random.Generator(np.random.SFC64(stream))
        picks.extend(np.searchsorted(cumulative, rng.random(1024), side="right"))
    want = [candidates[p]["values"] for p in picks[:n]]
    got = labels[names].astype(str).to_dict("records")
    assert got == want


def test_no_snippet_feeds_zeros_as_eps():
    """README and docs draw eps from N(0, 1); zeros would give the decoder mean only."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    for page in pages:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
            assert not re.search(r'feeds\["eps"\]\s*=\s*np\.zeros', block), page.name
