"""Parse and check the metadata of a generator ``.onnx`` file (see ``gexgen.generator_format``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
        shown = ", ".join(self.genes[:max_genes]) + (", ..." if len(self.genes) > max_genes else "")
        lines = [
            f"model: {meta.get('model_type', '?')}  latent: {self.n_latent}  "
            f"decoder noise input: {'yes' if self.noise_input else 'no'}",
            f"genes: {len(self.genes)} ({shown})",
            "labels:",
        ]
        for label in self.labels:
            values = ", ".join(
                f"{v} ({c})" for v, c in zip(label.values, label.counts, strict=True)
            )
            lines.append(f"  {label.name} [{len(label.values)}]: {values}")
        lines.append(f"label combinations seen in training: {len(self.combinations)}")
        training = meta.get("training") or {}
        lines.append(
            "provenance: "
            + "  ".join(
                f"{key}: {value}"
                for key, value in (
                    ("gexgen", meta.get("gexgen_version")),
                    ("created", meta.get("created")),
                    ("n_train", training.get("n_train")),
                    ("val_loss", training.get("val_loss")),
                    ("epochs", training.get("epochs")),
                    ("data_sha256", str(training.get("data_sha256", ""))[:16] or None),
                )
                if value is not None
            )
        )
        lines.extend(_training_lines(training))
        return "\n".join(lines)


def _training_lines(training: dict[str, Any]) -> list[str]:
    """Observation noise, model selection and differential privacy, when recorded."""
    lines = []
    selection = training.get("selection") or {}
    if selection:
        lines.append(
            f"model selection: kept epoch {selection.get('kept_epoch')} "
            f"({selection.get('criterion', selection.get('keep'))})"
        )
    if training.get("observation_noise"):
        lines.append(f"observation noise: {training['observation_noise']}")
    privacy = training.get("privacy")
    if privacy:
        lines.append(
            f"differential privacy: epsilon {privacy.get('dp_epsilon')} "
            f"(spent {privacy.get('epsilon_spent', float('nan')):.3g}), "
            f"delta {privacy.get('dp_delta', float('nan')):.3g} ({privacy.get('mechanism', '')})"
        )
    else:
        lines.append("differential privacy: none (no formal guarantee)")
    return lines


def _require(meta: dict[str, Any], key: str, where: str) -> Any:
    if key not in meta:
        raise GexgenError(
            f"{where}: the gexgen metadata has no {key!r}; re-export the generator with "
            "`gexgen export`"
        )
    return meta[key]


def parse_generator_metadata(raw: str | None, where: str) -> GeneratorInfo:
    """Check the JSON stored under ``metadata_props["gexgen"]`` and parse it.

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
    except ValueError as exc:
        raise GexgenError(f"{where}: the gexgen metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise GexgenError(f"{where}: metadata format is {found!r}, expected {FORMAT_NAME!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise GexgenError(
            f"{where}: generator format version {version!r}; this gexgen reads up to "
            f"{FORMAT_VERSION}: upgrade gexgen"
        )
    genes_meta = _require(meta, "genes", where)
    genes = tuple(str(g) for g in genes_meta.get("symbols") or [])
    if not genes:
        raise GexgenError(f"{where}: the metadata lists no gene symbols")
    entrez = genes_meta.get("entrez_ids")
    if entrez is not None and len(entrez) != len(genes):
        raise GexgenError(f"{where}: {len(entrez)} Entrez IDs for {len(genes)} genes")
    labels = []
    for item in _require(meta, "labels", where):
        name = str(item["name"])
        values = tuple(str(v) for v in item["values"])
        counts = tuple(int(c) for c in item.get("counts") or [0] * len(values))
        if not values or len(counts) != len(values) or len(set(values)) != len(values):
            raise GexgenError(
                f"{where}: label {name!r} has an empty, duplicated or count-mismatched vocabulary"
            )
        labels.append(
            LabelInfo(name, str(item.get("input", label_input_name(name))), values, counts)
        )
    names = [label.name for label in labels]
    combinations = []
    for item in meta.get("combinations") or []:
        values = item.get("values", {})
        if set(values) != set(names):
            raise GexgenError(f"{where}: combination {values} does not name labels {names}")
        row = tuple(str(values[n]) for n in names)
        for label, value in zip(labels, row, strict=True):
            if value not in label.values:
                raise GexgenError(f"{where}: combination value {value!r} not in {label.name!r}")
        combinations.append((row, int(item.get("count", 0))))
    return GeneratorInfo(
        metadata=meta,
        genes=genes,
        entrez_ids=None if entrez is None else tuple(None if e is None else int(e) for e in entrez),
        labels=tuple(labels),
        combinations=tuple(combinations),
        n_latent=int(_require(meta, "n_latent", where)),
        noise_input=bool(meta.get("noise_input", False)),
    )
