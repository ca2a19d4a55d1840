"""The benchmark's self-contained HTML page: the table, the budgets, one UMAP panel per model.

Everything that comes from data or the command line (cohort path, model and
label names, notes, budgets, the command) is HTML-escaped.

Each model gets its own UMAP of the real test split together with its
synthetic set (as in Bong & Oh 2023, Fig. 3): a column per model, a row per
colouring (each condition label, then real vs synthetic). umap-learn and
matplotlib are imported only here.
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

import numpy as np
import pandas as pd

from gexgen.benchmark.scoring import format_cell, table_columns

__all__ = ["UmapPanel", "umap_panel", "umap_figure_png", "render_page"]

UmapPanel = dict[str, Any]  # {"model", "embedding", "groups": {label: array}, "is_synthetic"}


def umap_panel(
    model: str,
    real_log2: np.ndarray,
    real_labels: pd.DataFrame,
    synth_log2: np.ndarray,
    synth_labels: pd.DataFrame,
    seed: int,
) -> UmapPanel:
    """The 2-d UMAP of real test + one model's synthetic profiles, with what to colour by."""
    from gexgen.metrics.report import umap_embedding

    emb, real_rows, synth_rows, note = umap_embedding(real_log2, synth_log2, seed=seed)
    groups = {
        col: np.r_[
            real_labels[col].astype(str).to_numpy()[real_rows],
            synth_labels[col].astype(str).to_numpy()[synth_rows],
        ]
        for col in real_labels.columns
    }
    is_synth = np.r_[np.zeros(len(real_rows), bool), np.ones(len(synth_rows), bool)]
    return {
        "model": model,
        "embedding": emb,
        "groups": groups,
        "is_synthetic": is_synth,
        "note": note,
    }


def umap_figure_png(panels: list[UmapPanel]) -> bytes:
    """One column per model; rows: each label, then real vs synthetic. PNG bytes."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    labels = list(panels[0]["groups"])
    rows = [*labels, "origin"]
    fig = Figure(figsize=(3.6 * len(panels) + 1.8, 3.3 * len(rows)))
    axes = fig.subplots(len(rows), len(panels), squeeze=False)
    for r, what in enumerate(rows):
        if what == "origin":
            values = ["real", "synthetic"]
        else:
            values = sorted(set().union(*(set(p["groups"][what].tolist()) for p in panels)))
        cmap = colormaps["tab10" if len(values) <= 10 else "tab20"]
        colour = {v: cmap(i % cmap.N) for i, v in enumerate(values)}
        for c, panel in enumerate(panels):
            ax, emb, synth = axes[r][c], panel["embedding"], panel["is_synthetic"]
            groups = (
                np.where(synth, "synthetic", "real") if what == "origin" else panel["groups"][what]
            )
            for value in values:
                for is_s, marker in ((False, "o"), (True, "^")):
                    m = (groups == value) & (synth == is_s)
                    if m.any():
                        ax.scatter(
                            emb[m, 0],
                            emb[m, 1],
                            s=6,
                            marker=marker,
                            color=colour[value],
                            alpha=0.7,
                            linewidths=0,
                        )
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(panel["model"], fontsize=12)
            if c == 0:
                ax.set_ylabel(f"coloured by {what}", fontsize=10)
        handles = [axes[r][-1].scatter([], [], s=20, color=colour[v], label=v) for v in values]
        axes[r][-1].legend(
            handles=handles,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            fontsize=7,
            frameon=False,
        )
    fig.suptitle("UMAP of real test profiles (o) and each model's synthetic profiles (^)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _table_html(rows: list[dict[str, Any]]) -> str:
    cols = table_columns(rows)
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in cols)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(format_cell(row.get(k), fmt))}</td>" for k, _, fmt in cols)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_page(results: dict[str, Any], umap_png: bytes | None) -> str:
    """The page as one HTML string (the figure inline as base64)."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>gexgen benchmark</title>",
        "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        "th{background:#f3f3f3}img{max-width:100%}pre{background:#f7f7f7;padding:1em;"
        "overflow-x:auto}</style></head><body>",
        "<h1>gexgen benchmark</h1>",
        f"<p>Cohort: {esc(str(results['cohort']))}; split {esc(json.dumps(results['split_sizes']))}"
        f"; seed {esc(str(results['config']['seed']))}; "
        f"gexgen {esc(str(results['gexgen_version']))}. "
        "Every model is trained on the same rows and draws, per tissue x status combination, "
        "as many profiles as the real test split has; all metrics on log2(x + 1) against the "
        "real test split. 'paper' is Bong &amp; Oh 2023, Table 2 (9,146 samples).</p>",
        "<h2>Results</h2>",
        _table_html(results["table"]),
        "<p>gamma: Viñas et al.'s coefficient (1 = same gene-gene correlation); prec/recall/"
        "density/cover: Naeem et al. 2020, k=5; det.AUC: real-vs-synthetic classifier (0.5 "
        "ideal; "
        "GB AUC: the same probe with gradient-boosted trees; KS med: median per-gene KS; "
        "the 'real' row: real train vs test rows); "
        "TSTR: balanced accuracy of a classifier trained on synthetic, tested on real "
        "(the 'real' row: trained on real); mean r / std r: per-gene agreement; MIA AUC: "
        "membership-inference AUC, training vs held-out patients by distance to the nearest "
        "synthetic profile (0.5 = no leakage); closer: share of synthetic profiles whose "
        "nearest real profile is a training one (the 'real' row: the share chance gives); "
        "DCR ratio: median distance to the closest training record over the held-out one "
        "(privacy figures in log2 space standardized with training statistics; the 'real' "
        "row: half the held-out profiles scored as if synthetic; the gaussian model learns "
        "only class-level statistics); std ratio, LFC r, top50, MMD, aug gain: dispersion, "
        "differential expression and augmentation, when computed; fit s: wall time of "
        "fitting; samples/s: drawing profiles in expression units.</p>",
    ]
    notes = results.get("notes") or []
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    if umap_png is not None:
        b64 = base64.b64encode(umap_png).decode("ascii")
        parts.append(
            f"<h2>UMAP, one panel per model</h2><img alt='UMAP' src='data:image/png;base64,{b64}'>"
        )
    budgets = {m: r.get("details", {}).get("budget") for m, r in results["models"].items()}
    parts.append("<h2>Budgets</h2><pre>" + esc(json.dumps(budgets, indent=2)) + "</pre>")
    parts.append(f"<p>Command: <code>{esc(results.get('command') or '')}</code></p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
