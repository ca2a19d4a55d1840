"""One line per headline figure of an evaluation, for terminals and logs."""

from __future__ import annotations

from typing import Any

from gexgen.metrics._attack_summary import attack_lines
from gexgen.metrics.verdict import dash_notes, verdict_lines

__all__ = ["summary_lines"]


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def _privacy_lines(p: Any) -> list[str]:
    """The privacy figures, each beside its references."""
    if not isinstance(p, dict) or "mia_auc" not in p:
        return [] if not isinstance(p, dict) else [f"privacy: skipped ({p.get('skipped')})"]
    refs = p.get("reference") or {}
    gauss, half = refs.get("gaussian") or {}, refs.get("holdout_half") or {}
    return [
        f"privacy: membership-inference AUC {_fmt(p['mia_auc'])} +- {_fmt(p['mia_auc_sd'])} "
        f"(0.5 = no leakage; class-conditional Gaussian {_fmt(gauss.get('mia_auc'))}, "
        f"held-out real {_fmt(half.get('mia_auc'))}; {p['n_synthetic']} synthetic profiles)",
        f"privacy: closer to train {_fmt(p['closer_to_train_share'])} "
        f"(chance {_fmt(p['closer_to_train_chance'])}, Gaussian "
        f"{_fmt(gauss.get('closer_to_train_share'))}), distance-to-closest-record ratio "
        f"{_fmt(p['dcr_median_ratio'])} (held-out real {_fmt(half.get('dcr_median_ratio'))}), "
        f"below held-out p5 {_fmt(p['dcr_below_holdout_p5'])} (0.05)",
    ]


def _probe_lines(m: dict[str, Any]) -> list[str]:
    """The gradient-boosted detection AUC and the per-gene KS / W1, beside real vs real."""
    lines = []
    nl = (m.get("detection") or {}).get("nonlinear")
    if isinstance(nl, dict):
        top = ", ".join(g["gene"] for g in nl.get("top_genes", [])[:3])
        lines.append(
            f"detection AUC (gradient-boosted) {_fmt(nl['auc'])} +- {_fmt(nl['auc_std'])} "
            f"(real-vs-real {_fmt((nl.get('reference') or {}).get('auc'))}; "
            f"{nl['n_per_class']} per class; top genes {top or '-'})"
        )
    k = m.get("marginals")
    if isinstance(k, dict) and "ks_median" in k:
        ref = k.get("reference") or {}
        lines.append(
            f"marginals: KS median {_fmt(k['ks_median'])} (real-vs-real "
            f"{_fmt(ref.get('ks_median'))}), max {_fmt(k['ks_max'])} "
            f"({_fmt(ref.get('ks_max'))}); W1 median {_fmt(k['w1_median'])} "
            f"({_fmt(ref.get('w1_median'))}), max {_fmt(k['w1_max'])} ({_fmt(ref.get('w1_max'))})"
        )
    return lines


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """A verdict per area, then the headline figures of an evaluation, one per line."""
    lines = verdict_lines(metrics)
    lines += [
        f"real: {metrics['n_real']} profiles ({metrics['inputs']['real_rows']}), "
        f"synthetic: {metrics['n_synthetic']}, genes scored: {metrics['genes']['shared']}"
    ]
    if "gamma" in metrics:
        lines.append(
            f"gamma {_fmt(metrics['gamma']['gamma'])} "
            f"(real-vs-real ceiling {_fmt(metrics['gamma_ceiling'].get('gamma'))})"
        )
    if "prdc" in metrics:
        p = metrics["prdc"]
        lines.append(
            f"precision {_fmt(p['precision'])}  recall {_fmt(p['recall'])}  "
            f"density {_fmt(p['density'])}  coverage {_fmt(p['coverage'])}  (k={p['k']}"
            + (
                f", {p['n_real']} vs {p['n_synthetic']}, mean of {p['n_draws']} draws)"
                if p.get("equal_sizes")
                else ")"
            )
        )
    if "detection" in metrics:
        d = metrics["detection"]
        ref = (d.get("reference") or {}).get("auc")
        lines.append(
            f"detection AUC {_fmt(d['auc'])} +- {_fmt(d['auc_std'])} (0.5 is ideal"
            + ("" if ref is None else f"; real-vs-real {_fmt(ref)}")
            + ")"
        )
    lines.extend(_probe_lines(metrics))
    for column, entry in (metrics.get("tstr") or {}).items():
        if isinstance(entry, dict) and "train_synthetic" in entry:
            real = (entry.get("train_real") or {}).get("balanced_accuracy")
            lines.append(
                f"{column}: balanced accuracy trained on synthetic "
                f"{_fmt(entry['train_synthetic'].get('balanced_accuracy'))}, on real {_fmt(real)}"
            )
    if "gene_moments" in metrics:
        o = metrics["gene_moments"]["overall"]
        lines.append(f"per-gene mean r {_fmt(o['mean_r'])}, std r {_fmt(o['std_r'])}")
    lines.extend(_privacy_lines(metrics.get("privacy")))
    lines.extend(attack_lines(metrics.get("privacy")))
    if "dispersion" in metrics:
        d, ref = metrics["dispersion"], metrics["dispersion"].get("reference") or {}
        lines.append(
            f"dispersion: median synthetic/real std {_fmt(d['std_ratio_median'])} "
            f"(train/test {_fmt(ref.get('std_ratio_median'))}), within 10% "
            f"{_fmt(d['within_10pct_share'])} (train/test {_fmt(ref.get('within_10pct_share'))})"
        )
    if "de" in metrics:
        de, ref = metrics["de"], metrics["de"].get("reference") or {}
        lines.append(
            f"fold-change r {_fmt(de['lfc_r'])} (train/test {_fmt(ref.get('lfc_r'))}), "
            f"top-{de['top_n']} recall {_fmt(de['top50_recall'])} "
            f"(train/test {_fmt(ref.get('top50_recall'))}) over {de['n_contrasts']} contrasts; "
            f"MMD2 {_fmt(de.get('mmd'))} (train/test {_fmt(ref.get('mmd'))})"
        )
    augmentation = metrics.get("augmentation") or {}
    if augmentation.get("mean_gain") is not None:
        lines.append(
            f"augmentation ({augmentation['label']}): mean balanced-accuracy gain "
            f"{augmentation['mean_gain']:+.4f} with {augmentation['n_synthetic_per_class']} "
            "synthetic profiles per class"
        )
    lines.extend(f"note: {n}" for n in metrics.get("notes", []))
    lines.extend(dash_notes(metrics))
    return lines
