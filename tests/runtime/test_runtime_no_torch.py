"""Generating and reading profiles never imports torch (nor onnx)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tiny_generator import write_generator


def test_runtime_does_not_import_torch_or_onnx(tmp_path):
    gen = write_generator(tmp_path / "g.onnx", noise_input=True)
    code = f"""
import sys
import gexgen.runtime
from gexgen.runtime import GeneratorSession, open_profiles, write_profiles
session = GeneratorSession({str(gen.path)!r})
session.sample(10, conditions={{"tissue": "kidney"}})
for suffix in (".parquet", ".h5ad", ".npy", ".csv"):
    out = write_profiles(session, {str(tmp_path)!r} + "/out" + suffix, 20, progress=False)
    open_profiles(out).read()
leaked = sorted(m for m in ("torch", "onnx", "onnxscript") if m in sys.modules)
print(leaked)
sys.exit(1 if leaked else 0)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
