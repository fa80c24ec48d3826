"""HDF5 direction and surface files in the layout of the Li et al. reference code (tomgoldstein/loss-landscape).

Direction file: groups `xdirection` (and `ydirection` for 2D) holding datasets `0`, `1`, ... in
`parameters()` order (`state_dict()` order for kind="states"). We add group attributes: `names`
(the tensor names, checked on reading) and what made the direction (`kind`, `norm`, `ignore`, `seed`).

Surface file: `dir_file` (string dataset), `xcoordinates`, `ycoordinates` (2D only), and for each
data split `<split>_loss` and `<split>_acc` (accuracy in percent). A 2D array has shape
(len(y), len(x)) and `train_loss[j, i]` is the value at (x_i, y_j), the order of np.meshgrid(x, y),
which is the order the reference fills and plots. Unfinished points hold -1 like the reference, and
our boolean dataset `done` tells them apart from real values; the file's attributes record the
request (fingerprints of model, directions and data; BN mode; precision) for safe resuming.
Every write goes to a temporary file that replaces the old one, so a killed run never leaves a
corrupt file.
"""
from __future__ import annotations

import contextlib
import io as _io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from lossviz.base import files, grids
from lossviz.base.directions import Weights
from lossviz.base.grids import Coordinates

AXES = ("xdirection", "ydirection")
COORDINATES = ("xcoordinates", "ycoordinates")
UNFINISHED = -1.0  # the reference's marker of a point not computed yet


def _h5_bytes(write) -> bytes:
    """The bytes of an HDF5 file built in memory by `write(f)`."""
    buffer = _io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write(f)
    return buffer.getvalue()


@contextlib.contextmanager
def _reading(path: str | Path, what: str) -> Iterator[h5py.File]:
    """Open an HDF5 file to read; a missing, truncated or non-HDF5 file is a ValueError naming it and `what`."""
    try:
        with h5py.File(path, "r") as f:
            yield f
    except (OSError, KeyError, RuntimeError) as error:  # h5py's errors for damaged files
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise ValueError(f"{path} is not a readable {what} (truncated, damaged or not HDF5: {reason})") from None


def _attr(value: Any) -> Any:
    """An HDF5 attribute value read back as plain Python (str, int, float, list of str)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---- directions ---------------------------------------------------------------------------------------

def save_directions(path: str | Path, directions: Sequence[Mapping[str, torch.Tensor]],
                    attrs: Sequence[Mapping[str, Any]] | Mapping[str, Any] = ()) -> None:
    """Write one or two directions (delta, eta) as groups `xdirection`, `ydirection`, atomically."""
    if not 1 <= len(directions) <= 2:
        raise ValueError(f"directions must hold 1 or 2 directions; got {len(directions)}")
    per_axis = [attrs] * len(directions) if isinstance(attrs, Mapping) else list(attrs) or [{}] * len(directions)
    if len(per_axis) != len(directions):
        raise ValueError(f"attrs must be one mapping or one per direction; got {len(per_axis)} for {len(directions)}")

    def write(f: h5py.File) -> None:
        for axis, delta, meta in zip(AXES, directions, per_axis):
            group = f.create_group(axis)
            for i, d in enumerate(delta.values()):
                group.create_dataset(str(i), data=d.detach().cpu().numpy())
            group.attrs["names"] = list(delta)
            for key, value in meta.items():
                group.attrs[key] = value

    files.write_bytes(path, _h5_bytes(write))


def direction_attrs(path: str | Path) -> list[dict[str, Any]]:
    """The attributes of each direction group (empty for files of the reference code)."""
    with _reading(path, "direction file") as f:
        return [{k: _attr(v) for k, v in f[axis].attrs.items() if k != "names"} for axis in AXES if axis in f]


def load_directions(path: str | Path, theta: Mapping[str, torch.Tensor]) -> list[Weights]:
    """Read the directions of a file as tensor dicts keyed, shaped, typed and placed like `theta`.

    Names stored with the directions must equal theta's; files of the reference code carry none and
    are matched by position (count and shapes are checked).
    """
    keys = list(theta)
    result = []
    with _reading(path, "direction file") as f:
        if AXES[0] not in f:
            raise ValueError(f"{path} is not a direction file: it has no 'xdirection' group")
        for axis in AXES:
            if axis not in f:
                continue
            group = f[axis]
            if "names" in group.attrs:
                names = _attr(group.attrs["names"])
                if names != keys:
                    missing, extra = [k for k in keys if k not in names], [k for k in names if k not in keys]
                    raise ValueError(f"{path} {axis} does not match the model: names missing {missing[:5]}, "
                                     f"unexpected {extra[:5]} (was it made for another model or kind?)")
            if len(group) != len(keys):
                raise ValueError(f"{path} {axis} holds {len(group)} tensors, the model {len(keys)} "
                                 f"(another model, or kind='params' vs 'states'?)")
            delta = {}
            for i, k in enumerate(keys):
                array = np.asarray(group[str(i)][()])
                if array.shape != tuple(theta[k].shape):
                    raise ValueError(f"{path} {axis}/{i} has shape {array.shape}, but {k!r} of the model "
                                     f"has shape {tuple(theta[k].shape)}")
                t = theta[k]
                value = torch.from_numpy(array).to(device=t.device, dtype=t.dtype)
                delta[k] = value if t.is_floating_point() else torch.zeros_like(t)
            result.append(delta)
    return result


# ---- surfaces -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Surface:
    """A loss surface: coordinates, value arrays by name (`train_loss`, `train_acc` in %, ...), `done` mask."""

    xcoordinates: np.ndarray
    ycoordinates: np.ndarray | None
    values: dict[str, np.ndarray]
    done: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)
    dir_file: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        """(len(x),) for 1D, (len(y), len(x)) for 2D."""
        return grids.shape(self.xcoordinates, self.ycoordinates)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    @property
    def complete(self) -> bool:
        """True when every point is computed."""
        return bool(self.done.all())

    def images(self) -> dict[str, int]:
        """{split: the images each point was evaluated on}, from the request the file records ({} without one)."""
        request = self.attrs.get("request")
        sample = (json.loads(str(request)) if request else {}).get("sample") or {}
        return {split: int(sample[f"{split}_subset"]) for split in ("train", "test") if sample.get(f"{split}_subset")}

    def undefined(self) -> list[tuple[float, ...]]:
        """Coordinates (x,) or (x, y) of the computed points where some loss is NaN or infinite."""
        losses = [v for k, v in self.values.items() if k.endswith("_loss")] or list(self.values.values())
        bad = self.done & np.logical_or.reduce([~np.isfinite(v) for v in losses]) if losses else self.done & False
        if self.ycoordinates is None:
            return [(float(self.xcoordinates[i]),) for i in np.flatnonzero(bad)]
        return [(float(self.xcoordinates[i]), float(self.ycoordinates[j])) for j, i in zip(*np.nonzero(bad))]


def empty_surface(xs: Coordinates, ys: Coordinates | None, names: Sequence[str],
                  attrs: Mapping[str, Any] | None = None, dir_file: str = "") -> Surface:
    """A surface with every value at the reference's unfinished marker -1 and nothing done."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = None if ys is None else np.asarray(ys, dtype=np.float64)
    for axis, coords in (("xs", xs), ("ys", ys)):
        if coords is not None and (coords.ndim != 1 or len(coords) == 0 or not np.isfinite(coords).all()):
            raise ValueError(f"{axis} must be a non-empty 1-D sequence of finite coordinates")
    shape = grids.shape(xs, ys)
    values = {name: np.full(shape, UNFINISHED) for name in names}
    return Surface(xs, ys, values, np.zeros(shape, dtype=bool), dict(attrs or {}), dir_file)


def save_surface(path: str | Path, surface: Surface) -> None:
    """Write a surface file in the reference layout (plus `done` and the request attributes), atomically.

    Arrays and attributes are written in the order of their names, so the bytes depend only on the contents: a
    resumed file is the same file as an uninterrupted run's."""
    def write(f: h5py.File) -> None:
        f["dir_file"] = surface.dir_file
        f["xcoordinates"] = surface.xcoordinates
        if surface.ycoordinates is not None:
            f["ycoordinates"] = surface.ycoordinates
        for name in sorted(surface.values):
            f[name] = np.where(surface.done, surface.values[name], UNFINISHED)
        f["done"] = surface.done
        for key in sorted(surface.attrs):
            f.attrs[key] = surface.attrs[key]

    files.write_bytes(path, _h5_bytes(write))


def load_surface(path: str | Path) -> Surface:
    """Read a surface file written by us or by the reference code.

    Reference files have no `done`: a point counts as done where the loss is not <= 0 (the
    reference's own rule). Reference 2D arrays are allocated (len(x), len(y)) but filled in
    meshgrid order, so a non-square one is reshaped to (len(y), len(x)) by its flat order.
    """
    with _reading(path, "surface file") as f:
        if "xcoordinates" not in f:
            raise ValueError(f"{path} is not a surface file: it has no 'xcoordinates' dataset")
        xs = np.asarray(f["xcoordinates"][()], dtype=np.float64)
        ys = np.asarray(f["ycoordinates"][()], dtype=np.float64) if "ycoordinates" in f else None
        shape = grids.shape(xs, ys)
        values = {}
        for name in f:
            if name in (*COORDINATES, "done", "dir_file") or not isinstance(f[name], h5py.Dataset):
                continue
            array = np.asarray(f[name][()])
            if array.size != int(np.prod(shape)):
                continue  # not a per-point array (e.g. a user's extra dataset)
            values[name] = array.reshape(shape).astype(np.float64)
        if "done" in f:
            done = np.asarray(f["done"][()], dtype=bool).reshape(shape)
        else:
            losses = [v for k, v in values.items() if k.endswith("_loss")] or list(values.values())
            done = ~(losses[0] <= 0) if losses else np.zeros(shape, dtype=bool)
        dir_file = f["dir_file"][()] if "dir_file" in f else f.attrs.get("dir_file", "")
        attrs = {k: _attr(v) for k, v in f.attrs.items()}
    return Surface(xs, ys, values, done, attrs, _attr(dir_file))
