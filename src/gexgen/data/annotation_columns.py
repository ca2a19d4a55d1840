"""A warning for numeric columns that look like sample annotations, not genes.

A matrix's numeric columns are genes unless named as labels, so an ``age``
or ``bmi`` column beside the genes silently becomes a "gene" the model
learns and generates. :func:`warn_annotation_columns` names such columns
(names made of words like age, sex, batch, stage, purity...; real gene
symbols are none of these) so the user can drop them or name them as labels.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

__all__ = ["AnnotationColumnWarning", "annotation_like", "warn_annotation_columns"]

# words of sample annotations; no HGNC symbol is one of them as a whole name
ANNOTATION_WORDS = frozenset(
    """age ages sex gender bmi weight height batch time day days year years month months
    stage grade purity survival os pfs dfs vital death dead alive followup index id ids
    sample samples patient patients donor donors subject subjects plate lane well
    replicate rin pmi dose concentration cluster group label class site center centre
    library reads depth smoking race ethnicity""".split()
)
_WORD = re.compile(r"[A-Za-z]+")


def annotation_like(name: str) -> bool:
    """Whether a column name reads as a sample annotation (``age``, ``Age (years)``, ``bmi_z``).

    Examples
    --------
    >>> annotation_like("age"), annotation_like("Age at diagnosis"), annotation_like("BMI1")
    (True, True, False)
    """
    words = [w.lower() for w in _WORD.findall(str(name))]
    if not words:
        return False
    if len(words) == 1:  # a plain word: the whole name must be one (BMI1 is a gene)
        return str(name).strip().lower() in ANNOTATION_WORDS
    return any(w in ANNOTATION_WORDS for w in words)


class AnnotationColumnWarning(UserWarning):
    """Numeric columns that look like sample annotations are read as genes."""


def warn_annotation_columns(columns: Iterable[object], where: str, fix: str) -> list[str]:
    """Warn about (and return) the gene columns named like sample annotations."""
    found = [str(c) for c in columns if annotation_like(str(c))]
    if found:
        shown = found[:5] + ([f"and {len(found) - 5} more"] if len(found) > 5 else [])
        warnings.warn(
            f"{where}: numeric column(s) {shown} look like sample annotations but are taken "
            f"as genes (the model would learn and generate them); {fix}",
            AnnotationColumnWarning,
            stacklevel=3,
        )
    return found
