"""Atomic file writing: a result file is either the old one or the complete new one, never half-written."""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so stale temp files are left alone
    fcntl = None  # type: ignore[assignment]

STALE_SECONDS = 2.0  # a temp file this old whose writer holds no lock was left by a killed writer


@contextlib.contextmanager
def atomic(path: str | os.PathLike, suffix: str = ".tmp", mode: int | None = 0o644) -> Iterator[Path]:
    """A temporary path beside `path`: it replaces `path` (os.replace) when the block ends without error,
    and is removed when the block raises. `mode`: the file's permissions (None keeps mkstemp's 0600).

    The writer holds a lock on its temp file until the end, so temp files of killed writers (kill -9) are
    told apart from live ones and removed by the next write of the same `path` (`clean_stale`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path, suffix)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield Path(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)  # readers of `path` that lock it (HDF5 does) must not see our lock
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> Path:
    """Write `data` to `path` atomically and durably (temp file, fsync, os.replace): the one atomic write of the
    package. `mode`: the file's permissions (default 0666 less the umask, as a plain `open` would give)."""
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with atomic(path, mode=mode) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def temp_files(path: str | os.PathLike, suffix: str = ".tmp") -> list[Path]:
    """The temporary files `atomic(path, suffix)` creates beside `path` (`.NAME.XXXXXXXX<suffix>`)."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}{re.escape(suffix)}")
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir() if pattern.fullmatch(p.name))


def clean_stale(path: str | os.PathLike, suffix: str = ".tmp") -> list[Path]:
    """Remove the temp files of `path` left by killed writers (unlocked, older than STALE_SECONDS); return them."""
    if fcntl is None:
        return []
    removed = []
    for tmp in temp_files(path, suffix):
        try:
            if time.time() - tmp.stat().st_mtime < STALE_SECONDS:
                continue  # just created: its writer may not hold the lock yet
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            continue  # gone already
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live writer holds it
        else:
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        finally:
            os.close(fd)
    return removed
