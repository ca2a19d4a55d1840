"""The self-contained HTML evaluation report: metric tables and figures as base64 PNGs.

Figures (as in Bong & Oh 2023): UMAP of real + synthetic profiles coloured by
each condition label (tissue, tumor/normal) and by real vs synthetic - a good
generator clusters by label and not by origin - and per-gene mean and
standard deviation of synthetic against real. umap-learn and matplotlib are
imported here only, when a report is written.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gexgen._atomic import atomic_path
from gexgen.metrics._config import single_blas_thread

if TYPE_CHECKING:
    from gexgen.metrics.evaluation import EvaluateConfig, Evaluation

__all__ = ["umap_embedding", "write_report", "render_report"]

ORIGIN = "origin"


def umap_embedding(
    real: np.ndarray, synthetic: np.ndarray, *, seed: int = 0, max_per_set: int = 2_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """2-d UMAP of real + synthetic rows (standardized with real stats, PCA to 50 dims).

    Returns (embedding, real_rows, synthetic_rows, note): the row indices used
    from each input (seeded subsample when larger than ``max_per_set``) and a
    note saying so (None when everything was used).
    """
    import umap
    from sklearn.decomposition import PCA

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
    reducer = umap.UMAP(
        n_neighbors=int(min(15, both.shape[0] - 1)), min_dist=0.3, random_state=seed, n_jobs=1
    )
    with single_blas_thread():  # small products; BLAS threads only add synchronisation
        reduced = PCA(n_components=n_comp, random_state=seed).fit_transform(both)
        embedding = reducer.fit_transform(reduced)
    return embedding, picks[0], picks[1], note


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _umap_figure(emb: np.ndarray, groups: np.ndarray, is_synth: np.ndarray, title: str) -> str:
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5.5))
    ax = fig.add_subplot()
    values = sorted(set(groups.tolist()))
    cmap = colormaps["tab10" if len(values) <= 10 else "tab20"]
    for i, value in enumerate(values):
        colour = cmap(i % cmap.N)
        labelled = False
        for synth, marker in ((False, "o"), (True, "^")):
            m = (groups == value) & (is_synth == synth)
            if m.any():
                ax.scatter(
                    emb[m, 0],
                    emb[m, 1],
                    s=9,
                    marker=marker,
                    color=colour,
                    alpha=0.7,
                    linewidths=0,
                    label=None if labelled else value,
                )
                labelled = True
    ax.set_title(title + "  (o real, ^ synthetic)")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.legend(
        loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=1.5, frameon=False
    )
    return _png(fig)


def _moment_figure(evaluation: Evaluation) -> str:
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
    return _png(fig)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _metric_rows(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if "gamma" in m:
        g, c = m["gamma"], m.get("gamma_ceiling", {})
        rows.append(
            (
                "gamma (1 = same gene-gene correlation)",
                _fmt(g["gamma"]),
                f"ceiling (real train vs test): {_fmt(c.get('gamma'))}",
            )
        )
    if "prdc" in m:
        p = m["prdc"]
        for key in ("precision", "recall", "density", "coverage"):
            rows.append(
                (
                    f"{key} (k={p['k']})",
                    _fmt(p[key]),
                    f"{p['n_real']} real, {p['n_synthetic']} synthetic",
                )
            )
    if "detection" in m:
        d = m["detection"]
        rows.append(
            (
                "detection AUC (0.5 ideal)",
                f"{d['auc']:.4f} &plusmn; {d['auc_std']:.4f}",
                f"{d['classifier']}, {d['n_folds']}-fold, {d['n_per_class']} per class",
            )
        )
    for col, entry in (m.get("tstr") or {}).items():
        if not isinstance(entry, dict) or "train_synthetic" not in entry:
            continue
        ts, tr = entry["train_synthetic"], entry.get("train_real") or {}
        rows.append(
            (
                f"{col}: balanced accuracy, trained on synthetic",
                _fmt(ts.get("balanced_accuracy")),
                f"trained on real: {_fmt(tr.get('balanced_accuracy'))}",
            )
        )
    if "gene_moments" in m:
        o = m["gene_moments"]["overall"]
        rows.append(
            (
                "per-gene mean r",
                _fmt(o["mean_r"]),
                f"median over label combinations {_fmt(m['gene_moments']['median_mean_r'])}",
            )
        )
        rows.append(
            (
                "per-gene std r",
                _fmt(o["std_r"]),
                f"median over label combinations {_fmt(m['gene_moments']['median_std_r'])}",
            )
        )
    return rows


def _table(header: list[str], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_report(evaluation: Evaluation, config: EvaluateConfig) -> tuple[str, dict[str, bytes]]:
    """The report as one HTML string (figures inline) and the figures as PNG bytes by name."""
    m = evaluation.metrics
    real, synth = evaluation.real, evaluation.synthetic
    emb, real_rows, synth_rows, note = umap_embedding(
        real.sample, synth.sample, seed=config.seed, max_per_set=config.umap_max_samples
    )
    if note:
        m.setdefault("notes", []).append(note)
    notes = m.get("notes", [])
    is_synth = np.r_[np.zeros(len(real_rows), bool), np.ones(len(synth_rows), bool)]
    figures = []
    for col in evaluation.label_columns:
        groups = np.r_[
            real.sample_labels[col].astype(str).to_numpy()[real_rows],
            synth.sample_labels[col].astype(str).to_numpy()[synth_rows],
        ]
        figures.append(
            (f"umap_{col}", f"UMAP coloured by {col}", _umap_figure(emb, groups, is_synth, col))
        )
    origin = np.where(is_synth, "synthetic", "real")
    figures.append(
        (
            "umap_origin",
            "UMAP coloured by real vs synthetic",
            _umap_figure(emb, origin, is_synth, "real vs synthetic"),
        )
    )
    if "gene_moments" in m:
        figures.append(
            ("gene_moments", "Per-gene mean and standard deviation", _moment_figure(evaluation))
        )
    group_rows = [
        (
            html.escape(k),
            _fmt(g.get("mean_r")),
            _fmt(g.get("std_r")),
            str(g["n_real"]),
            str(g["n_synthetic"]),
            html.escape(g.get("skipped", "")),
        )
        for k, g in (m.get("gene_moments", {}).get("groups") or {}).items()
    ]
    inputs = m["inputs"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>gexgen evaluation</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 10px;text-align:left}th{background:#f3f3f3}img{max-width:100%}</style>",
        "</head><body><h1>gexgen evaluation report</h1>",
        f"<p>Real: {_fmt(inputs['real'])} ({_fmt(inputs['real_rows'])}, {m['n_real']} profiles)"
        f"<br>Synthetic: {_fmt(inputs['synthetic'] or 'generated by ' + str(inputs['model']))}"
        f" ({m['n_synthetic']} profiles)<br>Genes scored: {m['genes']['shared']}; labels: "
        f"{_fmt(', '.join(evaluation.label_columns) or 'none')}; seed {inputs['seed']}; "
        f"gexgen {_fmt(m['gexgen_version'])}. All values on log2(x + 1).</p>",
        "<h2>Metrics</h2>",
        _table(["metric", "value", "reference"], _metric_rows(m)),
    ]
    if notes:
        parts.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
        )
    for _, title, png in figures:
        parts.append(
            f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
            f"src='data:image/png;base64,{png}'>"
        )
    if group_rows:
        parts.append("<h2>Per-gene agreement by label combination</h2>")
        parts.append(
            _table(["combination", "mean r", "std r", "real", "synthetic", "note"], group_rows)
        )
    parts.append("</body></html>\n")
    pngs = {f"{_safe(name)}.png": base64.b64decode(png) for name, _, png in figures}
    return "\n".join(parts), pngs


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def write_report(
    evaluation: Evaluation, path: str | os.PathLike[str], config: EvaluateConfig
) -> None:
    """Render and write the report atomically; figures also go to ``figures/*.png`` beside it."""
    text, pngs = render_report(evaluation, config)
    folder = Path(path).parent / "figures"
    for name, data in pngs.items():
        with atomic_path(folder / name) as tmp:
            tmp.write_bytes(data)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
