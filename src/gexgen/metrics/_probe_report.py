"""The report's rows, tables and figure for the gradient-boosted probe and the marginals.

Rows go into the metric table (each beside its real train-vs-test
reference); the section lists the genes the probe splits on most and the
genes with the largest KS; the figure draws real against synthetic
histograms of the probe's top genes (:mod:`gexgen.metrics.figures`'
colours, ``plain_text`` for gene names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gexgen.metrics.evaluation import Evaluation

__all__ = ["probe_rows", "probe_sections", "top_gene_figure", "FIGURE_GENES"]

FIGURE_GENES = 6  # top probe genes drawn as histograms


def _fmt(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _nonlinear(m: dict[str, Any]) -> dict[str, Any] | None:
    nl = (m.get("detection") or {}).get("nonlinear")
    return nl if isinstance(nl, dict) else None


def probe_rows(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, reference) rows: linear reference, gradient-boosted AUC, KS and W1."""
    rows: list[tuple[str, str, str]] = []
    ref = (m.get("detection") or {}).get("reference") or {}
    if ref:
        rows.append(
            (
                "detection AUC, real train vs test (same logistic probe)",
                _fmt(ref.get("auc")),
                ref.get("skipped") or "the real-vs-real figure for the AUC above",
            )
        )
    nl = _nonlinear(m)
    if nl is not None:
        nref = nl.get("reference") or {}
        rows.append(
            (
                "detection AUC, gradient-boosted trees (0.5 ideal)",
                f"{nl['auc']:.4f} \u00b1 {nl['auc_std']:.4f}",
                f"real train vs test: {_fmt(nref.get('auc'))}"
                + (f" ({nref['skipped']})" if nref.get("skipped") else "")
                + f"; {nl['n_folds']}-fold, {nl['n_per_class']} per class",
            )
        )
    k = m.get("marginals")
    if isinstance(k, dict) and "ks_median" in k:
        kref = k.get("reference") or {}
        for key, what in (
            ("ks", "per-gene KS statistic, median (max) over genes (0 ideal)"),
            ("w1", "per-gene Wasserstein-1 in log2 units, median (max) over genes"),
        ):
            rows.append(
                (
                    what,
                    f"{_fmt(k[f'{key}_median'])} ({_fmt(k[f'{key}_max'])})",
                    f"real train vs test: {_fmt(kref.get(f'{key}_median'))} "
                    f"({_fmt(kref.get(f'{key}_max'))})",
                )
            )
    return rows


def probe_sections(m: dict[str, Any], table: Callable[[list[str], list[tuple]], str]) -> list[str]:
    """HTML: the probe's top genes and the worst marginals (``table`` escapes every cell)."""
    parts = []
    nl = _nonlinear(m)
    if nl is not None and nl.get("top_genes"):
        parts.append(
            "<h2>Genes the gradient-boosted probe relies on</h2><p>Share of the split gain "
            "summed over the trees of the fold models; mean and sd over the rows it saw.</p>"
        )
        rows = [
            (
                g["gene"],
                _fmt(g["importance"], 3),
                f"{_fmt(g['real_mean'], 3)} \u00b1 {_fmt(g['real_sd'], 3)}",
                f"{_fmt(g['synthetic_mean'], 3)} \u00b1 {_fmt(g['synthetic_sd'], 3)}",
            )
            for g in nl["top_genes"]
        ]
        parts.append(table(["gene", "gain share", "real mean \u00b1 sd", "synthetic"], rows))
    k = m.get("marginals")
    if isinstance(k, dict) and k.get("worst_genes"):
        parts.append("<h2>Genes with the largest per-gene KS statistic</h2>")
        rows = [
            (
                g["gene"],
                _fmt(g["ks"], 3),
                _fmt(g["w1"], 3),
                f"{_fmt(g['real_mean'], 3)} \u00b1 {_fmt(g['real_sd'], 3)}",
                f"{_fmt(g['synthetic_mean'], 3)} \u00b1 {_fmt(g['synthetic_sd'], 3)}",
            )
            for g in k["worst_genes"]
        ]
        parts.append(table(["gene", "KS", "W1", "real mean \u00b1 sd", "synthetic"], rows))
    return parts


def top_gene_figure(evaluation: Evaluation, n: int = FIGURE_GENES) -> str:
    """Real vs synthetic histograms (shared bins) of the probe's top ``n`` genes."""
    from matplotlib.figure import Figure

    from gexgen.metrics.figures import REAL_COLOUR, SYNTH_COLOUR, plain_text, png

    top = (_nonlinear(evaluation.metrics) or {}).get("top_genes", [])[:n]
    index = {g: j for j, g in enumerate(evaluation.genes)}
    top = [g for g in top if g["gene"] in index]
    if not top:
        raise ValueError("no top genes of the gradient-boosted probe among the scored genes")
    cols = min(3, len(top))
    rows = -(-len(top) // cols)
    fig = Figure(figsize=(3.6 * cols, 2.8 * rows))
    for i, g in enumerate(top):
        ax = fig.add_subplot(rows, cols, i + 1)
        j = index[g["gene"]]
        real = evaluation.real.sample[:, j]
        synth = evaluation.synthetic.sample[:, j]
        edges = np.histogram_bin_edges(np.r_[real, synth], bins=30)
        for values, colour, label in (
            (real, REAL_COLOUR, "real"),
            (synth, SYNTH_COLOUR, "synthetic"),
        ):
            counts, _ = np.histogram(values, bins=edges)
            ax.stairs(counts / max(len(values), 1), edges, color=colour, lw=1.4, label=label)
        ax.set_title(f"{plain_text(g['gene'])} (gain share {g['importance']:.3f})", fontsize=9)
        ax.set_xlabel("log2(x + 1)", fontsize=8)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.set_ylabel("share of profiles", fontsize=8)
            ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return png(fig)
