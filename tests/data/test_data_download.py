"""The downloader against the shared mirror served over real HTTP on 127.0.0.1.

The server honours ``Range`` (206 + Content-Range) and can be told, per file,
to fail: answer 500, drop the connection half-way through the body, or send a
corrupted body of the right length.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import anndata
import numpy as np
import pytest
from typer.testing import CliRunner

from gexgen.cli import app
from gexgen.data import download
from gexgen.data.download import download_rnaseqdb, fetch
from gexgen.data.rnaseqdb import build_rnaseqdb_cohort
from gexgen.errors import GexgenError

SMALL = "data/normalized/cesc-rsem-fpkm-tcga.txt.gz"  # 225 kB


@dataclass
class MirrorState:
    root: Path
    faults: dict[str, list[str]] = field(default_factory=dict)  # path -> faults, one per request
    only: set[str] | None = None  # serve only these data files (others: 404)
    honour_range: bool = True
    log: list[tuple[str, str | None, int]] = field(default_factory=list)


def _handler(state: MirrorState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            state.log.append((self.rel, self.headers.get("Range"), status))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.rel = unquote(urlparse(self.path).path).lstrip("/")
            faults = state.faults.get(self.rel)
            fault = faults.pop(0) if faults else None
            path = state.root / self.rel
            hidden = state.only is not None and self.rel.startswith("data/")
            if not path.is_file() or (hidden and self.rel not in state.only):
                return self._reply(404, {"Content-Length": "0"}, b"")
            if fault == "500":
                return self._reply(500, {"Content-Length": "0"}, b"")
            data = path.read_bytes()
            start, status, headers = 0, 200, {}
            m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if m and state.honour_range:
                start = int(m[1])
                if start >= len(data):
                    return self._reply(416, {"Content-Length": "0"}, b"")
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            headers["Content-Length"] = str(len(body))
            if fault == "corrupt":
                mid = len(body) // 2
                body = body[:mid] + bytes(b ^ 0xFF for b in body[mid : mid + 64]) + body[mid + 64 :]
            if fault == "drop":  # promise the whole body, send half, hang up
                self._reply(status, headers, body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return None
            return self._reply(status, headers, body)

    return Handler


@pytest.fixture
def mirror(shared_data: Path) -> Iterator[tuple[str, MirrorState]]:
    state = MirrorState(root=shared_data / "rnaseqdb")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_plain(mirror, tmp_path):
    base, state = mirror
    dest = tmp_path / "f.txt.gz"
    assert fetch(f"{base}/{SMALL}", dest, progress=False)
    assert dest.read_bytes() == (state.root / SMALL).read_bytes()
    assert state.log == [(SMALL, None, 200)]
    assert fetch(f"{base}/{SMALL}", dest, progress=False)  # cached: no request
    assert len(state.log) == 1


def test_fetch_404_means_absent(mirror, tmp_path):
    base, _ = mirror
    dest = tmp_path / "x.txt.gz"
    assert fetch(f"{base}/data/normalized/nope-rsem-fpkm-gtex.txt.gz", dest) is False
    assert not dest.exists() and not dest.with_name("x.txt.gz.part").exists()


def test_dropped_connection_is_resumed_with_range(mirror, tmp_path):
    base, state = mirror
    size = (state.root / SMALL).stat().st_size
    state.faults[SMALL] = ["drop"]
    dest = tmp_path / "f.txt.gz"
    assert fetch(f"{base}/{SMALL}", dest, backoff_s=0, progress=False)
    assert dest.read_bytes() == (state.root / SMALL).read_bytes()
    assert state.log == [(SMALL, None, 200), (SMALL, f"bytes={size // 2}-", 206)]
    assert not dest.with_name(dest.name + ".part").exists()


def test_failed_download_keeps_part_and_next_run_resumes(mirror, tmp_path):
    base, state = mirror
    size = (state.root / SMALL).stat().st_size
    state.faults[SMALL] = ["drop"]
    dest = tmp_path / "f.txt.gz"
    part = dest.with_name(dest.name + ".part")
    with pytest.raises(GexgenError, match=r"received \d+ of \d+ bytes.*resumed on the next run"):
        fetch(f"{base}/{SMALL}", dest, retries=0, progress=False)
    assert not dest.exists()
    assert part.stat().st_size == size // 2
    assert fetch(f"{base}/{SMALL}", dest, retries=0, progress=False)
    assert state.log[-1] == (SMALL, f"bytes={size // 2}-", 206)
    assert dest.read_bytes() == (state.root / SMALL).read_bytes()


def test_server_ignoring_range_restarts_cleanly(mirror, tmp_path):
    base, state = mirror
    state.faults[SMALL] = ["drop"]
    state.honour_range = False
    dest = tmp_path / "f.txt.gz"
    assert fetch(f"{base}/{SMALL}", dest, backoff_s=0, progress=False)
    assert state.log[-1][2] == 200 and state.log[-1][1] is not None
    assert dest.read_bytes() == (state.root / SMALL).read_bytes()


def test_server_error_is_retried(mirror, tmp_path):
    base, state = mirror
    state.faults[SMALL] = ["500", "500"]
    dest = tmp_path / "f.txt.gz"
    assert fetch(f"{base}/{SMALL}", dest, retries=2, backoff_s=0, progress=False)
    assert [s for _, _, s in state.log] == [500, 500, 200]


def test_persistent_server_error_fails_without_final_file(mirror, tmp_path):
    base, state = mirror
    state.faults[SMALL] = ["500"] * 5
    dest = tmp_path / "f.txt.gz"
    with pytest.raises(GexgenError, match=r"failed after 3 attempt\(s\): HTTP 500"):
        fetch(f"{base}/{SMALL}", dest, retries=2, backoff_s=0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_gzip_never_gets_the_final_name(mirror, tmp_path):
    base, state = mirror
    state.faults[SMALL] = ["corrupt", "corrupt"]
    dest = tmp_path / "f.txt.gz"
    with pytest.raises(GexgenError, match="gzip"):
        fetch(f"{base}/{SMALL}", dest, retries=1, backoff_s=0, progress=False)
    assert list(tmp_path.iterdir()) == []
    assert fetch(f"{base}/{SMALL}", dest, retries=0, progress=False)  # clean copy now
    assert dest.read_bytes() == (state.root / SMALL).read_bytes()


def test_subset_of_files_is_reported(mirror, tmp_path):
    base, state = mirror
    state.only = {SMALL, "data/normalized/cervix-rsem-fpkm-gtex.txt.gz"}
    root, absent = download_rnaseqdb(base, tmp_path / "cache", progress=False)
    assert sorted(p.name for p in (root / "data" / "normalized").iterdir()) == [
        "cervix-rsem-fpkm-gtex.txt.gz",
        "cesc-rsem-fpkm-tcga.txt.gz",
    ]
    assert "cesc-rsem-fpkm-tcga.txt.gz" not in absent and len(absent) > 40
    n_requests = len(state.log)
    download_rnaseqdb(base, tmp_path / "cache", progress=False)  # all cached or known absent
    assert len(state.log) == n_requests
    adata, summary = build_rnaseqdb_cohort(base, cache_dir=tmp_path / "cache", progress=False)
    assert set(adata.obs["tissue"]) == {"cervix"}
    assert summary.tissues_found == {"GTEx normal": ["cervix"], "TCGA normal": ["cesc"]}
    assert summary.n_samples == 13


def test_full_mirror_over_http_gives_the_same_cohort(
    mirror, tmp_path, shared_data, real_cohort_path
):
    base, state = mirror
    out = tmp_path / "c.h5ad"
    _, summary = build_rnaseqdb_cohort(
        base + "/",
        shared_data / "l1000" / "landmark_genes.tsv",
        out,
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    local = anndata.read_h5ad(real_cohort_path)
    remote = anndata.read_h5ad(out)
    np.testing.assert_array_equal(remote.X, local.X)
    assert remote.obs.equals(local.obs)
    assert len(summary.files_used) == 27 and len(summary.files_absent) == 29
    assert sum(1 for _, _, s in state.log if s == 200) == 28  # tissue-conf + 27 files


def test_cli_download_failure_exits_1_and_writes_nothing(mirror, tmp_path, monkeypatch):
    base, state = mirror
    monkeypatch.setattr(download, "BACKOFF_S", 0.0)
    monkeypatch.setattr(download, "RETRIES", 1)
    state.only = {SMALL}
    state.faults[SMALL] = ["500"] * 5
    out = tmp_path / "c.h5ad"
    args = ["data", "rnaseqdb", "--source", base, "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--no-progress"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "Error: download of" in result.stderr and "HTTP 500" in result.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["cache"]
