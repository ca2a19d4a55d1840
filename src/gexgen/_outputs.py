"""Checks on output paths, made before any work: never replace a file unasked.

Every command that writes refuses an existing output unless it is given
``--overwrite`` (``overwrite=True`` in the library), and says so before it
reads or computes anything; a folder where a file is expected, a file where
a folder is expected, or a folder it cannot write to are refused at the same
time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gexgen.errors import GexgenError

__all__ = [
    "check_output_file",
    "check_output_folder",
    "check_writable_folder",
    "refuse_input_as_output",
    "refuse_linked_folder",
]


def check_writable_folder(folder: str | os.PathLike[str], option: str = "--out") -> None:
    """Refuse when ``folder`` (or, if it does not exist yet, its nearest ancestor) is not
    a writable folder."""
    path = Path(folder)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise GexgenError(
            f"{option}: {str(probe)!r} is a file, not a folder; choose a path in a folder"
        )
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise GexgenError(
            f"{option}: cannot write to folder {str(probe)!r} (read-only or no permission); "
            "choose another location"
        )


def check_output_file(
    path: str | os.PathLike[str],
    overwrite: bool,
    *,
    option: str = "--out",
    sidecars: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Refuse an output file that exists (with its ``sidecars``) unless ``overwrite``.

    Also refuses a folder at ``path`` and an unwritable destination folder.

    Examples
    --------
    >>> check_output_file("new_cohort.h5ad", overwrite=False)  # doctest: +SKIP
    PosixPath('new_cohort.h5ad')
    """
    path = Path(path)
    if path.is_dir():
        raise GexgenError(
            f"{option} {str(path)!r} is a folder; give a file name, e.g. "
            f"{str(path / ('output' + (path.suffix or '')))!r}"
        )
    existing = [p for p in (path, *map(Path, sidecars)) if os.path.lexists(p)]
    if existing and not overwrite:
        shown = " and ".join(repr(str(p)) for p in existing)
        raise GexgenError(
            f"{option} {shown} already exists; pass --overwrite to replace it, "
            "or choose another name"
        )
    for p in existing:
        if Path(p).is_dir():
            raise GexgenError(f"{str(p)!r} is a folder; remove it or choose another {option}")
    check_writable_folder(path.parent, option)
    return path


def check_output_folder(
    folder: str | os.PathLike[str],
    overwrite: bool,
    *,
    option: str = "--out",
    names: Iterable[str] = (),
) -> Path:
    """Refuse a file at ``folder``; refuse a folder holding any of ``names`` unless ``overwrite``.

    Examples
    --------
    >>> check_output_folder("report", False, names=["metrics.json"])  # doctest: +SKIP
    PosixPath('report')
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise GexgenError(f"{option} {str(folder)!r} is a file, not a folder; choose a folder name")
    existing = [name for name in names if os.path.lexists(folder / name)]
    if existing and not overwrite:
        raise GexgenError(
            f"{option} {str(folder)!r} already holds {', '.join(existing)}; pass --overwrite "
            "to replace them, or choose another folder"
        )
    check_writable_folder(folder, option)
    return folder


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def refuse_input_as_output(
    output: str | os.PathLike[str] | None,
    inputs: Iterable[str | os.PathLike[str] | None],
    *,
    option: str = "--out",
) -> None:
    """Refuse an ``output`` that is one of the ``inputs`` (same file, through any link).

    Examples
    --------
    >>> refuse_input_as_output("cohort.h5ad", ["cohort.h5ad"], option="--junit")  # doctest: +SKIP
    Traceback (most recent call last):
    GexgenError: --junit 'cohort.h5ad' is an input of this command; ...
    """
    if output is None or str(output) == "-":
        return
    out = Path(output)
    for given in inputs:
        if given is None or str(given) == "-":
            continue
        src = Path(given)
        if _same(out, src):
            raise GexgenError(
                f"{option} {str(out)!r} is an input of this command ({str(src)!r}); writing "
                "there would destroy it: choose another output name"
            )


def refuse_linked_folder(folder: str | os.PathLike[str], option: str = "--out") -> None:
    """Refuse a ``folder`` that is a symlink (or not a folder): its files would land elsewhere."""
    path = Path(folder)
    if path.is_symlink():
        raise GexgenError(
            f"{option}: {str(path)!r} is a symbolic link; gexgen writes only into folders it "
            "owns and never follows links there: remove the link or choose another folder"
        )
    if path.exists() and not path.is_dir():
        raise GexgenError(f"{option}: {str(path)!r} is a file, not a folder; remove it")
