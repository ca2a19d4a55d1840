"""Build a cohort from RNAseqDB (Wang et al. 2018): TCGA + GTEx, normalized FPKM.

Source: a local folder laid out like upstream (``configuration/tissue-conf.txt``,
``data/normalized/*.txt.gz``) or a base URL, downloaded into a cache first.
Whatever subset of the matrix files exists is used.

Labels per sample: ``tissue`` (GTEx tissue; a TCGA project mapped through
tissue-conf.txt, several tissues -> their common prefix), ``status`` (tumor for
``-tcga-t`` files), ``source`` (GTEx/TCGA), ``project`` and ``barcode``.

Deterministic gene rules: rows with Entrez ID 0 are ignored; when one Entrez
ID has several rows (HSPA1A/HSPA1B share 3303 upstream) the row whose symbol
matches the landmark file's symbol is kept, else the first symbol without "-"
(read-through genes such as TMEM110-MUSTN1 lose), else the first in sorted
order; only genes present in every file are kept. A barcode seen in an
earlier file gets the suffix ``-1``, ``-2``... in the obs index (``barcode``
keeps the original).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gexgen._outputs import check_output_file
from gexgen.data.assemble import assemble_cohort, check_values, summarize_cohort
from gexgen.data.cohort import write_cohort
from gexgen.data.landmarks import read_landmarks
from gexgen.data.rnaseqdb_layout import (
    CONF_PATH,
    DATA_DIR,
    MatrixFile,
    RnaseqdbFile,
    candidate_files,
    parse_file_name,
    project_tissues,
    read_matrix_file,
    read_tissue_conf,
)
from gexgen.data.summary import CohortSummary
from gexgen.errors import GexgenError

__all__ = [
    "build_rnaseqdb_cohort",
    "parse_gene_panel",
    "top_variable_genes",
    "RNASEQDB_LABELS",
    "STRATIFY",
]

RNASEQDB_LABELS = ("tissue", "status", "source", "project", "barcode")
STRATIFY = ("tissue", "status")


def _is_url(source: str | os.PathLike[str]) -> bool:
    return str(source).startswith(("http://", "https://"))


def _local_layout(root: Path) -> tuple[Path, Path]:
    conf, data = root / CONF_PATH, root / DATA_DIR
    if not root.is_dir():
        raise GexgenError(
            f"RNAseqDB source {str(root)!r} is not a folder; give a folder laid out like "
            "mskcc/RNAseqDB or a base URL"
        )
    if not conf.is_file() or not data.is_dir():
        raise GexgenError(
            f"RNAseqDB source {str(root)!r} lacks {CONF_PATH} or {DATA_DIR}/; "
            "expected the upstream layout (see ../shared/data/README.md)"
        )
    return conf, data


def _pick_rows(m: MatrixFile, preferred: dict[int, str], notes: dict[int, str]) -> dict[int, int]:
    """Entrez ID -> row index, one row per ID (deterministic duplicate rule)."""
    rows: dict[int, list[int]] = {}
    for i, e in enumerate(m.entrez.tolist()):
        rows.setdefault(e, []).append(i)
    chosen = {}
    for e, idx in rows.items():
        if len(idx) == 1:
            chosen[e] = idx[0]
            continue
        # no landmark match: prefer a symbol without "-" (read-through genes), then sorted
        by_symbol = sorted(idx, key=lambda i: ("-" in str(m.symbols[i]), str(m.symbols[i])))
        match = [i for i in by_symbol if m.symbols[i] == preferred.get(e)]
        chosen[e] = (match or by_symbol)[0]
        others = sorted({str(m.symbols[i]) for i in idx} - {str(m.symbols[chosen[e]])})
        notes[e] = (
            f"Entrez {e} has rows {', '.join([str(m.symbols[chosen[e]]), *others])}; "
            f"kept {m.symbols[chosen[e]]}" + (" (landmark symbol)" if match else " (first by rule)")
        )
    return chosen


def _unique_ids(barcodes: list[str]) -> tuple[list[str], int]:
    """First occurrence keeps its barcode; later ones get ``-1``, ``-2``... (never clashing)."""
    seen: set[str] = set(barcodes)
    counts: dict[str, int] = {}
    out = []
    renamed = 0
    for b in barcodes:
        if counts.get(b, 0) == 0:
            counts[b] = 1
            out.append(b)
            continue
        k = counts[b]
        while f"{b}-{k}" in seen:
            k += 1
        counts[b] = k + 1
        seen.add(f"{b}-{k}")
        out.append(f"{b}-{k}")
        renamed += 1
    return out, renamed


def _landmark_symbols(lm: pd.DataFrame | None) -> dict[int, str]:
    if lm is None:
        return {}
    return {int(e): str(s) for e, s in lm[["entrez_id", "symbol"]].itertuples(index=False)}


def _select_genes(
    per_file: list[tuple[RnaseqdbFile, MatrixFile, dict[int, int]]], lm: pd.DataFrame | None
) -> tuple[list[int], pd.DataFrame, list[tuple[int, str]], list[str]]:
    """Genes present in every file (landmark order, else by Entrez ID) and their var table."""
    notes: list[str] = []
    common = set.intersection(*(set(rows) for _, _, rows in per_file))
    first_m, first_rows = per_file[0][1], per_file[0][2]
    if lm is not None:
        symbol_of = _landmark_symbols(lm)
        genes = [e for e in symbol_of if e in common]
    else:
        genes = sorted(common)
        symbol_of = {e: str(first_m.symbols[first_rows[e]]) for e in genes}
        n_zero = max(m.n_entrez_zero for _, m, _ in per_file)
        if n_zero:
            notes.append(f"up to {n_zero} rows per file with Entrez ID 0 (no Entrez gene) ignored")
    if not genes:
        hint = " among the landmark genes; check the landmark file's IDs" if lm is not None else ""
        raise GexgenError(f"no gene is present in every RNAseqDB file{hint}")
    missing = [(e, s) for e, s in symbol_of.items() if e not in common]
    partial = set().union(*(set(r) for _, _, r in per_file)) - common
    if partial:
        notes.append(f"{len(partial)} gene(s) present in only some files dropped")
    symbols = pd.Series([symbol_of[e] for e in genes])
    shared = symbols.duplicated(keep=False).to_numpy()
    if shared.any():
        notes.append(f"{int(shared.sum())} genes share a symbol; their index adds _<Entrez ID>")
    index = np.where(shared, symbols + "_" + pd.Series(genes).astype(str), symbols)
    var = pd.DataFrame(
        {
            "symbol": symbols.to_numpy(),
            "entrez_id": genes,
            "source_symbol": [str(first_m.symbols[first_rows[e]]) for e in genes],
        },
        index=pd.Index(index),
    )
    return genes, var, missing, notes


def _labels(
    per_file: list[tuple[RnaseqdbFile, MatrixFile, dict[int, int]]],
    tissue_of: dict[str, str],
    notes: list[str],
) -> pd.DataFrame:
    """obs: tissue, status, source, project, barcode; index = unique sample id."""
    parts = []
    for f, m, _ in per_file:
        tissue = f.project if f.source == "GTEx" else tissue_of.get(f.project, f.project)
        parts.append(
            pd.DataFrame(
                {
                    "tissue": tissue,
                    "status": f.status,
                    "source": f.source,
                    "project": f.project,
                    "barcode": m.barcodes,
                }
            )
        )
    obs = pd.concat(parts, ignore_index=True)
    ids, n_renamed = _unique_ids(obs["barcode"].tolist())
    obs.index = pd.Index(ids)
    if n_renamed:
        notes.append(f"{n_renamed} repeated barcode(s) given a -1, -2... suffix in the obs index")
    unmapped = sorted({f.project for f, _, _ in per_file if f.source == "TCGA"} - set(tissue_of))
    if unmapped:
        notes.append(f"TCGA project(s) {unmapped} not in tissue-conf.txt: tissue = project code")
    return obs


GENE_PANELS = ("l1000", "all", "top-variable:N")


def parse_gene_panel(genes: str) -> tuple[str, int | None]:
    """``"l1000"`` / ``"all"`` / ``"top-variable:N"`` -> (kind, N or None).

    Examples
    --------
    >>> parse_gene_panel("top-variable:3000")
    ('top-variable', 3000)
    """
    text = str(genes).strip().lower()
    if text in ("l1000", "all"):
        return text, None
    kind, _, number = text.partition(":")
    if kind == "top-variable" and number.isdigit() and int(number) >= 3:
        return kind, int(number)
    raise GexgenError(
        f"--genes must be one of l1000, all or top-variable:N (N >= 3, e.g. top-variable:3000), "
        f"got {genes!r}"
    )


def top_variable_genes(log_x: np.ndarray, n: int) -> np.ndarray:
    """Column indices of the ``n`` genes with the largest variance, in column order.

    Ties are broken by column order (stable), so the choice is deterministic.

    Examples
    --------
    >>> top_variable_genes(np.array([[0.0, 1, 5], [0.0, 3, 5], [0.0, 2, 9]]), 2).tolist()
    [1, 2]
    """
    var = np.asarray(log_x, dtype=np.float64).var(axis=0)
    order = np.argsort(-var, kind="stable")[: int(n)]
    return np.sort(order)


def _keep_top_variable(adata: Any, n: int, notes: list[str]) -> Any:
    """The cohort restricted to the ``n`` most variable genes of its *train* split (log2)."""
    from gexgen.data.cohort import cohort_split

    if n > adata.n_vars:
        raise GexgenError(
            f"top-variable:{n} asks for more genes than the {adata.n_vars} present in every "
            f"file; use a smaller N or --genes all"
        )
    train_idx, _ = cohort_split(adata)
    x = np.asarray(adata.X[train_idx], dtype=np.float64)
    keep = top_variable_genes(np.log2(x + 1.0), n)
    notes.append(
        f"kept the {n} of {adata.n_vars} genes with the largest log2(FPKM + 1) variance "
        "on the train split (test rows not used)"
    )
    out = adata[:, keep].copy()
    out.uns["gexgen"]["genes"] = f"top-variable:{n} (train split)"
    return out


def build_rnaseqdb_cohort(
    source: str | os.PathLike[str],
    landmarks: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    progress: bool = True,
    overwrite: bool = False,
    genes: str | None = None,
) -> tuple[Any, CohortSummary]:
    """Build (and optionally write) the RNAseqDB cohort.

    Parameters
    ----------
    source
        Local folder in the upstream layout, or a base URL (files are cached).
    landmarks
        Gene panel file (see ``read_landmarks``); None keeps every gene with an
        Entrez ID present in all files.
    out
        ``.h5ad`` path written atomically; None writes nothing.
    cache_dir
        Download cache for a URL source (default ``$GEXGEN_CACHE`` or ``~/.cache/gexgen``).
    test_fraction, seed
        Stratified split on tissue x status, recorded in ``obs["split"]``.
    overwrite
        Replace an existing ``out`` (else refused before anything is read).
    genes
        ``"l1000"`` (the panel in ``landmarks``, which is then required),
        ``"all"`` (every gene present in all files; ``landmarks`` ignored for
        selection), ``"top-variable:N"`` (the N genes with the largest log2
        variance on the train split). None: ``"l1000"`` when ``landmarks`` is
        given, else ``"all"`` (the behaviour before this option).

    Returns
    -------
    (anndata.AnnData, CohortSummary)

    Examples
    --------
    >>> adata, summary = build_rnaseqdb_cohort(  # doctest: +SKIP
    ...     "shared/data/rnaseqdb", "l1000/landmark_genes.tsv", "cohort.h5ad")
    >>> print(summary.format())  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    if out is not None and Path(out).suffix != ".h5ad":
        raise GexgenError(f"the output must end in .h5ad, got {Path(out).name!r}")
    panel, n_top = parse_gene_panel(genes or ("l1000" if landmarks is not None else "all"))
    if panel == "l1000" and landmarks is None:
        raise GexgenError(
            "--genes l1000 needs the landmark file: pass --landmarks l1000/landmark_genes.tsv "
            "(or use --genes all / top-variable:N)"
        )
    if panel != "l1000":
        landmarks = None  # every gene; the panel file plays no part
    if out is not None:
        check_output_file(out, overwrite)
    lm = read_landmarks(landmarks) if landmarks is not None else None
    if _is_url(source):
        from gexgen.data.download import download_rnaseqdb

        root, absent = download_rnaseqdb(str(source), cache_dir=cache_dir, progress=progress)
    else:
        root, absent = Path(source), None
    conf_path, data_dir = _local_layout(root)
    conf = read_tissue_conf(conf_path)
    parsed = (parse_file_name(p.name) for p in data_dir.iterdir())
    files = sorted((f for f in parsed if f is not None), key=lambda f: f.name)
    if not files:
        raise GexgenError(f"no *-rsem-fpkm-*.txt.gz files in {str(data_dir)!r}")
    if absent is None:
        present = {f.name for f in files}
        absent = [n for n in candidate_files(conf) if n not in present]

    keep_ids = set(lm["entrez_id"].tolist()) if lm is not None else None
    preferred = _landmark_symbols(lm)
    dup_notes: dict[int, str] = {}
    per_file: list[tuple[RnaseqdbFile, MatrixFile, dict[int, int]]] = []
    for f in tqdm(files, desc="reading RNAseqDB", unit="file", disable=not progress):
        m = read_matrix_file(data_dir / f.name, keep_ids)
        check_values(m.values.T, [str(s) for s in m.symbols], f.name, log_scaled=False)
        per_file.append((f, m, _pick_rows(m, preferred, dup_notes)))
    genes, var, missing, notes = _select_genes(per_file, lm)
    resolved = [dup_notes[e] for e in sorted(dup_notes) if e in set(genes)]
    if len(resolved) > 5:
        resolved = [
            f"{len(resolved)} Entrez IDs have several rows; kept the landmark symbol, else the "
            f"first symbol without '-' in sorted order (e.g. {resolved[0]})"
        ]
    notes = resolved + notes
    obs = _labels(per_file, project_tissues(conf), notes)
    x = np.concatenate([m.values[[rows[e] for e in genes]].T for _, m, rows in per_file])

    provenance = {
        "dataset": "RNAseqDB (Wang et al. 2018), data/normalized FPKM",
        "source": str(source),
        "files": [f.name for f in files],
        "landmarks": str(landmarks) if landmarks is not None else "",
        "units": "FPKM",
    }
    adata = assemble_cohort(
        x, obs, var, stratify=STRATIFY, test_fraction=test_fraction, seed=seed,
        log_scaled=False, provenance=provenance, what="RNAseqDB data",
    )  # fmt: skip
    if n_top is not None:
        adata = _keep_top_variable(adata, n_top, notes)
    found: dict[str, list[str]] = {}
    for f in files:
        key = {"GTEx": "GTEx normal"}.get(f.source, f"TCGA {f.status}")
        found.setdefault(key, []).append(f.project)
    summary = summarize_cohort(
        adata, "tissue", "status",
        source=str(source), out=str(out) if out is not None else None,
        n_genes_requested=len(lm) if lm is not None else n_top, genes_missing=missing,
        files_used=[f.name for f in files], files_absent=list(absent),
        tissues_found=found, notes=notes,
    )  # fmt: skip
    if out is not None:
        write_cohort(adata, out, overwrite=overwrite)
    return adata, summary
