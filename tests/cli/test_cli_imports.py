"""Start-up: the CLI and the generation path do not import what a 1-profile run does not use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

HEAVY = ("pandas", "anndata", "h5py", "torch", "numba", "sklearn", "scipy", "onnx", "dask")


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_import_gexgen_cli_loads_no_heavy_module():
    loaded = _imported_after("import gexgen.cli")
    assert not [m for m in (*HEAVY, "numpy", "onnxruntime", "pyarrow") if m in loaded]


def test_one_profile_generate_loads_no_pandas_numba_or_torch(tmp_path):
    gen = write_generator(
        tmp_path / "g.onnx", seed=1, noise_input=True, metadata_overrides={"noise_stream": 2}
    ).path
    out = tmp_path / "x.npy"
    code = (
        "import sys\nfrom gexgen.cli import app\n"
        f"sys.argv = ['gexgen', 'generate', {str(gen)!r}, '--n', '1', '--out', {str(out)!r}, "
        "'--no-progress']\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code"
    )
    loaded = _imported_after(code)
    assert out.exists()
    assert "onnxruntime" in loaded  # the probe saw the run
    assert not [m for m in HEAVY if m in loaded]


def test_runtime_names_are_the_functions_whatever_was_imported_first():
    code = (
        "import gexgen.runtime.write_profiles, gexgen.runtime.profile_readers\n"
        "from gexgen.runtime import write_profiles, open_profiles\n"
        "assert callable(write_profiles) and callable(open_profiles)\n"
        "assert write_profiles.__module__ == 'gexgen.runtime.write_profiles'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_console_command_registers_only_the_command_it_runs(tmp_path):
    gen = write_generator(tmp_path / "g.onnx", seed=1).path
    out = tmp_path / "x.npy"
    code = (
        "import sys\nfrom gexgen.cli import main\n"
        f"sys.argv = ['gexgen', 'generate', {str(gen)!r}, '--n', '3', '--out', {str(out)!r}, "
        "'--no-progress']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code"
    )
    loaded = _imported_after(code)
    assert out.exists()
    assert "gexgen.cli.generate_commands" in loaded
    others = [m for m in loaded if m.startswith("gexgen.cli.") and m.endswith("_commands")]
    assert others == ["gexgen.cli.generate_commands"]


def test_one_command_app_parses_and_helps_as_the_full_app():
    import typer
    from typer.testing import CliRunner

    from gexgen.cli import app
    from gexgen.cli._app import COMMAND_NAMES, build_app

    runner = CliRunner()
    full = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert full == COMMAND_NAMES  # the dispatch table names every registered command
    for name in sorted(COMMAND_NAMES):
        one = runner.invoke(build_app(name), [name, "--help"])
        assert one.exit_code == 0, one.output
        assert one.output == runner.invoke(app, [name, "--help"]).output, name
    bad = runner.invoke(build_app("generate"), ["generate", "--nn", "2"])
    assert bad.exit_code == 2 and "No such option" in bad.output
