"""The benchmark table's worst-attack columns, and the held-out reference in the real row."""

from __future__ import annotations

from gexgen.benchmark.scoring import format_table, reference_row, summary_row


def _metrics(worst: float, tpr: float) -> dict:
    half = {"worst_auc": 0.51, "worst_tpr_at_1pct_fpr": 0.02}
    attacks = {
        "worst_auc": worst,
        "worst_tpr_at_1pct_fpr": tpr,
        "reference": {"holdout_half": half},
    }
    return {"gamma": {"gamma": 0.95}, "gamma_ceiling": {"gamma": 0.99}, "privacy": {
        "mia_auc": 0.55, "attacks": attacks}}  # fmt: skip


def test_worst_attack_columns():
    m = _metrics(0.593, 0.031)
    rows = [reference_row(m), summary_row("cvae", m, None)]
    assert (rows[1]["attack_auc"], rows[1]["attack_tpr_1pct"]) == (0.593, 0.031)
    assert (rows[0]["attack_auc"], rows[0]["attack_tpr_1pct"]) == (0.51, 0.02)
    lines = format_table(rows).splitlines()
    assert "atk AUC" in lines[0] and "atk TPR1%" in lines[0]
    assert "0.593" in lines[3] and "0.031" in lines[3] and "0.510" in lines[2]
    older = format_table([summary_row("cvae", {"gamma": {"gamma": 0.9}}, None)])
    assert "atk AUC" not in older  # results without attacks get no column
