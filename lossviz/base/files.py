"""Atomic file writing: a result file is either the old one or the complete new one, never half-written; and the
advisory lock that keeps two runs from writing one file."""
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
_HELD: dict[str, int] = {}  # lock files this process holds, with how many `lock` blocks hold each


def real(path: str | os.PathLike) -> Path:
    """`path` with its symbolic links followed (a dangling link: the path it points to)."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextlib.contextmanager
def atomic(path: str | os.PathLike, suffix: str = ".tmp", mode: int | None = 0o644) -> Iterator[Path]:
    """A temporary path beside `path`: it replaces `path` (os.replace) when the block ends without error,
    and is removed when the block raises. `mode`: the file's permissions (None keeps mkstemp's 0600). A symbolic
    link is written through: the file it points to (created for a dangling link) is replaced, the link stays.

    The writer holds a lock on its temp file until the end, so temp files of killed writers (kill -9) are
    told apart from live ones and removed by the next write of the same `path` (`clean_stale`)."""
    path = real(path)
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


def lock_file(path: str | os.PathLike) -> Path:
    """The lock file of `path` (links followed): `.NAME.lock` beside it."""
    target = Path(os.path.abspath(real(path)))
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def lock(path: str | os.PathLike, shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock on `path` for the block: exclusive (a writer), or `shared` (readers, any number, while
    no writer holds it); else raise ValueError naming the process that holds it.

    The lock is `lock_file(path)`, created for the block (with any missing folders) and removed by its last holder,
    so nothing stays behind; a killed holder's lock ends with it. Nested blocks of one process on one path share
    the first block's lock. Where there are no advisory locks (Windows) the block runs unlocked."""
    if fcntl is None:
        yield
        return
    name = lock_file(path)
    key = str(name)
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    made = [p for p in (name.parent, *name.parent.parents) if not p.exists()]
    name.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(name, path, shared)
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        try:  # the last holder removes the file, still locked: a waiter that opened it sees it is gone and retries
            if shared:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            name.unlink(missing_ok=True)
        except OSError:
            pass  # another reader still holds it
        os.close(fd)
        for folder in made:  # folders made for the lock alone (the block wrote nothing there)
            with contextlib.suppress(OSError):
                folder.rmdir()


def _acquire(name: Path, path: str | os.PathLike, shared: bool) -> int:
    """A descriptor of lock file `name`, locked (shared or exclusively) and still linked; an exclusive holder
    writes its process id there."""
    while True:
        fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise ValueError(f"{path} is in use by another run" + (f" (process {holder})" if holder else "")
                             + ": wait for it to end, or choose another file") from None
        try:
            linked = os.stat(name).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            linked = False
        if linked:
            if not shared:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
            return fd
        os.close(fd)  # the previous holder removed it as we opened it: take the new one
