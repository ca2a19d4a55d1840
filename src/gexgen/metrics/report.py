"""The self-contained HTML evaluation report: metric tables and figures as base64 PNGs.

Figures (as in Bong & Oh 2023, plus the checks of issue #11): UMAP of real +
synthetic profiles coloured by each condition label and by real vs synthetic
(real points drawn on top, as outlined circles) - a good generator clusters
by label and not by origin -; per-gene mean and standard deviation; the
real-vs-synthetic gene-gene correlation heatmap; the dispersion (per-gene
std ratio) against its train-vs-test reference; real against synthetic fold
changes; the augmentation curve; distance-to-closest-record histograms
(synthetic vs held-out) when the privacy section is there.

Everything that comes from the data (labels, values, gene names, paths,
notes) is HTML-escaped in one place, :func:`_table` / :func:`_text`, and
escaped for matplotlib's mathtext (``$``) in the figures
(:mod:`gexgen.metrics.figures`). A figure that fails is replaced by a note;
``evaluate`` writes metrics.json before any figure is drawn.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gexgen._atomic import atomic_path
from gexgen.metrics import _probe_report, figures
from gexgen.metrics._attack_figure import attack_roc_figure
from gexgen.metrics._attack_summary import attack_rows
from gexgen.metrics.figures import plain_text, umap_embedding
from gexgen.metrics.verdict import verdict_html

if TYPE_CHECKING:
    from gexgen.metrics.evaluation import EvaluateConfig, Evaluation

__all__ = ["umap_embedding", "write_report", "render_report", "plain_text"]


def _text(value: Any) -> str:
    """Data-derived text for HTML (escaped)."""
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    """A number for a table cell (plain text; :func:`_table` escapes)."""
    if value is None:
        return "-"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}"
    return str(value)


def _privacy_rows(p: dict[str, Any]) -> list[tuple[str, str, str]]:
    refs = p.get("reference") or {}
    rows = []
    for key, what in (
        ("mia_auc", "membership-inference AUC (0.5 = no leakage)"),
        ("closer_to_train_share", "synthetic closer to a training than a held-out profile"),
        ("dcr_median_ratio", "median distance to closest record, synthetic / held-out"),
        ("dcr_below_holdout_p5", "synthetic below the held-out 5th-percentile distance"),
    ):
        if key not in p:
            continue
        parts = [
            f"{name.replace('_', ' ')}: {_fmt(ref.get(key))}"
            for name, ref in refs.items()
            if isinstance(ref, dict) and key in ref
        ]
        rows.append((what, _fmt(p[key]), "; ".join(parts) or "-"))
    return rows


def _metric_rows(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, value, reference) rows, plain text."""
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
                f"{d['auc']:.4f} \u00b1 {d['auc_std']:.4f}",
                f"{d['classifier']}, {d['n_folds']}-fold, {d['n_per_class']} per class",
            )
        )
    rows.extend(_probe_report.probe_rows(m))  # real-vs-real, gradient-boosted, marginals
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
        for key, what in (("mean_r", "mean"), ("std_r", "std")):
            rows.append(
                (
                    f"per-gene {what} r",
                    _fmt(o[key]),
                    f"median over label combinations {_fmt(m['gene_moments'][f'median_{key}'])}",
                )
            )
    if "dispersion" in m:
        d, ref = m["dispersion"], m["dispersion"].get("reference") or {}
        rows.append(
            (
                "dispersion: median synthetic / real per-gene std (1 ideal)",
                _fmt(d["std_ratio_median"]),
                f"real train / test: {_fmt(ref.get('std_ratio_median'))}",
            )
        )
        rows.append(
            (
                "dispersion: share of genes within \u00b110% of the real std",
                _fmt(d["within_10pct_share"]),
                f"real train / test: {_fmt(ref.get('within_10pct_share'))}",
            )
        )
        rows.append(
            (
                "dispersion: median (lowest) over label combinations",
                f"{_fmt(d['group_std_ratio_median'])} ({_fmt(d['group_std_ratio_min'])})",
                f"real train / test: {_fmt(ref.get('group_std_ratio_median'))} "
                f"({_fmt(ref.get('group_std_ratio_min'))})",
            )
        )
    if "de" in m:
        de, ref = m["de"], m["de"].get("reference") or {}
        for label, entry in (de.get("by_label") or {}).items():
            r_entry = (ref.get("by_label") or {}).get(label, {})
            rows.append(
                (
                    f"{label} contrasts: fold-change r (median of {entry['n_contrasts']})",
                    _fmt(entry["lfc_r"]),
                    f"real train vs test: {_fmt(r_entry.get('lfc_r'))}",
                )
            )
            rows.append(
                (
                    f"{label} contrasts: top-{de['top_n']} recall by |Welch t| (median)",
                    _fmt(entry["top50_recall"]),
                    f"real train vs test: {_fmt(r_entry.get('top50_recall'))}",
                )
            )
        if de.get("mmd") is not None:
            rows.append(
                (
                    "RBF MMD\u00b2 (median-heuristic width; 0 ideal)",
                    _fmt(de["mmd"], 5),
                    f"real train vs test: {_fmt(ref.get('mmd'), 5)}; "
                    f"{(de.get('mmd_detail') or {}).get('n_per_set')} rows per set",
                )
            )
    a = m.get("augmentation") or {}
    if a.get("mean_gain") is not None:
        rows.append(
            (
                f"augmentation: mean balanced-accuracy gain ({a['label']}, "
                f"+{a['n_synthetic_per_class']} synthetic per class)",
                f"{a['mean_gain']:+.4f}",
                "k = " + ", ".join(f"{c['k']}: {c['gain']:+.3f}" for c in a["curve"]),
            )
        )
    if isinstance(m.get("privacy"), dict):
        rows.extend(_privacy_rows(m["privacy"]))
        rows.extend(attack_rows(m["privacy"]))  # privacy.attacks: the worst attack, the .onnx
    return rows


def _table(header: list[str], rows: list[tuple[Any, ...]]) -> str:
    """An HTML table; every header and cell is escaped here."""
    head = "".join(f"<th>{_text(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_text(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _figures(evaluation: Evaluation, config: EvaluateConfig) -> list[tuple[str, str, Any]]:
    """(file name, title, drawing function) for every figure this evaluation can show."""
    m = evaluation.metrics
    real, synth = evaluation.real, evaluation.synthetic
    out: list[tuple[str, str, Any]] = []
    umap: dict[str, Any] = {}

    def embedding() -> Any:
        if not umap:
            emb, real_rows, synth_rows, note = umap_embedding(
                real.sample, synth.sample, seed=config.seed, max_per_set=config.umap_max_samples
            )
            if note:
                m.setdefault("notes", []).append(note)
            is_synth = np.r_[np.zeros(len(real_rows), bool), np.ones(len(synth_rows), bool)]
            umap.update(emb=emb, real_rows=real_rows, synth_rows=synth_rows, is_synth=is_synth)
        return umap

    def umap_by(col: str) -> Callable[[], str]:
        def draw() -> str:
            u = embedding()
            groups = np.r_[
                real.sample_labels[col].astype(str).to_numpy()[u["real_rows"]],
                synth.sample_labels[col].astype(str).to_numpy()[u["synth_rows"]],
            ]
            return figures.umap_figure(u["emb"], groups, u["is_synth"], col)

        return draw

    def umap_origin() -> str:
        u = embedding()
        origin = np.where(u["is_synth"], "synthetic", "real")
        colours = {"real": figures.REAL_COLOUR, "synthetic": figures.SYNTH_COLOUR}
        return figures.umap_figure(u["emb"], origin, u["is_synth"], "real vs synthetic", colours)

    if config.umap:
        for col in evaluation.label_columns:
            out.append((f"umap_{col}", f"UMAP coloured by {col}", umap_by(col)))
        out.append(("umap_origin", "UMAP coloured by real vs synthetic", umap_origin))
    else:
        m.setdefault("notes", []).append(
            "no UMAP figures (--quick or --no-umap; add --umap to draw them)"
        )
    if "gene_moments" in m:
        out.append(
            (
                "gene_moments",
                "Per-gene mean and standard deviation",
                lambda: figures.moment_figure(evaluation),
            )
        )
    if ((m.get("detection") or {}).get("nonlinear") or {}).get("top_genes"):
        out.append(
            (
                "probe_top_genes",
                "Genes the gradient-boosted probe uses most, real vs synthetic",
                lambda: _probe_report.top_gene_figure(evaluation),
            )
        )
    out.append(
        (
            "gene_correlation",
            "Gene-gene correlation, real vs synthetic",
            lambda: figures.correlation_figure(evaluation),
        )
    )
    if "dispersion" in m:
        out.append(
            (
                "dispersion",
                "Dispersion: per-gene std ratio",
                lambda: figures.dispersion_figure(evaluation),
            )
        )
    if any(c.get("lfc_r") is not None for c in (m.get("de") or {}).get("contrasts", [])):
        out.append(
            (
                "fold_changes",
                "Log2 fold changes, real vs synthetic",
                lambda: figures.fold_change_figure(evaluation),
            )
        )
    if (m.get("augmentation") or {}).get("curve"):
        out.append(
            ("augmentation", "Augmentation curve", lambda: figures.augmentation_figure(evaluation))
        )
    if ((m.get("privacy") or {}).get("attacks") or {}).get("attacks"):
        roc = ("attack_roc", "Membership-inference attacks: ROC at log-scaled false-positive rate")
        out.append((*roc, lambda: attack_roc_figure(evaluation)))
    if isinstance(m.get("privacy"), dict):
        hist = m["privacy"].get("dcr_histogram") or {}
        if hist.get("edges"):
            out.append(
                (
                    "distance_to_closest_record",
                    "Distance to the closest training record, synthetic vs held-out",
                    lambda: figures.privacy_figure(evaluation),
                )
            )
        else:
            m.setdefault("notes", []).append(
                "no distance-to-closest-record histogram: the privacy section holds no "
                "dcr_histogram"
            )
    return out


def render_report(evaluation: Evaluation, config: EvaluateConfig) -> tuple[str, dict[str, bytes]]:
    """The report as one HTML string (figures inline) and the figures as PNG bytes by name.

    A figure that raises is left out and named in the notes (with the error),
    so one bad figure never costs the others or the tables.
    """
    m = evaluation.metrics
    drawn = []
    for name, title, draw in _figures(evaluation, config):
        try:
            drawn.append((name, title, draw()))
        except Exception as exc:  # noqa: BLE001 - a figure must not cost the report
            m.setdefault("notes", []).append(
                f"figure {name!r} not drawn: {type(exc).__name__}: {str(exc).strip()[:300]}"
            )
    notes = m.get("notes", [])
    group_rows = []
    dispersion_groups = (m.get("dispersion") or {}).get("groups") or {}
    for k, g in (m.get("gene_moments", {}).get("groups") or {}).items():
        ratio = (dispersion_groups.get(k) or {}).get("std_ratio_median")
        group_rows.append(
            (
                k,
                _fmt(g.get("mean_r")),
                _fmt(g.get("std_r")),
                _fmt(ratio),
                str(g["n_real"]),
                str(g["n_synthetic"]),
                g.get("skipped", ""),
            )
        )
    inputs = m["inputs"]
    synthetic = inputs["synthetic"] or f"generated by {inputs['model']}"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>gexgen evaluation</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:4px 10px;text-align:left}th{background:#f3f3f3}img{max-width:100%}</style>",
        "</head><body><h1>gexgen evaluation report</h1>",
        f"<p>Real: {_text(inputs['real'])} ({_text(inputs['real_rows'])}, "
        f"{_text(m['n_real'])} profiles)<br>Synthetic: {_text(synthetic)} "
        f"({_text(m['n_synthetic'])} profiles)<br>Genes scored: {_text(m['genes']['shared'])}; "
        f"labels: {_text(', '.join(evaluation.label_columns) or 'none')}; "
        f"seed {_text(inputs['seed'])}; gexgen {_text(m['gexgen_version'])}. "
        "All values on log2(x + 1).</p>",
        verdict_html(m, _text),
        "<h2>Metrics</h2>",
        _table(["metric", "value", "reference"], _metric_rows(m)),
    ]
    parts.extend(_probe_report.probe_sections(m, _table))
    if notes:
        parts.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{_text(n)}</li>" for n in notes) + "</ul>"
        )
    for _, title, png in drawn:
        parts.append(
            f"<h2>{_text(title)}</h2><img alt='{_text(title)}' src='data:image/png;base64,{png}'>"
        )
    if group_rows:
        parts.append("<h2>Per-gene agreement by label combination</h2>")
        header = ["combination", "mean r", "std r", "std ratio", "real", "synthetic", "note"]
        parts.append(_table(header, group_rows))
    parts.append("</body></html>\n")
    pngs = {f"{_safe(name)}.png": base64.b64decode(png) for name, _, png in drawn}
    return "\n".join(parts), pngs


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def write_report(
    evaluation: Evaluation,
    path: str | os.PathLike[str],
    config: EvaluateConfig,
    overwrite: bool = True,
) -> None:
    """Render and write the report atomically; figures also go to ``figures/*.png`` beside it."""
    from gexgen._outputs import refuse_linked_folder

    text, pngs = render_report(evaluation, config)
    folder = Path(path).parent / "figures"
    refuse_linked_folder(folder)  # again at the write: a link planted meanwhile is not followed
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.png"):  # the folder is the report's: no figure of an older run
        if stale.is_file() and not stale.is_symlink() and stale.name not in pngs:
            stale.unlink(missing_ok=True)
    for name, data in pngs.items():
        with atomic_path(folder / name, exclusive=not overwrite) as tmp:
            tmp.write_bytes(data)
    with atomic_path(path, exclusive=not overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
