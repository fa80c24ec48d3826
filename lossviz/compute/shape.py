"""Numbers that describe the shape of a computed surface or line: its center, rim, local minima and a robust
sharpness (`summary`), how far two computations of one grid differ (`difference`), the top of a barrier
(`peak_between`)."""
from __future__ import annotations

import numpy as np

from lossviz.base import io


def summary(s: io.Surface, key: str = "train_loss", radius: float = 0.5) -> dict[str, float]:
    """Numbers that describe a surface: the loss at the center and at the rim (mean over the border), its
    local minima, and `rise`, a robust sharpness: the median over the points at distance `radius` from the
    center (within half a grid step) of the loss minus the loss at the center.

    On filter-normalized axes, radius 0.5 moves every filter by half its norm; the median, unlike the border
    mean, is not carried away by one diverging point."""
    z, center, values = _on_ring(s, key, radius)
    if z.ndim == 1:
        rim = float(np.mean([z[0], z[-1]]))
        minima = int(np.sum((z[1:-1] < z[:-2]) & (z[1:-1] < z[2:])))
    else:
        rim = float(np.mean(np.concatenate([z[0], z[-1], z[1:-1, 0], z[1:-1, -1]])))
        inner = z[1:-1, 1:-1]
        neighbours = [z[1 + dy:z.shape[0] - 1 + dy, 1 + dx:z.shape[1] - 1 + dx]
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
        minima = int(np.sum(np.all([inner < n for n in neighbours], axis=0)))
    rise = float(np.median(values)) - center
    return {"center": center, "rim": rim, "local_minima": minima, "rise": rise}


def _on_ring(s: io.Surface, key: str, radius: float) -> tuple[np.ndarray, float, np.ndarray]:
    """A surface's values, its center value and its values at distance `radius` from the center (within half a
    grid step), a diverged (NaN/inf) point as inf, the highest."""
    z = np.asarray(s[key], dtype=np.float64)
    xs = np.asarray(s.xcoordinates, dtype=np.float64)
    if radius <= 0:
        raise ValueError(f"radius={radius} must be positive")
    if z.ndim == 1:
        center, distance = z[len(z) // 2], np.abs(xs - xs[len(xs) // 2])
        step = float(np.min(np.diff(xs)))
    else:
        ys = np.asarray(s.ycoordinates, dtype=np.float64)
        center = z[z.shape[0] // 2, z.shape[1] // 2]
        gx, gy = np.meshgrid(xs - xs[len(xs) // 2], ys - ys[len(ys) // 2])
        distance = np.hypot(gx, gy)
        step = float(min(np.min(np.diff(xs)), np.min(np.diff(ys))))
    on_ring = np.abs(distance - radius) <= step / 2 + 1e-9
    if not on_ring.any():
        raise ValueError(f"radius={radius} lies outside the grid (largest distance {distance.max():.3g})")
    values = z[on_ring]
    return z, float(center), np.where(np.isfinite(values), values, np.inf)


def difference(a: io.Surface, b: io.Surface, key: str = "train_loss", below: float = 10.0) -> dict[str, float]:
    """How far two computations of one grid differ (e.g. bf16 against fp32) where the loss is below `below`
    (the plotted range): the largest absolute and relative differences and the median relative one."""
    za, zb = np.asarray(a[key], dtype=np.float64), np.asarray(b[key], dtype=np.float64)
    if za.shape != zb.shape:
        raise ValueError(f"the surfaces have different grids: {za.shape} and {zb.shape}")
    shown = np.isfinite(za) & np.isfinite(zb) & (zb < below)
    if not shown.any():
        raise ValueError(f"no point has a finite {key} below {below} on both surfaces")
    gap = np.abs(za - zb)[shown]
    rel = gap / np.maximum(np.abs(zb[shown]), 1e-12)
    return {"max_abs": float(gap.max()), "max_rel": float(rel.max()), "median_rel": float(np.median(rel)),
            "points": int(shown.sum())}


def peak_between(line: io.Surface, lo: float = 0.0, hi: float = 1.0, key: str = "train_loss") -> float:
    """The highest defined loss of a 1D line for lo <= alpha <= hi (between two minimizers: the barrier's top)."""
    a = np.asarray(line.xcoordinates, dtype=np.float64)
    z = np.asarray(line[key], dtype=np.float64)[(a >= lo) & (a <= hi)]
    if not np.isfinite(z).any():
        raise ValueError(f"the line has no defined {key} for alpha in [{lo}, {hi}]")
    return float(np.nanmax(np.where(np.isfinite(z), z, np.nan)))


def ring(s: io.Surface, key: str = "train_loss", radius: float = 0.5) -> np.ndarray:
    """The loss minus the loss at the center on the points of the ring `summary` takes its rise from (distance
    `radius` from the center, within half a grid step), a diverged point as inf: the rise is their median, and
    their spread around the ring says how much it depends on the direction within the plane (`stats.median_se`)."""
    _, center, values = _on_ring(s, key, radius)
    return values - center
