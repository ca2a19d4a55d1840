"""CLI conventions: --out - streams, completion, clean help, one-line warnings,
parquet compression, and one-way imports between the app and the command modules."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer.main
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.runtime import GeneratorSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from tiny_generator import write_generator  # noqa: E402

runner = CliRunner()
CLI_DIR = Path(__file__).resolve().parents[2] / "src" / "gexgen" / "cli"
KIDNEY_TUMOR = ["--condition", "tissue=kidney", "--condition", "status=tumor"]


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    return write_generator(tmp_path_factory.mktemp("g") / "generator.onnx", seed=3).path


@pytest.fixture(scope="module")
def expected(generator) -> pd.DataFrame:
    with GeneratorSession(generator, providers="cpu") as gen:
        return gen.sample(300, conditions={"tissue": "kidney", "status": "tumor"}, seed=2)


def _help_paths() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [()]

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            found.append((*path, name))
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def test_no_stray_bool_metavar_in_any_help():
    for path in _help_paths():
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, f"gexgen {' '.join(path)} --help"
        assert "BOOLEAN" not in result.output, f"gexgen {' '.join(path)} --help"
    generate_help = runner.invoke(app, ["generate", "--help"]).output
    assert "<int>" in generate_help  # options with values keep their type


def test_shell_completion_is_enabled():
    root = runner.invoke(app, ["--help"]).output
    assert "--install-completion" in root and "--show-completion" in root
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0
    assert "complete" in result.output and "gexgen" in result.output.lower()


def test_command_modules_never_import_the_app():
    """_app imports the command modules; none imports _app (or gexgen.cli) back."""
    modules = sorted(CLI_DIR.glob("*_commands.py"))
    assert len(modules) >= 7
    for module in modules:
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert "gexgen.cli._app" not in name, f"{module.name} imports {name}"
                assert name != "gexgen.cli", f"{module.name} imports gexgen.cli (the app)"
    app_source = (CLI_DIR / "_app.py").read_text()
    for module in modules:
        assert module.stem in app_source, f"_app.py does not register {module.stem}"


def test_unseen_combination_warning_is_one_line_on_stderr(generator, tmp_path):
    result = runner.invoke(
        app,
        ["generate", str(generator), "--n", "10", "--condition", "tissue=bladder",
         "--condition", "status=tumor", "--no-progress", "--out", str(tmp_path / "s.csv")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "Warning: label combination {'tissue': 'bladder', 'status': 'tumor'} was not seen "
        "in training; the generator extrapolates"
    ]
    assert "UserWarning" not in result.output and ".py:" not in result.output


def _to_stdout(generator, fmt: str) -> bytes:
    result = runner.invoke(
        app,
        ["generate", str(generator), "--n", "300", *KIDNEY_TUMOR, "--seed", "2",
         "--no-progress", "--out", "-", "--format", fmt],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "wrote 300 profiles" in result.stderr  # the summary leaves stdout to the data
    return result.stdout_bytes


def test_out_dash_streams_csv_npy_parquet(generator, expected):
    genes = [c for c in expected.columns if c not in ("tissue", "status")]
    csv = pd.read_csv(io.BytesIO(_to_stdout(generator, "csv")))
    assert list(csv.columns) == list(expected.columns)
    np.testing.assert_array_equal(csv[genes].to_numpy(np.float32), expected[genes].to_numpy())
    assert set(csv["tissue"]) == {"kidney"}
    npy = np.load(io.BytesIO(_to_stdout(generator, "npy")))
    np.testing.assert_array_equal(npy, expected[genes].to_numpy())
    table = pq.read_table(io.BytesIO(_to_stdout(generator, "parquet"))).to_pandas()
    np.testing.assert_array_equal(table[genes].to_numpy(), expected[genes].to_numpy())
    assert table["status"].astype(str).tolist() == ["tumor"] * 300


def test_out_dash_parquet_through_a_real_pipe(generator, expected):
    """A pipe cannot seek or tell: the parquet writer must not need it."""
    code = "from gexgen.cli import app; app()"
    done = subprocess.run(
        [sys.executable, "-c", code, "generate", str(generator), "--n", "300", *KIDNEY_TUMOR,
         "--seed", "2", "--no-progress", "--out", "-", "--format", "parquet"],
        capture_output=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    table = pq.read_table(io.BytesIO(done.stdout)).to_pandas()
    genes = [c for c in expected.columns if c not in ("tissue", "status")]
    np.testing.assert_array_equal(table[genes].to_numpy(), expected[genes].to_numpy())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "-"], "needs --format"),
        (["--out", "-", "--format", "h5ad"], "needs --format parquet, csv or npy"),
        (["--out", "x.csv", "--format", "csv"], "--format applies to --out -"),
        (["--out", "x.csv", "--compression", "zstd"], "parquet output only"),
        (["--out", "x.parquet", "--compression", "gzip"], "must be one of"),
    ],
)
def test_stream_and_compression_errors_are_one_line(generator, tmp_path, args, message):
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    result = runner.invoke(app, ["generate", str(generator), "--n", "5", "--no-progress", *args])
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("codec", "stored"), [("zstd", "ZSTD"), ("lz4", "LZ4"), ("none", None)])
def test_parquet_compression_option(generator, expected, tmp_path, codec, stored):
    out = tmp_path / f"s-{codec}.parquet"
    result = runner.invoke(
        app,
        ["generate", str(generator), "--n", "300", *KIDNEY_TUMOR, "--seed", "2",
         "--no-progress", "--out", str(out), "--compression", codec],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    column = pq.ParquetFile(out).metadata.row_group(0).column(0)
    assert column.compression == (stored or "UNCOMPRESSED")
    assert ("BYTE_STREAM_SPLIT" in column.encodings) == (stored is not None)
    genes = [c for c in expected.columns if c not in ("tissue", "status")]
    frame = pd.read_parquet(out)
    np.testing.assert_array_equal(frame[genes].to_numpy(), expected[genes].to_numpy())


def test_data_import_records_units(tmp_path):
    import anndata

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(0, 50, (40, 5)), columns=[f"G{j}" for j in range(5)])
    frame.insert(0, "tissue", ["kidney", "liver"] * 20)
    frame.index = [f"s{i}" for i in range(40)]
    frame.to_csv(tmp_path / "expr.csv")
    out = tmp_path / "cohort.h5ad"
    result = runner.invoke(
        app,
        ["data", "import", str(tmp_path / "expr.csv"), "--label", "tissue", "--units", "TPM",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert anndata.read_h5ad(out).uns["gexgen"]["units"] == "TPM"
