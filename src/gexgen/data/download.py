"""Download RNAseqDB files into a local cache: progress, resume, retry, verify (stdlib urllib).

A file is written as ``<name>.part`` and renamed to its final name only after
its size matches the server's Content-Length and (for ``.gz``) the whole
stream decompresses; a final name in the cache is therefore always complete.
An interrupted transfer keeps its ``.part`` and the next attempt resumes it
with an HTTP ``Range`` request (restarting if the server ignores the range).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.request
import zlib
from http.client import HTTPException
from pathlib import Path
from typing import Any

from gexgen import __version__
from gexgen.data.rnaseqdb_layout import CONF_PATH, DATA_DIR, candidate_files, read_tissue_conf
from gexgen.errors import GexgenError

__all__ = [
    "UPSTREAM_URL",
    "default_cache_dir",
    "fetch",
    "download_rnaseqdb",
]

UPSTREAM_COMMIT = "6a853176fe925bd15f7392e84d433d4b34fb396a"
UPSTREAM_URL = f"https://raw.githubusercontent.com/mskcc/RNAseqDB/{UPSTREAM_COMMIT}"
RETRIES = 4  # extra attempts after the first, per file
BACKOFF_S = 1.0  # wait before retry k: BACKOFF_S * 2**k seconds
TIMEOUT_S = 60.0  # socket timeout per request
_CHUNK = 1 << 16
_ABSENT = "absent.json"  # cache record of files the server answered 404 for


class _Retry(Exception):
    """A transient failure: try again (resuming the .part file)."""


def default_cache_dir() -> Path:
    """``$GEXGEN_CACHE`` when set, else ``~/.cache/gexgen``."""
    env = os.environ.get("GEXGEN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "gexgen"


def _content_range_start(value: str | None) -> tuple[int, int | None]:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", value or "")
    if m is None:
        raise _Retry(f"unusable Content-Range {value!r}")
    return int(m[1]), None if m[2] == "*" else int(m[2])


def _open(url: str, offset: int, timeout: float) -> Any:
    headers = {"User-Agent": f"gexgen/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _fetch_once(url: str, part: Path, timeout: float, progress: bool) -> bool:
    """One attempt into ``part``; False on 404. Raises _Retry on transient failures."""
    from tqdm.auto import tqdm

    offset = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        if exc.code == 416 and offset:  # range past the end: the .part is unusable
            part.unlink()
            raise _Retry("server refused the resume range; restarting") from exc
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from exc
        raise GexgenError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, HTTPException, OSError) as exc:
        raise _Retry(str(getattr(exc, "reason", exc))) from exc
    with resp:
        length = resp.headers.get("Content-Length")
        if resp.status == 206:
            start, total = _content_range_start(resp.headers.get("Content-Range"))
            if start != offset:
                part.unlink()
                raise _Retry(f"server resumed at byte {start}, not {offset}; restarting")
        else:  # 200: the server sent the whole file (it may ignore Range)
            offset, total = 0, int(length) if length is not None else None
        if total is None and length is not None:
            total = offset + int(length)
        bar = tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, leave=False,
            desc=url.rsplit("/", 1)[-1], disable=not progress,
        )  # fmt: skip
        try:
            with bar, open(part, "ab" if offset else "wb") as fh:
                while chunk := resp.read(_CHUNK):
                    fh.write(chunk)
                    bar.update(len(chunk))
        except (HTTPException, OSError) as exc:  # dropped connection, timeout
            raise _Retry(f"transfer interrupted: {exc!r}") from exc
    size = part.stat().st_size
    if total is not None and size != total:
        raise _Retry(f"received {size} of {total} bytes")
    return True


def _verify_gzip(path: Path) -> None:
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise GexgenError(f"not a valid gzip stream: {exc}") from exc


def fetch(
    url: str,
    dest: str | os.PathLike[str],
    *,
    retries: int | None = None,
    backoff_s: float | None = None,
    timeout_s: float | None = None,
    progress: bool = True,
) -> bool:
    """Download ``url`` to ``dest`` unless it is already there; False when the server says 404.

    Transient failures (connection drop, timeout, HTTP 5xx) are retried with
    exponential backoff, resuming the ``.part`` file; a file whose size or gzip
    stream is wrong never gets the final name.

    Examples
    --------
    >>> fetch(f"{UPSTREAM_URL}/configuration/tissue-conf.txt", "tissue-conf.txt")  # doctest: +SKIP
    True
    """
    retries = RETRIES if retries is None else retries
    backoff_s = BACKOFF_S if backoff_s is None else backoff_s
    timeout_s = TIMEOUT_S if timeout_s is None else timeout_s
    dest = Path(dest)
    if dest.is_file():
        return True
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last = ""
    for attempt in range(retries + 1):
        try:
            if not _fetch_once(url, part, timeout_s, progress):
                return False
            if dest.name.endswith(".gz"):
                try:
                    _verify_gzip(part)
                except GexgenError as exc:  # complete but corrupt: start over
                    part.unlink()
                    raise _Retry(str(exc)) from exc
            os.replace(part, dest)
            return True
        except _Retry as exc:
            last = str(exc)
        if attempt < retries:
            time.sleep(backoff_s * 2**attempt)
    kept = ""
    if part.exists():
        kept = f"; the partial file {str(part)!r} is kept and resumed on the next run"
    raise GexgenError(
        f"download of {url} failed after {retries + 1} attempt(s): {last}{kept}; "
        "check the connection or the URL and run again"
    )


def download_rnaseqdb(
    base_url: str,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    **fetch_options: float,
) -> tuple[Path, list[str]]:
    """Mirror the RNAseqDB files under ``base_url`` into the cache.

    Downloads ``configuration/tissue-conf.txt`` first, derives every candidate
    ``data/normalized`` file name from it and fetches those the server has.

    Returns
    -------
    (folder in the upstream layout, names of candidate files the server does not have)
    """
    base = base_url.rstrip("/")
    slug = re.sub(r"[^A-Za-z0-9]+", "_", base.split("://", 1)[-1])[-48:]
    digest = hashlib.sha256(base.encode()).hexdigest()[:10]
    root = Path(cache_dir or default_cache_dir()) / "rnaseqdb" / f"{slug}-{digest}"
    opts = {"progress": progress, **fetch_options}
    if not fetch(f"{base}/{CONF_PATH}", root / CONF_PATH, **opts):  # type: ignore[arg-type]
        raise GexgenError(
            f"{base}/{CONF_PATH} not found (HTTP 404); the base URL must hold the "
            f"mskcc/RNAseqDB layout, e.g. {UPSTREAM_URL}"
        )
    names = candidate_files(read_tissue_conf(root / CONF_PATH))
    record = root / _ABSENT
    known_absent = set(json.loads(record.read_text())) if record.is_file() else set()
    absent = []
    for name in names:
        dest = root / DATA_DIR / name
        if dest.is_file():
            continue
        url = f"{base}/{DATA_DIR}/{name}"
        if name in known_absent or not fetch(url, dest, **opts):  # type: ignore[arg-type]
            absent.append(name)
    record.write_text(json.dumps(absent))
    if len(absent) == len(names):
        raise GexgenError(f"none of the {len(names)} RNAseqDB matrix files exist under {base}")
    return root, absent
