"""`make demo` prints the privacy line beside gamma, whatever the metrics version wrote."""

from __future__ import annotations

from gexgen.demo import privacy_line
from gexgen.runtime.generator_info import _training_lines


def test_privacy_line_reads_metrics_tolerantly():
    line = privacy_line(
        {"gamma": {"gamma": 0.9629}, "privacy": {"mia_auc": 0.5624, "closer_to_train_share": 0.62}}
    )
    assert line.startswith("gamma 0.9629") and "membership-inference AUC 0.5624" in line
    assert "closer-to-train share 0.6200" in line
    nested = privacy_line({"gamma": {"gamma": 0.9}, "privacy": {"mia_auc": 0.5,
                           "closer_to_train_share": {"value": 0.7}}})  # fmt: skip
    assert "closer-to-train share 0.7000" in nested
    assert "not computed" in privacy_line({"gamma": {"gamma": 0.9}})
    assert "not computed" in privacy_line({"privacy": {"skipped": "no train split"}})


def test_info_lines_show_selection_noise_and_dp():
    lines = _training_lines(
        {
            "selection": {"kept_epoch": 150, "criterion": "balanced score",
                          "refit": {"epochs": 150, "rows": 756, "rows_used": "fitted + val"}},
            "observation_noise": "calibrated",
            "privacy": {"dp_epsilon": 10.0, "epsilon_spent": 9.97, "dp_delta": 1e-3,
                        "mechanism": "DP-SGD (Opacus)"},
        }
    )  # fmt: skip
    text = "\n".join(lines)
    assert "kept epoch 150 (balanced score)" in text and "observation noise: calibrated" in text
    assert "refit: 150 epochs retrained on 756 rows (fitted + val)" in text
    assert "epsilon 10.0 (spent 9.97), delta 0.001" in text
    assert "no formal guarantee" in "\n".join(_training_lines({}))
