"""Evaluating a partitioned dataset by map-reduce equals the single-process evaluation."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from tiny_generator import write_generator
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.distributed import evaluate as evaluate_dataset
from gexgen.distributed import generate, open_dataset
from gexgen.distributed._executor import open_executor
from gexgen.distributed.evaluate_dataset import scan_dataset
from gexgen.metrics import CorrelationAccumulator, EvaluateConfig, GroupMoments, compute_metrics
from gexgen.metrics._sources import ProfileSet
from gexgen.runtime import GeneratorSession, write_profiles

N = 40_000
# a multiple of the correlation's 16,384-row float32 Gram block (as the default partition
# size is): every block then holds the same rows as in one pass, and only the order of the
# float64 additions differs
PARTITION_ROWS = 16_384
CONFIG = EvaluateConfig(seed=3, max_samples=700, metrics=("gamma", "prdc", "moments"), k=3)


@pytest.fixture(scope="module")
def files(tmp_path_factory, dask_client) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    gen = write_generator(root / "g.onnx", noise_input=True).path
    with GeneratorSession(gen) as session:
        write_profiles(session, root / "real.parquet", 800, seed=99, progress=False)
        write_profiles(session, root / "synthetic.parquet", N, seed=5, progress=False)
    generate(gen, root / "ds", N, seed=5, partition_rows=PARTITION_ROWS, scheduler=dask_client)
    return {"generator": gen, "real": root / "real.parquet", "single": root / "synthetic.parquet",
            "dataset": root / "ds"}  # fmt: skip


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_accumulators_merge_to_the_one_pass_result(precision):
    x = np.random.default_rng(0).normal(3.0, 1.0, (500, 6)).astype(np.float32)
    keys = np.array(["a", "b"])[np.arange(500) % 2]
    shift = x[:100].mean(axis=0, dtype=np.float64)

    def acc():
        return CorrelationAccumulator(6, shift=shift, precision=precision)

    whole = acc().update(x).result()
    merged = acc()
    moments = GroupMoments(6, shift=shift)
    for lo in range(0, 500, 170):
        merged.merge(acc().update(x[lo : lo + 170]))
        moments.merge(GroupMoments(6, shift=shift).update(x[lo : lo + 170], keys[lo : lo + 170]))
    got = merged.result()
    assert got.n_samples == 500
    np.testing.assert_allclose(got.correlation, np.corrcoef(x.T), atol=1e-6)
    # float32 Gram blocks of other sizes round differently (~1e-8); float64 only by order
    tolerance = 1e-7 if precision == "float32" else 1e-12
    np.testing.assert_allclose(got.correlation, whole.correlation, atol=tolerance)
    np.testing.assert_allclose(moments.mean("b"), x[1::2].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(moments.std("a"), x[::2].std(axis=0), rtol=1e-5)
    with pytest.raises(Exception, match="different shifts"):
        merged.merge(CorrelationAccumulator(6, shift=shift + 1, precision=precision).update(x[:9]))


def _compare(single, distributed) -> None:
    s, d = single.synthetic, distributed.synthetic
    assert d.n == s.n == N
    assert np.array_equal(d.sample, s.sample)  # the same seeded subsample rows
    assert d.sample_labels.astype(str).equals(s.sample_labels.astype(str))
    np.testing.assert_allclose(d.correlation.correlation, s.correlation.correlation, atol=1e-12)
    gamma_s = single.metrics["gamma"]["gamma"]
    gamma_d = distributed.metrics["gamma"]["gamma"]
    assert abs(gamma_s - gamma_d) <= 1e-9
    assert distributed.metrics["prdc"] == single.metrics["prdc"]
    ms, md = single.metrics["gene_moments"], distributed.metrics["gene_moments"]
    assert ms["groups"].keys() == md["groups"].keys() and len(ms["groups"]) > 3
    assert abs(ms["overall"]["std_r"] - md["overall"]["std_r"]) <= 1e-9
    assert abs(ms["median_mean_r"] - md["median_mean_r"]) <= 1e-9


def test_map_reduce_scan_equals_single_process(files, dask_client):
    table = open_dataset(files["dataset"])
    synth = ProfileSet("synthetic", table.genes, table.labels, table.space, table=table)
    single = compute_metrics(files["real"], synthetic=files["single"], config=CONFIG)
    with open_executor(dask_client) as executor:
        distributed = compute_metrics(
            files["real"],
            synthetic=synth,
            config=CONFIG,
            scan_synthetic=partial(scan_dataset, executor=executor),
        )
    _compare(single, distributed)


def test_evaluate_cli_on_a_dataset_folder(files, tmp_path, dask_client):
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--real", str(files["real"]), "--synthetic", f"{files['dataset']}/",
         "--out", str(out), "--no-report", "--no-progress", "--seed", "3",
         "--scheduler", dask_client.scheduler.address],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    single = compute_metrics(
        files["real"], synthetic=files["single"], config=EvaluateConfig(seed=3)
    ).metrics
    assert metrics["n_synthetic"] == N
    assert abs(metrics["gamma"]["gamma"] - single["gamma"]["gamma"]) <= 1e-9
    assert metrics["detection"]["auc"] == pytest.approx(single["detection"]["auc"], abs=1e-12)


def test_evaluate_api_refuses_a_plain_file(files, tmp_path):
    with pytest.raises(Exception, match="not a dataset folder"):
        evaluate_dataset(files["real"], files["single"], tmp_path)
