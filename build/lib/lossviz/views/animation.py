"""Animations: the optimizer's path drawn epoch by epoch over the PCA-plane contours (GIF or HTML)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter

from lossviz.base import files
from lossviz.views import plot


def path_animation(x, y, z, path_xy, epochs: Sequence[float] | None = None, *, title: str | None = None,
                   explained: Sequence[float] | None = None, log: bool = False) -> FuncAnimation:
    """One frame per checkpoint: the contours of the PCA plane and the path up to that epoch (Li et al. Fig. 9)."""
    path = np.asarray(path_xy, dtype=float)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) < 2:
        raise ValueError(f"path_xy must be an (n >= 2, 2) array of plane coordinates, got shape {path.shape}")
    ep = np.arange(len(path)) if epochs is None else np.asarray(epochs, dtype=float)
    if ep.shape != (len(path),):
        raise ValueError(f"epochs must give one epoch per row of path_xy ({len(path)}), got shape {ep.shape}")
    first = int(ep[0]) if float(ep[0]).is_integer() else float(ep[0])  # labelled "0", not "0.0"
    fig = plot.trajectory(x, y, z, path[:1], epochs=[first], explained=explained, log=log, title=title,
                          n_labels=0)
    ax = fig.axes[0]
    trail, = ax.plot([], [], "-", color="tab:red", lw=1.8, zorder=4)
    head, = ax.plot([], [], "o", color="tab:red", ms=7, zorder=5)
    label = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=10, color="0.1",
                    bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.85})

    def frame(k: int):
        trail.set_data(path[:k + 1, 0], path[:k + 1, 1])
        head.set_data([path[k, 0]], [path[k, 1]])
        label.set_text(f"epoch {ep[k]:g}")
        return trail, head, label

    anim = FuncAnimation(fig, frame, frames=len(path), interval=400, blit=False, repeat=True)
    plt.close(fig)  # the animation keeps the figure; no static copy in the notebook
    return anim


def save_gif(anim: FuncAnimation, path: str | os.PathLike, *, fps: int = 3, dpi: int = 90) -> Path:
    """Write the animation as a GIF atomically (a temp file in the same folder, then os.replace)."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"path={str(path)!r} must end in .gif")
    if fps < 1:
        raise ValueError(f"fps={fps} must be >= 1")
    with files.atomic(path, suffix=".gif") as tmp:  # the writer picks the format from the suffix
        anim.save(str(tmp), writer=PillowWriter(fps=fps), dpi=dpi)
    return path
