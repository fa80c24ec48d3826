"""Atomic file writing: a result file is either the old one or the complete new one, never half-written."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic(path: str | os.PathLike, suffix: str = ".tmp", mode: int | None = 0o644) -> Iterator[Path]:
    """A temporary path beside `path`: it replaces `path` (os.replace) when the block ends without error,
    and is removed when the block raises. `mode`: the file's permissions (None keeps mkstemp's 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
