"""Train-on-synthetic tissue accuracy of a trained run, and what moves it.

Re-calibrates the run's kept weights a few ways (no retraining; with a conditional
prior also at latent temperatures 1, 1.25, 1.5 and 2), exports each
to a scratch folder and scores, for generation seeds 0 and 1, a classifier
trained on 3,220 synthetic profiles (the test split's label mix) on the real
test split, as ``gexgen.metrics.tstr`` does; beside it the same classifier
trained on the real training rows, on the decoder means, on five times as many
profiles, and on a diagonal Gaussian per label combination fitted on the
training rows. It lists the test profiles each variant gets wrong.

Run: ``python benchmarks/tstr_probe.py COHORT.h5ad RUN_DIR``
(``RUN_DIR`` from ``gexgen train``; a few minutes on 2 cores for 3,000 genes).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gexgen.data.cohort import cohort_split, read_cohort
from gexgen.export import export_generator
from gexgen.runtime import GeneratorSession
from gexgen.train.calibrate import N_FACTORS, calibrate_noise, combination_index
from gexgen.train.checkpoint import build_model, load_checkpoint, save_dict
from gexgen.train.config import TrainConfig
from gexgen.train.cvae import combination_temperatures, temper_prior
from gexgen.train.data import prepare_training_data

N_SYNTHETIC = 3220


def recalibrated(run: Path, data, work: Path, name: str, **options) -> Path:
    """The run's kept weights with the noise model re-fitted by ``calibrate_noise(**options)``."""
    checkpoint = load_checkpoint(run)
    n_factors = int(options.get("n_factors", N_FACTORS))
    model_config = {**checkpoint["model_config"], "noise_factors": n_factors}
    model = build_model(model_config)
    dropped = ("decoder.noise_factors", "decoder.noise_gains")
    state = {k: v for k, v in checkpoint["model_state"].items() if k not in dropped}
    model.load_state_dict(state, strict=False)
    config = TrainConfig.from_dict(checkpoint["config"])
    temperature = options.pop("temperature", None)
    seed = config.seed
    # as training does: every training row (fitted + validation), the prior as saved
    x = np.concatenate([data.x_fit, data.x_val])
    codes = np.concatenate([data.codes_fit, data.codes_val])
    if temperature is not None:  # the saved prior is already at the run's temperature(s)
        shipped = combination_temperatures(
            data.combination_counts().tolist(),
            config.latent_temperature,
            config.latent_temperature_below,
        )
        temper_prior(model.decoder.prior, temperature / np.asarray(shipped))
        state.update(model.decoder.prior.state_dict(prefix="decoder.prior."))
    noise = calibrate_noise(model.decoder, x, codes, data.label_sizes, seed=seed, **options)
    state.update(noise.decoder_state())
    folder = work / name
    folder.mkdir()
    save_dict({**checkpoint, "model_config": model_config, "model_state": state}, folder / "c.pt")
    return export_generator(folder / "c.pt", work / f"{name}.onnx", overwrite=True).path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cohort", type=Path)
    parser.add_argument("run", type=Path)
    parser.add_argument("--label", default="tissue")
    args = parser.parse_args()
    checkpoint = load_checkpoint(args.run)
    config = TrainConfig.from_dict(checkpoint["config"])
    if config.dp_epsilon is not None:
        raise SystemExit(
            f"{args.run} is a --dp-epsilon run: its calibration keeps one global centre, "
            "and this probe re-calibrates per label combination; use a run without DP"
        )
    data = prepare_training_data(args.cohort, config)
    adata = read_cohort(args.cohort)
    _, test_rows = cohort_split(adata)
    names = [label["name"] for label in data.labels]
    x = np.asarray(adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X)
    test_x = data.scaler.transform(x[test_rows])
    test_y = adata.obs[args.label].astype(str).to_numpy()[test_rows]

    def score(train_x: np.ndarray, train_y: np.ndarray) -> str:
        # the pipeline of gexgen.metrics.tstr.label_classification_scores, keeping predictions
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        predicted = model.fit(train_x, np.asarray(train_y).astype(str)).predict(test_x)
        wrong = Counter(f"{a}->{b}" for a, b in zip(test_y, predicted, strict=True) if a != b)
        return f"{balanced_accuracy_score(test_y, predicted):.4f}  wrong: {dict(wrong)}"

    def synthetic(gen: Path, seed: int, n: int = N_SYNTHETIC, mean: bool = False):
        session = GeneratorSession(gen)
        conditions = adata.obs[names].astype(str).iloc[np.resize(test_rows, n)]
        conditions = conditions.reset_index(drop=True)
        log2, _ = session.sample(
            n, conditions=conditions, seed=seed, space="log2", as_frame=False, mean=mean
        )
        standardized = (np.asarray(log2, np.float64) - data.scaler.mean_) / data.scaler.std_
        return standardized, conditions[args.label].to_numpy()

    fit_y = np.asarray(
        pd.Categorical.from_codes(
            data.codes_fit[:, names.index(args.label)],
            categories=data.labels[names.index(args.label)]["values"],
        )
    ).astype(str)
    print(f"{args.cohort.name}: {len(test_y)} test profiles, {len(fit_y)} fitted training rows")
    print(f"trained on real (fitted rows):       {score(data.x_fit, fit_y)}")
    work = Path(tempfile.mkdtemp(prefix="tstr_probe_"))
    try:
        variants = {
            "default calibration": {},
            "variance shrink 3 (default 10)": {"shrink": 3.0},
            "64 noise factors (default 32)": {"n_factors": 64},
            "128 noise factors": {"n_factors": 128},
        }
        if config.conditional_prior:
            for t in (1.0, 1.25, 1.5, 2.0):
                variants[f"latent temperature {t:g}"] = {"temperature": t}
        for index, (name, options) in enumerate(variants.items()):
            gen = recalibrated(args.run, data, work, f"v{index}", **options)
            for seed in (0, 1):
                print(f"{name}, seed {seed}: {score(*synthetic(gen, seed))}")
            if not options:
                print(f"  decoder means, seed 0:  {score(*synthetic(gen, 0, mean=True))}")
                print(f"  5x profiles, seed 0:    {score(*synthetic(gen, 0, 5 * N_SYNTHETIC))}")
        combo = combination_index(data.codes_fit, data.label_sizes)
        for seed in (0, 1, 2):
            rng = np.random.default_rng(seed)
            pick = rng.choice(len(combo), N_SYNTHETIC)
            gauss = np.empty((N_SYNTHETIC, data.n_genes))
            for k in np.unique(combo[pick]):
                rows, real = combo[pick] == k, data.x_fit[combo == k].astype(np.float64)
                noise = rng.standard_normal((int(rows.sum()), data.n_genes))
                gauss[rows] = real.mean(0) + real.std(0, ddof=1) * noise
            print(f"diagonal Gaussian per combination, seed {seed}: {score(gauss, fit_y[pick])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
