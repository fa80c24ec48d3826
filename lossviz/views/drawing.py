"""Drawing helpers the figure modules share: checked series and surfaces, clipping and log scales, contour levels,
axes, labels and colorbars. `z[j, i]` is the value at `(x[i], y[j])`; NaN/inf are masked."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, LightSource, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.ticker import LogFormatter, MaxNLocator
from matplotlib.transforms import Bbox

ALPHA, BETA = r"$\alpha$", r"$\beta$"

CMAP = "viridis"


BAD = "0.85"  # grey for masked (NaN/inf) cells

Levels = int | Sequence[float] | None

OUTLINE = [patheffects.withStroke(linewidth=2.0, foreground="0.15")]  # light text/lines readable on any color

def series(name: str, values, n: int | None = None) -> np.ma.MaskedArray:
    """A 1-D float series with NaN/inf masked; ValueError naming it if not 1-D or not of length n."""
    v: np.ma.MaskedArray = np.ma.masked_invalid(np.ma.asarray(values, dtype=float))
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    if n is not None and v.size != n:
        raise ValueError(f"{name} must have length {n} (like the first argument), got {v.size}")
    return v



def points(name: str, values) -> np.ndarray:
    """An (n, 2) float array of plane coordinates; ValueError naming it otherwise."""
    p = np.asarray(values, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0:
        raise ValueError(f"{name} must have shape (n, 2) of (x, y) coordinates, got {p.shape}")
    return p



def surface(x, y, z, name: str = "z") -> tuple[np.ndarray, np.ndarray, np.ma.MaskedArray]:
    """Check x (nx,), y (ny,), z (ny, nx) and return them as floats with z's NaN/inf masked."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    for label, c in (("x", x), ("y", y)):
        if c.ndim != 1 or c.size < 2 or not np.all(np.isfinite(c)):
            raise ValueError(f"{label} must be 1-D with >= 2 finite coordinates, got shape {c.shape}")
    z = np.ma.masked_invalid(np.ma.asarray(z, dtype=float))
    if z.shape != (y.size, x.size):
        raise ValueError(f"{name} must have shape (len(y), len(x)) = ({y.size}, {x.size}) with "
                         f"{name}[j, i] at (x[i], y[j]), got {z.shape}")
    if z.count() == 0:
        raise ValueError(f"{name} has no finite values")
    return x, y, z



def auto_vmax(z: np.ma.MaskedArray) -> float:
    """A clip level robust to a few divergent points: the finite max, at most q95 + (q95 - min)."""
    v = z.compressed()
    q = float(np.percentile(v, 95))
    return float(min(v.max(), q + (q - v.min())))



def positive(name: str, z: np.ma.MaskedArray) -> None:
    """ValueError naming z when log scale is asked for non-positive values."""
    if z.count() and z.min() <= 0:
        raise ValueError(f"log=True takes log10 of {name}, which needs {name} > 0; min {name} is {z.min():.3g} "
                         f"(use log=False or shift the values)")



def clip_level(z: np.ma.MaskedArray, vmax: float | None) -> float:
    """Where z is clipped: vmax, or (None) `auto_vmax` of z."""
    return auto_vmax(z) if vmax is None else float(vmax)



def scale(z: np.ma.MaskedArray, vmax: float | None, log: bool, name: str = "z") -> np.ma.MaskedArray:
    """Clip z above vmax (default: _auto_vmax) and take log10 if asked; NaN/inf stay masked."""
    if log:
        positive(name, z)
    cap = clip_level(z, vmax)
    if log and cap <= 0:
        raise ValueError(f"vmax={vmax} must be > 0 with log=True")
    z = np.ma.minimum(z, cap)
    return np.ma.log10(z) if log else z



def levels(z: np.ma.MaskedArray, levels: Levels, vmin: float | None, vmax: float | None,
            vlevel: float | None, log: bool, nbins: int = 15) -> np.ndarray:
    """Contour levels: given ones, else np.arange(vmin, vmax, vlevel) as in Li et al., bounds from the data."""
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        if levels < 2:
            raise ValueError(f"levels={levels} must be >= 2 when an int (a number of levels)")
        return np.asarray(MaxNLocator(nbins=int(levels)).tick_values(z.min(), z.max()))
    if levels is not None:
        lv = np.asarray(levels, dtype=float)
        if lv.ndim != 1 or lv.size < 1 or np.any(np.diff(lv) <= 0):
            raise ValueError("levels must be an int, or an increasing sequence of values (log10 values if log=True)")
        return lv
    to = np.log10 if log else float
    if log and vmin is not None and vmin <= 0:
        raise ValueError(f"vmin={vmin} must be > 0 with log=True")
    lo = float(z.min()) if vmin is None else float(to(vmin))
    hi = float(z.max()) if vmax is None else float(to(vmax))
    if hi == lo and vmin is None and vmax is None:  # a flat surface still gets a level
        hi = lo + 1.0
    if hi <= lo:
        raise ValueError(f"vmin={vmin} must be below vmax={vmax} (defaults: the data's finite min and max)")
    if vlevel is None:
        return np.asarray(MaxNLocator(nbins=nbins).tick_values(lo, hi))
    if vlevel <= 0 or (hi - lo) / vlevel > 1000:
        raise ValueError(f"vlevel={vlevel} must be > 0 and give at most 1000 levels between vmin and vmax")
    return np.arange(lo, hi, vlevel)



def fmt(log: bool) -> Callable[[float], str]:
    """Contour-label text in the data's units (10**v for log10 levels)."""
    return (lambda v: f"{10 ** v:.3g}") if log else (lambda v: f"{v:.3g}")



class PlainLogFormatter(LogFormatter):
    """Matplotlib's choice of which log ticks to label, each written as a plain number (6, 0.01, 1e+06)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""



def log_y(ax: Axes) -> None:
    """A log y axis whose ticks read as plain numbers (6, 20, 0.01), not 6×10⁰ or 1e-02."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(PlainLogFormatter())
    ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))



def zname(zlabel: str, log: bool) -> str:
    """Colorbar / z-axis label, saying when values are log10."""
    return rf"$\log_{{10}}$({zlabel})" if log else zlabel



def cmap(cmap: str | Colormap) -> Colormap:
    """The colormap with masked cells drawn grey."""
    return plt.get_cmap(cmap).with_extremes(bad=BAD)



def axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 4.0), projection: str | None = None) -> Axes:
    """The given axes, or the axes of a new figure."""
    if ax is None:
        return plt.figure(figsize=figsize, layout="constrained").add_subplot(projection=projection)
    if projection == "3d" and ax.name != "3d":
        raise ValueError("ax must be a 3D axes (add_subplot(projection='3d')) for surface_3d")
    return ax



def label(ax: Axes, xlabel: str | None, ylabel: str | None, title: str | None) -> Figure:
    """Label the axes (None leaves a label as is), title them if asked (`title`), and return their figure."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        set_title(ax, title)
    return cast(Figure, ax.figure)



def set_title(ax: Axes, text: str) -> None:
    """Title ax with text broken into lines that fit the width of its place in the figure (`wrap`), in a smaller
    font (down to 3/4) where that keeps each comma-separated part on one line."""
    spec = ax.get_subplotspec()
    fig = cast(Figure, ax.figure)
    if spec is not None:
        share = (spec.colspan.stop - spec.colspan.start) / spec.get_gridspec().ncols
    else:
        share = ax.get_position().width
    width, size = 0.8 * 72.0 * fig.get_figwidth() * share, float(ax.title.get_fontsize())  # room for a colorbar
    parts = [part for line in text.split("\n") if "$" not in line for part in line.split(", ")]
    for scale in (1.0, 0.9, 0.8, 0.75):
        if all(text_width(part + ",", size * scale) <= width for part in parts):
            break
    ax.set_title(wrap(text, width, size * scale), fontsize=size * scale)



def text_width(text: str, fontsize: float) -> float:
    """The width (points) of one line of plain text in the default font at fontsize."""
    width, _, _ = text_to_path.get_text_width_height_descent(text, FontProperties(size=fontsize), ismath=False)
    return float(width)



def wrap(text: str, width_pt: float, fontsize: float) -> str:
    """text in lines at most width_pt wide at fontsize, broken after its commas first, then between words; a line
    with TeX math ($) is left whole."""
    def fits(line: str) -> bool:
        return text_width(line, fontsize) <= width_pt

    lines: list[str] = []
    for line in text.split("\n"):
        if "$" in line or fits(line):
            lines.append(line)
            continue
        parts = line.split(", ")
        for k, part in enumerate(parts):
            part += "," if k < len(parts) - 1 else ""
            if lines and lines[-1].endswith(",") and k and fits(f"{lines[-1]} {part}"):
                lines[-1] = f"{lines[-1]} {part}"
            else:
                lines += _words(part, fits)
    return "\n".join(lines)



def _words(text: str, fits: Callable[[str], bool]) -> list[str]:
    """text in lines of whole words, each as long as `fits` allows (a word too long for a line gets its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and fits(f"{lines[-1]} {word}"):
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines



def colorbar(ax: Axes, mappable: ScalarMappable, label: str, **kw) -> None:
    """A colorbar beside ax, labeled."""
    ax.figure.colorbar(mappable, ax=ax, label=label, **kw)



def extend(z: np.ma.MaskedArray, lv: np.ndarray) -> str:
    """contourf's `extend` so values outside the levels are still colored."""
    lo, hi = z.min() < lv[0], z.max() > lv[-1]
    return "both" if lo and hi else "min" if lo else "max" if hi else "neither"



def clear_labels(ax: Axes, cs, levels: np.ndarray, log: bool, margin: float = 2.0) -> list[tuple[float, tuple]]:
    """(level, (x, y)) of the labels matplotlib places on cs, less each one whose box (grown by `margin` points)
    overlaps one kept before it, so that no two labels cover each other."""
    texts = ax.clabel(cs, levels, inline=False, fontsize=7, fmt=fmt(log))
    fig = cast(Figure, ax.figure)
    fig.draw_without_rendering()  # the layout as it stands, so that boxes are measured where they are drawn
    grow = margin * fig.dpi / 72.0
    level_of = dict(zip(np.asarray(cs.labelCValueList).tolist(), cs.labelLevelList))  # a label's color value: its level
    kept: list[tuple[float, tuple]] = []
    boxes: list[Bbox] = []
    for text, cvalue in zip(texts, np.asarray(cs.labelCValues).tolist()):
        level = level_of[cvalue]
        box = text.get_window_extent().padded(grow)
        if not any(box.overlaps(other) for other in boxes):
            kept.append((float(level), tuple(text.get_position())))  # data coordinates
            boxes.append(box)
    return kept



def face_values(z: np.ma.MaskedArray) -> np.ma.MaskedArray:
    """Each grid cell's mean over its four corners, where plot_surface reads the cell's color (its first corner).

    On coarse grids with steep walls, coloring a cell by one corner paints the bottom of a basin with
    the color of its rim.
    """
    if min(z.shape) < 2:
        return z
    cells = (z[:-1, :-1] + z[1:, :-1] + z[:-1, 1:] + z[1:, 1:]) / 4.0
    return np.ma.concatenate([np.ma.concatenate([cells, cells[:, -1:]], axis=1),
                              np.ma.concatenate([cells[-1:], cells[-1:, -1:]], axis=1)], axis=0)



def shade(x: np.ndarray, y: np.ndarray, z: np.ma.MaskedArray, norm: Normalize, cmap: Colormap) -> np.ndarray:
    """RGBA face colors: cmap(norm(z)) hill-shaded by a light from the north-west; masked cells transparent."""
    dx, dy = abs(float(np.mean(np.diff(x)))), abs(float(np.mean(np.diff(y))))
    span = max(np.ptp(x), np.ptp(y))
    zr = float(cast(float, norm.vmax) - cast(float, norm.vmin)) or 1.0
    zf = z.filled(norm.vmax)[::-1]  # LightSource puts row 0 north; ours is south
    rgb = LightSource(azdeg=315, altdeg=45).shade(zf, cmap=cmap, norm=norm, blend_mode="soft",
                                                   vert_exag=span / zr, dx=dx, dy=dy)[::-1]
    rgb[np.ma.getmaskarray(z), 3] = 0.0
    return rgb
