"""A disk cache of torch-serializable results, keyed by a hash of what determines them."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import pickle
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import torch

try:
    from numpy._core.multiarray import scalar as _numpy_scalar
except ImportError:  # numpy < 2
    from numpy.core.multiarray import scalar as _numpy_scalar  # type: ignore[no-redef]

from lossviz.base import files, folders

CACHE_VERSION = 2  # raise it when a stored value or a key changes meaning: older entries are then never read
T = TypeVar("T")


def default_dir() -> Path:
    """The cache folder: `$LOSSVIZ_CACHE` if set, else `cache/` in the project folder."""
    return folders.cache_dir()


def plain(value: Any) -> Any:
    """Dataclasses, tuples and paths as JSON-able values (for hashing, and for a result file's attributes)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__,
                **{f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot hash a value of type {type(value).__name__} into a cache key")


def text(value: Any) -> str:
    """`value` as canonical JSON text (sorted keys, no spaces): what a key hashes, readable in a file's attributes."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"))


def key(*parts: Any) -> str:
    """A sha256 hex key of the parts (dataclasses, dicts, lists, scalars) and the cache version."""
    return hashlib.sha256(text([CACHE_VERSION, list(parts)]).encode()).hexdigest()


def save(path: Path, obj: Any) -> None:
    """Save `obj` with torch.save behind a sha256 header line, atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    files.write_bytes(path, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def _project_dataclasses() -> list[type]:
    """The dataclasses of the imported lossviz modules that unpickle as plain data (no custom __setstate__/__new__)."""
    found = []
    for name, module in list(sys.modules.items()):
        if name != "lossviz" and not name.startswith("lossviz."):
            continue
        for obj in list(vars(module).values()):
            if (isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == name
                    and not {"__setstate__", "__new__", "__reduce__", "__reduce_ex__"} & set(vars(obj))):
                found.append(obj)
    return found


def safe_globals() -> list:
    """What `torch_load` accepts besides tensors and containers: numpy scalars and the project's dataclasses."""
    numeric = [type(np.dtype(code)) for code in "?bhilqBHILQefdgFDG"]  # not object or structured dtypes
    return [_numpy_scalar, (_numpy_scalar, "numpy.core.multiarray.scalar"), np.dtype, *numeric,
            *_project_dataclasses()]


def _first_line(error: BaseException) -> str:
    """The error's type and the first line of its message (torch's unpickling messages run for pages)."""
    text = str(error).split("WeightsUnpickler error:")[-1]  # torch's reason follows pages of advice
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0].split('. ')[0][:200]}" if lines else type(error).__name__


def _global_name(allowed: Any) -> str:
    """The dotted name under which an allowed global appears in a pickle."""
    return allowed[1] if isinstance(allowed, tuple) else f"{allowed.__module__}.{allowed.__qualname__}"


def torch_load(source: str | os.PathLike | IO[bytes], what: str, hint: str = "") -> Any:
    """torch.load(weights_only=True) on the CPU, allowing `safe_globals()`: pickled code is never run.

    Raise ValueError naming `what` (e.g. "checkpoint 'a.pt'") when the file holds other objects (refused,
    not loaded) or cannot be read at all (truncated, not a torch file); `hint` says what to do instead.
    """
    allowed = safe_globals()
    if hasattr(source, "seek"):
        source.seek(0)
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        try:
            if hasattr(source, "seek"):
                source.seek(0)
            names = torch.serialization.get_unsafe_globals_in_checkpoint(source)
        except Exception:  # not a zip checkpoint (e.g. garbage bytes): no names to list
            names = []
        names = [n for n in names if n not in {_global_name(g) for g in allowed}]
        problem = (f"holds pickled objects ({', '.join(names[:4])}) that could run code: refused, not loaded"
                   if names else f"cannot be read ({_first_line(error)})")
    except Exception as error:  # truncated zip, wrong magic number, end of file: many types
        problem = f"cannot be read ({_first_line(error)})"
    raise ValueError(f"{what} {problem}" + (f"; {hint}" if hint else ""))


def load(path: Path) -> Any:
    """Load what `save` wrote; raise ValueError if the file is truncated, corrupted or holds anything but data.

    Entries are unpickled with weights_only=True (`torch_load`): a planted entry cannot run code.
    """
    raw = Path(path).read_bytes()
    header, _, payload = raw.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != header:
        raise ValueError(f"cache entry {path} is corrupted (checksum mismatch)")
    return torch_load(io.BytesIO(payload), f"cache entry {path}")


def cached(name: str, cache_key: str, compute: Callable[[], T], cache_dir: str | Path | None = None) -> T:
    """Return the cached result for `cache_key`, else compute, save atomically and return it."""
    path = Path(cache_dir if cache_dir is not None else default_dir()) / f"{name}-{cache_key[:20]}.pt"
    if path.exists():
        try:
            entry = load(path)
            if entry["key"] == cache_key:
                return entry["value"]
        except ValueError as error:  # truncated, corrupted or refused: recomputed and replaced, never run
            warnings.warn(f"{error}; recomputing it", stacklevel=2)
        except (KeyError, TypeError):  # readable, but not an entry `cached` wrote
            pass
    value = compute()
    save(path, {"key": cache_key, "value": value})
    return value
