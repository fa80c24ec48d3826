"""Grids of coordinates (alpha, beta) in weight space: how they are made, how big they may be, how points are ordered.

A 1D grid is `xs`; a 2D grid is `xs` by `ys` with values z[j, i] at (xs[i], ys[j]): shape (len(ys), len(xs)), the
order of `np.meshgrid(xs, ys)` and of the reference code's files. Point `index` counts row by row.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

Coordinates = Sequence[float] | np.ndarray  # the coordinates of one axis
MAX_POINTS_ENV = "LOSSVIZ_MAX_POINTS"  # raises (or lowers) the cap on grid points
DEFAULT_MAX_POINTS = 1_000_000  # a 1000 x 1000 grid; the papers' largest is 51 x 51 (hours on a GPU)


def shape(xs: Coordinates, ys: Coordinates | None) -> tuple[int, ...]:
    """(len(xs),) for 1D, (len(ys), len(xs)) for 2D, the np.meshgrid(xs, ys) layout."""
    return (len(xs),) if ys is None else (len(ys), len(xs))


def max_points() -> int:
    """The cap on the points of one grid: `$LOSSVIZ_MAX_POINTS` if set, else DEFAULT_MAX_POINTS."""
    text = os.environ.get(MAX_POINTS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_POINTS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_POINTS_ENV}={text!r} must be a positive whole number of points")
    return value


def grid(start: float, stop: float, num: int | float, limit: int | None = None) -> np.ndarray:
    """`num` evenly spaced coordinates from start to stop (the reference's `--x=min:max:num`).

    One point needs start == stop (it would be start alone); at most `limit` points (default `max_points()`),
    checked before anything is allocated (`check_axis`).
    """
    check_axis(start, stop, num, limit)
    return np.linspace(start, stop, int(num))


def check_axis(start: float, stop: float, num: float, limit: int | None = None) -> None:
    """Raise ValueError unless `grid(start, stop, num)` is a valid axis of at most `limit` points; allocates nothing,
    so a caller can check a whole grid's size (`check_size`) before it makes the coordinates."""
    if not math.isfinite(num) or int(num) != num or num < 1:
        raise ValueError(f"num={num} must be a positive whole number of points")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"grid bounds must be finite; got start={start}, stop={stop}")
    if num == 1 and start != stop:
        raise ValueError(f"num=1 gives the single point {start:g}, not a range to {stop:g}: "
                         f"use num >= 2, or start = stop for one point")
    limit = max_points() if limit is None else limit
    if num > limit:
        raise ValueError(f"num={int(num):,} is more than the {limit:,} points a grid may hold; "
                         f"raise the limit with {MAX_POINTS_ENV}=N if you mean it")


def check_size(dims: Sequence[int], arrays: int, limit: int | None = None) -> None:
    """Raise ValueError if a grid of shape `dims` holding `arrays` value arrays has more than `limit` points
    (default `max_points()`), or if its arrays would need more than half of the free memory."""
    points = int(np.prod([int(n) for n in dims], dtype=object))
    limit = max_points() if limit is None else limit
    where = " x ".join(f"{int(n):,}" for n in dims)
    if points > limit:
        raise ValueError(f"the grid ({where}) has {points:,} points, more than the limit of {limit:,}; "
                         f"raise it with {MAX_POINTS_ENV}=N if you mean it")
    needed = 3 * points * (8 * arrays + 1)  # the arrays, the masked copy written and the file's bytes
    free = free_memory()
    if free is not None and needed > free / 2:
        raise ValueError(f"the grid ({where}) needs about {needed / 2**30:.1f} GiB for its {arrays} arrays, more "
                         f"than half of the {free / 2**30:.1f} GiB of free memory; use a coarser grid")


def free_memory() -> int | None:
    """Bytes of free physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def coordinates(xs: Coordinates, ys: Coordinates | None, index: int) -> tuple[float, float | None]:
    """(alpha, beta) of flat point `index` in np.meshgrid(xs, ys) order (beta None for 1D)."""
    if ys is None:
        return float(xs[index]), None
    j, i = divmod(index, len(xs))
    return float(xs[i]), float(ys[j])
