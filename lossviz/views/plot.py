"""Figures: loss landscapes (Li et al. 2018), snapshot ensembles (Huang et al. 2017), curves (Garipov et al. 2018).

Every function takes plain numpy arrays and returns the matplotlib Figure (drawing on `ax=` when given);
none calls `plt.show()`. Surfaces follow one convention: `z[j, i]` is the value at `(x[i], y[j])`, so
`z.shape == (len(y), len(x))`; NaN/inf are masked and values above `vmax` clipped.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, LightSource, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy

from lossviz.base import files

ALPHA, BETA = r"$\alpha$", r"$\beta$"
CMAP = "viridis"
PAPER_LEVELS = {"vmin": 0.1, "vmax": 10.0, "vlevel": 0.5}  # the reference's contour levels: np.arange(0.1, 10, 0.5)
BAD = "0.85"  # grey for masked (NaN/inf) cells
Levels = int | Sequence[float] | None
OUTLINE = [patheffects.withStroke(linewidth=2.0, foreground="0.15")]  # light text/lines readable on any color


def caption(model_display_name: str, test_error_percent: float) -> str:
    """The paper's caption style: model and test error, e.g. "ResNet-56-NS, 13.31%"."""
    if not isinstance(model_display_name, str) or not model_display_name.strip():
        raise ValueError(f"model_display_name={model_display_name!r} must be a non-empty string")
    err = float(test_error_percent)
    if not 0.0 <= err <= 100.0:
        raise ValueError(f"test_error_percent={test_error_percent} must lie in [0, 100] (a percentage)")
    return f"{model_display_name}, {err:.2f}%"


# ---------------------------------------------------------------- checks and scaling


def _series(name: str, values, n: int | None = None) -> np.ma.MaskedArray:
    """A 1-D float series with NaN/inf masked; ValueError naming it if not 1-D or not of length n."""
    v = np.ma.masked_invalid(np.ma.asarray(values, dtype=float))
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    if n is not None and v.size != n:
        raise ValueError(f"{name} must have length {n} (like the first argument), got {v.size}")
    return v


def _points(name: str, values) -> np.ndarray:
    """An (n, 2) float array of plane coordinates; ValueError naming it otherwise."""
    p = np.asarray(values, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) == 0:
        raise ValueError(f"{name} must have shape (n, 2) of (x, y) coordinates, got {p.shape}")
    return p


def _surface(x, y, z, name: str = "z") -> tuple[np.ndarray, np.ndarray, np.ma.MaskedArray]:
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


def _auto_vmax(z: np.ma.MaskedArray) -> float:
    """A clip level robust to a few divergent points: the finite max, at most q95 + (q95 - min)."""
    v = z.compressed()
    q = float(np.percentile(v, 95))
    return float(min(v.max(), q + (q - v.min())))


def _positive(name: str, z: np.ma.MaskedArray) -> None:
    """ValueError naming z when log scale is asked for non-positive values."""
    if z.count() and z.min() <= 0:
        raise ValueError(f"log=True takes log10 of {name}, which needs {name} > 0; min {name} is {z.min():.3g} "
                         f"(use log=False or shift the values)")


def _scale(z: np.ma.MaskedArray, vmax: float | None, log: bool, name: str = "z") -> np.ma.MaskedArray:
    """Clip z above vmax (default: _auto_vmax) and take log10 if asked; NaN/inf stay masked."""
    if log:
        _positive(name, z)
    cap = _auto_vmax(z) if vmax is None else float(vmax)
    if log and cap <= 0:
        raise ValueError(f"vmax={vmax} must be > 0 with log=True")
    z = np.ma.minimum(z, cap)
    return np.ma.log10(z) if log else z


def _levels(z: np.ma.MaskedArray, levels: Levels, vmin: float | None, vmax: float | None,
            vlevel: float | None, log: bool, nbins: int = 15) -> np.ndarray:
    """Contour levels: given ones, else np.arange(vmin, vmax, vlevel) as in Li et al., bounds from the data."""
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        if levels < 2:
            raise ValueError(f"levels={levels} must be >= 2 when an int (a number of levels)")
        return MaxNLocator(nbins=int(levels)).tick_values(z.min(), z.max())
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
        return MaxNLocator(nbins=nbins).tick_values(lo, hi)
    if vlevel <= 0 or (hi - lo) / vlevel > 1000:
        raise ValueError(f"vlevel={vlevel} must be > 0 and give at most 1000 levels between vmin and vmax")
    return np.arange(lo, hi, vlevel)


def _fmt(log: bool) -> Callable[[float], str]:
    """Contour-label text in the data's units (10**v for log10 levels)."""
    return (lambda v: f"{10 ** v:.3g}") if log else (lambda v: f"{v:.3g}")


def _zname(zlabel: str, log: bool) -> str:
    """Colorbar / z-axis label, saying when values are log10."""
    return rf"$\log_{{10}}$({zlabel})" if log else zlabel


def _cmap(cmap: str | Colormap) -> Colormap:
    """The colormap with masked cells drawn grey."""
    return plt.get_cmap(cmap).with_extremes(bad=BAD)


# ---------------------------------------------------------------- small drawing helpers


def _axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 4.0), projection: str | None = None) -> Axes:
    """The given axes, or the axes of a new figure."""
    if ax is None:
        return plt.figure(figsize=figsize, layout="constrained").add_subplot(projection=projection)
    if projection == "3d" and ax.name != "3d":
        raise ValueError("ax must be a 3D axes (add_subplot(projection='3d')) for surface_3d")
    return ax


def _label(ax: Axes, xlabel: str | None, ylabel: str | None, title: str | None) -> Figure:
    """Label the axes (None leaves a label as is), title them if asked, and return their figure."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax.figure


def _colorbar(ax: Axes, mappable: ScalarMappable, label: str, **kw) -> None:
    """A colorbar beside ax, labeled."""
    ax.figure.colorbar(mappable, ax=ax, label=label, **kw)


def _extend(z: np.ma.MaskedArray, lv: np.ndarray) -> str:
    """contourf's `extend` so values outside the levels are still colored."""
    lo, hi = z.min() < lv[0], z.max() > lv[-1]
    return "both" if lo and hi else "min" if lo else "max" if hi else "neither"


def _lines(ax: Axes, x, y, z, lv, *, labels: bool, log: bool, cmap=None, **kw):
    """Contour lines of z at levels lv, labeled inline (every other one when crowded) in the data's units."""
    inside = lv[(lv > z.min()) & (lv < z.max())]
    lv = inside if len(inside) else lv  # only levels that draw a line, so labels start at the innermost
    if cmap is not None:  # skip the palest end of the map: it vanishes on white
        kw["colors"] = plt.get_cmap(cmap)(np.linspace(0.0, 0.85, len(lv)))
    cs = ax.contour(x, y, z, levels=lv, linewidths=kw.pop("linewidths", 1.0), **kw)
    if labels and len(cs.levels):
        ax.clabel(cs, cs.levels[:: 2 if len(cs.levels) > 10 else 1], inline=True, fontsize=7, fmt=_fmt(log))
    return cs


def _fill(ax: Axes, x, y, z, lv, *, cmap, zlabel: str, log: bool):
    """Filled contours of z at levels lv with a labeled colorbar."""
    cs = ax.contourf(x, y, z, levels=lv, cmap=_cmap(cmap), extend=_extend(z, lv))
    _colorbar(ax, cs, _zname(zlabel, log))
    return cs


def _mesh(ax: Axes, x, y, z, norm: Normalize, cmap):
    """z as cells centred on (x[i], y[j]): x horizontal, y vertical, origin lower."""
    return ax.pcolormesh(x, y, z, shading="nearest", norm=norm, cmap=_cmap(cmap))


# ---------------------------------------------------------------- 1D


def line_1d(alphas, loss, acc=None, *, test_loss=None, test_acc=None, xlabel: str = ALPHA,
            title: str | None = None, log: bool = False, vmax: float | None = None,
            ylim: tuple[float, float] | None = None, ax: Axes | None = None) -> Figure:
    """Loss (left, blue; train solid, test dashed) and accuracy % (right, red) on a line (Li et al. Fig. 2/3/5).

    `vmax` caps the loss axis where the curves go higher; `ylim` fixes it (panels to be compared share it)."""
    if ylim is not None and not (len(ylim) == 2 and ylim[0] < ylim[1]):
        raise ValueError(f"ylim={ylim} must be (bottom, top) with bottom < top")
    a = _series("alphas", alphas)
    curves = {k: _series(k, v, a.size) if v is not None else None
              for k, v in (("loss", loss), ("acc", acc), ("test_loss", test_loss), ("test_acc", test_acc))}
    for k in ("acc", "test_acc"):
        v = curves[k]
        if v is not None and v.count() and (v.min() < 0 or v.max() > 100):
            raise ValueError(f"{k} must be accuracies in percent, within [0, 100]")
    for acc_key, loss_key in (("acc", "loss"), ("test_acc", "test_loss")):  # no accuracy where the loss is undefined
        if curves[acc_key] is not None and curves[loss_key] is not None:
            curves[acc_key] = np.ma.masked_where(np.ma.getmaskarray(curves[loss_key]), curves[acc_key])
    losses = [v for v in (curves["loss"], curves["test_loss"]) if v is not None]
    if not any(v.count() for v in losses):
        raise ValueError("loss has no finite values")
    if log:
        for k in ("loss", "test_loss"):
            if curves[k] is not None:
                _positive(k, curves[k])
    ax = _axes(ax, figsize=(5.0, 3.6))
    handles = []
    for k, style, name in (("loss", "-", "train loss"), ("test_loss", "--", "test loss")):
        if curves[k] is not None:
            handles += ax.plot(a, curves[k], "b" + style, lw=1.5, label=name)
    if log:
        ax.set_yscale("log")
    allv = np.ma.concatenate(losses)
    cap = _auto_vmax(allv) if vmax is None else float(vmax)
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif cap < allv.max():  # keep divergent ends from flattening the basin
        ax.set_ylim(top=cap * (1.3 if log else 1.05))
    ax.set_ylabel("loss", color="b")
    ax.tick_params(axis="y", colors="b")
    if curves["acc"] is not None or curves["test_acc"] is not None:
        ax2 = ax.twinx()
        for k, style, name in (("acc", "-", "train accuracy"), ("test_acc", "--", "test accuracy")):
            if curves[k] is not None:
                handles += ax2.plot(a, curves[k], "r" + style, lw=1.5, label=name)
        ax2.set_ylim(0, 100)
        ax2.set_ylabel("accuracy (%)", color="r")
        ax2.tick_params(axis="y", colors="r")
        ax.set_zorder(ax2.get_zorder() + 1)  # the legend, drawn on ax, stays above the accuracy lines
        ax.patch.set_visible(False)
    ax.set_xlim(a.min(), a.max())
    below = offset_copy(ax.transAxes, ax.figure, y=-36, units="points")  # under the x label, off the curves
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
              ncol=2, fontsize=8, frameon=False)
    return _label(ax, xlabel, None, title)


# ---------------------------------------------------------------- 2D planes


def contour(x, y, z, *, levels: Levels = None, vmin: float | None = None, vmax: float | None = None,
            vlevel: float | None = None, log: bool = False, labels: bool = True, title: str | None = None,
            ax: Axes | None = None, cmap: str | Colormap = CMAP, xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Labeled contour lines of z over the (alpha, beta) plane (Li et al. Fig. 5); vmin/vmax/vlevel as the reference."""
    x, y, z = _surface(x, y, z)
    zs = _scale(z, vmax, log)
    ax = _axes(ax)
    _lines(ax, x, y, zs, _levels(zs, levels, vmin, vmax, vlevel, log), labels=labels, log=log, cmap=cmap)
    return _label(ax, xlabel, ylabel, title)


def filled(x, y, z, *, levels: Levels = None, vmin: float | None = None, vmax: float | None = None,
           vlevel: float | None = None, log: bool = False, labels: bool = False, zlabel: str = "loss",
           title: str | None = None, ax: Axes | None = None, cmap: str | Colormap = CMAP,
           xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Filled contours of z with a labeled colorbar (thin labeled lines on top if labels=True)."""
    x, y, z = _surface(x, y, z)
    zs = _scale(z, vmax, log)
    ax = _axes(ax)
    lv = _levels(zs, levels, vmin, vmax, vlevel, log, nbins=20)
    _fill(ax, x, y, zs, lv, cmap=cmap, zlabel=zlabel, log=log)
    if labels:
        _lines(ax, x, y, zs, lv[::2], labels=True, log=log, colors="k", linewidths=0.5)
    return _label(ax, xlabel, ylabel, title)


def heatmap(x, y, z, *, vmin: float | None = None, vmax: float | None = None, log: bool = False,
            zlabel: str = "loss", title: str | None = None, ax: Axes | None = None,
            cmap: str | Colormap = CMAP, xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """z as colored cells centred on (x[i], y[j]) (x horizontal, y up) with a labeled colorbar."""
    x, y, z = _surface(x, y, z)
    zs = _scale(z, vmax, log)
    if log and vmin is not None and vmin <= 0:
        raise ValueError(f"vmin={vmin} must be > 0 with log=True")
    lo = zs.min() if vmin is None else (np.log10(vmin) if log else vmin)
    ax = _axes(ax)
    _colorbar(ax, _mesh(ax, x, y, zs, Normalize(lo, zs.max()), cmap), _zname(zlabel, log))
    return _label(ax, xlabel, ylabel, title)


def surface_3d(x, y, z, *, vmax: float | None = None, log: bool = False, zlabel: str = "loss",
               title: str | None = None, ax: Axes | None = None, cmap: str | Colormap = CMAP,
               elev: float = 35.0, azim: float = -60.0, colorbar: bool = True,
               xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Hill-shaded 3D surface of z clipped at vmax, the basin seen from above like Li et al. Fig. 1."""
    x, y, z = _surface(x, y, z)
    zs = _scale(z, vmax, log)
    ax = _axes(ax, figsize=(6.0, 4.8), projection="3d")
    norm = Normalize(zs.min(), zs.max())
    cm = _cmap(cmap)
    rgba = _shade(x, y, _face_values(zs), norm, cm)
    X, Y = np.meshgrid(x, y)
    step_r, step_c = max(1, len(y) // 120), max(1, len(x) // 120)
    ax.plot_surface(X, Y, zs.filled(np.nan), facecolors=rgba, rstride=step_r, cstride=step_c,
                    linewidth=0, antialiased=False, shade=False)
    ax.set_zlim(norm.vmin, norm.vmax if norm.vmax > norm.vmin else norm.vmin + 1)
    ax.view_init(elev=elev, azim=azim)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(5))
    if colorbar:  # the colorbar names z; a z-axis label would collide with the tick labels
        _colorbar(ax, ScalarMappable(norm, cm), _zname(zlabel, log), shrink=0.6, pad=0.08)
    else:
        ax.set_zlabel(_zname(zlabel, log))
    return _label(ax, xlabel, ylabel, title)


def _face_values(z: np.ma.MaskedArray) -> np.ma.MaskedArray:
    """Each grid cell's mean over its four corners, where plot_surface reads the cell's color (its first corner).

    On coarse grids with steep walls, coloring a cell by one corner paints the bottom of a basin with
    the color of its rim.
    """
    if min(z.shape) < 2:
        return z
    cells = (z[:-1, :-1] + z[1:, :-1] + z[:-1, 1:] + z[1:, 1:]) / 4.0
    return np.ma.concatenate([np.ma.concatenate([cells, cells[:, -1:]], axis=1),
                              np.ma.concatenate([cells[-1:], cells[-1:, -1:]], axis=1)], axis=0)


def _shade(x: np.ndarray, y: np.ndarray, z: np.ma.MaskedArray, norm: Normalize, cmap: Colormap) -> np.ndarray:
    """RGBA face colors: cmap(norm(z)) hill-shaded by a light from the north-west; masked cells transparent."""
    dx, dy = abs(float(np.mean(np.diff(x)))), abs(float(np.mean(np.diff(y))))
    span = max(np.ptp(x), np.ptp(y))
    zr = float(norm.vmax - norm.vmin) or 1.0
    zf = z.filled(norm.vmax)[::-1]  # LightSource puts row 0 north; ours is south
    rgb = LightSource(azdeg=315, altdeg=45).shade(zf, cmap=cmap, norm=norm, blend_mode="soft",
                                                   vert_exag=span / zr, dx=dx, dy=dy)[::-1]
    rgb[np.ma.getmaskarray(z), 3] = 0.0
    return rgb


def eigen_ratio(x, y, min_eig, max_eig, loss=None, *, vmax: float | None = None, levels: Levels = None,
                log: bool = False, title: str | None = None, ax: Axes | None = None,
                cmap: str | Colormap = "cividis", xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Heatmap of |lambda_min / lambda_max| (Li et al. Fig. 7: blue = convex, yellow = not), loss contours over it."""
    x, y, lo = _surface(x, y, min_eig, "min_eig")
    _, _, hi = _surface(x, y, max_eig, "max_eig")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.ma.masked_invalid(np.abs(lo.filled(np.nan) / hi.filled(np.nan)))
    if ratio.count() == 0:
        raise ValueError("max_eig is zero or non-finite everywhere, so |min_eig/max_eig| is undefined")
    top = float(ratio.max()) if vmax is None else float(vmax)
    ax = _axes(ax)
    label = r"$|\lambda_{\min} / \lambda_{\max}|$"
    _colorbar(ax, _mesh(ax, x, y, np.ma.minimum(ratio, top), Normalize(0.0, top or 1.0), cmap), label)
    if loss is not None:
        _, _, lz = _surface(x, y, loss, "loss")
        ls = _scale(lz, None, log, "loss")
        cs = _lines(ax, x, y, ls, _levels(ls, levels, None, None, None, log, nbins=10), labels=True, log=log,
                    colors="w", linewidths=0.8)
        cs.set(path_effects=[patheffects.withStroke(linewidth=1.6, foreground="0.2")])
    return _label(ax, xlabel, ylabel, title)


def trajectory(x, y, z, path_xy, *, epochs: Sequence[int] | None = None, explained: Sequence[float] | None = None,
               n_labels: int = 6, levels: Levels = None, vmax: float | None = None, log: bool = False,
               title: str | None = None, ax: Axes | None = None, cmap: str | Colormap = CMAP) -> Figure:
    """PCA-plane loss contours with the optimizer path, epochs dotted and some numbered (Li et al. Fig. 9)."""
    x, y, z = _surface(x, y, z)
    path = _points("path_xy", path_xy)
    ep = np.arange(len(path)) if epochs is None else np.asarray(epochs)
    if ep.shape != (len(path),):
        raise ValueError(f"epochs must give one epoch per row of path_xy ({len(path)}), got shape {ep.shape}")
    names = ["1st PC", "2nd PC"]
    if explained is not None:
        ev = np.asarray(explained, dtype=float)
        if ev.shape != (2,) or np.any(ev < 0) or np.any(ev > 1):
            raise ValueError(f"explained must be the 2 explained-variance ratios in [0, 1], got {explained!r}")
        names = [f"{n}: {100 * e:.1f} %" for n, e in zip(names, ev)]
    zs = _scale(z, vmax, log)
    ax = _axes(ax)
    _lines(ax, x, y, zs, _levels(zs, levels, None, vmax, None, log), labels=True, log=log, cmap=cmap)
    ax.plot(path[:, 0], path[:, 1], "-", color="tab:red", lw=1.5, zorder=3)
    ax.plot(path[:, 0], path[:, 1], "o", color="tab:red", ms=3, zorder=4)
    for k in _spread(path, n_labels, min_gap=0.06 * max(np.ptp(x), np.ptp(y))):
        ax.annotate(str(ep[k]), path[k], textcoords="offset points", xytext=(4, 4), fontsize=7,
                    color="tab:red", zorder=5)
    return _label(ax, names[0], names[1], title)


def _spread(path: np.ndarray, n: int, min_gap: float) -> list[int]:
    """Indices of about n path points evenly spaced along its length, none within min_gap of another."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    want = np.searchsorted(arc, np.linspace(0.0, arc[-1], max(2, n)))
    keep: list[int] = []
    for k in dict.fromkeys(np.minimum(want, len(path) - 1).tolist()):
        if all(np.hypot(*(path[k] - path[q])) >= min_gap for q in keep):
            keep.append(k)
    return keep


def curve_plane(x, y, z, curve_xy=None, points_xy=None, *, point_labels: Sequence[str] | None = None,
                levels: Levels = None, vmax: float | None = None, log: bool = False, zlabel: str = "train loss",
                title: str | None = None, ax: Axes | None = None, cmap: str | Colormap = CMAP,
                xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Garipov et al. Fig. 1 plane: filled contours of loss or error, the curve drawn, its anchor points marked."""
    x, y, z = _surface(x, y, z)
    zs = _scale(z, vmax, log)
    ax = _axes(ax)
    _fill(ax, x, y, zs, _levels(zs, levels, None, None, None, log, nbins=20), cmap=cmap, zlabel=zlabel, log=log)
    if curve_xy is not None:
        c = _points("curve_xy", curve_xy)
        ax.plot(c[:, 0], c[:, 1], "-", color="w", lw=2.0,
                path_effects=[patheffects.withStroke(linewidth=3.2, foreground="0.15")])
    if points_xy is not None:
        p = _points("points_xy", points_xy)
        if point_labels is not None and len(point_labels) != len(p):
            raise ValueError(f"point_labels must name each of the {len(p)} points_xy, got {len(point_labels)}")
        ax.plot(p[:, 0], p[:, 1], "o", color="w", mec="k", ms=7, zorder=4)
        for (px, py), text in zip(p, point_labels or ()):
            ax.annotate(text, (px, py), textcoords="offset points", xytext=(6, 6), color="w", fontsize=11,
                        path_effects=OUTLINE, zorder=5)
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    return _label(ax, xlabel, ylabel, title)


# ---------------------------------------------------------------- schedules and ensembles


def schedule(lrs, *, snapshots: Sequence[int] | None = None, log: bool = False, title: str | None = None,
             ax: Axes | None = None, xlabel: str = "iteration", ylabel: str = "learning rate") -> Figure:
    """Learning rate vs 1-based iteration, snapshots (iterations) marked (Huang et al. Fig. 2)."""
    lr = _series("lrs", lrs)
    if log:
        _positive("lrs", lr)
    it = np.arange(1, lr.size + 1)
    ax = _axes(ax, figsize=(5.5, 3.0))
    ax.plot(it, lr, "-", color="tab:blue", lw=1.2, label="learning rate")
    if snapshots is not None:
        s = np.asarray(snapshots, dtype=int)
        if s.ndim != 1 or np.any(s < 1) or np.any(s > lr.size):
            raise ValueError(f"snapshots must be iterations in 1..len(lrs)={lr.size}")
        ax.plot(s, lr[s - 1], "o", color="tab:red", ms=5, zorder=3, label="snapshot")
    if log:
        ax.set_yscale("log")
    if snapshots is not None:  # headroom above the restarts keeps the legend off the curve
        top = float(lr.max())
        ax.set_ylim(top=top * 3.0 if log else top * 1.25)
        ax.legend(fontsize=8, loc="upper right", ncol=2)
    ax.set_xlim(1, lr.size)
    return _label(ax, xlabel, ylabel, title)


def ensemble_errors(m, member_errors, ensemble_errors, *, baseline: float | None = None, title: str | None = None,
                    ax: Axes | None = None, xlabel: str = r"ensemble size $m$",
                    ylabel: str = "test error (%)") -> Figure:
    """Test error (%) of the m-th snapshot alone and of the ensemble of the first m, against m; `baseline`:
    the test error (%) of one normal run of the same budget, a dotted line."""
    mm = _series("m", m)
    single = _series("member_errors", member_errors, mm.size)
    ens = _series("ensemble_errors", ensemble_errors, mm.size)
    ax = _axes(ax, figsize=(4.5, 3.2))
    ax.plot(mm, single, "o--", color="0.5", ms=5, lw=1, label="single snapshot")
    ax.plot(mm, ens, "s-", color="tab:blue", ms=5, lw=1.5, label="ensemble of first $m$")
    if baseline is not None:
        ax.axhline(baseline, color="tab:red", ls=":", label="one normal run, same budget")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _label(ax, xlabel, ylabel, title)


def spectrum(grid, density, *, top: Sequence[float] | None = None, title: str | None = None,
             ax: Axes | None = None) -> Figure:
    """Hessian spectral density from SLQ (Ghorbani et al. 2019, log scale), top eigenvalues as dashed lines."""
    t = _series("grid", grid)
    phi = _series("density", density, t.size)
    ax = _axes(ax)
    ax.semilogy(t, np.ma.maximum(phi, 1e-12 * max(float(phi.max()), 1e-300)), color="tab:blue", lw=1.2)
    for k, value in enumerate(top or ()):
        ax.axvline(value, color="tab:red", ls="--", lw=0.8, label="top eigenvalues" if k == 0 else None)
    if top:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _label(ax, r"eigenvalue $\lambda$", "density", title)


def sharpness(errors: Sequence[float], values: Sequence[float], labels: Sequence[str], *, ylabel: str,
              log: bool = False, title: str | None = None, ax: Axes | None = None,
              error_se: Sequence[float] | None = None) -> Figure:
    """One labeled point per model: a sharpness measure against test error (%), with the test error's standard
    error as a horizontal bar when `error_se` is given."""
    e, v = np.asarray(errors, float), np.asarray(values, float)
    if not (e.shape == v.shape == (len(labels),)):
        raise ValueError(f"errors, values and labels must have one entry per model; got {e.shape}, {v.shape}, "
                         f"{len(labels)}")
    if error_se is not None and np.shape(error_se) != e.shape:
        raise ValueError(f"error_se must have one entry per model; got {np.shape(error_se)}")
    ax = _axes(ax)
    if error_se is not None:
        ax.errorbar(e, v, xerr=np.asarray(error_se, float), fmt="none", ecolor="tab:blue", elinewidth=1, zorder=2)
    ax.scatter(e, v, color="tab:blue", zorder=3)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    fig = _label(ax, "test error (%)", ylabel, title)
    _label_points(ax, e, v, labels, None if error_se is None else np.asarray(error_se, float))
    return fig


LABEL_SIZE = 7  # points, the font size of point labels
LABEL_GAP = 4.0  # points between a point and its label
LABEL_CHAR_WIDTH = 0.68  # a label character's width, in font sizes (DejaVu Sans: 0.60-0.63 measured, with a margin)
Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def _label_points(ax: Axes, x: np.ndarray, y: np.ndarray, labels: Sequence[str], xerr: np.ndarray | None) -> None:
    """Label each point of ax beside it, clear of the other labels, points and error bars (`label_offsets`); a label
    that had to move further than the nearest places is joined to its point by a thin line."""
    fig = ax.figure
    fig.canvas.draw()  # lay the figure out, so that the points' places on the page are final
    to_points = 72.0 / fig.dpi
    anchors = ax.transData.transform(np.column_stack([x, y])) * to_points
    sizes = np.array([(LABEL_CHAR_WIDTH * len(text), 1.25) for text in labels]) * LABEL_SIZE
    bars: list[Box] = []
    if xerr is not None:
        left = ax.transData.transform(np.column_stack([x - xerr, y])) * to_points
        right = ax.transData.transform(np.column_stack([x + xerr, y])) * to_points
        bars = [(a[0], a[1] - 0.75, b[0], b[1] + 0.75) for a, b in zip(left, right)]
    offsets = label_offsets(anchors, sizes, tuple(np.asarray(ax.bbox.extents) * to_points), obstacles=bars)
    for px, py, text, (dx, dy), (w, h) in zip(x, y, labels, offsets, sizes):
        near = np.isclose(dy, LABEL_GAP) or np.isclose(dy, -LABEL_GAP - h)  # a place that touches the point
        ax.annotate(text, (px, py), textcoords="offset points", xytext=(dx, dy), fontsize=LABEL_SIZE, ha="left",
                    va="bottom", arrowprops=None if near else {"arrowstyle": "-", "color": "0.45", "lw": 0.6,
                                                               "shrinkA": 0, "shrinkB": 4})


def label_offsets(anchors: np.ndarray, sizes: np.ndarray, bounds: Box, obstacles: Sequence[Box] = (),
                  gap: float = LABEL_GAP) -> np.ndarray:
    """Offsets (points) of labels from their points so that no label covers another label, a point or an obstacle
    (an error bar), each stays inside `bounds` and sits nearer its own point than any other where it can: each label
    in turn takes the first free place of twelve around its point (the four touching corners first, then two rows
    further out), or the one that breaks these least. `anchors` and `sizes` are (n, 2) arrays in points."""
    anchors, sizes = np.asarray(anchors, float), np.asarray(sizes, float)
    if anchors.ndim != 2 or anchors.shape[1] != 2 or sizes.shape != anchors.shape:
        raise ValueError(f"anchors and sizes must both have shape (n, 2); got {anchors.shape} and {sizes.shape}")
    marker = 3.5  # half the side of the box a scatter point occupies
    taken = [(x - marker, y - marker, x + marker, y + marker) for x, y in anchors] + list(obstacles)
    offsets = np.zeros_like(anchors)
    for i, ((x, y), (w, h)) in enumerate(zip(anchors, sizes)):
        places = [(dx, dy) for rise in (gap, gap + h, gap + 2 * h)
                  for dx, dy in ((gap, rise), (gap, -rise - h), (-gap - w, rise), (-gap - w, -rise - h))]

        def cost(place: tuple[float, float]) -> float:
            box = (x + place[0], y + place[1], x + place[0] + w, y + place[1] + h)
            own = _distance(box, (x, y))
            misread = any(_distance(box, tuple(p)) < own for k, p in enumerate(anchors) if k != i)
            area = (sum(_overlap(box, other) for other in taken) + w * h - _overlap(box, bounds)
                    + (w * h / 2 if misread else 0.0))
            return round(area, 6)  # inside the bounds, w * h - overlap is 0 only up to rounding

        best = min(places, key=cost)  # min keeps the first of equal costs: upper right where it is free
        offsets[i] = best
        taken.append((x + best[0], y + best[1], x + best[0] + w, y + best[1] + h))
    return offsets


def _overlap(a: Box, b: Box) -> float:
    """The area two boxes share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _distance(box: Box, point: tuple[float, float]) -> float:
    """How far a point lies from a box (0 inside it)."""
    dx = max(box[0] - point[0], 0.0, point[0] - box[2])
    dy = max(box[1] - point[1], 0.0, point[1] - box[3])
    return float(np.hypot(dx, dy))


# ---------------------------------------------------------------- layout and saving


def grid(n: int, ncols: int = 3, size: float | tuple[float, float] = 3.6, *,
         captions: Sequence[str] | None = None, projection: str | None = None) -> tuple[Figure, list[Axes]]:
    """A figure of n axes in rows of ncols (models side by side), each titled by its caption."""
    if n < 1 or ncols < 1:
        raise ValueError(f"n={n} and ncols={ncols} must be >= 1")
    if captions is not None and len(captions) != n:
        raise ValueError(f"captions must give one caption per axes (n={n}), got {len(captions)}")
    w, h = (size, size * 0.85) if np.isscalar(size) else size
    cols, rows = min(n, ncols), -(-n // ncols)
    fig = plt.figure(figsize=(w * cols, h * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, k + 1, projection=projection) for k in range(n)]
    for a, text in zip(axes, captions or ()):
        a.set_title(text)
    return fig, axes


def image_grid(split, per_class: int = 8, class_names: Sequence[str] | None = None, size: float = 0.9) -> Figure:
    """The first `per_class` images of each class of a uint8 split, one row per class."""
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1; got {per_class}")
    classes = sorted(int(c) for c in split.labels.unique())
    if class_names is None:
        from lossviz.base.data import CIFAR10_CLASSES
        class_names = CIFAR10_CLASSES if len(classes) == 10 and split.name.startswith("cifar10") else [str(c) for c in classes]
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * size, len(classes) * size), squeeze=False)
    for row, c in enumerate(classes):
        members = np.flatnonzero(split.labels.numpy() == c)[:per_class]
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([]), ax.set_yticks([])
            if col < len(members):
                ax.imshow(split.images[members[col]].permute(1, 2, 0).numpy(), interpolation="nearest")
            if col == 0:
                ax.set_ylabel(class_names[row], rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def training_curves(log: Sequence[dict], *, title: str | None = None) -> Figure:
    """Loss and error per epoch, training and test, from a training log (lossviz.compute.train); the test line
    joins the epochs the log measured the test subset on."""
    if not log:
        raise ValueError("log must hold at least one epoch")
    epochs = [e["epoch"] for e in log]
    tested = [e for e in log if "test_loss" in e]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    left.plot(epochs, [e["train_loss"] for e in log], "-o", ms=3, label="train")
    left.plot([e["epoch"] for e in tested], [e["test_loss"] for e in tested], "--o", ms=3, label="test")
    right.plot(epochs, [100.0 - e["train_acc_pct"] for e in log], "-o", ms=3, label="train")
    right.plot([e["epoch"] for e in tested], [100.0 - e["test_acc_pct"] for e in tested], "--o", ms=3, label="test")
    for ax, name in ((left, "loss"), (right, "error (%)")):
        ax.set_xlabel("epoch"), ax.set_ylabel(name), ax.grid(alpha=0.3), ax.legend(fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def loss_curves(logs: dict[str, Sequence[dict]], *, threshold: float | None = 0.1, title: str | None = None,
                ax: Axes | None = None) -> Figure:
    """`loss_per_epoch` of training logs (lossviz.compute.train: the running mean over each epoch's batches), with
    a dotted line at `threshold`, the course's minimizer criterion."""
    if not logs or any(not log for log in logs.values()):
        raise ValueError("logs must map each label to a training log of at least one epoch")
    fig = loss_per_epoch({label: ([e["epoch"] for e in log], [e["train_loss"] for e in log])
                          for label, log in logs.items()}, title=title, ax=ax)
    if threshold is not None:
        axis = ax if ax is not None else fig.axes[0]
        axis.axhline(threshold, color="0.3", ls=":", lw=1, label=f"{threshold:g}")
        axis.legend(fontsize=7)
    return fig


def layer_ratios(ratios: dict[str, Sequence[float]], *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Gradient-to-weight norm ratio of each weight layer (lossviz.compute.gradient_scale), input to output, one
    line per network, on a log scale."""
    if not ratios or any(len(r) == 0 for r in ratios.values()):
        raise ValueError("ratios must map each label to at least one layer's ratio")
    ax = _axes(ax, (6.4, 3.6))
    for label, values in ratios.items():
        values = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"ratios[{label!r}] must be finite and positive to draw on a log scale")
        ax.semilogy(np.arange(1, len(values) + 1), values, "-o", ms=2.5, lw=1.2, label=label)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _label(ax, "weight layer (input → output)", r"$\|\nabla_W L\| \,/\, \|W\|$", title)


def weight_histograms(states: dict[str, dict], *, bins: int = 100, title: str | None = None,
                      ax: Axes | None = None) -> Figure:
    """Histograms of the weights of conv and linear layers (dim > 1), one per labeled state (Li et al. Fig. 2),
    over the central 99.8% of all values (so the shapes, not a few outliers, set the axis), each labeled with its
    standard deviation."""
    if not states:
        raise ValueError("states must hold at least one labeled state dict")
    ax = _axes(ax, figsize=(5.0, 3.4))
    values = {label: np.concatenate([v.detach().cpu().float().numpy().ravel() for k, v in state.items()
                                     if k.endswith("weight") and v.dim() > 1]) for label, state in states.items()}
    pooled = np.concatenate(list(values.values()))
    edge = float(np.max(np.abs(np.percentile(pooled, [0.1, 99.9]))))
    for label, v in values.items():
        ax.hist(v, bins=np.linspace(-edge, edge, bins + 1), histtype="step", lw=1.3, density=True,
                label=f"{label} (std {v.std():.3f})")
    ax.set_xlim(-edge, edge)
    ax.legend(fontsize=8)
    return _label(ax, "weight value", "density", title)


def compare(surfaces: dict, captions: dict[str, str], *, kind: str = "contour", key: str = "train_loss",
            ncols: int = 3, size: float = 3.6, **options) -> Figure:
    """Several 2D surfaces side by side, each captioned ("ResNet-56-NS, 13.31%"); kind: contour, filled, 3d, heatmap."""
    draw = {"contour": contour, "filled": filled, "3d": surface_3d, "heatmap": heatmap}
    if kind not in draw:
        raise ValueError(f"kind={kind!r}; valid choices: {', '.join(draw)}")
    names = list(surfaces)
    fig, axes = grid(len(names), ncols=min(ncols, len(names)), size=size,
                     captions=[captions[n] for n in names], projection="3d" if kind == "3d" else None)
    for ax, name in zip(axes, names):
        s = surfaces[name]
        draw[kind](s.xcoordinates, s.ycoordinates, s[key], ax=ax, title=captions[name], **options)
    return fig


def save(fig: Figure, path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Write fig atomically (a temp file in the same folder, then os.replace); png when path has no suffix."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    fmt = path.suffix[1:].lower()
    valid = fig.canvas.get_supported_filetypes()
    if fmt not in valid:
        raise ValueError(f"path suffix {path.suffix!r} is not a figure format; valid: {', '.join(sorted(valid))}")
    with files.atomic(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path


def budget_errors(budgets, errors: dict[str, Sequence[float | None]], stds: dict[str, Sequence[float | None]]
                  | None = None, *, title: str | None = None, ax: Axes | None = None,
                  xlabel: str = "budget (multiples of $B$)", ylabel: str = "test error (%)") -> Figure:
    """Test error (%) of each ensembling method against the budget kB, with error bars (std over seeds)
    where given (Garipov et al. Table 1 as a plot); None errors are left out."""
    b = np.ma.getdata(_series("budgets", budgets))
    ax = _axes(ax, figsize=(4.8, 3.6))
    for method, values in errors.items():
        err = _series(f"errors[{method!r}]", [np.nan if v is None else v for v in values], b.size)
        std = [0.0 if s is None else s for s in (stds or {}).get(method, [None] * b.size)]
        keep = ~np.ma.getmaskarray(err)
        ax.errorbar(b[keep], np.ma.getdata(err)[keep], yerr=np.asarray(std, dtype=float)[keep], marker="o", capsize=3,
                    label=method)
    ax.set_xticks(b)
    ax.legend(fontsize=8)
    return _label(ax, xlabel, ylabel, title)


# ---------------------------------------------------------------- ensembles and curves (notebooks 07-09)


def loss_per_epoch(curves: dict[str, tuple[Sequence[float], Sequence[float]]], *,
                   marks: dict[str, Sequence[float]] | None = None, log: bool = True, title: str | None = None,
                   ax: Axes | None = None, xlabel: str = "epoch", ylabel: str = "training loss") -> Figure:
    """Training loss against epoch of several runs, {label: (epochs, losses)} (Huang et al. Fig. 2: a cyclic
    schedule beside a normal run); `marks`: {label: epochs} where that run's members are taken, drawn as dots."""
    if not curves:
        raise ValueError("curves must hold at least one run: {label: (epochs, losses)}")
    ax = _axes(ax, figsize=(5.5, 3.4))
    for k, (label, (epochs, losses)) in enumerate(curves.items()):
        e = np.ma.getdata(_series(f"curves[{label!r}] epochs", epochs))
        v = _series(f"curves[{label!r}] losses", losses, e.size)
        if log:
            _positive(f"curves[{label!r}] losses", v)
        color = f"C{k}"
        ax.plot(e, v, "-", color=color, lw=1.4, label=label)
        for m in (marks or {}).get(label, ()):
            i = int(np.argmin(np.abs(e - m)))
            if abs(e[i] - m) > 0.5:
                raise ValueError(f"marks[{label!r}] holds epoch {m}, which is not among the run's epochs")
            ax.plot(e[i], v[i], "o", color=color, mec="k", ms=6, zorder=3)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _label(ax, xlabel, ylabel, title)


def along_t(t, series: dict[str, Sequence[float]], *, ylabel: str, log: bool = False, title: str | None = None,
            ax: Axes | None = None, xlabel: str = "$t$") -> Figure:
    """One value per t for several paths between two networks, {label: values} (Garipov et al. Fig. 2 style);
    a label starting with "line" is dashed."""
    tt = np.ma.getdata(_series("t", t))
    if not series:
        raise ValueError("series must hold at least one path: {label: values}")
    ax = _axes(ax, figsize=(4.6, 3.4))
    for label, values in series.items():
        v = _series(f"series[{label!r}]", values, tt.size)
        if log:
            _positive(f"series[{label!r}]", v)
        ax.plot(tt, v, "--o" if label.startswith("line") else "-o", ms=3.5, lw=1.4, label=label)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _label(ax, xlabel, ylabel, title)


def axis_stretch(ax: Axes) -> float:
    """How many times longer one data unit of y is drawn than one data unit of x on `ax` (1: to scale)."""
    ax.figure.canvas.draw()  # constrained layout settles the axes' size first
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    if x1 == x0 or y1 == y0:
        raise ValueError("ax must have non-empty x and y limits")
    return float((box.height / abs(y1 - y0)) / (box.width / abs(x1 - x0)))


def note_scale(ax: Axes) -> float:
    """Write on `ax` whether its axes are drawn to scale (within 10%) or how much y is stretched; return it."""
    k = axis_stretch(ax)
    text = "axes to scale" if abs(k - 1.0) <= 0.1 else (f"not to scale: $y$ stretched {k:.1f}×" if k > 1
                                                         else f"not to scale: $x$ stretched {1 / k:.1f}×")
    ax.text(0.02, 0.02, text, transform=ax.transAxes, fontsize=8, color="w", path_effects=OUTLINE, zorder=6)
    return k
