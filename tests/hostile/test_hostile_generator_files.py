"""S3, S4, T2, W1: generator files with hostile metadata, external data or mismatched graphs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest

from conftest import one_error_line
from gexgen.errors import GexgenError
from gexgen.generator_format import METADATA_KEY
from gexgen.runtime import GeneratorSession
from gexgen.runtime.generator_info import parse_generator_metadata


def rewrite(src: Path, dst: Path, mutate: Callable[[dict], object]) -> Path:
    """Copy a generator with its metadata JSON changed by ``mutate`` (in place)."""
    model = onnx.load(src)
    props = {p.key: p.value for p in model.metadata_props}
    meta = json.loads(props[METADATA_KEY])
    mutate(meta)
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    onnx.save(model, dst)
    return dst


# ---------------------------------------------------------------- S3 escape sequences
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x9b31m"


def _escape_everywhere(meta: dict) -> None:
    meta["model_type"] = "cvae" + ESCAPES
    meta["created"] = "2026" + ESCAPES
    meta["training"]["data_sha256"] = ESCAPES
    meta["genes"]["symbols"][0] = "G0" + ESCAPES
    label = meta["labels"][0]
    old = label["values"][0]
    label["values"][0] = old + ESCAPES
    for combo in meta["combinations"]:
        if combo["values"][label["name"]] == old:
            combo["values"][label["name"]] = old + ESCAPES


def test_info_never_prints_terminal_escapes(cli, generator, tmp_path):
    hostile = rewrite(generator, tmp_path / "hostile.onnx", _escape_everywhere)
    result = cli("info", hostile)
    assert result.exit_code == 0, result.output
    for char in "\x1b\x07\x9b":
        assert char not in result.output
    assert "\\x1b[2J" in result.output  # shown, not interpreted
    as_json = cli("info", hostile, "--json")
    assert as_json.exit_code == 0 and "\x1b" not in as_json.output


def test_error_messages_never_print_terminal_escapes(cli, generator, tmp_path):
    hostile = rewrite(generator, tmp_path / "hostile.onnx", _escape_everywhere)
    result = cli(
        "generate", hostile, "--n", 5, "--condition", "tissue=\x1b[2Jx", "--out", tmp_path / "o.npy"
    )
    err = one_error_line(result)
    assert "\x1b" not in result.output and "\\x1b" in err


# ---------------------------------------------------------------- T2 schema
BROKEN = {
    "genes as a list": (lambda m: m.__setitem__("genes", m["genes"]["symbols"]), "genes"),
    "label without a name": (lambda m: m["labels"][0].pop("name"), "labels[0].name"),
    "label name not text": (lambda m: m["labels"][0].__setitem__("name", 3), "labels[0].name"),
    "values not a list": (lambda m: m["labels"][1].__setitem__("values", "ab"), "values"),
    "gene symbol a number": (
        lambda m: m["genes"]["symbols"].__setitem__(0, 7),
        "genes.symbols[0]",
    ),
    "duplicated gene": (
        lambda m: m["genes"]["symbols"].__setitem__(1, m["genes"]["symbols"][0]),
        "twice",
    ),
    "n_latent text": (lambda m: m.__setitem__("n_latent", "4"), "n_latent"),
    "noise_input text": (lambda m: m.__setitem__("noise_input", "no"), "noise_input"),
    "count negative": (lambda m: m["combinations"][0].__setitem__("count", -1), "count"),
    "labels an object": (lambda m: m.__setitem__("labels", {"tissue": []}), "labels"),
    "training a list": (lambda m: m.__setitem__("training", [1]), "training"),
    "entrez text": (lambda m: m["genes"]["entrez_ids"].__setitem__(0, "x"), "entrez_ids[0]"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_invalid_metadata_is_one_line_naming_the_field(cli, generator, tmp_path, case):
    mutate, field = BROKEN[case]
    bad = rewrite(generator, tmp_path / "bad.onnx", mutate)
    err = one_error_line(cli("info", bad))
    assert field in err and "bad.onnx" in err
    with pytest.raises(GexgenError):
        GeneratorSession(bad, providers="cpu")


def test_unknown_extra_keys_are_kept(generator, tmp_path):
    extra = rewrite(
        generator,
        tmp_path / "extra.onnx",
        lambda m: m.update({"precision": "int8", "criterion": {"x": 1}, "dp": None}),
    )
    with GeneratorSession(extra, providers="cpu") as session:
        assert session.metadata["precision"] == "int8"


def test_gene_count_must_match_the_graph(cli, generator, tmp_path):
    def drop_gene(meta: dict) -> None:
        meta["genes"]["symbols"].pop()
        meta["genes"]["entrez_ids"].pop()

    err = one_error_line(cli("info", rewrite(generator, tmp_path / "g.onnx", drop_gene)))
    assert "outputs 12 genes" in err and "lists 11" in err


# ---------------------------------------------------------------- W1 vocabulary vs graph
def _extra_value(meta: dict) -> None:
    meta["labels"][0]["values"].append("brain")
    meta["labels"][0]["counts"].append(5)


def test_a_value_the_graph_does_not_encode_is_refused(cli, generator, tmp_path):
    bad = rewrite(generator, tmp_path / "brain.onnx", _extra_value)
    err = one_error_line(cli("info", bad))
    assert "'tissue'" in err and "brain" in err and "does not encode" in err
    result = cli(
        "generate", bad, "--n", 5, "--condition", "tissue=brain", "--out", tmp_path / "b.npy"
    )
    one_error_line(result)
    assert not (tmp_path / "b.npy").exists()


def test_a_vocabulary_shorter_than_the_graph_is_refused(generator, tmp_path):
    def drop_value(meta: dict) -> None:
        label = meta["labels"][1]  # status: normal, tumor
        label["values"].pop()
        label["counts"].pop()
        meta["combinations"] = [
            c for c in meta["combinations"] if c["values"]["status"] in label["values"]
        ]

    bad = rewrite(generator, tmp_path / "short.onnx", drop_value)
    with pytest.raises(GexgenError, match="encodes more values of label 'status'"):
        GeneratorSession(bad, providers="cpu")


def test_a_valid_generator_passes_the_probe(generator):
    with GeneratorSession(generator, providers="cpu") as session:
        assert session.sample(3, seed=0).shape[0] == 3


# ---------------------------------------------------------------- S4 external data
def test_external_data_is_refused_with_a_clear_message(cli, generator, tmp_path):
    model = onnx.load(generator)
    folder = tmp_path / "ext"
    folder.mkdir()
    onnx.save_model(
        model,
        folder / "g.onnx",
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="g.weights",
        size_threshold=0,
    )
    assert (folder / "g.weights").is_file()
    err = one_error_line(cli("info", folder / "g.onnx"))
    assert "external-data" in err and "truncated" not in err
    err = one_error_line(
        cli("generate", folder / "g.onnx", "--n", 3, "--out", tmp_path / "x.parquet")
    )
    assert "external-data" in err


def test_recorded_sha256_is_that_of_the_loaded_bytes(generator, tmp_path):
    import hashlib

    from gexgen.runtime import open_profiles, write_profiles

    with GeneratorSession(generator, providers="cpu") as session:
        write_profiles(session, tmp_path / "s.parquet", 4, progress=False)
    meta = open_profiles(tmp_path / "s.parquet").metadata
    assert meta["generator"]["sha256"] == hashlib.sha256(generator.read_bytes()).hexdigest()


def test_the_parser_refuses_metadata_that_is_not_an_object():
    with pytest.raises(GexgenError, match="metadata format"):
        parse_generator_metadata("[1, 2]", "x.onnx")
