"""Summary lines of ``privacy.attacks``: the worst attack, each beside the Gaussian reference."""

from __future__ import annotations

from typing import Any

__all__ = ["attack_lines"]


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def attack_lines(privacy: Any) -> list[str]:
    """The worst data-only attack (by AUC, by TPR at 1% FPR) and the generator-file attack."""
    a = privacy.get("attacks") if isinstance(privacy, dict) else None
    if not isinstance(a, dict):
        return []
    if "worst_auc" not in a:
        return [f"attacks: skipped ({a.get('skipped')})"] if a.get("skipped") else []
    refs = a.get("reference") or {}
    g, h = refs.get("gaussian") or {}, refs.get("holdout_half") or {}
    lines = [
        f"attacks: worst AUC {_f(a['worst_auc'])} ({a['worst_auc_attack']}; class-conditional "
        f"Gaussian {_f(g.get('worst_auc'))}, held-out real {_f(h.get('worst_auc'))}), worst "
        f"TPR at 1% FPR {_f(a['worst_tpr_at_1pct_fpr'])} ({a['worst_tpr_at_1pct_fpr_attack']}; "
        f"Gaussian {_f(g.get('worst_tpr_at_1pct_fpr'))}); {len(a['attacks'])} attacks, "
        f"{a['n_per_group']} members vs {a['n_per_group']} non-members x {a['n_draws']} draws"
    ]
    f = a.get("generator_file")
    if isinstance(f, dict) and "auc" in f:
        fg = (f.get("reference") or {}).get("gaussian") or {}
        lines.append(
            f"attacks: generator file (latent search, {f['draws_per_combination']:,} draws per "
            f"label combination) AUC {_f(f['auc'])}, TPR at 1% FPR {_f(f['tpr_at_1pct_fpr'])} "
            f"(Gaussian {_f(fg.get('auc'))}, {_f(fg.get('tpr_at_1pct_fpr'))})"
        )
    return lines


def attack_rows(privacy: Any) -> list[tuple[str, str, str]]:
    """(figure, value, references) rows of the report's table for ``privacy.attacks``."""
    a = privacy.get("attacks") if isinstance(privacy, dict) else None
    if not isinstance(a, dict) or "worst_auc" not in a:
        return []
    refs = a.get("reference") or {}
    g, h = refs.get("gaussian") or {}, refs.get("holdout_half") or {}
    rows = [
        (
            f"worst membership-inference attack AUC ({a['worst_auc_attack']})",
            _f(a["worst_auc"]),
            f"gaussian: {_f(g.get('worst_auc'))}; holdout half: {_f(h.get('worst_auc'))}",
        ),
        (
            f"worst attack TPR at 1% FPR ({a['worst_tpr_at_1pct_fpr_attack']})",
            _f(a["worst_tpr_at_1pct_fpr"]),
            f"gaussian: {_f(g.get('worst_tpr_at_1pct_fpr'))}; holdout half: "
            f"{_f(h.get('worst_tpr_at_1pct_fpr'))}",
        ),
    ]
    f = a.get("generator_file")
    if isinstance(f, dict) and "auc" in f:
        fg = (f.get("reference") or {}).get("gaussian") or {}
        rows.append(
            (
                f"attack on the generator file AUC / TPR at 1% FPR ({f['mode']})",
                f"{_f(f['auc'])} / {_f(f['tpr_at_1pct_fpr'])}",
                f"gaussian: {_f(fg.get('auc'))} / {_f(fg.get('tpr_at_1pct_fpr'))}",
            )
        )
    return rows
