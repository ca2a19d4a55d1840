"""The data step: real and user cohorts, the train/test split and the preprocessing."""

from __future__ import annotations

from gexgen.data.assemble import assemble_cohort
from gexgen.data.cohort import (
    SPLIT_COLUMN,
    cohort_split,
    is_log_scaled,
    label_columns,
    read_cohort,
    write_cohort,
)
from gexgen.data.download import UPSTREAM_URL, default_cache_dir, download_rnaseqdb, fetch
from gexgen.data.importer import import_matrix, read_table
from gexgen.data.landmarks import read_landmarks
from gexgen.data.preprocess import LogStandardScaler, inverse_log2p1, log2p1
from gexgen.data.rnaseqdb import build_rnaseqdb_cohort
from gexgen.data.split import combination_keys, stratified_split
from gexgen.data.summary import CohortSummary

__all__ = [
    "SPLIT_COLUMN",
    "UPSTREAM_URL",
    "CohortSummary",
    "LogStandardScaler",
    "assemble_cohort",
    "build_rnaseqdb_cohort",
    "cohort_split",
    "combination_keys",
    "default_cache_dir",
    "download_rnaseqdb",
    "fetch",
    "import_matrix",
    "inverse_log2p1",
    "is_log_scaled",
    "label_columns",
    "log2p1",
    "read_cohort",
    "read_landmarks",
    "read_table",
    "stratified_split",
    "write_cohort",
]
