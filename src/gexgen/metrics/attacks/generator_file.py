"""The attack on the generator file: the closest profile the ``.onnx`` can produce for a record.

Whoever holds ``generator.onnx`` can draw as many profiles as they like for
any label combination, and, for generators with a decoder noise input, the
noise-free decoder means. For every real row (training and held-out) this
draws ``draws_per_combination`` seeded latent vectors for the row's label
combination, runs them through the graph (onnxruntime, via
:class:`gexgen.runtime.GeneratorSession`) and keeps the distance to the
nearest output, in log2(x + 1) standardized with the training rows' mean and
std. Members (training rows) against non-members (held-out rows) over the
seeded draws of :mod:`~gexgen.metrics.attacks.runner` give the figures:

- ``decoder_mean``: the nearest decoder mean (``eps = 0``; what only the
  file reveals: the sampled profiles carry the observation noise on top);
  ``decoder_mean_calibrated``: its distance minus the candidate's distance
  to the nearest reference row (held-out, never a candidate);
- ``sampled``: the nearest of the same number of sampled profiles (noise
  included): what an unlimited supply of synthetic profiles gives.

Reference (``reference.gaussian``): the class-conditional Gaussian fitted on
the training rows, ``draws_per_combination`` profiles per combination,
scored like ``sampled``, and its class mean scored like ``decoder_mean``
(the Gaussian's noise-free output). numpy + onnxruntime only.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.metrics.attacks.roc import membership_figures
from gexgen.metrics.attacks.runner import attack_draws, standardize_by_train, summarise
from gexgen.metrics.nearest import nearest_neighbours

__all__ = ["generator_file_attack", "nearest_generated", "DRAWS_PER_COMBINATION"]

# latent draws per label combination: on the shared L1000 cohort's default generator the
# figures at 5,000 equal those at 20,000 (AUC 0.600 both; see docs/attacks.md)
DRAWS_PER_COMBINATION = 5_000


def _combinations(
    labels: pd.DataFrame, names: list[str]
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """The distinct label combinations of the rows and each row's index into them."""
    if not names:
        return [()], np.zeros(len(labels), dtype=np.int64)
    values = labels[names].astype(str)
    combos = sorted(set(map(tuple, values.to_numpy().tolist())))
    index = {c: i for i, c in enumerate(combos)}
    return combos, np.array([index[tuple(r)] for r in values.to_numpy().tolist()])


def nearest_generated(
    draw_profiles: Any,
    profiles: np.ndarray,
    labels: pd.DataFrame,
    names: list[str],
    transform: Any,
    draws_per_combination: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Per row of ``profiles``, the distance to the nearest generated profile of its combination.

    ``draw_profiles(n, conditions, seed) -> {mode: log2 matrix}`` draws ``n``
    profiles of one combination (``conditions``: label -> value) in each mode;
    ``transform`` maps log2 values into the attack space; ``profiles`` are in
    it already.
    """
    combos, row_combo = _combinations(labels, names)
    out: dict[str, np.ndarray] = {}
    for c, combo in enumerate(combos):
        rows = np.flatnonzero(row_combo == c)
        combo_seed = int(np.random.default_rng([seed, 808, c]).integers(2**31 - 1))
        drawn = draw_profiles(
            draws_per_combination, dict(zip(names, combo, strict=True)), combo_seed
        )
        for mode, values in drawn.items():
            distance, _ = nearest_neighbours(profiles[rows], transform(values))
            out.setdefault(mode, np.empty(len(profiles)))[rows] = distance
    return out


def _session_draws(session: Any, sampled: bool):
    """Draws through the graph: decoder means from seeded latent vectors (``decode``), and
    (``sampled``) the file's own sampling with its noise."""
    vocab = {name: list(values) for name, values in dict(session.labels).items()}

    def draw(n: int, conditions: dict[str, str], seed: int) -> dict[str, np.ndarray]:
        z = np.random.default_rng([seed, 1]).standard_normal((n, session.info.n_latent))
        codes = {k: np.full(n, vocab[k].index(v), dtype=np.int64) for k, v in conditions.items()}
        drawn = {"decoder_mean": np.asarray(session.decode(z, codes, space="log2"))}
        if sampled and session.info.noise_input:
            matrix, _ = session.sample(
                n, conditions=conditions, seed=seed, space="log2", as_frame=False
            )
            drawn["sampled"] = np.asarray(matrix)
        elif sampled:  # no noise input: the samples are the decoder means
            drawn["sampled"] = drawn["decoder_mean"]
        return drawn

    return draw


def _gaussian_draws(model: Any, names: list[str], sampled: bool):
    def draw(n: int, conditions: dict[str, str], seed: int) -> dict[str, np.ndarray]:
        key = "|".join(conditions[k] for k in names) if names else "(all)"
        drawn = {"decoder_mean": np.maximum(model.means[key], 0.0)[None, :]}
        if sampled:
            labels = pd.DataFrame({k: [v] * n for k, v in conditions.items()}) if names else None
            drawn["sampled"] = model.sample(labels, seed=seed, n=n)
        return drawn

    return draw


def _figures(
    distances: dict[str, np.ndarray], train_z, holdout_z, n_train: int, draws
) -> dict[str, Any]:
    """members vs non-members per mode over the draws (plus the calibrated decoder mean)."""
    results: dict[str, Any] = {}
    calibrated: list[dict[str, float]] = []
    per_mode: dict[str, list[dict[str, float]]] = {m: [] for m in distances}
    for draw in draws:
        for mode, d in distances.items():
            members, non = d[draw.members], d[n_train + draw.non_members]
            per_mode[mode].append(membership_figures(-members, -non))
        d = distances["decoder_mean"]
        candidates = np.r_[train_z[draw.members], holdout_z[draw.non_members]]
        to_ref, _ = nearest_neighbours(candidates, holdout_z[draw.reference])
        scores = to_ref - np.r_[d[draw.members], d[n_train + draw.non_members]]
        n = len(draw.members)
        calibrated.append(membership_figures(scores[:n], scores[n:]))
    for mode, figures in per_mode.items():
        results[mode] = summarise(figures)
    results["decoder_mean_calibrated"] = summarise(calibrated)
    return results


def generator_file_attack(
    model: Any,
    train: np.ndarray,
    train_labels: pd.DataFrame,
    holdout: np.ndarray,
    holdout_labels: pd.DataFrame,
    *,
    genes: list[str] | None = None,
    seed: int = 0,
    n_draws: int = 5,
    draws_per_combination: int = DRAWS_PER_COMBINATION,
    sampled: bool = True,
) -> dict[str, Any]:
    """The latent-search attack through ``model`` (a ``.onnx`` path), beside the Gaussian.

    ``train``/``holdout`` are log2(x + 1) rows over ``genes`` (None: the
    generator's genes in its order; else every generator gene must be among
    them); their labels hold the generator's label columns. The
    headline ``auc`` / ``tpr_at_*`` figures are the strongest of the modes
    (by AUC; see the module docstring). ``sampled=False`` skips the sampled
    mode (half the graph runs).
    """
    from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian
    from gexgen.runtime import GeneratorSession

    if draws_per_combination < 1:
        raise GexgenError(f"draws_per_combination must be >= 1, got {draws_per_combination}")
    start = time.perf_counter()
    session = GeneratorSession(model)
    names = list(session.labels)
    train_labels = train_labels.reset_index(drop=True)
    holdout_labels = holdout_labels.reset_index(drop=True)
    missing = [n for n in names if n not in train_labels.columns or n not in holdout_labels.columns]
    if missing:
        raise GexgenError(
            f"the generator conditions on {missing}, which the real rows lack; "
            "evaluate on the cohort it was trained on"
        )
    if genes is not None:
        where = {g: j for j, g in enumerate(genes)}
        lacking = [g for g in session.genes if g not in where]
        if lacking:
            raise GexgenError(
                f"the real rows lack {len(lacking)} generator gene(s) (e.g. {lacking[:3]}); "
                "the file attack needs every gene the generator makes"
            )
        cols = np.array([where[g] for g in session.genes])
        train, holdout = np.asarray(train)[:, cols], np.asarray(holdout)[:, cols]
    if train.shape[1] != len(session.genes) or holdout.shape[1] != len(session.genes):
        raise GexgenError(
            f"the generator makes {len(session.genes)} genes, the real rows have "
            f"{train.shape[1]}; the file attack needs every generator gene"
        )
    draws = attack_draws(len(train), len(holdout), seed, n_draws)
    train = np.asarray(train, np.float64)
    std = train.std(axis=0)
    mean, scale = train.mean(axis=0).astype(np.float32), (1.0 / np.where(std > 0, std, 1.0))
    scale = scale.astype(np.float32)
    # generated rows in float32 (the nearest-neighbour products are float32 anyway)
    transform = lambda m: (np.asarray(m, np.float32) - mean) * scale  # noqa: E731
    train_z, holdout_z = standardize_by_train(train, holdout)
    rows = np.r_[train_z, holdout_z]
    labels = pd.concat([train_labels[names], holdout_labels[names]], ignore_index=True)
    args = (rows, labels, names, transform, draws_per_combination, seed)
    with session:
        generated = nearest_generated(_session_draws(session, sampled), *args)
    generator_seconds = time.perf_counter() - start
    modes = _figures(generated, train_z, holdout_z, len(train), draws)
    gaussian = ClassConditionalGaussian.fit(train, train_labels, names)
    gaussian_modes = _figures(
        nearest_generated(_gaussian_draws(gaussian, names, sampled), *args),
        train_z, holdout_z, len(train), draws,
    )  # fmt: skip
    best = max(modes, key=lambda m: modes[m]["auc"])
    best_gaussian = max(gaussian_modes, key=lambda m: gaussian_modes[m]["auc"])
    return {
        **{k: modes[best][k] for k in ("auc", "tpr_at_10pct_fpr", "tpr_at_1pct_fpr")},
        "mode": best,
        "modes": modes,
        "reference": {
            "gaussian": {
                **{k: gaussian_modes[best_gaussian][k] for k in ("auc", "tpr_at_1pct_fpr")},
                "tpr_at_10pct_fpr": gaussian_modes[best_gaussian]["tpr_at_10pct_fpr"],
                "mode": best_gaussian,
                "modes": gaussian_modes,
                "what": "class-conditional Gaussian fitted on the training rows: as many "
                "draws per combination (sampled) and its class means (decoder_mean)",
            }
        },
        "draws_per_combination": int(draws_per_combination),
        "n_combinations": int(labels.drop_duplicates().shape[0]) if names else 1,
        "n_per_group": len(draws[0].members),
        "n_draws": n_draws,
        "seconds": round(time.perf_counter() - start, 2),
        "generator_seconds": round(generator_seconds, 2),
    }
