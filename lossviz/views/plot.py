"""Figures: loss landscapes (Li et al. 2018), snapshot ensembles (Huang et al. 2017), curves (Garipov et al. 2018).

Every function takes plain numpy arrays and returns the matplotlib Figure (drawing on `ax=` when given);
none calls `plt.show()`. Surfaces follow one convention: `z[j, i]` is the value at `(x[i], y[j])`, so
`z.shape == (len(y), len(x))`; NaN/inf are masked and values above `vmax` clipped.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy

from lossviz.base import files, stats
from lossviz.views import drawing
from lossviz.views.drawing import ALPHA, BETA, CMAP, OUTLINE, Levels

# the reference's contour levels: np.arange(0.1, 10, 0.5)
PAPER_LEVELS: dict[str, Any] = {"vmin": 0.1, "vmax": 10.0, "vlevel": 0.5}


def caption(model_display_name: str, test_error_percent: float, test_images: int) -> str:
    """The paper's caption with what its number is: "ResNet-56-NS, test error 13.31% ± 0.34 on 10,000 images"
    (± the binomial standard error, `stats.binomial_se`)."""
    if not isinstance(model_display_name, str) or not model_display_name.strip():
        raise ValueError(f"model_display_name={model_display_name!r} must be a non-empty string")
    err = float(test_error_percent)
    if not 0.0 <= err <= 100.0:
        raise ValueError(f"test_error_percent={test_error_percent} must lie in [0, 100] (a percentage)")
    if int(test_images) < 1:
        raise ValueError(f"test_images={test_images} must be the positive number of test images the error is on")
    se = stats.binomial_se(err, int(test_images))
    return f"{model_display_name}, test error {err:.2f}% ± {se:.2f} on {int(test_images):,} images"



def _lines(ax: Axes, x, y, z, lv, *, labels: bool, log: bool, cmap=None, **kw):
    """Contour lines of z at levels lv (solid, also below 0), labeled inline in the data's units (every other level
    when crowded) where a label keeps clear of the others (`drawing.clear_labels`)."""
    inside = lv[(lv > z.min()) & (lv < z.max())]
    lv = inside if len(inside) else lv  # only levels that draw a line, so labels start at the innermost
    if cmap is not None:  # skip the palest end of the map: it vanishes on white
        kw["colors"] = plt.get_cmap(cmap)(np.linspace(0.0, 0.85, len(lv)))
    kw = {"linewidths": 1.0, "negative_linestyles": "solid", **kw}  # log10 levels below 0 are losses below 1
    cs = ax.contour(x, y, z, levels=lv, **kw)
    drawn = np.asarray(cs.levels)
    if labels and len(drawn):
        places = drawing.clear_labels(ax, cs, drawn[:: 2 if len(drawn) > 10 else 1], log)
        cs.remove()
        cs = ax.contour(x, y, z, levels=lv, **kw)
        if places:
            ax.clabel(cs, sorted({level for level, _ in places}), inline=True, fontsize=7, fmt=drawing.fmt(log),
                      manual=[xy for _, xy in places])
    return cs



def _fill(ax: Axes, x, y, z, lv, *, cmap, zlabel: str, log: bool):
    """Filled contours of z at levels lv with a labeled colorbar."""
    cs = ax.contourf(x, y, z, levels=lv, cmap=drawing.cmap(cmap), extend=drawing.extend(z, lv))
    drawing.colorbar(ax, cs, drawing.zname(zlabel, log))
    return cs



def _mesh(ax: Axes, x, y, z, norm: Normalize, cmap):
    """z as cells centred on (x[i], y[j]): x horizontal, y vertical, origin lower."""
    return ax.pcolormesh(x, y, z, shading="nearest", norm=norm, cmap=drawing.cmap(cmap))



def line_1d(alphas, loss, acc=None, *, test_loss=None, test_acc=None, xlabel: str = ALPHA,
            title: str | None = None, log: bool = False, vmax: float | None = None,
            ylim: tuple[float, float] | None = None, ax: Axes | None = None,
            images: dict[str, int] | None = None) -> Figure:
    """Loss (left, blue; train solid, test dashed) and accuracy % (right, red) on a line (Li et al. Fig. 2/3/5).

    `vmax` caps the loss axis where the curves go higher; `ylim` fixes it (panels to be compared share it);
    `images`: {split: images each point is evaluated on} (`io.Surface.images`), said in the legend's title."""
    if ylim is not None and not (len(ylim) == 2 and ylim[0] < ylim[1]):
        raise ValueError(f"ylim={ylim} must be (bottom, top) with bottom < top")
    a = drawing.series("alphas", alphas)
    curves: dict[str, Any] = {k: drawing.series(k, v, a.size) if v is not None else None
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
                drawing.positive(k, curves[k])
    ax = drawing.axes(ax, figsize=(5.0, 3.6))
    handles = []
    for k, style, name in (("loss", "-", "train loss"), ("test_loss", "--", "test loss")):
        if curves[k] is not None:
            handles += ax.plot(a, curves[k], "b" + style, lw=1.5, label=name)
    if log:
        drawing.log_y(ax)
    allv = np.ma.concatenate(losses)
    cap = drawing.auto_vmax(allv) if vmax is None else float(vmax)
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
    # under the x label, off the curves
    below = offset_copy(ax.transAxes, cast(Figure, ax.figure), y=-36, units="points")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
              ncol=2, fontsize=8, frameon=False, title=_images_note(images), title_fontsize=8)
    return drawing.label(ax, xlabel, None, title)



def _images_note(images: dict[str, int] | None) -> str | None:
    """"each point: 256 train, 128 test images" of {split: images}, None without."""
    if not images:
        return None
    return "each point: " + ", ".join(f"{n:,} {split}" for split, n in images.items()) + " images"



def contour(x, y, z, *, levels: Levels = None, vmin: float | None = None, vmax: float | None = None,
            vlevel: float | None = None, log: bool = False, labels: bool = True, title: str | None = None,
            ax: Axes | None = None, cmap: str | Colormap = CMAP, xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Labeled contour lines of z over the (alpha, beta) plane (Li et al. Fig. 5); vmin/vmax/vlevel as the reference."""
    x, y, z = drawing.surface(x, y, z)
    zs = drawing.scale(z, vmax, log)
    ax = drawing.axes(ax)
    _lines(ax, x, y, zs, drawing.levels(zs, levels, vmin, vmax, vlevel, log), labels=labels, log=log, cmap=cmap)
    return drawing.label(ax, xlabel, ylabel, title)



def filled(x, y, z, *, levels: Levels = None, vmin: float | None = None, vmax: float | None = None,
           vlevel: float | None = None, log: bool = False, labels: bool = False, zlabel: str = "loss",
           title: str | None = None, ax: Axes | None = None, cmap: str | Colormap = CMAP,
           xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Filled contours of z with a labeled colorbar (thin labeled lines on top if labels=True)."""
    x, y, z = drawing.surface(x, y, z)
    zs = drawing.scale(z, vmax, log)
    ax = drawing.axes(ax)
    lv = drawing.levels(zs, levels, vmin, vmax, vlevel, log, nbins=20)
    _fill(ax, x, y, zs, lv, cmap=cmap, zlabel=zlabel, log=log)
    if labels:
        _lines(ax, x, y, zs, lv[::2], labels=True, log=log, colors="k", linewidths=0.5)
    return drawing.label(ax, xlabel, ylabel, title)



def heatmap(x, y, z, *, vmin: float | None = None, vmax: float | None = None, log: bool = False,
            zlabel: str = "loss", title: str | None = None, ax: Axes | None = None,
            cmap: str | Colormap = CMAP, xlabel: str = ALPHA, ylabel: str = BETA,
            zlim: tuple[float, float] | None = None) -> Figure:
    """z as colored cells centred on (x[i], y[j]) (x horizontal, y up) with a labeled colorbar; `zlim`: the colors'
    range (log10 when log; panels to be compared share it), else vmin (or the minimum) to the clipped maximum."""
    x, y, z = drawing.surface(x, y, z)
    zs = drawing.scale(z, vmax, log)
    if log and vmin is not None and vmin <= 0:
        raise ValueError(f"vmin={vmin} must be > 0 with log=True")
    lo = zs.min() if vmin is None else (np.log10(vmin) if log else vmin)
    lo, hi = zlim if zlim is not None else (lo, zs.max())
    ax = drawing.axes(ax)
    drawing.colorbar(ax, _mesh(ax, x, y, zs, Normalize(lo, hi), cmap), drawing.zname(zlabel, log))
    return drawing.label(ax, xlabel, ylabel, title)



def surface_3d(x, y, z, *, vmax: float | None = None, log: bool = False, zlabel: str = "loss",
               title: str | None = None, ax: Axes | None = None, cmap: str | Colormap = CMAP,
               elev: float = 35.0, azim: float = -60.0, colorbar: bool = True,
               xlabel: str = ALPHA, ylabel: str = BETA, zlim: tuple[float, float] | None = None) -> Figure:
    """Hill-shaded 3D surface of z clipped at vmax, the basin seen from above like Li et al. Fig. 1; `zlim`: the
    heights' and colors' range (log10 when log; panels to be compared share it). Where the clip cuts points off, the
    axes say how many (`note_clip`): a plateau at the clip level is not the surface's shape."""
    x, y, z = drawing.surface(x, y, z)
    zs = drawing.scale(z, vmax, log)
    ax3: Any = drawing.axes(ax, figsize=(6.0, 4.8), projection="3d")  # Axes3D, untyped
    lo, hi = zlim if zlim is not None else (float(zs.min()), float(zs.max()))
    norm = Normalize(lo, hi)
    cm = drawing.cmap(cmap)
    rgba = drawing.shade(x, y, drawing.face_values(zs), norm, cm)
    X, Y = np.meshgrid(x, y)
    step_r, step_c = max(1, len(y) // 120), max(1, len(x) // 120)
    ax3.plot_surface(X, Y, zs.filled(np.nan), facecolors=rgba, rstride=step_r, cstride=step_c,
                     linewidth=0, antialiased=False, shade=False)
    ax3.set_zlim(lo, hi if hi > lo else lo + 1)
    ax3.view_init(elev=elev, azim=azim)
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
        axis.set_major_locator(MaxNLocator(5))
    if colorbar:  # the colorbar names z; a z-axis label would collide with the tick labels
        drawing.colorbar(ax3, ScalarMappable(norm, cm), drawing.zname(zlabel, log), shrink=0.6, pad=0.08)
    else:
        ax3.set_zlabel(drawing.zname(zlabel, log))
    note_clip(ax3, z, drawing.clip_level(z, vmax))
    return drawing.label(ax3, xlabel, ylabel, title)



def note_clip(ax: Any, z: np.ma.MaskedArray, cap: float) -> int:
    """Write on a 3D ax how many of z's points lie above the clip level `cap` (nothing when none do); return that."""
    above = int((z > cap).sum())
    if above:
        ax.text2D(0.0, 1.0, f"clipped at {cap:.3g}: {above:,} of {z.count():,} points", transform=ax.transAxes,
                  fontsize=8, color="0.3", va="top")
    return above



def eigen_ratio(x, y, min_eig, max_eig, loss=None, *, vmax: float | None = None, levels: Levels = None,
                log: bool = False, title: str | None = None, ax: Axes | None = None,
                cmap: str | Colormap = "cividis", xlabel: str = ALPHA, ylabel: str = BETA) -> Figure:
    """Heatmap of |lambda_min / lambda_max| (Li et al. Fig. 7: blue = convex, yellow = not), loss contours over it."""
    x, y, lo = drawing.surface(x, y, min_eig, "min_eig")
    _, _, hi = drawing.surface(x, y, max_eig, "max_eig")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.ma.masked_invalid(np.abs(lo.filled(np.nan) / hi.filled(np.nan)))
    if ratio.count() == 0:
        raise ValueError("max_eig is zero or non-finite everywhere, so |min_eig/max_eig| is undefined")
    top = float(ratio.max()) if vmax is None else float(vmax)
    ax = drawing.axes(ax)
    label = r"$|\lambda_{\min} / \lambda_{\max}|$"
    drawing.colorbar(ax, _mesh(ax, x, y, np.ma.minimum(ratio, top), Normalize(0.0, top or 1.0), cmap), label)
    if loss is not None:
        _, _, lz = drawing.surface(x, y, loss, "loss")
        ls = drawing.scale(lz, None, log, "loss")
        cs = _lines(ax, x, y, ls, drawing.levels(ls, levels, None, None, None, log, nbins=10), labels=True, log=log,
                    colors="w", linewidths=0.8)
        cs.set(path_effects=[patheffects.withStroke(linewidth=1.6, foreground="0.2")])
    return drawing.label(ax, xlabel, ylabel, title)



def trajectory(x, y, z, path_xy, *, epochs: Sequence[float] | None = None, explained: Sequence[float] | None = None,
               n_labels: int = 6, levels: Levels = None, vmax: float | None = None, log: bool = False,
               title: str | None = None, ax: Axes | None = None, cmap: str | Colormap = CMAP) -> Figure:
    """PCA-plane loss contours with the optimizer path, epochs dotted and some numbered (Li et al. Fig. 9)."""
    x, y, z = drawing.surface(x, y, z)
    path = drawing.points("path_xy", path_xy)
    ep = np.arange(len(path)) if epochs is None else np.asarray(epochs)
    if ep.shape != (len(path),):
        raise ValueError(f"epochs must give one epoch per row of path_xy ({len(path)}), got shape {ep.shape}")
    names = ["1st PC", "2nd PC"]
    if explained is not None:
        ev = np.asarray(explained, dtype=float)
        if ev.shape != (2,) or np.any(ev < 0) or np.any(ev > 1):
            raise ValueError(f"explained must be the 2 explained-variance ratios in [0, 1], got {explained!r}")
        names = [f"{n}: {100 * e:.1f} %" for n, e in zip(names, ev)]
    zs = drawing.scale(z, vmax, log)
    ax = drawing.axes(ax)
    _lines(ax, x, y, zs, drawing.levels(zs, levels, None, vmax, None, log), labels=True, log=log, cmap=cmap)
    ax.plot(path[:, 0], path[:, 1], "-", color="tab:red", lw=1.5, zorder=3)
    ax.plot(path[:, 0], path[:, 1], "o", color="tab:red", ms=3, zorder=4)
    for k in _spread(path, n_labels, min_gap=0.06 * max(np.ptp(x), np.ptp(y))):
        ax.annotate(str(ep[k]), path[k], textcoords="offset points", xytext=(4, 4), fontsize=7,
                    color="tab:red", zorder=5)
    return drawing.label(ax, names[0], names[1], title)



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
    x, y, z = drawing.surface(x, y, z)
    zs = drawing.scale(z, vmax, log)
    ax = drawing.axes(ax)
    _fill(ax, x, y, zs, drawing.levels(zs, levels, None, None, None, log, nbins=20), cmap=cmap, zlabel=zlabel, log=log)
    if curve_xy is not None:
        c = drawing.points("curve_xy", curve_xy)
        ax.plot(c[:, 0], c[:, 1], "-", color="w", lw=2.0,
                path_effects=[patheffects.withStroke(linewidth=3.2, foreground="0.15")])
    if points_xy is not None:
        p = drawing.points("points_xy", points_xy)
        if point_labels is not None and len(point_labels) != len(p):
            raise ValueError(f"point_labels must name each of the {len(p)} points_xy, got {len(point_labels)}")
        ax.plot(p[:, 0], p[:, 1], "o", color="w", mec="k", ms=7, zorder=4)
        for (px, py), text in zip(p, point_labels or ()):
            ax.annotate(text, (px, py), textcoords="offset points", xytext=(6, 6), color="w", fontsize=11,
                        path_effects=OUTLINE, zorder=5)
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    return drawing.label(ax, xlabel, ylabel, title)



def grid(n: int, ncols: int = 3, size: float | tuple[float, float] = 3.6, *,
         captions: Sequence[str] | None = None, projection: str | None = None) -> tuple[Figure, list[Axes]]:
    """A figure of n axes in rows of ncols (models side by side), each titled by its caption."""
    if n < 1 or ncols < 1:
        raise ValueError(f"n={n} and ncols={ncols} must be >= 1")
    if captions is not None and len(captions) != n:
        raise ValueError(f"captions must give one caption per axes (n={n}), got {len(captions)}")
    w, h = (size, size * 0.85) if isinstance(size, (int, float)) else size
    cols, rows = min(n, ncols), -(-n // ncols)
    fig = plt.figure(figsize=(w * cols, h * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, k + 1, projection=projection) for k in range(n)]
    for a, text in zip(axes, captions or ()):
        drawing.set_title(a, text)
    return fig, axes



def compare(surfaces: dict, captions: dict[str, str], *, kind: str = "contour", key: str = "train_loss",
            ncols: int = 3, size: float = 3.6, **options) -> Figure:
    """Several 2D surfaces side by side, each captioned (`caption`), on shared ranges (`shared`): the same clip
    level, contour levels, z range and colors; kind: contour, filled, 3d, heatmap."""
    draw: dict[str, Callable[..., Figure]] = {"contour": contour, "filled": filled, "3d": surface_3d,
                                              "heatmap": heatmap}
    if kind not in draw:
        raise ValueError(f"kind={kind!r}; valid choices: {', '.join(draw)}")
    names = list(surfaces)
    fig, axes = grid(len(names), ncols=min(ncols, len(names)), size=size,
                     captions=[captions[n] for n in names], projection="3d" if kind == "3d" else None)
    common = shared(kind, [surfaces[n][key] for n in names], options)
    for ax, name in zip(axes, names):
        s = surfaces[name]
        draw[kind](s.xcoordinates, s.ycoordinates, s[key], ax=ax, **common)
    return fig



def shared(kind: str, zs: Sequence, options: dict) -> dict:
    """`options` of `compare` with the ranges its panels share: one clip level (vmax: the highest of their
    `drawing.auto_vmax` when not given), and the levels of all values (contour, filled) or their z range
    (3d, heatmap: `zlim`, log10 when log)."""
    log, vmax = bool(options.get("log", False)), options.get("vmax")
    masked: list[np.ma.MaskedArray] = [np.ma.masked_invalid(np.ma.asarray(z, dtype=float)) for z in zs]
    cap = max(drawing.clip_level(z, vmax) for z in masked)
    pooled = np.ma.concatenate([drawing.scale(z, cap, log).ravel() for z in masked])
    common = {**options, "vmax": cap}
    if kind in ("contour", "filled"):
        given = options.get("levels")
        if given is None or isinstance(given, (int, np.integer)):
            count = None if given is None else int(given)
            common["levels"] = drawing.levels(pooled, count, options.get("vmin"), vmax, options.get("vlevel"), log,
                                              nbins=20 if kind == "filled" else 15)
    else:
        vmin = options.get("vmin")
        lo = float(pooled.min()) if vmin is None else (float(np.log10(vmin)) if log else float(vmin))
        common["zlim"] = (lo, max(float(pooled.max()), lo + 1e-12))
        common.pop("vmin", None)
    return common



def save(fig: Figure, path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Write fig atomically (a temp file in the same folder, then os.replace), cropped to what it draws as a notebook
    shows it (a title a 3D layout leaves over the edge included); png when path has no suffix."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    fmt = path.suffix[1:].lower()
    valid = fig.canvas.get_supported_filetypes()
    if fmt not in valid:
        raise ValueError(f"path suffix {path.suffix!r} is not a figure format; valid: {', '.join(sorted(valid))}")
    with files.atomic(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.05)  # as the notebook shows it
    return path



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


PLANE_X, PLANE_Y = r"$x$ (along $\hat u$)", r"$y$ (along $\hat v$)"  # the axes of a plane through three networks


def loss_and_error_plane(surface, points_xy, point_labels: Sequence[str], *, size: tuple[float, float] = (5.2, 4.2)
                         ) -> Figure:
    """A plane through three networks (Garipov et al. Fig. 1) twice: its training loss (log scale) and its training
    error (%, from `train_acc`), the networks marked and labeled; each panel notes whether it is drawn to scale."""
    fig, axes = grid(2, ncols=2, size=size, captions=["train loss (log scale)", "train error (%)"])
    x, y = surface.xcoordinates, surface.ycoordinates
    curve_plane(x, y, surface["train_loss"], points_xy=points_xy, point_labels=point_labels, log=True, ax=axes[0],
                xlabel=PLANE_X, ylabel=PLANE_Y)
    curve_plane(x, y, 100 - np.asarray(surface["train_acc"]), points_xy=points_xy, point_labels=point_labels,
                zlabel="train error (%)", ax=axes[1], xlabel=PLANE_X, ylabel=PLANE_Y)
    for ax in axes:
        note_scale(ax)
    return fig


def minima_and_curve_planes(minima, minima_xy, minima_labels: Sequence[str], bend, bend_xy, curve_xy, *,
                            size: tuple[float, float] = (5.2, 4.2)) -> Figure:
    """Garipov et al. Fig. 1, left and middle: the training loss on the plane through three independent minima, and on
    the plane of a one-bend curve (its end points and bend `bend_xy`), the curve drawn solid and the straight segment
    between its end points dashed; each panel notes whether it is drawn to scale."""
    fig, axes = grid(2, ncols=2, size=size, captions=["three independent minima", "the plane of the Bezier curve"])
    curve_plane(minima.xcoordinates, minima.ycoordinates, minima["train_loss"], points_xy=minima_xy,
                point_labels=minima_labels, log=True, zlabel="train loss (cross-entropy)", ax=axes[0],
                xlabel=PLANE_X, ylabel=PLANE_Y)
    curve_plane(bend.xcoordinates, bend.ycoordinates, bend["train_loss"], curve_xy, bend_xy, log=True,
                point_labels=[r"$\theta_1$", r"$\theta_2$", r"bend $\theta$"], zlabel="train loss (cross-entropy)",
                ax=axes[1], xlabel=PLANE_X, ylabel=PLANE_Y)
    (x0, y0), (x1, y1) = drawing.points("bend_xy", bend_xy)[:2]
    axes[1].plot([x0, x1], [y0, y1], "--", color="w", lw=1.5)
    for ax in axes:
        note_scale(ax)
    return fig
