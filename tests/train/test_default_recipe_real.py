"""The goal table of the default recipe on the real shared RNAseqDB L1000 cohort (issue 12).

``gexgen train COHORT --out RUN`` without options (TrainConfig.recipe(DEFAULT_RECIPE),
one CPU thread here; the kept epoch count retrained on every training row), exported
to ONNX and sampled through the torch-free runtime, must at once be

- faithful: gamma >= real-vs-real ceiling - 0.008 on 10 synthetic profiles per
  test profile (3,220), logistic detection AUC <= 0.60 (gexgen.metrics);
- private: membership-inference AUC <= 0.60;
- dispersed: median per-gene synthetic/real standard deviation in [0.95, 1.05];
- harder for a gradient-boosted probe to tell from real than the per-combination
  multivariate normal (the 2025 Health Privacy Challenge baseline) and the
  class-conditional diagonal Gaussian, fitted on the same training rows and
  drawn with the same label mix (issue 31), and at most NONLINEAR_BOUND.

The membership-inference AUC is gexgen.metrics.privacy_metrics's, checked
against a brute-force numpy reference written here (the definition of issue 11):
every real record is scored by minus its Euclidean distance to the nearest of
5,000 synthetic profiles (training label mix) in log2 space standardized with
train statistics; the AUC of train members against held-out test records,
equal counts drawn with seeds 0-4, averaged.
"""

from __future__ import annotations

import re
from pathlib import Path

import anndata
import numpy as np
import pytest

from gexgen.baselines.mvn import MultivariateNormalBaseline
from gexgen.data.cohort import cohort_split
from gexgen.data.preprocess import log2p1
from gexgen.export import export_generator
from gexgen.metrics import gamma_score, privacy_metrics
from gexgen.metrics.check import check_generator
from gexgen.metrics.detection import detection_auc
from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian
from gexgen.runtime import GeneratorSession
from gexgen.train import TrainConfig, load_checkpoint, train_cvae
from gexgen.train.config import DEFAULT_RECIPE

# the thresholds the README recommends for `gexgen check` (its CI-gate example)
README_GATE = dict(
    min_gamma=0.95, max_mia_auc=0.6, max_detection_auc_nonlinear=0.8, min_tstr_ratio=0.96
)
NONLINEAR_BOUND = 0.78  # the default measured 0.67-0.73 here (docs/generator-research.md)
PER_TEST_PROFILE = 10  # synthetic profiles per real test profile for gamma and detection
N_PRIVACY = 5_000  # synthetic profiles the membership-inference attack searches


def nearest_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each row of ``a`` to its nearest row of ``b`` (brute force)."""
    b_sq = (b * b).sum(1)
    out = []
    for start in range(0, len(a), 256):
        x = a[start : start + 256]
        d2 = (x * x).sum(1)[:, None] - 2 * x @ b.T + b_sq[None]
        out.append(np.sqrt(np.maximum(d2.min(1), 0)))
    return np.concatenate(out)


def mia_auc(train: np.ndarray, test: np.ndarray, synthetic: np.ndarray, draws: int = 5) -> float:
    """Distance-based membership-inference AUC (see the module docstring)."""
    from sklearn.metrics import roc_auc_score

    mean, sd = train.mean(0), train.std(0) + 1e-8
    d_train = nearest_distance((train - mean) / sd, (synthetic - mean) / sd)
    d_test = nearest_distance((test - mean) / sd, (synthetic - mean) / sd)
    n = min(len(d_train), len(d_test))
    aucs = []
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        members = rng.choice(d_train, n, replace=False)
        others = rng.choice(d_test, n, replace=False)
        y = np.r_[np.ones(n), np.zeros(n)]
        aucs.append(roc_auc_score(y, -np.r_[members, others]))
    return float(np.mean(aucs))


def test_readme_gate_is_the_one_tested_here():
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (line,) = [x for x in text.splitlines() if x.startswith("gexgen check generator.onnx")]
    options = dict(re.findall(r"--([a-z0-9-]+) ([0-9.]+)", line))
    assert {k.replace("-", "_"): float(v) for k, v in options.items()} == README_GATE


def test_mia_reference_on_controls():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(200, 20)), rng.normal(size=(200, 20))
    assert mia_auc(train, test, train.copy()) > 0.99  # copies of the training rows
    assert abs(mia_auc(train, test, rng.normal(size=(1000, 20))) - 0.5) < 0.06  # no leakage


def _trained(cohort, folder, **overrides):
    """Train the default recipe (one thread) into ``folder``/run and export generator.onnx."""
    config = TrainConfig.recipe(DEFAULT_RECIPE, device="cpu", threads=1, **overrides)
    train_cvae(cohort, folder / "run", config, progress=False)
    export_generator(folder / "run", folder / "generator.onnx")
    return config, folder


@pytest.fixture(scope="module")
def default_run(real_cohort_path, tmp_path_factory):
    """The default recipe trained once for this module's tests."""
    return _trained(real_cohort_path, tmp_path_factory.mktemp("default"))


@pytest.mark.slow
def test_default_recipe_meets_the_goal_table(real_cohort_path, default_run):
    config, folder = default_run
    ckpt = load_checkpoint(folder / "run")
    assert ckpt["training"]["selection"]["keep"] == config.keep
    refit = ckpt["training"]["selection"]["refit"]  # the shipped weights saw every train row
    n_train = ckpt["training"]["n_train"] + ckpt["training"]["n_val"]
    assert refit["rows"] == n_train and refit["epochs"] == ckpt["training"]["kept_epoch"]
    session = GeneratorSession(folder / "generator.onnx")

    adata = anndata.read_h5ad(real_cohort_path)
    train_idx, test_idx = cohort_split(adata)
    x = np.asarray(adata.X, dtype=np.float64)
    real_train, real_test = log2p1(x[train_idx]), log2p1(x[test_idx])
    names = [label["name"] for label in ckpt["labels"]]
    rows = np.repeat(test_idx, PER_TEST_PROFILE)
    conditions = adata.obs[names].astype(str).iloc[rows].reset_index(drop=True)
    synthetic, _ = session.sample(
        len(rows), conditions=conditions, seed=0, space="log2", as_frame=False
    )
    synthetic = np.asarray(synthetic, dtype=np.float64)
    private, _ = session.sample(N_PRIVACY, seed=1, space="log2", as_frame=False)

    gamma = gamma_score(real_test, synthetic).gamma
    ceiling = gamma_score(real_train, real_test).gamma
    detection = detection_auc(real_test, synthetic, seed=0).auc
    private = np.asarray(private, dtype=np.float64)
    mia = privacy_metrics(real_train, real_test, private, seed=0, reference=False).mia_auc
    assert abs(mia - mia_auc(real_train, real_test, private)) < 0.03  # the brute-force reference
    std_ratio = float(np.median(synthetic.std(0) / real_test.std(0)))
    # two probe seeds (subsample and folds) for the default and the mvn, whose means
    # differ by about 0.05 with a seed-to-seed sd of about 0.02 each
    train_labels = adata.obs[names].astype(str).iloc[train_idx].reset_index(drop=True)
    mvn = MultivariateNormalBaseline.fit(real_train, train_labels, names).sample(conditions, seed=0)
    diag = ClassConditionalGaussian.fit(real_train, train_labels, names).sample(conditions, seed=0)
    probe = {
        name: float(
            np.mean(
                [
                    detection_auc(real_test, drawn, classifier="gradient_boosting", seed=s).auc
                    for s in range(seeds)
                ]
            )
        )
        for name, drawn, seeds in (("default", synthetic, 2), ("mvn", mvn, 2), ("diag", diag, 1))
    }
    print(f"\ngradient-boosted detection AUC: {probe}")
    print(
        f"\ngamma {gamma:.4f} (ceiling {ceiling:.4f}, {len(rows)} synthetic vs "
        f"{len(test_idx)} test), detection AUC {detection:.3f}, mia_auc {mia:.3f}, "
        f"std ratio median {std_ratio:.3f}, kept epoch {ckpt['training']['kept_epoch']}"
    )
    assert gamma >= ceiling - 0.008
    assert detection <= 0.60
    assert mia <= 0.60
    assert 0.95 <= std_ratio <= 1.05
    assert probe["default"] <= NONLINEAR_BOUND
    assert probe["default"] < min(probe["mvn"], probe["diag"])


@pytest.mark.slow
def test_the_readme_gate_fails_a_5_epoch_generator_and_passes_the_trained_one(
    real_cohort_path, default_run, tmp_path
):
    """``gexgen check`` at README_GATE (issue 31): training must show in the verdict.

    A 5-epoch default-recipe generator already has gamma, detection and privacy
    figures close to the trained one's (the calibrated centres and noise carry
    them); what it lacks is what the network learns, the within-tissue structure
    a classifier trained on its profiles needs (docs/generator-research.md, "The CI gate").
    """
    _, trained = default_run
    _, barely = _trained(real_cohort_path, tmp_path, epochs=5)
    results = {
        name: check_generator(folder / "generator.onnx", real_cohort_path, **README_GATE)
        for name, folder in (("trained", trained), ("5 epochs", barely))
    }
    for name, result in results.items():
        print(f"\n{name}: " + "; ".join(c.line() for c in result.checks))
    assert results["trained"].passed
    assert not results["5 epochs"].passed
    failed = {c.name for c in results["5 epochs"].checks if not c.passed}
    assert "tstr_ratio" in failed
