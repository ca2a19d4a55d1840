"""Privacy of synthetic profiles: does the generator give away its training patients?

Space: every distance is Euclidean between log2(x + 1) profiles standardized
per gene with the TRAINING rows' mean and standard deviation (a gene constant
in training keeps scale 1). Inputs are log2(x + 1) matrices over the same genes.

Figures (each reported beside its reference, never alone):

- ``mia_auc`` -- a distance-based membership-inference attack. Each real record
  is scored by its distance to the nearest synthetic profile (closer = "was in
  training"); the AUC compares training members with held-out non-members in
  equal counts: ``min(n_train, n_holdout)`` rows drawn from each set, seeded,
  averaged over ``n_draws`` draws (``mia_auc_sd`` is the spread over draws).
  0.5 = no leakage; copies of training rows give 1.
- ``closer_to_train_share`` -- the share of synthetic profiles whose nearest
  real profile, among ALL training and held-out profiles together (no
  subsampling of either, so a copy always finds its source), is a training
  profile (ties count half). Chance, for profiles drawn independently of the
  training rows from the same distribution, is ``n_train / (n_train +
  n_holdout)`` (``closer_to_train_chance``); copies of training rows give 1.
- ``dcr_median_ratio`` -- median distance from synthetic profiles to the
  closest training record, divided by the same median for held-out profiles
  (reference 1; copies give 0).
- ``dcr_below_holdout_p5`` -- the share of synthetic profiles closer to a
  training record than the 5th percentile of held-out-to-train distances
  (reference: 0.05, the held-out profiles' own share).

References in ``PrivacyResult.reference``: ``chance`` (the documented values
above) and ``holdout_half`` (the same figures with half of the held-out
profiles, seeded, playing the synthetic set against the other half: real data
that never saw training, so the spread of each figure at no leakage). The
evaluation adds ``gaussian``: a class-conditional Gaussian fitted on the
training rows, sampled like the synthetic set (a model that learns only
class-level statistics; see :mod:`gexgen.metrics.gaussian_baseline`).
Decoder means without noise sit close to everything, so read each figure
against its references rather than as a verdict.

Subsampling: with ``max_synthetic``, a seeded subsample of that many
synthetic profiles is scored (``n_synthetic`` / ``n_synthetic_total`` say so);
training and held-out rows are used whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gexgen.errors import GexgenError
from gexgen.metrics.nearest import cross_nearest, nearest_neighbours

__all__ = ["PrivacyResult", "privacy_metrics", "gaussian_privacy_reference", "HEADLINE_KEYS"]

SPACE = "log2(x + 1), standardized per gene with the training rows' mean and std"
HEADLINE_KEYS = ("mia_auc", "closer_to_train_share", "dcr_median_ratio", "dcr_below_holdout_p5")
_HIST_BINS = 40


@dataclass(frozen=True)
class PrivacyResult:
    """The privacy figures of one synthetic set (see the module docstring)."""

    mia_auc: float
    mia_auc_sd: float
    closer_to_train_share: float
    closer_to_train_chance: float
    dcr_median_ratio: float
    dcr_below_holdout_p5: float
    dcr_synthetic_median: float  # median distance synthetic -> closest training record
    dcr_holdout_median: float  # median distance held-out -> closest training record
    holdout_p5: float  # 5th percentile of the held-out distances
    holdout_below_p5: float  # the held-out profiles' own share below it (~0.05)
    mia_n_per_group: int  # members = non-members per draw
    n_draws: int
    n_train: int
    n_holdout: int
    n_synthetic: int  # synthetic profiles scored
    n_synthetic_total: int
    seed: int
    reference: dict[str, Any] = field(default_factory=dict)
    dcr_synthetic: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    dcr_holdout: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def headline(self) -> dict[str, float]:
        """The four figures, as a reference row for another set."""
        return {k: getattr(self, k) for k in HEADLINE_KEYS}

    def histogram(self, bins: int = _HIST_BINS) -> dict[str, list[float]]:
        """Distance-to-closest-training-record histograms (synthetic vs held-out), shared edges."""
        both = np.r_[self.dcr_synthetic, self.dcr_holdout]
        if both.size == 0:
            return {"edges": [], "synthetic": [], "holdout": []}
        edges = np.histogram_bin_edges(both, bins=bins)
        return {
            "edges": edges.tolist(),
            "synthetic": np.histogram(self.dcr_synthetic, edges)[0].tolist(),
            "holdout": np.histogram(self.dcr_holdout, edges)[0].tolist(),
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in HEADLINE_KEYS}
        for k in (
            "mia_auc_sd",
            "closer_to_train_chance",
            "dcr_synthetic_median",
            "dcr_holdout_median",
            "holdout_p5",
            "holdout_below_p5",
            "mia_n_per_group",
            "n_draws",
            "n_train",
            "n_holdout",
            "n_synthetic",
            "n_synthetic_total",
            "seed",
        ):
            out[k] = getattr(self, k)
        out["subsampled"] = self.n_synthetic < self.n_synthetic_total
        out["space"] = SPACE
        out["reference"] = self.reference
        out["dcr_histogram"] = self.histogram()
        return out


def _matrix(x: Any, name: str, n_genes: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise GexgenError(f"{name} must be a 2-d profiles x genes matrix, got shape {x.shape}")
    if n_genes is not None and x.shape[1] != n_genes:
        raise GexgenError(f"{name} has {x.shape[1]} genes but train has {n_genes}")
    if not np.isfinite(x).all():
        raise GexgenError(f"{name} has NaN or infinite values; fill or drop them first")
    return x


def _auc(members: np.ndarray, non_members: np.ndarray) -> float:
    """P(member distance < non-member distance) + half the ties (Mann-Whitney)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.r_[-members, -non_members])  # higher score = closer = "member"
    n1, n0 = len(members), len(non_members)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def privacy_metrics(
    train: np.ndarray,
    holdout: np.ndarray,
    synthetic: np.ndarray,
    *,
    seed: int = 0,
    n_draws: int = 5,
    max_synthetic: int | None = None,
    reference: bool = True,
) -> PrivacyResult:
    """Membership-inference AUC and distance-to-closest-record figures of ``synthetic``.

    Parameters
    ----------
    train, holdout, synthetic
        log2(x + 1) profiles x genes (same genes, same order): the generator's
        training rows, real rows it never saw, and its output. Distances are
        computed after standardizing all three with ``train``'s per-gene mean
        and std.
    seed
        Seeds the member/non-member draws, the synthetic subsample and the
        held-out halves of the reference.
    n_draws
        Seeded equal-count draws averaged into ``mia_auc``.
    max_synthetic
        Score a seeded subsample of at most this many synthetic profiles
        (None = all).
    reference
        Also compute the ``holdout_half`` reference (needs >= 4 held-out rows).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> train, holdout = rng.normal(size=(200, 20)), rng.normal(size=(200, 20))
    >>> privacy_metrics(train, holdout, train.copy()).mia_auc  # copies of the training rows
    1.0
    >>> round(privacy_metrics(train, holdout, rng.normal(size=(400, 20))).mia_auc, 1)
    0.5
    """
    train = _matrix(train, "train")
    n_genes = train.shape[1]
    holdout = _matrix(holdout, "holdout", n_genes)
    synthetic = _matrix(synthetic, "synthetic", n_genes)
    if train.shape[0] < 2 or holdout.shape[0] < 2 or synthetic.shape[0] < 1:
        raise GexgenError(
            "privacy metrics need at least 2 training, 2 held-out and 1 synthetic profiles, got "
            f"{train.shape[0]}, {holdout.shape[0]} and {synthetic.shape[0]}"
        )
    if n_draws < 1:
        raise GexgenError(f"n_draws must be at least 1, got {n_draws}")
    n_synth_total = synthetic.shape[0]
    if max_synthetic is not None and n_synth_total > max_synthetic:
        if max_synthetic < 1:
            raise GexgenError(f"max_synthetic must be at least 1, got {max_synthetic}")
        pick = np.random.default_rng([seed, 101]).choice(n_synth_total, max_synthetic, False)
        synthetic = synthetic[np.sort(pick)]
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    train_z, holdout_z, synth_z = ((m - mean) / std for m in (train, holdout, synthetic))

    to_train = cross_nearest(synth_z, train_z)  # synthetic -> train, train -> synthetic
    to_holdout = cross_nearest(synth_z, holdout_z)  # synthetic -> holdout, holdout -> synthetic
    dcr_holdout, _ = nearest_neighbours(holdout_z, train_z)
    dcr_synth = to_train.a_distance
    member_d, non_member_d = to_train.b_distance, to_holdout.b_distance
    assert member_d is not None and non_member_d is not None

    n_tr, n_ho = train.shape[0], holdout.shape[0]
    n_per = min(n_tr, n_ho)
    aucs = []
    for draw in range(n_draws):
        rng = np.random.default_rng([seed, 202, draw])
        m = member_d[rng.choice(n_tr, n_per, replace=False)]
        h = non_member_d[rng.choice(n_ho, n_per, replace=False)]
        aucs.append(_auc(m, h))
    closer = (dcr_synth < to_holdout.a_distance) + 0.5 * (dcr_synth == to_holdout.a_distance)
    holdout_median = float(np.median(dcr_holdout))
    p5 = float(np.percentile(dcr_holdout, 5))
    synth_median = float(np.median(dcr_synth))
    refs: dict[str, Any] = {
        "chance": {
            "mia_auc": 0.5,
            "closer_to_train_share": n_tr / (n_tr + n_ho),
            "dcr_median_ratio": 1.0,
            "dcr_below_holdout_p5": 0.05,
        }
    }
    if reference and n_ho >= 4:
        rng = np.random.default_rng([seed, 303])
        order = rng.permutation(n_ho)
        half = n_ho // 2
        as_synth, as_holdout = holdout[np.sort(order[:half])], holdout[np.sort(order[half:])]
        real = privacy_metrics(
            train, as_holdout, as_synth, seed=seed, n_draws=n_draws, reference=False
        )
        refs["holdout_half"] = {
            **real.headline(),
            "closer_to_train_chance": real.closer_to_train_chance,
            "mia_auc_sd": real.mia_auc_sd,
            "n_synthetic": real.n_synthetic,
            "n_holdout": real.n_holdout,
            "what": "half of the held-out profiles (seeded) as the synthetic set, "
            "scored against the other half",
        }
    return PrivacyResult(
        mia_auc=float(np.mean(aucs)),
        mia_auc_sd=float(np.std(aucs, ddof=1)) if n_draws > 1 else 0.0,
        closer_to_train_share=float(closer.mean()),
        closer_to_train_chance=n_tr / (n_tr + n_ho),
        dcr_median_ratio=synth_median / holdout_median if holdout_median > 0 else float("nan"),
        dcr_below_holdout_p5=float((dcr_synth < p5).mean()),
        dcr_synthetic_median=synth_median,
        dcr_holdout_median=holdout_median,
        holdout_p5=p5,
        holdout_below_p5=float((dcr_holdout < p5).mean()),
        mia_n_per_group=n_per,
        n_draws=int(n_draws),
        n_train=n_tr,
        n_holdout=n_ho,
        n_synthetic=int(synthetic.shape[0]),
        n_synthetic_total=int(n_synth_total),
        seed=int(seed),
        reference=refs,
        dcr_synthetic=dcr_synth,
        dcr_holdout=dcr_holdout,
    )


def gaussian_privacy_reference(
    train: np.ndarray,
    train_labels: pd.DataFrame | None,
    holdout: np.ndarray,
    sample_labels: pd.DataFrame | None,
    columns: list[str],
    *,
    n: int | None = None,
    seed: int = 0,
    n_draws: int = 5,
) -> dict[str, Any]:
    """The privacy figures of a class-conditional Gaussian fitted on ``train``.

    It draws one profile per row of ``sample_labels`` (or ``n`` without label
    columns) -- the synthetic set's labels, so both are scored at the same
    count and label mix -- and is scored exactly like the synthetic set.
    """
    from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian

    model = ClassConditionalGaussian.fit(train, train_labels, columns)
    sample = model.sample(sample_labels if columns else None, seed=seed, n=n)
    result = privacy_metrics(train, holdout, sample, seed=seed, n_draws=n_draws, reference=False)
    return {
        **result.headline(),
        "closer_to_train_chance": result.closer_to_train_chance,
        "mia_auc_sd": result.mia_auc_sd,
        "n_synthetic": result.n_synthetic,
        "what": "class-conditional Gaussian (per-gene mean and std per label combination) "
        "fitted on the training rows, sampled with the synthetic set's labels",
    }
