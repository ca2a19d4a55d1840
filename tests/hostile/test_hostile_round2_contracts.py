"""Round 2, contract breaks and tracebacks: one line (check: exit 2, JSON with --json)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnx
import pytest

from conftest import MATCHED_LABELS, one_error_line, write_generator
from gexgen.errors import GexgenError


def test_check_junit_write_failure_keeps_the_json_contract(
    cli, matched_generator, small_cohort, tmp_path
):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    result = cli("check", matched_generator, "--real", small_cohort, "--n-synthetic", 40,
                 "--min-gamma", -1, "--json", "--junit", blocker / "check.xml")  # fmt: skip
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["passed"] is False and payload["error"]


# ------------------------------------------------ manifests: typed and bounded
def _dataset(cli, generator, folder: Path) -> dict:
    ok = cli("generate", generator, "--n", 30, "--partition-rows", 10, "--out", f"{folder}/",
             "--no-progress", "--workers", 1)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    return json.loads((folder / "_manifest.json").read_text())


@pytest.mark.parametrize(
    "damage",
    ["rows_text", "no_start", "empty", "partitions_dict", "deep"],
)
def test_a_damaged_manifest_gives_one_line(cli, generator, small_cohort, tmp_path, damage):
    folder = tmp_path / "ds"
    manifest = _dataset(cli, generator, folder)
    if damage == "rows_text":
        manifest["partitions"][0]["rows"] = "ten"
    elif damage == "no_start":
        del manifest["partitions"][1]["start"]
    elif damage == "empty":
        manifest["partitions"] = []
    elif damage == "partitions_dict":
        manifest["partitions"] = {"0": 1}
    text = json.dumps(manifest)
    if damage == "deep":
        text = text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (folder / "_manifest.json").write_text(text)
    one_error_line(cli("evaluate", "--real", small_cohort, "--synthetic", folder, "--out",
                       tmp_path / "rep", "--no-progress", "--no-report"))  # fmt: skip
    one_error_line(cli("generate", generator, "--n", 30, "--partition-rows", 10, "--out",
                       f"{folder}/", "--no-progress", "--workers", 1, "--resume"))  # fmt: skip


# ------------------------------------------------ generator metadata: typed and bounded
def _rewrite_metadata(src: Path, dst: Path, edit) -> Path:
    model = onnx.load(src)
    for prop in model.metadata_props:
        if prop.key == "gexgen":
            prop.value = edit(prop.value)
    onnx.save(model, dst)
    return dst


def test_deeply_nested_generator_metadata_gives_one_line(cli, generator, tmp_path):
    gen = _rewrite_metadata(
        generator,
        tmp_path / "deep.onnx",
        lambda v: v[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    )
    one_error_line(cli("info", gen))


@pytest.mark.parametrize("training", [{"n_train": "many"}, {"epochs": 10**400}, {"val_loss": []}])
def test_wrong_types_under_training_give_one_line(cli, tmp_path, training):
    gen = write_generator(tmp_path / "g.onnx", metadata_overrides={"training": training}).path
    err = one_error_line(cli("info", gen))
    assert "training." in err


def test_a_huge_entrez_id_gives_one_line_with_h5ad_output(cli, tmp_path):
    wg = write_generator

    tiny = wg(tmp_path / "g.onnx", labels=MATCHED_LABELS)
    genes = {"symbols": tiny.genes, "entrez_ids": [10**30, *range(1, len(tiny.genes))]}
    gen = wg(tmp_path / "g2.onnx", labels=MATCHED_LABELS, metadata_overrides={"genes": genes})
    one_error_line(cli("generate", gen.path, "--n", 10, "--out", tmp_path / "x.h5ad"))


# ------------------------------------------------ arguments
def test_a_huge_seed_gives_one_line_with_h5ad_output(cli, generator, tmp_path):
    err = one_error_line(cli("generate", generator, "--n", 10, "--seed", 10**26, "--out",
                             tmp_path / "x.h5ad", "--no-progress"))  # fmt: skip
    assert "seed" in err
    assert not (tmp_path / "x.h5ad").exists()


def test_absurd_layer_widths_are_refused_before_allocating():
    from gexgen.train.config import TrainConfig

    with pytest.raises(GexgenError, match="widths in"):
        TrainConfig(encoder_hidden=(100_000_000_000,))


def test_train_cli_refuses_absurd_widths(cli, small_cohort, tmp_path):
    err = one_error_line(cli("train", small_cohort, "--out", tmp_path / "run", "--encoder-hidden",
                             "100000000000", "--epochs", 1, "--no-progress"))  # fmt: skip
    assert "encoder_hidden" in err


def test_stdout_closed_gives_one_line(tmp_path, generator):
    import subprocess
    import sys

    code = (
        "import sys; from gexgen.cli import app; "
        f"sys.argv=['gexgen','generate',{str(generator)!r},'--n','5','--out','-',"
        "'--format','parquet','--no-progress']; app()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),  # the child starts with standard output closed
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "standard output is closed" in proc.stderr
