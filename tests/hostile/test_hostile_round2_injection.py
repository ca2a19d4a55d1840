"""Round 2, injection and spoofing: CSV formulas, invisible characters in `info`."""

from __future__ import annotations

import csv

import numpy as np

from conftest import write_generator

FORMULA_LABELS = {"tissue": ["=HYPERLINK(1)", "+cmd", "-x", "@SUM(A1)", "lung"], "status": ["n"]}


def test_csv_output_never_starts_a_text_cell_with_a_formula(cli, tmp_path):
    from gexgen.runtime import open_profiles

    genes = {"symbols": ["=G0", "+G1", "@G2", *[f"G{j}" for j in range(3, 12)]]}
    gen = write_generator(
        tmp_path / "g.onnx", labels=FORMULA_LABELS, metadata_overrides={"genes": genes}
    ).path
    out = tmp_path / "x.csv"
    ok = cli("generate", gen, "--n", 25, "--out", out, "--no-progress", "--mix", "uniform")
    assert ok.exit_code == 0, ok.output
    with open(out, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    text = header + [cell for row in body for cell in row[12:]]
    assert not [c for c in text if c[:1] in ("=", "+", "@") or (c[:1] == "-" and c[1:2] == "x")]
    assert "'=G0" in header and any(row[12] == "'=HYPERLINK(1)" for row in body)
    # gexgen reads its own file back as written
    table = open_profiles(out)
    assert table.genes[:3] == ["=G0", "+G1", "@G2"]
    assert set(table.labels["tissue"].astype(str)) <= set(FORMULA_LABELS["tissue"])
    assert np.isfinite(table.read()).all()


def test_info_shows_invisible_characters_in_label_values(cli, tmp_path):
    labels = {"tissue": ["lung", "lu\u200bng", "lung\ufeff"], "status": ["n"]}
    gen = write_generator(tmp_path / "g.onnx", labels=labels).path
    result = cli("info", gen)
    assert result.exit_code == 0, result.output
    assert "\\u200b" in result.output and "\\ufeff" in result.output
    assert "\u200b" not in result.output and "\ufeff" not in result.output
