"""A disk cache of torch-serializable results, keyed by a hash of what determines them."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

import torch

from lossviz import files, paths

CACHE_VERSION = 1
T = TypeVar("T")


def default_dir() -> Path:
    """The cache folder: `$LOSSVIZ_CACHE` if set, else `cache/` in the project folder."""
    return paths.cache_dir()


def _plain(value: Any) -> Any:
    """Turn dataclasses, tuples and paths into JSON-able values for hashing."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__, **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot hash a value of type {type(value).__name__} into a cache key")


def key(*parts: Any) -> str:
    """A sha256 hex key of the parts (dataclasses, dicts, lists, scalars) and the cache version."""
    text = json.dumps([CACHE_VERSION, _plain(list(parts))], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def tensor_fingerprint(*tensors: torch.Tensor) -> str:
    """A sha256 hex digest of the tensors' bytes (for keying on data contents)."""
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(str((tuple(tensor.shape), str(tensor.dtype))).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to `path` so that a reader never sees a partial file (temp file + rename)."""
    with files.atomic(path, mode=None) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save(path: Path, obj: Any) -> None:
    """Save `obj` with torch.save behind a sha256 header line, atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    write_atomic(path, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def load(path: Path) -> Any:
    """Load what `save` wrote; raise ValueError if the file is truncated or corrupted."""
    raw = Path(path).read_bytes()
    header, _, payload = raw.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != header:
        raise ValueError(f"cache entry {path} is corrupted (checksum mismatch)")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)


def cached(name: str, cache_key: str, compute: Callable[[], T], cache_dir: str | Path | None = None) -> T:
    """Return the cached result for `cache_key`, else compute, save atomically and return it."""
    path = Path(cache_dir if cache_dir is not None else default_dir()) / f"{name}-{cache_key[:20]}.pt"
    if path.exists():
        try:
            entry = load(path)
            if entry["key"] == cache_key:
                return entry["value"]
        except Exception:  # a truncated or corrupted entry is recomputed, never loaded
            pass
    value = compute()
    save(path, {"key": cache_key, "value": value})
    return value
