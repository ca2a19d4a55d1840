"""Partitioned generation: same bytes as one process, atomic partitions, killed workers, resume."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from tiny_generator import write_generator
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.distributed import MANIFEST_NAME, generate, is_dataset_path, open_dataset
from gexgen.distributed._layout import plan_partitions
from gexgen.distributed._partition import WriteTask, write_partition
from gexgen.distributed.generate_dataset import _generate
from gexgen.errors import GexgenError
from gexgen.runtime import GeneratorSession, write_profiles

runner = CliRunner()
N = 3_000
SEED = 7


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> Path:
    return write_generator(tmp_path_factory.mktemp("gen") / "g.onnx", noise_input=True).path


@pytest.fixture(scope="module")
def single(generator, tmp_path_factory) -> Path:
    """The single-process reference file."""
    out = tmp_path_factory.mktemp("single") / "single.parquet"
    with GeneratorSession(generator) as session:
        write_profiles(session, out, N, seed=SEED, chunk_size=1_000, progress=False)
    return out


def _arrays(table) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Float columns as raw uint32 bits (exact comparison), labels as strings."""
    floats = [c for c in table.column_names if str(table.schema.field(c).type) == "float"]
    bits = np.stack([table[c].to_numpy().view(np.uint32) for c in floats], axis=1)
    labels = {
        c: np.asarray(table[c].to_pandas().astype(str))
        for c in table.column_names
        if c not in floats
    }
    return bits, labels


def _dataset_table(folder: Path):
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    import pyarrow as pa

    parts = [pq.read_table(folder / e["file"]) for e in manifest["partitions"]]
    return pa.concat_tables([p.replace_schema_metadata(None) for p in parts])


def assert_same_rows(folder: Path, single: Path) -> None:
    got_bits, got_labels = _arrays(_dataset_table(folder))
    want_bits, want_labels = _arrays(pq.read_table(single))
    assert got_bits.shape == want_bits.shape
    assert np.array_equal(got_bits, want_bits)
    assert got_labels.keys() == want_labels.keys() and got_labels
    for name in want_labels:
        assert np.array_equal(got_labels[name], want_labels[name])


def test_plan_partitions_cover_rows_once():
    parts = plan_partitions(10, 4)
    assert [(p.start, p.stop) for p in parts] == [(0, 4), (4, 8), (8, 10)]
    assert [p.file for p in parts] == [f"part-{i:06d}.parquet" for i in range(3)]
    with pytest.raises(GexgenError, match="partition_rows"):
        plan_partitions(10, 0)


def test_session_start_row_gives_the_same_rows(generator):
    with GeneratorSession(generator) as session:
        plan = session.plan(3_000, "training", SEED)
        whole = session.sample(3_000, seed=SEED, as_frame=False)[0]
        chunks = list(session.iter_planned(2_600, plan, SEED, "expression", 256, start=1_000))
        with pytest.raises(GexgenError, match="start"):
            session.iter_planned(10, plan, SEED, "expression", 256, start=11)
    assert chunks[0].start == 1_000 and chunks[-1].start + len(chunks[-1].values) == 2_600
    assert np.array_equal(np.concatenate([c.values for c in chunks]), whole[1_000:2_600])


def test_is_dataset_path(tmp_path):
    assert is_dataset_path(tmp_path)  # an existing folder
    assert is_dataset_path(tmp_path / "new")
    assert is_dataset_path(str(tmp_path / "new") + "/")
    assert not is_dataset_path(tmp_path / "x.parquet")
    assert not is_dataset_path("-")


def test_partition_function_alone_equals_rows_of_one_file(generator, single, tmp_path):
    """The plain per-partition function, in this process, gives rows start:stop exactly."""
    with GeneratorSession(generator) as session:
        plan = session.plan(N, "training", SEED)
    task = WriteTask(
        generator=str(generator),
        generator_sha256=_sha(generator),
        out=str(tmp_path / "p.parquet"),
        start=1_500,
        stop=2_777,  # not on a 1,024-row noise block edge
        seed=SEED,
        space="expression",
        plan=plan,
        metadata={"space": "expression"},
        chunk_rows=300,
    )
    result = write_partition(task)
    assert result["rows"] == 1_277
    got, got_labels = _arrays(pq.read_table(task.out))
    want, want_labels = _arrays(pq.read_table(single).slice(1_500, 1_277))
    assert np.array_equal(got, want)
    for name in want_labels:
        assert np.array_equal(got_labels[name], want_labels[name])


def _sha(path: Path) -> str:
    from gexgen.runtime.write_profiles import file_sha256

    return file_sha256(path)


@pytest.mark.parametrize("partition_rows", [1_000, 1_111])
def test_local_cluster_equals_single_process(
    generator, single, tmp_path, dask_client, partition_rows
):
    out = tmp_path / "ds"
    manifest = generate(
        generator, out, N, seed=SEED, partition_rows=partition_rows, scheduler=dask_client
    )
    assert manifest["complete"] and manifest["n"] == N and manifest["seed"] == SEED
    assert [e["rows"] for e in manifest["partitions"]] == [
        p.rows for p in plan_partitions(N, partition_rows)
    ]
    assert manifest["generator"]["sha256"] == _sha(generator)
    assert all(e["complete"] and e["bytes"] > 0 for e in manifest["partitions"])
    assert_same_rows(out, single)
    table = open_dataset(out)
    assert table.n == N and table.read(slice(2_990, 3_000)).shape == (10, 12)


def test_local_process_pool_equals_single_process(generator, single, tmp_path):
    out = tmp_path / "pool"
    generate(generator, out, N, seed=SEED, partition_rows=1_024, workers=2)
    assert_same_rows(out, single)


def _die_once(marker: str, task: WriteTask) -> dict:
    """Kill this worker process after the first chunk of the first partition it writes."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return write_partition(task)

    def die(rows: int) -> None:
        os._exit(1)  # no cleanup: the temporary partition file stays half-written

    return write_partition(dataclasses.replace(task, chunk_rows=200), after_chunk=die)


def test_killed_worker_is_retried_without_duplicate_or_missing_rows(
    generator, single, tmp_path, dask_client
):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "died"
    out = tmp_path / "ds"
    manifest = _generate(
        generator, out, N, "training", SEED, "expression", "training",
        partition_rows=1_000, scheduler=dask_client, workers=None, resume=False,
        overwrite=False, parquet=_default_parquet(), progress=False,
        task_function=partial(_die_once, str(marker)),
    )  # fmt: skip
    assert marker.exists()  # a worker did die
    assert manifest["complete"]
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST_NAME,
        "part-000000.parquet",
        "part-000001.parquet",
        "part-000002.parquet",
    ]  # no temporary file left
    assert_same_rows(out, single)


def _default_parquet():
    from gexgen.runtime.profile_writers import ParquetOptions

    return ParquetOptions()


def _fail_on(index: int, task: WriteTask) -> dict:
    if task.start == index * 1_000:
        raise OSError("disk full (injected)")
    return write_partition(task)


def test_resume_skips_complete_partitions(generator, single, tmp_path):
    out = tmp_path / "ds"
    args = (generator, out, N, "training", SEED, "expression", "training")
    common = dict(partition_rows=1_000, workers=1, overwrite=False, progress=False)
    with pytest.raises(OSError, match="injected"):
        _generate(
            *args, scheduler=None, resume=False, parquet=_default_parquet(),
            task_function=partial(_fail_on, 1), **common,
        )  # fmt: skip
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert not manifest["complete"]
    assert not manifest["partitions"][1]["complete"]
    with pytest.raises(GexgenError, match="incomplete"):
        open_dataset(out)
    before = {
        e["file"]: (out / e["file"]).stat().st_mtime_ns
        for e in manifest["partitions"]
        if e["complete"]
    }
    assert "part-000000.parquet" in before  # one worker: partition 0 finished first
    with pytest.raises(GexgenError, match="already holds a dataset"):
        generate(generator, out, N, seed=SEED, partition_rows=1_000, workers=1)
    with pytest.raises(GexgenError, match="different generation"):
        generate(generator, out, N, seed=SEED + 1, partition_rows=1_000, resume=True)
    manifest = generate(generator, out, N, seed=SEED, workers=1, resume=True)
    assert manifest["complete"] and manifest["partition_rows"] == 1_000
    for name, mtime in before.items():
        assert (out / name).stat().st_mtime_ns == mtime  # skipped, not rewritten
    assert_same_rows(out, single)


def test_cli_refuses_existing_folder_without_overwrite(generator, tmp_path, dask_client):
    out = tmp_path / "ds"
    base = ["generate", str(generator), "--n", "500", "--seed", "1", "--out", f"{out}/"]
    address = ["--scheduler", dask_client.scheduler.address, "--partition-rows", "200"]
    result = runner.invoke(app, base + address)
    assert result.exit_code == 0, result.output
    assert "as 3 partitions" in result.output
    result = runner.invoke(app, base + address)
    assert result.exit_code == 1
    assert "already holds a dataset" in result.output and "--overwrite" in result.output
    result = runner.invoke(
        app, base + ["--scheduler", dask_client.scheduler.address, "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["partition_rows"] == 131_072 and len(manifest["partitions"]) == 1


def test_cli_rejects_dataset_options_for_a_file(generator, tmp_path):
    result = runner.invoke(
        app, ["generate", str(generator), "--n", "5", "--out", str(tmp_path / "x.npy"), "--resume"]
    )
    assert result.exit_code == 1 and "dataset folder" in result.output


def test_per_row_conditions_are_cut_per_partition(generator, tmp_path, dask_client):
    import pandas as pd

    with GeneratorSession(generator) as session:
        labels = session.labels
        conditions = pd.DataFrame(
            {
                "tissue": np.resize(labels["tissue"], 50),
                "status": np.resize(labels["status"], 50),
            }
        )
        want = session.sample(50, conditions=conditions, seed=3)
    out = tmp_path / "ds"
    generate(
        generator, out, 50, conditions=conditions, seed=3, partition_rows=17, scheduler=dask_client
    )
    got = open_dataset(out)
    assert np.array_equal(got.read(), want[session.genes].to_numpy())
    assert (got.labels["tissue"].astype(str).to_numpy() == want["tissue"].astype(str)).all()


def test_read_gives_a_dask_dataframe(generator, single, tmp_path, dask_client):
    pytest.importorskip("dask.dataframe")
    from gexgen.distributed import read

    out = tmp_path / "ds"
    generate(generator, out, N, seed=SEED, partition_rows=1_000, scheduler=dask_client)
    frame = read(out)
    assert frame.npartitions == 3
    got = frame.compute().reset_index(drop=True)
    want = pq.read_table(single).to_pandas()
    assert list(got.columns) == list(want.columns)
    assert np.array_equal(got[want.columns[:12]].to_numpy(), want[want.columns[:12]].to_numpy())
    assert (got["tissue"].astype(str) == want["tissue"].astype(str)).all()


def test_base_generate_does_not_import_dask(generator, tmp_path):
    code = f"""
import sys
from typer.testing import CliRunner
from gexgen.cli import app
r = CliRunner().invoke(app, ["generate", {str(generator)!r}, "--n", "10",
                             "--out", {str(tmp_path / "a.parquet")!r}])
assert r.exit_code == 0, r.output
import gexgen.distributed
r = CliRunner().invoke(app, ["generate", {str(generator)!r}, "--n", "10", "--workers", "1",
                             "--out", {str(tmp_path / "ds")!r} + "/"])
assert r.exit_code == 0, r.output
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
print(leaked)
sys.exit(1 if leaked else 0)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
