"""`gexgen train`, `gexgen tune` and `gexgen export` through typer's CliRunner.

Each bad input gives exit code 1, one "Error: ..." line on stderr, and leaves
the files as they were.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anndata
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.data.cohort import write_cohort
from gexgen.train import TrainConfig, load_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from cohort_factory import make_cohort  # noqa: E402  (tests/train/cohort_factory.py)

runner = CliRunner()
TINY = [
    "--encoder-hidden", "32,16", "--n-latent", "4", "--decoder-hidden", "16,32",
    "--batch-size", "16", "--lr", "0.01", "--device", "cpu", "--threads", "1", "--no-progress",
]  # fmt: skip


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("cli") / "cohort.h5ad")


def _files(folder: Path) -> dict[Path, bytes]:
    if not folder.exists():
        return {}
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_train_resume_and_export(cohort, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(cohort), "--out", str(run), "--epochs", "2", *TINY])
    assert result.exit_code == 0, result.output
    assert "trained 2 epochs" in result.stdout and "checkpoint" in result.stdout
    ckpt = load_checkpoint(run)
    config = TrainConfig.from_dict(ckpt["config"])
    assert config.encoder_hidden == (32, 16) and config.lr == 0.01 and config.batch_norm
    # no --recipe: gexgen's default recipe (no early stop, balanced selection, noise)
    assert config.epochs == 2 and config.patience is None and config.keep == "balanced"
    assert config.observation_noise == "calibrated" and config.refit
    assert "kept epoch 2 (balanced), retrained on all" in result.stdout
    # --keep last with the default recipe: nothing to refit, and the error says what to do
    result = runner.invoke(
        app, ["train", str(cohort), "--out", str(tmp_path / "x"), "--keep", "last", *TINY]
    )
    _assert_one_line_error(result, "--no-refit")
    assert not (tmp_path / "x").exists()

    # --resume keeps the saved config; only --epochs changes
    result = runner.invoke(
        app, ["train", str(cohort), "--out", str(run), "--resume", "--epochs", "3", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert load_checkpoint(run)["training"]["epochs"] == 3

    out = tmp_path / "generator.onnx"
    result = runner.invoke(app, ["export", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "max abs diff" in result.stdout and "dynamo" in result.stdout
    assert (tmp_path / "generator.onnx.json").is_file() and "generator.onnx.json" in result.stdout
    info = runner.invoke(app, ["info", str(out)])
    # the refit retrains as many epochs as the selection kept (which of 1-3 wins is the
    # validation score's call, so it is read back rather than assumed)
    kept = re.search(r"kept epoch (\d+) ", info.stdout)
    assert kept and 1 <= int(kept.group(1)) <= 3, info.output
    assert f"refit: {kept.group(1)} epochs retrained on" in info.stdout, info.output


def test_patience_zero_means_no_early_stopping(cohort, tmp_path):
    run = tmp_path / "run"
    args = ["train", str(cohort), "--out", str(run), "--epochs", "1", "--patience", "0", *TINY]
    assert runner.invoke(app, args).exit_code == 0
    assert load_checkpoint(run)["config"]["patience"] is None


def test_tune_prints_ranked_table_and_keeps_best(cohort, tmp_path):
    out = tmp_path / "tune"
    args = ["tune", str(cohort), "--out", str(out), "--epochs", "2", "--lr", "0.01", "--lr",
            "0.001", "--layers", "2", "--batch-size", "16", "--n-latent", "4", "--device", "cpu",
            "--threads", "1", "--no-progress"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(lines) == 2 and "lr=" in lines[0]
    losses = [float(line.split()[2]) for line in lines]
    assert losses == sorted(losses)
    assert (out / "best" / "checkpoint.pt").is_file() and (out / "tune.csv").is_file()
    assert not (out / "trials").exists()


def _variant(cohort: Path, path: Path, change) -> Path:
    adata = anndata.read_h5ad(cohort)
    change(adata)
    return write_cohort(adata, path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conditions", "tissue,grade"], "no label column(s) ['grade']"),
        (["--batch-size", "999"], "fewer than batch size 999"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--encoder-hidden", "10,x"], "comma-separated integers"),
        (["--keep", "middle"], "keep must be one of"),
        (["--resume", "--overwrite"], "exclude each other"),
    ],
)
def test_train_bad_options(cohort, tmp_path, args, message):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(cohort), "--out", str(run), *TINY, *args])
    _assert_one_line_error(result, message)
    assert not run.exists()


def test_train_single_class_label_and_missing_cohort(cohort, tmp_path):
    one = _variant(cohort, tmp_path / "one.h5ad", lambda a: a.obs.__setitem__("status", "tumor"))
    result = runner.invoke(app, ["train", str(one), "--out", str(tmp_path / "run"), *TINY])
    _assert_one_line_error(result, "'status' has a single value")
    result = runner.invoke(app, ["train", str(tmp_path / "no.h5ad"), "--out", str(tmp_path / "r")])
    _assert_one_line_error(result, "not found")
    assert not (tmp_path / "run").exists() and not (tmp_path / "r").exists()


def test_existing_run_and_bad_resume_leave_files_alone(cohort, tmp_path):
    run = tmp_path / "run"
    assert (
        runner.invoke(
            app, ["train", str(cohort), "--out", str(run), "--epochs", "1", *TINY]
        ).exit_code
        == 0
    )
    before = _files(run)
    result = runner.invoke(app, ["train", str(cohort), "--out", str(run), "--epochs", "1", *TINY])
    _assert_one_line_error(result, "already exists")
    result = runner.invoke(
        app, ["train", str(cohort), "--out", str(run), "--resume", "--lr", "0.5", "--no-progress"]
    )
    _assert_one_line_error(result, "config differs")
    other = _variant(cohort, tmp_path / "other.h5ad", lambda a: a.X.__imul__(3))
    result = runner.invoke(
        app, ["train", str(other), "--out", str(run), "--resume", "--no-progress"]
    )
    _assert_one_line_error(result, "sha256 mismatch")
    assert _files(run) == before

    (run / "training_state.pt").write_bytes(b"garbage")
    damaged = _files(run)
    result = runner.invoke(
        app, ["train", str(cohort), "--out", str(run), "--resume", "--no-progress"]
    )
    _assert_one_line_error(result, "corrupt")
    assert _files(run) == damaged

    result = runner.invoke(app, ["train", str(cohort), "--out", str(tmp_path / "x"), "--resume"])
    _assert_one_line_error(result, "cannot resume")


def test_export_bad_inputs(cohort, tmp_path):
    result = runner.invoke(
        app, ["export", str(tmp_path / "none"), "--out", str(tmp_path / "g.onnx")]
    )
    _assert_one_line_error(result, "not found")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.pt").write_text("nope")
    result = runner.invoke(
        app, ["export", str(tmp_path / "bad"), "--out", str(tmp_path / "g.onnx")]
    )
    _assert_one_line_error(result, "corrupt")
    result = runner.invoke(app, ["export", str(tmp_path / "bad"), "--out", str(tmp_path / "g.txt")])
    _assert_one_line_error(result, "must end in .onnx")
    assert not (tmp_path / "g.onnx").exists() and not (tmp_path / "g.txt").exists()


def test_every_config_field_is_a_train_option_and_reaches_the_checkpoint(cohort, tmp_path):
    import dataclasses
    import inspect

    from gexgen.cli.train_commands import train

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert fields <= set(inspect.signature(train).parameters)
    expected = TrainConfig(
        epochs=0, batch_size=16, lr=0.02, lr_schedule="cosine", encoder_hidden=(32, 16),
        n_latent=3, decoder_hidden=(16, 32), batch_norm=False, conditions=("tissue",), seed=5,
        device="cpu", val_fraction=0.2, patience=7, keep="balanced", kl_weight=0.5,
        conditional_prior=True, checkpoint_every=3, threads=1,
        dropout=0.1, input_noise=0.2, mixup=0.5, balance=0.5, observation_noise="calibrated",
        latent_temperature=1.2, latent_temperature_below=30, refit=True, select_every=2,
        marginals="quantile", dp_epsilon=5.0, dp_delta=1e-4,
        dp_max_grad_norm=2.0,
    )  # fmt: skip
    # learned_variance excludes DP (checked below on its own run); dp_secure_rng needs
    # torchcsprng (tests/train/test_dp_noise.py)
    own_runs = {"learned_variance", "dp_secure_rng"}
    assert all(getattr(expected, f) != getattr(TrainConfig(), f) for f in fields - own_runs)
    run = tmp_path / "run"
    args = ["train", str(cohort), "--out", str(run), "--epochs", "0", "--batch-size", "16",
            "--lr", "0.02", "--lr-schedule", "cosine", "--encoder-hidden", "32,16",
            "--n-latent", "3", "--decoder-hidden", "16, 32", "--no-batch-norm",
            "--conditions", "tissue", "--seed", "5", "--device", "cpu", "--val-fraction", "0.2",
            "--patience", "7", "--keep", "balanced", "--kl-weight", "0.5", "--refit",
            "--conditional-prior", "--checkpoint-every", "3", "--threads", "1",
            "--dropout", "0.1", "--input-noise", "0.2", "--mixup", "0.5", "--balance", "0.5",
            "--observation-noise", "calibrated", "--latent-temperature", "1.2",
            "--latent-temperature-below", "30", "--marginals", "quantile",
            "--select-every", "2", "--dp-epsilon", "5",
            "--dp-delta", "1e-4", "--dp-max-grad-norm", "2", "--recipe", "paper",
            "--no-progress"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    # DP trains (and records) standardized log2: the quantile map is not noised
    recorded = TrainConfig.from_dict(load_checkpoint(run)["config"])
    assert recorded == expected.replace(marginals="gaussian")
    lv = tmp_path / "lv"
    args = ["train", str(cohort), "--out", str(lv), "--epochs", "0", "--learned-variance",
            "--marginals", "quantile", "--recipe", "paper", "--device", "cpu",
            "--no-progress"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    recorded = TrainConfig.from_dict(load_checkpoint(lv)["config"])
    assert recorded.learned_variance and recorded.marginals == "quantile"


WGAN = ["--model", "wgan-gp", "--batch-size", "16", "--n-latent", "4", "--device", "cpu",
        "--threads", "1", "--no-progress"]  # fmt: skip


def test_train_wgan_gp_exports_and_generates(cohort, tmp_path):
    run = tmp_path / "wgan"
    args = ["train", str(cohort), "--out", str(run), *WGAN, "--epochs", "2", "--eval-every", "1",
            "--n-critic", "2", "--gp-weight", "5", "--patience", "0", "--seed", "3"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "trained 2 epochs; best epoch" in result.stdout and "validation gamma" in result.stdout
    ckpt = load_checkpoint(run)
    assert ckpt["model_type"] == "wgan-gp" and ckpt["training"]["epochs"] == 2
    config = ckpt["config"]
    assert (config["n_critic"], config["gp_weight"], config["eval_every"]) == (2, 5.0, 1)
    assert config["patience"] is None and config["seed"] == 3 and config["n_latent"] == 4
    onnx = tmp_path / "wgan.onnx"
    assert runner.invoke(app, ["export", str(run), "--out", str(onnx)]).exit_code == 0
    out = tmp_path / "w.npy"
    result = runner.invoke(
        app, ["generate", str(onnx), "--n", "50", "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*WGAN, "--encoder-hidden", "8,4", "--keep", "last"],
         "--encoder-hidden, --keep apply to --model cvae only, not wgan-gp"),
        ([*TINY, "--n-critic", "3"], "--n-critic apply to --model wgan-gp only, not cvae"),
        ([*WGAN, "--resume"], "--resume works for --model cvae only"),
        ([*WGAN, "--n-critic", "0"], "n_critic must be a positive integer"),
        ([*TINY, "--model", "gan"], "--model must be one of ['cvae', 'wgan-gp', 'dp-gaussian']"),
    ],
)  # fmt: skip
def test_train_model_options_are_checked(cohort, tmp_path, args, message):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(cohort), "--out", str(run), *args])
    _assert_one_line_error(result, message)
    assert not run.exists()


def test_recipe_fast_is_the_base_and_options_override_it(cohort, tmp_path):
    run = tmp_path / "fast"
    args = ["train", str(cohort), "--out", str(run), "--recipe", "fast", "--epochs", "1",
            "--batch-size", "16", "--n-latent", "4", "--encoder-hidden", "32,16",
            "--decoder-hidden", "16,32", "--device", "cpu", "--threads", "1",
            "--no-progress"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    got = TrainConfig.from_dict(load_checkpoint(run)["config"])
    assert got == TrainConfig.recipe(
        "fast", epochs=1, batch_size=16, n_latent=4, encoder_hidden=(32, 16),
        decoder_hidden=(16, 32), device="cpu", threads=1,
    )  # fmt: skip
    assert got.conditional_prior and got.lr_schedule == "cosine" and got.keep == "last"
    for extra, message in (
        (["--recipe", "slow"], "--recipe must be one of ['paper', 'fast', 'default']"),
        (["--resume", "--recipe", "fast"], "--recipe starts a new run"),
        (["--model", "wgan-gp", "--recipe", "fast"], "--recipe applies to --model cvae only"),
    ):
        bad = runner.invoke(app, ["train", str(cohort), "--out", str(tmp_path / "x"), *extra])
        _assert_one_line_error(bad, message)
    assert not (tmp_path / "x").exists()
