"""Seminar-slide renderings: shaded 3D surfaces with a path or curve lifted onto them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.interpolate import RegularGridInterpolator

from lossviz.views import plot


def lift(x, y, z, path_xy) -> np.ndarray:
    """z at each (x, y) of a path, bilinear between grid points (z[j, i] is the value at (x[i], y[j]))."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    if z.shape != (len(y), len(x)):
        raise ValueError(f"z must have shape (len(y), len(x)) = {(len(y), len(x))}, got {z.shape}")
    p = np.asarray(path_xy, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"path_xy must be an (n, 2) array, got shape {p.shape}")
    inside = (p[:, 0] >= x.min()) & (p[:, 0] <= x.max()) & (p[:, 1] >= y.min()) & (p[:, 1] <= y.max())
    if not inside.all():
        raise ValueError(f"path_xy leaves the grid at {int((~inside).sum())} of {len(p)} points")
    return RegularGridInterpolator((y, x), z)(p[:, ::-1])


def slide_3d(x, y, z, *, title: str, path_xy=None, points_xy=None, point_labels: Sequence[str] | None = None,
             vmax: float = 10.0, log: bool = True, ax: Axes | None = None, xlabel: str = plot.ALPHA,
             ylabel: str = plot.BETA, elev: float = 38.0, azim: float = -55.0, path_z=None,
             zlim: tuple[float, float] | None = None) -> Figure:
    """A 3D surface styled for a slide: clean panes, large title, and an optional path (line) and points (dots)
    drawn on the surface at the heights shown (clipped at vmax, log10 when log). `path_z`: the path's own
    measured values (same units as z), drawn instead of heights interpolated from the grid, so a coarse grid
    cannot invent a rise the path does not have. `zlim`: the heights' range (panels to be compared share it)."""
    fig = plot.surface_3d(x, y, z, vmax=vmax, log=log, ax=ax, elev=elev, azim=azim, xlabel=xlabel, ylabel=ylabel,
                          colorbar=False, zlim=zlim)
    ax3: Any = fig.axes[-1] if ax is None else ax  # Axes3D, untyped
    ax3.set_title(title, fontsize=13, pad=2)
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
        axis.pane.set_alpha(0.0)
        axis.pane.set_edgecolor("0.85")
    ax3.grid(False)
    zclip = np.minimum(np.asarray(z, dtype=float), vmax)
    shown = np.log10(zclip) if log else zclip
    lifted = 0.02 * float(np.nanmax(shown) - np.nanmin(shown))  # just above the surface, so it is not hidden
    if path_xy is not None:
        p = np.asarray(path_xy, dtype=float)
        if path_z is None:
            heights = lift(x, y, shown, p)
        else:
            pz = np.minimum(np.asarray(path_z, dtype=float), vmax)
            if pz.shape != (len(p),):
                raise ValueError(f"path_z must hold one value per point of path_xy ({len(p)}), got shape {pz.shape}")
            heights = np.log10(pz) if log else pz
        ax3.plot(p[:, 0], p[:, 1], heights + lifted, "-", color="tab:red", lw=2.5, zorder=10)
    if points_xy is not None:
        q = np.asarray(points_xy, dtype=float)
        h = lift(x, y, shown, q) + lifted
        ax3.scatter(q[:, 0], q[:, 1], h, color="white", edgecolors="k", s=40, depthshade=False, zorder=11)
        for (px, py), pz, text in zip(q, h, point_labels or ()):
            ax3.text(px, py, pz + 3 * lifted, text, color="k", fontsize=10, zorder=12)
    return fig
