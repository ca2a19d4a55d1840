"""``python -m gexgen.metrics.warmup`` (run by ``make setup``) compiles every numba kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# in a fresh process with an empty numba cache: warm up, then list each numba kernel of
# gexgen's metrics and runtime with the type signatures it compiled (a kernel called only
# from another is compiled through its own dispatcher too, so every one must hold one)
_PROBE = """
import importlib, json, pkgutil
from numba.core.registry import CPUDispatcher
import time
from gexgen.metrics.warmup import main
import gexgen.metrics, gexgen.metrics.attacks, gexgen.runtime
start = time.perf_counter()
main()  # what `python -m gexgen.metrics.warmup` (make setup) runs
seconds = time.perf_counter() - start
kernels = {}
for package in (gexgen.metrics, gexgen.metrics.attacks, gexgen.runtime):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name.endswith(".warmup"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == info.name:
                kernels[info.name + "." + name] = len(obj.signatures)
print(json.dumps({"seconds": seconds, "kernels": kernels}))
"""


def test_the_warmup_compiles_every_kernel_of_an_evaluation_and_of_the_noise(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=600,
        check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    kernels = result["kernels"]
    assert len(kernels) >= 10, kernels  # gamma, PRDC, moments, marginals, nearest, noise...
    assert "gexgen.runtime._philox_kernel._normals" in kernels
    missed = sorted(name for name, n in kernels.items() if n == 0)
    assert not missed, f"kernels the warm-up never compiles: {missed}"
    assert result["seconds"] > 0
    assert any((tmp_path / "numba").rglob("*.nbi"))  # and cached them
    assert "gexgen: numba kernels compiled and cached" in done.stderr  # and said so
