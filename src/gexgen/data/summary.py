"""What a cohort build found: counts per label combination, genes kept and missing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["CohortSummary"]


@dataclass
class CohortSummary:
    """Report of one cohort build (``build_rnaseqdb_cohort`` / ``import_matrix``).

    Attributes
    ----------
    n_samples, n_genes
        Shape of the cohort's X.
    counts
        Samples per row label x column label (e.g. tissue x status), no margins.
    genes_missing
        ``(entrez_id, symbol)`` of requested landmark genes not found in every file.
    notes
        Deterministic decisions worth knowing (duplicate genes resolved, ids renamed).
    files_used, files_absent
        Source files read, and candidate files the source did not have.
    """

    n_samples: int
    n_genes: int
    counts: pd.DataFrame
    n_train: int = 0
    n_test: int = 0
    out: str | None = None
    source: str = ""
    n_genes_requested: int | None = None
    genes_missing: list[tuple[int, str]] = field(default_factory=list)
    files_used: list[str] = field(default_factory=list)
    files_absent: list[str] = field(default_factory=list)
    tissues_found: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """Human-readable multi-line summary (what the CLI prints)."""
        lines = [f"source: {self.source}"] if self.source else []
        if self.files_used or self.files_absent:
            lines.append(
                f"files: {len(self.files_used)} used, {len(self.files_absent)} not in the source"
            )
        for src, tissues in self.tissues_found.items():
            lines.append(f"  {src}: {', '.join(tissues)}")
        lines.append(
            f"samples: {self.n_samples} (train {self.n_train}, test {self.n_test}); "
            f"genes: {self.n_genes}"
        )
        if self.n_genes_requested is not None:
            lines.append(f"genes kept: {self.n_genes} of {self.n_genes_requested} requested")
            if self.genes_missing:
                listed = ", ".join(f"{sym} ({eid})" for eid, sym in self.genes_missing)
                lines.append(f"genes missing ({len(self.genes_missing)}): {listed}")
        table = self.counts.copy()
        if table.shape[1] > 1:
            table["total"] = table.sum(axis=1)
        lines.append("samples per " + " x ".join(str(n) for n in self.counts_axes) + ":")
        lines.append(table.to_string())
        lines.extend(f"note: {n}" for n in self.notes)
        if self.out:
            lines.append(f"wrote {self.out}")
        return "\n".join(lines)

    @property
    def counts_axes(self) -> list[str]:
        return [n for n in (self.counts.index.name, self.counts.columns.name) if n]
