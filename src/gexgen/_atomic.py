"""Write files under a temporary name and rename them when complete.

The temporary file is created with ``tempfile.mkstemp`` in the destination's
folder: an unpredictable name opened with ``O_CREAT | O_EXCL`` (never through
a planted symlink), mode 0666 minus the umask like any new file. Before the
rename it must still be a regular file owned by this user, so a symlink is
never renamed into place.

Names are ``.{stem}.gexgen-partial-{host}-{pid}-{random}{suffix}`` (the suffix
is kept: some writers pick the format by it). A process killed with SIGKILL
cannot remove its file; the next ``atomic_path`` in the same folder removes
the partial files of processes of this host that no longer run (and those of
older gexgen versions, ``.{stem}.partial-{pid}{suffix}``, once their process is
gone and they are a minute old).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from gexgen.errors import GexgenError

__all__ = ["atomic_path", "remove_stale_partials", "PARTIAL_MARK"]

PARTIAL_MARK = ".gexgen-partial-"
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_NEW = re.compile(r"^\..*\.gexgen-partial-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[A-Za-z0-9_]+")
_OLD = re.compile(r"^\..+\.partial-(?P<pid>\d+)(\.[^.]*)?$")  # gexgen <= 0.1 names
_OLD_MIN_AGE_S = 60.0
_scanned: set[tuple[str, int]] = set()  # (folder, pid): each folder is scanned once per process
_scan_lock = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # fallback (not /proc): briefly set, then restored
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there: cannot tell
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep the file
    return True


def remove_stale_partials(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the partial files in ``folder`` left by dead gexgen processes; return them.

    Only regular files owned by this user are removed: this host's partial
    files whose process is gone, and old-style ``.x.partial-PID.ext`` files
    whose process is gone and that were not modified for a minute.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        new = _NEW.match(name)
        old = None if new else _OLD.match(name)
        if new is None and old is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or (uid is not None and info.st_uid != uid):
            continue
        if new is not None:
            if new["host"] != _HOST or _pid_alive(int(new["pid"])):
                continue
        elif old is not None and (
            _pid_alive(int(old["pid"])) or now - info.st_mtime < _OLD_MIN_AGE_S
        ):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _scan_once(folder: Path) -> None:
    key = (str(folder.resolve()), os.getpid())
    with _scan_lock:
        if key in _scanned:
            return
        _scanned.add(key)
    remove_stale_partials(folder)


def _check_still_ours(tmp: Path, final: Path) -> None:
    """Refuse to rename anything but our own regular file into place."""
    info = os.lstat(tmp)
    uid = os.geteuid() if hasattr(os, "geteuid") else info.st_uid
    if not stat.S_ISREG(info.st_mode) or info.st_uid != uid:
        raise GexgenError(
            f"the temporary file {str(tmp)!r} was replaced while {str(final)!r} was written "
            "(not a regular file of this user any more); nothing was renamed: check who else "
            "writes to that folder"
        )


def _claim(tmp: Path, final: Path) -> None:
    """Link ``tmp`` to ``final`` only if ``final`` does not exist (atomic), then drop ``tmp``.

    The existence test and the rename are one step (``link`` fails with EEXIST),
    so of two writers racing for the same new name one wins and the other is
    refused: nothing is silently replaced.
    """
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise GexgenError(
            f"{str(final)!r} appeared while it was being written (another process wrote it); "
            "it was left as is: pass --overwrite to replace it, or choose another name"
        ) from None
    except OSError as exc:  # a file system without hard links: exclusive create, then rename
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        try:
            os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, _MODE))
        except FileExistsError:
            raise GexgenError(
                f"{str(final)!r} appeared while it was being written (another process wrote "
                "it); it was left as is: pass --overwrite to replace it, or choose another name"
            ) from None
        os.replace(tmp, final)
        return
    with contextlib.suppress(OSError):
        tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, exclusive: bool = False) -> Iterator[Path]:
    """Yield a new, empty temporary file beside ``path``; rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it
    was, so a reader never sees a half-written output. Writers may reopen and
    truncate the yielded path (its suffix is that of ``path``).

    ``exclusive``: the rename only creates ``path``; if another process created
    it in the meantime, a :class:`GexgenError` is raised and that file is kept
    (what ``overwrite=False`` means, checked at the rename and not only before).

    Examples
    --------
    >>> with atomic_path("out.npy") as tmp:  # doctest: +SKIP
    ...     np.save(tmp, x)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    _scan_once(final.parent)
    fd, name = tempfile.mkstemp(
        prefix=f".{final.stem}{PARTIAL_MARK}{_HOST}-{os.getpid()}-",
        suffix=final.suffix,
        dir=final.parent,
    )
    tmp = Path(name)
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, _MODE)
        os.close(fd)
        yield tmp
        _check_still_ours(tmp, final)
        if exclusive:
            _claim(tmp, final)
        else:
            os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()  # a planted symlink at our name: only the link goes
        if isinstance(exc, OSError) and exc.errno and exc.filename in (None, str(tmp), tmp):
            # name the destination, not the hidden temporary file (h5py names neither)
            raise OSError(exc.errno, os.strerror(exc.errno), str(final)) from exc
        raise
