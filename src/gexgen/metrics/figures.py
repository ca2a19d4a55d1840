"""Figures of the evaluation report, each a base64 PNG (matplotlib, no pyplot state).

UMAP of real + synthetic profiles coloured by each label and by origin
(synthetic first as faint triangles, real on top as outlined circles); per-gene
mean and standard deviation; the real-vs-synthetic gene-gene correlation
heatmap; dispersion (per-gene std ratio) against its train-vs-test reference;
real against synthetic fold changes; the augmentation curve; distance to the
closest training record, synthetic vs held-out. Text that comes from the data
goes through :func:`plain_text` so a ``$`` never starts mathtext. umap-learn
and matplotlib are imported inside the functions, when a report is drawn.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np

from gexgen.metrics._config import single_blas_thread

if TYPE_CHECKING:
    from gexgen.metrics.evaluation import Evaluation

__all__ = [
    "augmentation_figure",
    "correlation_figure",
    "dispersion_figure",
    "fold_change_figure",
    "moment_figure",
    "plain_text",
    "privacy_figure",
    "umap_embedding",
    "umap_figure",
]

HEATMAP_GENES = 60  # most variable real genes shown in the correlation heatmap
FOLD_CHANGE_PANELS = 6  # contrasts drawn in the fold-change figure
REAL_COLOUR, SYNTH_COLOUR = "#1f3b73", "#f28e2b"


def plain_text(value: Any) -> str:
    r"""Text for a matplotlib label: every ``$`` escaped (never mathtext), no hidden ``_`` names.

    matplotlib reads text as mathtext when it holds an even, non-zero number
    of unescaped ``$``; escaped, ``\$`` is drawn as ``$``. Legend labels that
    start with ``_`` are hidden, so they get a leading space.

    Examples
    --------
    >>> plain_text("$x$ and _y")
    '\\$x\\$ and _y'
    """
    text = str(value).replace("$", r"\$")
    return " " + text if text.startswith("_") else text  # "_..." labels are hidden in legends


def umap_embedding(
    real: np.ndarray, synthetic: np.ndarray, *, seed: int = 0, max_per_set: int = 2_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """2-d UMAP of real + synthetic rows (standardized with real stats, PCA to 50 dims).

    Returns (embedding, real_rows, synthetic_rows, note): the row indices used
    from each input (seeded subsample when larger than ``max_per_set``) and a
    note saying so (None when everything was used).
    """
    from sklearn.decomposition import PCA

    from gexgen.metrics._umap import umap_2d
    from gexgen.metrics.precision_recall import standardize_with

    rng = np.random.default_rng([seed, 3])
    picks = []
    for x in (real, synthetic):
        n = x.shape[0]
        picks.append(np.sort(rng.choice(n, size=min(n, max_per_set), replace=False)))
    note = None
    if len(picks[0]) < real.shape[0] or len(picks[1]) < synthetic.shape[0]:
        note = (
            f"UMAP drawn on a seeded subsample: {len(picks[0])} of {real.shape[0]} real and "
            f"{len(picks[1])} of {synthetic.shape[0]} synthetic profiles"
        )
    real_z, synth_z = standardize_with(real[picks[0]], synthetic[picks[1]])
    both = np.concatenate([real_z, synth_z])
    n_comp = int(min(50, both.shape[0] - 1, both.shape[1]))
    with single_blas_thread():  # small products; BLAS threads only add synchronisation
        reduced = PCA(n_components=n_comp, random_state=seed).fit_transform(both)
        embedding = umap_2d(reduced, seed=seed)
    return embedding, picks[0], picks[1], note


def png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def umap_figure(
    emb: np.ndarray,
    groups: np.ndarray,
    is_synth: np.ndarray,
    title: str,
    colours: dict[str, Any] | None = None,
) -> str:
    """Synthetic points first (faint triangles), real points on top (outlined circles)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5.5))
    ax = fig.add_subplot()
    values = sorted(set(groups.tolist()))
    if colours is None:
        cmap = colormaps["tab10" if len(values) <= 10 else "tab20"]
        colours = {v: cmap(i % cmap.N) for i, v in enumerate(values)}
    for synth in (True, False):
        for value in values:
            m = (groups == value) & (is_synth == synth)
            if not m.any():
                continue
            style = (
                {"marker": "^", "s": 10, "alpha": 0.45, "linewidths": 0, "zorder": 1}
                if synth
                else {
                    "marker": "o",
                    "s": 16,
                    "alpha": 0.9,
                    "edgecolors": "black",
                    "linewidths": 0.4,
                    "zorder": 2,
                }  # fmt: skip
            )
            ax.scatter(emb[m, 0], emb[m, 1], color=colours[value], **style)
    for value in values:  # one legend entry per value, in the real style
        ax.scatter([], [], color=colours[value], marker="o", edgecolors="black",
                   linewidths=0.4, label=plain_text(value))  # fmt: skip
    ax.set_title(plain_text(title) + "  (o real, on top; ^ synthetic)")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.legend(
        loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=1.5, frameon=False
    )
    return png(fig)


def moment_figure(evaluation: Evaluation) -> str:
    from matplotlib.figure import Figure

    from gexgen.metrics.gene_moments import ALL, pearson

    r, s = evaluation.real.moments, evaluation.synthetic.moments
    fig = Figure(figsize=(10, 4.6))
    for i, (what, a, b) in enumerate(
        (("mean", r.mean(ALL), s.mean(ALL)), ("standard deviation", r.std(ALL), s.std(ALL)))
    ):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.scatter(a, b, s=6, alpha=0.6, linewidths=0)
        lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        rr = pearson(a, b)
        ax.set_title(
            f"per-gene {what}, log2(x+1)  (r = {rr:.3f})" if rr is not None else f"per-gene {what}"
        )
        ax.set_xlabel("real")
        ax.set_ylabel("synthetic")
    return png(fig)


def heatmap_genes(corr: np.ndarray, std: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` most variable genes, ordered by average-linkage clustering of real r."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    ok = np.flatnonzero(np.isfinite(np.diag(corr)) & (std > 0))
    pick = ok[np.argsort(-std[ok], kind="stable")[:n]]
    if len(pick) < 3:
        return pick
    sub = np.nan_to_num(corr[np.ix_(pick, pick)])
    dist = np.clip(1.0 - sub, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    order = leaves_list(linkage(squareform(dist, checks=False), method="average"))
    return pick[order]


def correlation_figure(evaluation: Evaluation) -> str:
    from matplotlib.figure import Figure

    real, synth = evaluation.real.correlation, evaluation.synthetic.correlation
    genes = heatmap_genes(real.correlation, real.std, HEATMAP_GENES)
    r = np.nan_to_num(real.correlation[np.ix_(genes, genes)])
    s = np.nan_to_num(synth.correlation[np.ix_(genes, genes)])
    fig = Figure(figsize=(16, 5.6))
    names = [plain_text(evaluation.genes[j]) for j in genes]
    panels = (("real (test split)", r), ("synthetic", s), ("synthetic - real", s - r))
    for i, (title, mat) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        image = ax.imshow(mat, vmin=-1, vmax=1, cmap="RdBu_r", interpolation="nearest")
        ax.set_title(f"{title}, {len(genes)} most variable genes", fontsize=10)
        ticks = np.arange(len(genes))
        ax.set_xticks(ticks, names if len(genes) <= 40 else [], rotation=90, fontsize=5)
        ax.set_yticks(ticks, names if len(genes) <= 40 else [], fontsize=5)
    fig.colorbar(image, ax=fig.axes, shrink=0.8, label="Pearson r")
    return png(fig)


def dispersion_figure(evaluation: Evaluation) -> str:
    from matplotlib.figure import Figure

    from gexgen.metrics.dispersion import std_ratios
    from gexgen.metrics.gene_moments import ALL

    real, synth = evaluation.real.moments, evaluation.synthetic.moments
    train = evaluation.train_moments
    d = evaluation.metrics["dispersion"]
    fig = Figure(figsize=(12, 4.8))
    ax = fig.add_subplot(1, 2, 1)
    ratios = np.log2(std_ratios(real, synth, ALL))
    series = [("synthetic / real test", ratios, SYNTH_COLOUR)]
    if train is not None:
        series.append(("real train / real test", np.log2(std_ratios(real, train, ALL)), "grey"))
    finite = np.concatenate([v[np.isfinite(v)] for _, v, _ in series])
    edges = np.linspace(min(finite.min(), -0.5), max(finite.max(), 0.5), 50)
    for label, values, colour in series:
        ax.hist(values[np.isfinite(values)], bins=edges, histtype="step", lw=1.5,
                color=colour, label=label)  # fmt: skip
    for x in (0.0, np.log2(0.9), np.log2(1.1)):
        ax.axvline(x, color="black", lw=0.8, ls="-" if x == 0 else ":")
    ax.set_xlabel("log2(std ratio) per gene (0 = same spread; dotted: +-10%)")
    ax.set_ylabel("genes")
    ax.set_title(f"dispersion: median ratio {d['std_ratio_median']:.3f}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax = fig.add_subplot(1, 2, 2)
    groups = [(k, g) for k, g in d["groups"].items() if g.get("std_ratio_median") is not None]
    ys = np.arange(len(groups))
    ax.barh(ys, [g["std_ratio_median"] for _, g in groups], color=SYNTH_COLOUR,
            label="synthetic / real test")  # fmt: skip
    if train is not None:
        ref = [np.nanmedian(std_ratios(real, train, k)) if train.count(k) > 1 else np.nan
               for k, _ in groups]  # fmt: skip
        ax.scatter(ref, ys, color="black", marker="|", s=120, zorder=3,
                   label="real train / real test")  # fmt: skip
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(ys, [plain_text(k) for k, _ in groups], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("median std ratio")
    ax.set_title("per label combination", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return png(fig)


def panel_contrasts(contrasts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scored contrasts, those of labels with the fewest contrasts (e.g. status) first."""
    scored = [c for c in contrasts if c.get("lfc_r") is not None]
    per_label: dict[str, int] = {}
    for c in scored:
        per_label[c["label"]] = per_label.get(c["label"], 0) + 1
    scored.sort(key=lambda c: (per_label[c["label"]], c["label"], c["name"]))
    return scored[:FOLD_CHANGE_PANELS]


def fold_change_figure(evaluation: Evaluation) -> str:
    from matplotlib.figure import Figure

    from gexgen.metrics.differential import Contrast, fold_changes

    shown = panel_contrasts(evaluation.metrics["de"]["contrasts"])
    cols = min(3, len(shown))
    rows = (len(shown) + cols - 1) // cols
    fig = Figure(figsize=(4.2 * cols, 4.0 * rows), layout="constrained")
    for i, c in enumerate(shown):
        contrast = Contrast(
            c["label"], c["a"], c["b"], tuple(c["within"].items()), c["key_a"], c["key_b"]
        )
        real_lfc, _ = fold_changes(evaluation.real.moments, contrast)
        synth_lfc, _ = fold_changes(evaluation.synthetic.moments, contrast)
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.scatter(real_lfc, synth_lfc, s=5, alpha=0.5, linewidths=0, color=SYNTH_COLOUR)
        lo = float(min(real_lfc.min(), synth_lfc.min()))
        hi = float(max(real_lfc.max(), synth_lfc.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        ref = (c.get("reference") or {}).get("lfc_r")
        ref_text = f", train {ref:.2f}" if ref is not None else ""
        ax.set_title(f"{plain_text(c['name'])}\nr = {c['lfc_r']:.3f}{ref_text}", fontsize=8)
        ax.set_xlabel("real log2 fold change", fontsize=8)
        ax.set_ylabel("synthetic log2 fold change", fontsize=8)
    return png(fig)


def augmentation_figure(evaluation: Evaluation) -> str:
    from matplotlib.figure import Figure

    a = evaluation.metrics["augmentation"]
    curve = a["curve"]
    ks = [c["k"] for c in curve]
    fig = Figure(figsize=(6.5, 4.6))
    ax = fig.add_subplot()
    ax.errorbar(ks, [c["real_only"] for c in curve], [c["real_only_sd"] for c in curve],
                marker="o", color=REAL_COLOUR, capsize=3, label="k real only")  # fmt: skip
    ax.errorbar(ks, [c["augmented"] for c in curve], [c["augmented_sd"] for c in curve],
                marker="^", color=SYNTH_COLOUR, capsize=3,
                label=f"k real + {a['n_synthetic_per_class']} synthetic")  # fmt: skip
    ref = (a.get("reference") or {}).get("all_real_train")
    if ref is not None:
        ax.axhline(ref, color="grey", ls="--", lw=1, label="all real training profiles")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel(f"real training profiles per {plain_text(a['label'])} value (k)")
    ax.set_ylabel("balanced accuracy on the real test split")
    ax.set_title(f"augmentation: mean gain {a['mean_gain']:+.3f}", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return png(fig)


def privacy_figure(evaluation: Evaluation) -> str:
    from matplotlib.figure import Figure

    p = evaluation.metrics["privacy"]
    hist = p["dcr_histogram"]
    edges = np.asarray(hist["edges"], dtype=float)
    fig = Figure(figsize=(7, 4.6))
    ax = fig.add_subplot()
    for name, colour, median in (
        ("synthetic", SYNTH_COLOUR, p.get("dcr_synthetic_median")),
        ("holdout", REAL_COLOUR, p.get("dcr_holdout_median")),
    ):
        counts = np.asarray(hist[name], dtype=float)
        density = counts / max(counts.sum(), 1.0)
        label = "synthetic" if name == "synthetic" else "held-out real"
        ax.stairs(density, edges, color=colour, lw=1.5, label=f"{label} -> closest training")
        if median is not None:
            ax.axvline(median, color=colour, ls="--", lw=1)
    ax.set_xlabel("distance to the closest training record (standardized log2)")
    ax.set_ylabel("share of profiles")
    ax.set_title("distance to closest record (dashed: medians)", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return png(fig)
