"""Parse and check the metadata of a generator ``.onnx`` file (see ``gexgen.generator_format``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gexgen._text import printable
from gexgen.errors import GexgenError
from gexgen.generator_format import FORMAT_NAME, FORMAT_VERSION, METADATA_KEY, label_input_name

__all__ = ["LabelInfo", "GeneratorInfo", "parse_generator_metadata"]


@dataclass(frozen=True)
class LabelInfo:
    """One condition label: its graph input, vocabulary (code order) and training counts."""

    name: str
    input: str
    values: tuple[str, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class GeneratorInfo:
    """What a generator file says about itself."""

    metadata: dict[str, Any]
    genes: tuple[str, ...]
    entrez_ids: tuple[int | None, ...] | None
    labels: tuple[LabelInfo, ...]
    combinations: tuple[tuple[tuple[str, ...], int], ...]  # (values in label order, count)
    n_latent: int
    noise_input: bool

    def describe(self, max_genes: int = 8) -> str:
        """Human-readable summary: genes, labels with vocabularies and counts, provenance."""
        meta = self.metadata
        shown = ", ".join(printable(g) for g in self.genes[:max_genes])
        shown += ", ..." if len(self.genes) > max_genes else ""
        lines = [
            f"model: {printable(meta.get('model_type', '?'))}  latent: {self.n_latent}  "
            f"decoder noise input: {'yes' if self.noise_input else 'no'}  "
            f"precision: {_precision(meta)}",
            f"genes: {len(self.genes)} ({shown})  units: {meta.get('units') or 'not recorded'}",
            "labels:",
        ]
        for label in self.labels:
            values = ", ".join(
                f"{printable(v)} ({c})" for v, c in zip(label.values, label.counts, strict=True)
            )
            lines.append(f"  {printable(label.name)} [{len(label.values)}]: {values}")
        lines.append(f"label combinations seen in training: {len(self.combinations)}")
        lines.append(_space_line(meta.get("scaler")))
        training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
        lines.append(
            "provenance: "
            + "  ".join(
                f"{key}: {printable(value)}"
                for key, value in (
                    ("gexgen", meta.get("gexgen_version")),
                    ("created", meta.get("created")),
                    ("n_train", training.get("n_train")),
                    ("val_loss", training.get("val_loss")),
                    ("epochs", training.get("epochs")),
                    ("data_sha256", str(training.get("data_sha256") or "")[:16] or None),
                )
                if value is not None
            )
        )
        lines.extend(_training_lines(training))
        return "\n".join(lines)


def _space_line(scaler: Any) -> str:
    """How the model's space maps to log2 values: the marginal map and the floor."""
    scaler = scaler if isinstance(scaler, dict) else {}
    if scaler.get("marginals") == "quantile":
        space = f"per-gene quantile map ({printable(scaler.get('n_knots'))} knots) to normal scores"
    else:
        space = "standardized log2"
    floor = scaler.get("floor")
    bound = "no floor" if floor is None else f"log2 values >= {printable(floor)}"
    return f"model space: {space}; {bound}"


def _training_lines(training: dict[str, Any]) -> list[str]:
    """Observation noise, model selection and differential privacy, when recorded."""
    lines = []
    selection = training.get("selection") or {}
    if selection:
        lines.append(
            f"model selection: kept epoch {selection.get('kept_epoch')} "
            f"({selection.get('criterion', selection.get('keep'))})"
        )
        refit = selection.get("refit")
        if isinstance(refit, dict):
            lines.append(
                f"refit: {refit.get('epochs')} epochs retrained on {refit.get('rows')} rows "
                f"({printable(str(refit.get('rows_used', '')))})"
            )
    if training.get("observation_noise"):
        lines.append(f"observation noise: {training['observation_noise']}")
    if training.get("calibration"):
        lines.append(f"calibration: {printable(str(training['calibration']))}")
    privacy = training.get("privacy")
    if privacy:
        lines.append(
            f"differential privacy: epsilon {privacy.get('dp_epsilon')} "
            f"(spent {privacy.get('epsilon_spent', float('nan')):.3g}), "
            f"delta {privacy.get('dp_delta', float('nan')):.3g} ({privacy.get('mechanism', '')})"
        )
        if privacy.get("noise_rng"):  # where the noise came from: a seed, or os.urandom
            lines.append(f"  noise: {printable(str(privacy['noise_rng']))}")
        parts = privacy.get("parts")
        for part in parts if isinstance(parts, list) else []:  # every released part's budget
            if isinstance(part, dict):
                num = {k: _number(part.get(k)) for k in ("noise_multiplier", "sensitivity")}
                lines.append(
                    f"  {printable(str(part.get('name')))}: share {_number(part.get('share'))}, "
                    f"noise multiplier {num['noise_multiplier']}, sensitivity "
                    f"{num['sensitivity']}, noise sd {_number(part.get('noise_sd'))}"
                )
    else:
        lines.append("differential privacy: none (no formal guarantee)")
    return lines


def _number(value: Any) -> str:
    """A recorded number to 3 significant digits; '?' for anything else."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return f"{value:.3g}" if ok else "?"


def _precision(meta: dict[str, Any]) -> str:
    """``"fp32"`` or ``"int8"``: ``metadata["export"]["precision"]`` (fp32 when absent)."""
    export = meta.get("export")
    return str(export.get("precision", "fp32")) if isinstance(export, dict) else "fp32"


def _fail(where: str, field: str, expected: str, got: Any) -> GexgenError:
    shown = type(got).__name__ if isinstance(got, dict | list) else repr(got)[:80]
    return GexgenError(
        f"{where}: invalid generator metadata: {field} must be {expected}, got {printable(shown)}; "
        "the file is damaged or was not written by `gexgen export`: re-export it"
    )


def _field(meta: dict[str, Any], key: str, where: str, path: str = "") -> Any:
    if key not in meta:
        raise GexgenError(
            f"{where}: the gexgen metadata has no {path + key!r}; re-export the generator with "
            "`gexgen export`"
        )
    return meta[key]


_MAX_INT = 2**53  # counts, sizes and ids: exact in float64; a 10**400 count is damage


def _int(value: Any, field: str, where: str, minimum: int = 0, maximum: int = _MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(where, field, f"an integer in [{minimum}, {maximum}]", value)
    return value


def _str(value: Any, field: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, field, "a non-empty string", value)
    return value


def _list(value: Any, field: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, field, "a list", value)
    return value


def _dict(value: Any, field: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, field, "an object", value)
    return value


def _unique(values: list[str], field: str, where: str) -> None:
    seen: set[str] = set()
    dup = [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    if dup:
        raise GexgenError(
            f"{where}: invalid generator metadata: {field} lists {printable(dup[0])!r} twice; "
            "re-export the generator"
        )


def _genes(meta: dict[str, Any], where: str) -> tuple[tuple[str, ...], Any]:
    genes_meta = _dict(_field(meta, "genes", where), "genes", where)
    symbols = _list(_field(genes_meta, "symbols", where, "genes."), "genes.symbols", where)
    if not symbols:
        raise GexgenError(f"{where}: the metadata lists no gene symbols")
    genes = tuple(_str(g, f"genes.symbols[{i}]", where) for i, g in enumerate(symbols))
    _unique(list(genes), "genes.symbols", where)
    entrez = genes_meta.get("entrez_ids")
    if entrez is not None:
        _list(entrez, "genes.entrez_ids", where)
        if len(entrez) != len(genes):
            raise GexgenError(f"{where}: {len(entrez)} Entrez IDs for {len(genes)} genes")
        for i, e in enumerate(entrez):
            if e is not None:
                _int(e, f"genes.entrez_ids[{i}]", where, maximum=2**31 - 1)  # h5ad: int64 safe
    return genes, entrez


def _labels(meta: dict[str, Any], where: str) -> list[LabelInfo]:
    labels = []
    for i, item in enumerate(_list(_field(meta, "labels", where), "labels", where)):
        item = _dict(item, f"labels[{i}]", where)
        name = _str(item.get("name"), f"labels[{i}].name", where)
        raw_values = _list(item.get("values"), f"labels[{i}].values ({name!r})", where)
        values = tuple(_str(v, f"labels[{i}].values[{j}]", where) for j, v in enumerate(raw_values))
        raw_counts = item.get("counts")
        if raw_counts is None:
            counts = tuple(0 for _ in values)
        else:
            counts = tuple(
                _int(c, f"labels[{i}].counts[{j}]", where)
                for j, c in enumerate(_list(raw_counts, f"labels[{i}].counts", where))
            )
        if not values or len(counts) != len(values) or len(set(values)) != len(values):
            raise GexgenError(
                f"{where}: label {printable(name)!r} has an empty, duplicated or "
                "count-mismatched vocabulary"
            )
        graph_input = _str(item.get("input", label_input_name(name)), f"labels[{i}].input", where)
        labels.append(LabelInfo(name, graph_input, values, counts))
    _unique([label.name for label in labels], "labels[].name", where)
    return labels


def _training_fields(training: dict[str, Any], where: str) -> None:
    """The ``training`` fields gexgen reads: typed, in range (``info`` and ``check`` use them)."""
    for key in ("n_train", "epochs"):
        if training.get(key) is not None:
            _int(training[key], f"training.{key}", where)
    if training.get("data_sha256") is not None and not isinstance(training["data_sha256"], str):
        raise _fail(where, "training.data_sha256", "a string", training["data_sha256"])
    loss = training.get("val_loss")
    if loss is not None and (isinstance(loss, bool) or not isinstance(loss, int | float)):
        raise _fail(where, "training.val_loss", "a number", loss)


def parse_generator_metadata(raw: str | None, where: str) -> GeneratorInfo:
    """Check the JSON stored under ``metadata_props["gexgen"]`` against its schema and parse it.

    Every field gexgen reads is type-checked (a wrong one is named in a
    one-line GexgenError); keys it does not know are kept in ``metadata``.

    Parameters
    ----------
    raw
        The metadata string, or None when the file has no such key.
    where
        The file name, for error messages.
    """
    if raw is None:
        raise GexgenError(
            f"{where} is an ONNX model but not a gexgen generator (no {METADATA_KEY!r} "
            "metadata); make one with `gexgen export RUN_DIR --out generator.onnx`"
        )
    try:
        meta = json.loads(raw)
    except RecursionError:
        raise GexgenError(f"{where}: the gexgen metadata is nested too deeply") from None
    except ValueError as exc:
        raise GexgenError(f"{where}: the gexgen metadata is not valid JSON ({exc})") from exc
    from gexgen._json_bounds import check_json_depth

    check_json_depth(meta, f"{where}: the gexgen metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise GexgenError(
            f"{where}: metadata format is {printable(repr(found))[:80]}, expected {FORMAT_NAME!r}"
        )
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise GexgenError(
            f"{where}: generator format version {printable(repr(version))[:40]}; this gexgen "
            f"reads up to {FORMAT_VERSION}: upgrade gexgen"
        )
    genes, entrez = _genes(meta, where)
    labels = _labels(meta, where)
    names = [label.name for label in labels]
    combinations = []
    raw_combinations = meta.get("combinations")
    for i, item in enumerate(_list(raw_combinations or [], "combinations", where)):
        item = _dict(item, f"combinations[{i}]", where)
        values = _dict(item.get("values", {}), f"combinations[{i}].values", where)
        if set(values) != set(names):
            raise GexgenError(
                f"{where}: combination {printable(values)} does not name labels {names}"
            )
        row = tuple(_str(values[n], f"combinations[{i}].values.{n}", where) for n in names)
        for label, value in zip(labels, row, strict=True):
            if value not in label.values:
                raise GexgenError(
                    f"{where}: combination value {printable(value)!r} not in "
                    f"{printable(label.name)!r}"
                )
        combinations.append((row, _int(item.get("count", 0), f"combinations[{i}].count", where)))
    noise_input = meta.get("noise_input", False)
    if not isinstance(noise_input, bool):
        raise _fail(where, "noise_input", "true or false", noise_input)
    for key in ("model_type", "gexgen_version", "created"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise _fail(where, key, "a string", meta[key])
    for key in ("training", "scaler", "model_config"):
        if meta.get(key) is not None:
            _dict(meta[key], key, where)
    _training_fields(meta.get("training") or {}, where)
    return GeneratorInfo(
        metadata=meta,
        genes=genes,
        entrez_ids=None if entrez is None else tuple(None if e is None else int(e) for e in entrez),
        labels=tuple(labels),
        combinations=tuple(combinations),
        n_latent=_int(_field(meta, "n_latent", where), "n_latent", where, minimum=1),
        noise_input=noise_input,
    )
