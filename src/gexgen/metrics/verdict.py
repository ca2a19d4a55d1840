"""A verdict per area (fidelity, privacy, dispersion, biology) against the references.

An evaluation lists two dozen figures, each beside its reference (real vs
real, a class-conditional Gaussian, train vs test). This module reads
``metrics.json`` and says, per area, whether the synthetic set stands up to
those references: ``pass`` (within the reference's own spread), ``warn``
(visibly off), ``fail`` (far off) or ``n/a`` (not judged, with the reason),
each with the figures that decided it. The margins are stated once, in
:data:`MARGINS`; a figure without its reference is never judged.
Besides: the label coverage (a synthetic set that leaves the real
reference's label combinations out is scored against all of them), and
:func:`dash_notes`, why each "-" of the summary and the report is empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["AreaVerdict", "MARGINS", "verdicts", "verdict_lines", "dash_notes", "verdict_html"]
__all__ += ["line_colour", "verdict_recap"]

Status = Literal["pass", "warn", "fail", "n/a"]
_ORDER = {"n/a": -1, "pass": 0, "warn": 1, "fail": 2}
_COLOURS = {"pass": "#d7f0d2", "warn": "#fdf0c4", "fail": "#f8d0cc", "n/a": "#eeeeee"}

# (pass, warn) margins: within the first the figure passes, within the second it
# warns, beyond it fails. Each is a distance from the figure's own reference.
MARGINS: dict[str, tuple[float, float]] = {
    "gamma": (0.03, 0.10),  # ceiling (real train vs test) minus gamma
    "detection": (0.10, 0.25),  # AUC minus max(0.5, real-vs-real AUC)
    "ks": (0.05, 0.15),  # per-gene KS median minus real-vs-real's
    "mia": (0.02, 0.05),  # MIA AUC minus max(0.5, Gaussian, held-out half)
    "dcr_p5": (0.02, 0.05),  # share below the held-out 5th percentile minus 0.05
    "std_ratio": (math.log(1.1), math.log(1.3)),  # |log ratio| minus train/test's
    "lfc_r": (0.05, 0.15),  # train/test fold-change r minus synthetic's
    "top50": (0.10, 0.25),  # train/test top-50 recall minus synthetic's
    "tstr": (0.05, 0.15),  # trained-on-real balanced accuracy minus trained-on-synthetic
}


@dataclass(frozen=True)
class AreaVerdict:
    area: str
    status: Status
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"area": self.area, "status": self.status, "reason": self.reason}


def _grade(distance: float, margin: str) -> Status:
    ok, warn = MARGINS[margin]
    return "pass" if distance <= ok else "warn" if distance <= warn else "fail"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _get(m: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(m, dict):
            return None
        m = m.get(key)
    return m


def _area(name: str, parts: list[tuple[Status, str]], missing: str) -> AreaVerdict:
    judged = [p for p in parts if p[0] != "n/a"]
    if not judged:
        reasons = "; ".join(text for _, text in parts) or missing
        return AreaVerdict(name, "n/a", reasons)
    status = max((s for s, _ in judged), key=_ORDER.__getitem__)
    # the deciding figures first, then the rest
    ordered = sorted(parts, key=lambda p: -_ORDER[p[0]])
    return AreaVerdict(name, status, "; ".join(f"{text} [{s}]" for s, text in ordered))


def _fidelity(m: dict[str, Any]) -> AreaVerdict:
    parts: list[tuple[Status, str]] = []
    gamma, ceiling = _num(_get(m, "gamma", "gamma")), _num(_get(m, "gamma_ceiling", "gamma"))
    if gamma is not None:
        if ceiling is None:
            parts.append(("n/a", f"gamma {gamma:.4f} has no real-vs-real ceiling"))
        else:
            parts.append(
                (_grade(ceiling - gamma, "gamma"), f"gamma {gamma:.4f} vs ceiling {ceiling:.4f}")
            )
    probe = _get(m, "detection", "nonlinear")
    which = "gradient-boosted"
    if _num(_get(probe, "auc")) is None:
        probe, which = m.get("detection"), "logistic"
    auc, ref = _num(_get(probe, "auc")), _num(_get(probe, "reference", "auc"))
    against = _num(_get(probe, "reference", "verdict_against"))  # a skipped reference's stand-in
    if auc is not None:
        if ref is None and against is None:
            parts.append(("n/a", f"detection AUC {auc:.3f} has no real-vs-real reference"))
        else:
            shown = (
                f"real-vs-real {ref:.3f}"
                if ref is not None
                else f"{against:.1f} (real-vs-real not computed)"
            )
            base = ref if ref is not None else against
            parts.append(
                (
                    _grade(auc - max(0.5, base), "detection"),
                    f"detection AUC ({which}) {auc:.3f} vs {shown}",
                )
            )
    ks, ks_ref = _num(_get(m, "marginals", "ks_median")), None
    ks_ref = _num(_get(m, "marginals", "reference", "ks_median"))
    if ks is not None and ks_ref is not None:
        parts.append(
            (_grade(ks - ks_ref, "ks"), f"KS median {ks:.3f} vs real-vs-real {ks_ref:.3f}")
        )
    return _area("fidelity", parts, "no fidelity metric computed")


def _privacy(m: dict[str, Any]) -> AreaVerdict:
    p = m.get("privacy")
    if not isinstance(p, dict):
        return AreaVerdict("privacy", "n/a", "privacy not computed")
    if _num(p.get("mia_auc")) is None:
        return AreaVerdict("privacy", "n/a", str(p.get("skipped") or "no membership inference"))
    mia = float(p["mia_auc"])
    gauss = _num(_get(p, "reference", "gaussian", "mia_auc"))
    half = _num(_get(p, "reference", "holdout_half", "mia_auc"))
    ref = max([0.5] + [r for r in (gauss, half) if r is not None])
    shown = f"Gaussian {gauss:.3f}" if gauss is not None else "0.5 = no leakage"
    parts: list[tuple[Status, str]] = [
        (_grade(mia - ref, "mia"), f"membership-inference AUC {mia:.3f} ({shown})")
    ]
    below = _num(p.get("dcr_below_holdout_p5"))
    if below is not None:
        parts.append(
            (
                _grade(below - 0.05, "dcr_p5"),
                f"{below:.3f} of synthetic closer to training than the held-out 5th percentile "
                "(0.05 by chance)",
            )
        )
    return _area("privacy", parts, "")


def _dispersion(m: dict[str, Any]) -> AreaVerdict:
    d = m.get("dispersion")
    ratio = _num(_get(d, "std_ratio_median"))
    if ratio is None or ratio <= 0:
        return AreaVerdict("dispersion", "n/a", "dispersion not computed")
    ref = _num(_get(d, "reference", "std_ratio_median"))
    if ref is None or ref <= 0:
        return AreaVerdict(
            "dispersion", "n/a", f"std ratio {ratio:.3f} has no train/test reference"
        )
    distance = abs(math.log(ratio)) - abs(math.log(ref))
    text = f"median synthetic/real per-gene std {ratio:.3f} (train/test {ref:.3f}; 1 = same spread)"
    return _area("dispersion", [(_grade(distance, "std_ratio"), text)], "")


def _biology(m: dict[str, Any]) -> AreaVerdict:
    parts: list[tuple[Status, str]] = []
    de = m.get("de")
    if isinstance(de, dict):
        for key, margin, what in (("lfc_r", "lfc_r", "fold-change r"), ("top50_recall", "top50",
                                  f"top-{de.get('top_n', 50)} DE recall")):  # fmt: skip
            value, ref = _num(de.get(key)), _num(_get(de, "reference", key))
            if value is not None and ref is not None:
                parts.append(
                    (_grade(ref - value, margin), f"{what} {value:.3f} (train/test {ref:.3f})")
                )
        if not de.get("n_contrasts"):
            parts.append(("n/a", "no DE contrast has synthetic rows on both sides"))
    for column, entry in (m.get("tstr") or {}).items():
        synth = _num(_get(entry, "train_synthetic", "balanced_accuracy"))
        real = _num(_get(entry, "train_real", "balanced_accuracy"))
        if synth is not None and real is not None:
            parts.append(
                (
                    _grade(real - synth, "tstr"),
                    f"{column} classifier trained on synthetic {synth:.3f} (on real {real:.3f})",
                )
            )
    return _area("biology", parts, "no DE or TSTR figure with its reference")


def _coverage(m: dict[str, Any]) -> AreaVerdict | None:
    c = m.get("label_coverage")
    if not isinstance(c, dict) or "n_covered" not in c:
        return None
    n, total = c["n_covered"], c["n_real_combinations"]
    if n == total:
        return AreaVerdict("coverage", "pass", f"synthetic covers all {total} label combinations")
    return AreaVerdict(
        "coverage",
        "warn",
        f"synthetic covers {n} of {total} label combinations; scores are against all {total}",
    )


def verdicts(metrics: dict[str, Any]) -> list[AreaVerdict]:
    """One verdict per area, then label coverage (when labels were scored)."""
    found = [_fidelity(metrics), _privacy(metrics), _dispersion(metrics), _biology(metrics)]
    coverage = _coverage(metrics)
    return found + ([coverage] if coverage else [])


def verdict_lines(metrics: dict[str, Any]) -> list[str]:
    """``verdict: fidelity PASS - gamma ... [pass]; ...``, one line per area."""
    return [f"verdict: {v.area} {v.status.upper()} - {v.reason}" for v in verdicts(metrics)]


def verdict_recap(metrics: dict[str, Any]) -> str:
    """``verdict: overall FAIL - fidelity FAIL, privacy PASS, ...``: the worst judged area
    first, then each area's status (the reasons are in :func:`verdict_lines`)."""
    areas = verdicts(metrics)
    judged = [v.status for v in areas if v.status != "n/a"]
    overall = max(judged, key=_ORDER.__getitem__) if judged else "n/a"
    listed = ", ".join(f"{v.area} {v.status.upper()}" for v in areas)
    return f"verdict: overall {overall.upper()} - {listed} (the reasons: the verdict lines above)"


def line_colour(line: str) -> str | None:
    """The terminal colour of a summary line: green / yellow / red verdicts, else None."""
    if not line.startswith("verdict: "):
        return None
    status = line.split(" - ", 1)[0].rsplit(" ", 1)[-1].lower()
    return {"pass": "green", "warn": "yellow", "fail": "red"}.get(status)


# -- why a figure shows "-" -------------------------------------------------------

_SKIP_WALK = frozenset({"config", "inputs", "contrasts", "groups", "by_label", "genes"})


def _skips(m: Any, path: tuple[str, ...], out: list[tuple[str, str]]) -> None:
    if not isinstance(m, dict):
        return
    if isinstance(m.get("skipped"), str):
        out.append((" ".join(path).replace("_", " "), m["skipped"]))
    for key, value in m.items():
        if key not in _SKIP_WALK and isinstance(value, dict):
            _skips(value, (*path, str(key)), out)


def dash_notes(metrics: dict[str, Any]) -> list[str]:
    """Why each "-" (a figure not computed) is empty, one line per reason."""
    found: list[tuple[str, str]] = []
    _skips(metrics, (), found)
    de = metrics.get("de")
    if isinstance(de, dict) and not de.get("n_contrasts"):
        found.append(
            (
                "de fold-change r, top-N recall",
                "no contrast (two label values, the others fixed) has real and synthetic "
                "rows on both sides",
            )
        )
    for column, entry in (metrics.get("tstr") or {}).items():
        if isinstance(entry, dict) and "train_synthetic" in entry and not entry.get("train_real"):
            found.append(
                (f"tstr {column} on real", "no real train split to train the classifier on")
            )
    dispersion = metrics.get("dispersion")
    if isinstance(dispersion, dict) and dispersion.get("reference") is None:
        found.append(("dispersion train/test", "no real train split to compare with"))
    by_reason: dict[str, list[str]] = {}
    for where, reason in found:
        by_reason.setdefault(reason, []).append(where)
    return [f"'-' in {', '.join(where)}: {reason}" for reason, where in by_reason.items()]


def verdict_html(metrics: dict[str, Any], escape: Any) -> str:
    """The report's opening: a colour-coded verdict table and what each "-" means.

    ``escape`` turns data-derived text into HTML (the report's own escaper).
    """
    rows = "".join(
        f"<tr style='background:{_COLOURS[v.status]}'><td><b>{escape(v.area)}</b></td>"
        f"<td><b>{escape(v.status.upper())}</b></td><td>{escape(v.reason)}</td></tr>"
        for v in verdicts(metrics)
    )
    parts = [
        "<h2>Verdict</h2>",
        "<table><tr><th>area</th><th>verdict</th><th>against the references</th></tr>",
        rows,
        "</table>",
    ]
    dashes = dash_notes(metrics)
    if dashes:
        parts.append(
            '<p>What a "-" means:</p><ul>'
            + "".join(f"<li>{escape(d)}</li>" for d in dashes)
            + "</ul>"
        )
    return "".join(parts)
