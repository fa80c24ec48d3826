"""Interactive 3D loss surfaces (Plotly) that turn, zoom and hover in JupyterLab, the HTML pages and the decks.

`figure` is a pure function from surfaces (`Panel`s) to a Plotly figure spec, a plain dict {"data", "layout"}
(Plotly's JSON: no plotly import at run time). The heights are those of the static figures (`plot.surface_3d`,
`gallery.slide_3d`): the values clipped at `vmax`, log10 when `log`; compared panels share one z range and one
color scale; hovering a point shows alpha, beta, the loss (the file's value, unclipped) and the accuracy where
the file has it. `show` displays a spec as one notebook output that also carries a static picture: JupyterLab
draws the spec (the jupyterlab-plotly extension of the `plotly` package), the course's pages and decks draw it
with their bundled plotly.js (`lossviz.suite.slides`), GitHub and PDF show the picture.
"""
from __future__ import annotations

import base64
import io as _io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lossviz.views import drawing, gallery

MIME = "application/vnd.plotly.v1+json"  # the mime type JupyterLab's plotly renderer and our templates read
ALPHA, BETA = "α", "β"  # plain text: Plotly typesets TeX only with MathJax 2
COLORSCALE = "Viridis"  # drawing.CMAP, as Plotly names it
LINE_COLOR = "#d62728"  # matplotlib's tab:red, the static figures' path color
DIGITS = 5  # significant digits kept in the spec (the files hold float32 losses; the notebook outputs stay small)
PANEL_PX = 420  # the height of one row of panels in a notebook
# the longest title line beside another panel (15 px type, half of a slide's width): a 48-character line of notebook
# 04's 2 x 2 view ran past the slide's edge and into its neighbour, a 41-character line of 03b's fits with room
TITLE_CHARS = 42
Z_TICKS = 5  # at most this many heights on the z axis: at 0.7 of a panel's width, more run into each other


@dataclass(frozen=True)
class Line:
    """A path drawn on a surface: plane coordinates (n, 2), a name for its legend and hover; `values` the path's
    own measured values (the surface's units; None: heights read off the grid), `labels` one hover text per point
    (e.g. its epoch), `dash` a dashed line (a straight segment beside a curve)."""

    xy: Any
    name: str
    values: Any = None
    labels: Sequence[str] = ()
    dash: bool = False


@dataclass(frozen=True)
class Panel:
    """One surface to draw: z[j, i] at (x[i], y[j]), its caption, the accuracy (%) on the same grid for the hover,
    paths drawn on it and points marked on it (with labels)."""

    x: Any
    y: Any
    z: Any
    title: str
    acc: Any = None
    lines: Sequence[Line] = ()
    points_xy: Any = None
    point_labels: Sequence[str] = ()


def panel(surface, title: str, key: str = "train_loss", lines: Sequence[Line] = (), points_xy=None,
          point_labels: Sequence[str] = ()) -> Panel:
    """A `Panel` of a surface file's `key` (`io.Surface`), with its accuracy (`train_acc` for `train_loss`) where
    the file has it."""
    acc_key = key.replace("_loss", "_acc")
    acc = surface.values.get(acc_key) if acc_key != key else None
    return Panel(surface.xcoordinates, surface.ycoordinates, surface[key], title, acc, tuple(lines), points_xy,
                 tuple(point_labels))


def cap(z, vmax: float | None) -> float:
    """Where the heights are clipped: vmax, or (None) `drawing.auto_vmax` of z as the static figures do."""
    return float(vmax) if vmax is not None else drawing.auto_vmax(np.ma.masked_invalid(np.ma.asarray(z, dtype=float)))


def heights(z, vmax: float | None, log: bool) -> np.ma.MaskedArray:
    """The heights the static figures draw: z clipped at vmax (None: `drawing.auto_vmax`), log10 when log."""
    return drawing.scale(np.ma.masked_invalid(np.ma.asarray(z, dtype=float)), vmax, log)


def _numbers(values) -> list:
    """An array as nested lists of floats rounded to DIGITS significant digits, None where not finite."""
    a: np.ndarray = np.ma.filled(np.ma.masked_invalid(np.ma.asarray(values, dtype=float)), np.nan)
    if a.ndim == 0:
        return None if not np.isfinite(a) else float(f"{a:.{DIGITS}g}")  # type: ignore[return-value]
    return [_numbers(v) for v in a]


def _camera(elev: float, azim: float, distance: float = 2.0) -> dict:
    """Plotly's camera eye for matplotlib's view angles (degrees)."""
    e, a = np.radians(elev), np.radians(azim)
    return {"eye": {"x": round(distance * np.cos(e) * np.cos(a), 3), "y": round(distance * np.cos(e) * np.sin(a), 3),
                    "z": round(distance * np.sin(e), 3)}}


def zname(zlabel: str, log: bool) -> str:
    """The z axis's name: "log10(train loss)" when log."""
    return f"log10({zlabel})" if log else zlabel


def _hover(p: Panel, xlabel: str, ylabel: str, zlabel: str) -> str:
    """The hover text of a surface: the point's coordinates, the loss (unclipped) and the accuracy if known."""
    text = f"{xlabel} %{{x:.3f}}<br>{ylabel} %{{y:.3f}}<br>{zlabel} %{{customdata[0]:.4g}}"
    accuracy = zlabel.replace("loss", "accuracy") if "loss" in zlabel else "accuracy"
    if p.acc is not None:
        text += f"<br>{accuracy} %{{customdata[1]:.2f}}%"
    return text + f"<extra>{p.title}</extra>"


def _line_trace(p: Panel, line: Line, shown: np.ma.MaskedArray, cap: float, log: bool, lift: float,
                scene: str, zlabel: str) -> dict:
    """A path as a 3D line just above the surface (its measured values, or heights read off the grid)."""
    xy = drawing.points(f"{line.name} xy", line.xy)
    if line.values is None:
        z = gallery.lift(p.x, p.y, shown.filled(np.nan), xy)
        raw = gallery.lift(p.x, p.y, np.ma.filled(np.ma.masked_invalid(np.asarray(p.z, float)), np.nan), xy)
    else:
        raw = np.asarray(line.values, dtype=float)
        if raw.shape != (len(xy),):
            raise ValueError(f"values of line {line.name!r} must hold one value per point ({len(xy)}), "
                             f"got shape {raw.shape}")
        z = heights(raw, cap, log).filled(np.nan)
    labels = list(line.labels) or [""] * len(xy)
    if len(labels) != len(xy):
        raise ValueError(f"labels of line {line.name!r} must name each of its {len(xy)} points, got {len(labels)}")
    return {"type": "scatter3d", "mode": "lines", "scene": scene, "name": line.name, "showlegend": False,
            "x": _numbers(xy[:, 0]), "y": _numbers(xy[:, 1]), "z": _numbers(z + lift),
            "customdata": _numbers(raw), "text": labels,
            "line": {"color": LINE_COLOR if not line.dash else "white", "width": 6, "dash": "dash" if line.dash
                     else "solid"},
            "hovertemplate": f"{line.name} %{{text}}<br>{zlabel} %{{customdata:.4g}}<extra>{p.title}</extra>"}


def figure(panels: Sequence[Panel], *, vmax: float | None = None, log: bool = False, zlabel: str = "train loss",
           xlabel: str = ALPHA, ylabel: str = BETA, ncols: int = 2, elev: float = 35.0, azim: float = -60.0,
           height: int | None = None) -> dict:
    """A Plotly figure spec of the panels side by side (rows of ncols), each a surface of its heights (clipped at
    vmax, log10 when log, as the static figures), all on one z range and one color scale; lines and points drawn
    just above the surface."""
    if not panels:
        raise ValueError("panels is empty: give at least one surface")
    if ncols < 1:
        raise ValueError(f"ncols={ncols} must be >= 1")
    shown = []
    top = max(cap(p.z, vmax) for p in panels)  # one clip level, as one z range
    for p in panels:
        x, y, z = drawing.surface(p.x, p.y, p.z)
        if p.acc is not None:
            drawing.surface(x, y, p.acc, "acc")
        shown.append(heights(z, top, log))
    lo, hi = _range(shown)
    zrange = [float(f"{lo:.{DIGITS}g}"), float(f"{hi:.{DIGITS}g}")]  # the colors' range, shared
    pad = 0.05 * (hi - lo)  # the axis a little taller: a plateau at the clip level and the lines above it stay inside
    axis = [float(f"{lo - pad:.{DIGITS}g}"), float(f"{hi + pad:.{DIGITS}g}")]
    cols, rows = min(ncols, len(panels)), -(-len(panels) // ncols)
    data: list[dict] = []
    layout: dict[str, Any] = {"margin": {"l": 0, "r": 0, "t": 30, "b": 0}, "showlegend": False,
                              "height": height or PANEL_PX * rows, "annotations": [],
                              "font": {"size": 13}, "paper_bgcolor": "white"}
    for k, (p, s) in enumerate(zip(panels, shown)):
        scene = "scene" if k == 0 else f"scene{k + 1}"
        row, col = divmod(k, cols)
        x0, x1 = col / cols, (col + 1) / cols
        y1 = 1 - row / rows
        y0 = y1 - 1 / rows
        raw = np.ma.filled(np.ma.masked_invalid(np.asarray(p.z, dtype=float)), np.nan)
        custom = np.stack([raw, np.asarray(p.acc, dtype=float)], axis=-1) if p.acc is not None else raw[..., None]
        data.append({"type": "surface", "scene": scene, "name": p.title,
                     "x": _numbers(p.x), "y": _numbers(p.y), "z": _numbers(s),
                     "customdata": _numbers(custom), "hovertemplate": _hover(p, xlabel, ylabel, zlabel),
                     "colorscale": COLORSCALE, "cmin": zrange[0], "cmax": zrange[1],
                     "showscale": k == len(panels) - 1,
                     "colorbar": {"title": {"text": zname(zlabel, log), "side": "right"}, "len": 0.6,
                                  "thickness": 14},
                     "contours": {"z": {"show": True, "usecolormap": True, "project": {"z": True}, "width": 1}}})
        lift = 0.02 * (zrange[1] - zrange[0])
        data += [_line_trace(p, line, s, top, log, lift, scene, zlabel) for line in p.lines]
        if p.points_xy is not None:
            q = drawing.points("points_xy", p.points_xy)
            labels = list(p.point_labels) or [""] * len(q)
            if len(labels) != len(q):
                raise ValueError(f"point_labels must name each of the {len(q)} points_xy, got {len(labels)}")
            hz = gallery.lift(p.x, p.y, s.filled(np.nan), q) + 2 * lift
            data.append({"type": "scatter3d", "mode": "markers+text", "scene": scene, "showlegend": False,
                         "x": _numbers(q[:, 0]), "y": _numbers(q[:, 1]), "z": _numbers(hz), "text": labels,
                         "textposition": "top center", "hoverinfo": "text",
                         "marker": {"size": 5, "color": "white", "line": {"color": "black", "width": 1}}})
        heading = title_lines(p.title, TITLE_CHARS * 2 // max(cols, 2))  # TITLE_CHARS fit half of the width
        layout[scene] = {"domain": {"x": [x0, x1], "y": [y0, y1 - (0.02 + 0.04 * heading.count("<br>") + 0.04) / rows]},
                         "xaxis": {"title": {"text": xlabel}}, "yaxis": {"title": {"text": ylabel}},
                         "zaxis": {"title": {"text": zname(zlabel, log)}, "range": axis, "nticks": Z_TICKS},
                         "aspectmode": "manual", "aspectratio": {"x": 1, "y": 1, "z": 0.7},
                         "camera": _camera(elev, azim)}
        layout["annotations"].append({"text": heading, "x": (x0 + x1) / 2, "y": y1, "xref": "paper", "yref": "paper",
                                      "xanchor": "center", "yanchor": "top", "showarrow": False,
                                      "font": {"size": 15}})
    return {"data": data, "layout": layout}


def title_lines(title: str, chars: int = TITLE_CHARS) -> str:
    """A panel's title as Plotly shows it: broken at its line breaks and, where a line is longer than `chars`, after
    its first comma ("ResNet-56-NS<br>test error 67.10% ± 0.47 on 10,000 images"), then between words where a part
    is still longer, so side-by-side titles never run into each other nor past the figure's edge."""
    lines = []
    for line in title.split("\n"):
        head, comma, rest = line.partition(", ")
        for part in [head, rest] if comma and len(line) > chars else [line]:
            lines += textwrap.wrap(part, chars, break_long_words=False) or [part]
    return "<br>".join(lines)


def picture(panels: Sequence[Panel], *, vmax: float | None = None, log: bool = False, xlabel: str = ALPHA,
            ylabel: str = BETA, ncols: int = 2, elev: float = 35.0, azim: float = -60.0) -> Figure:
    """The panels as a static matplotlib figure: `gallery.slide_3d` each on one clip level and one z range (as
    `figure`), its first line solid red, the others dashed, named in a legend where a panel has two or more."""
    cols, rows = min(ncols, len(panels)), -(-len(panels) // ncols)
    top = max(cap(p.z, vmax) for p in panels)
    zlim = _range([heights(p.z, top, log) for p in panels])
    fig = plt.figure(figsize=(5.4 * cols, 4.6 * rows), layout="constrained")
    for k, p in enumerate(panels):
        ax: Any = fig.add_subplot(rows, cols, k + 1, projection="3d")  # Axes3D, untyped
        first = p.lines[0] if p.lines else None
        gallery.slide_3d(p.x, p.y, p.z, title=p.title, ax=ax, vmax=top, log=log, xlabel=xlabel,
                         ylabel=ylabel, elev=elev, azim=azim, path_xy=None if first is None else first.xy,
                         path_z=None if first is None else first.values, points_xy=p.points_xy,
                         point_labels=list(p.point_labels) or None, zlim=zlim)
        shown = heights(p.z, top, log)
        for line in p.lines[1:]:
            xy = drawing.points(f"{line.name} xy", line.xy)
            z = gallery.lift(p.x, p.y, shown.filled(np.nan), xy) + 0.02 * float(shown.max() - shown.min())
            ax.plot(xy[:, 0], xy[:, 1], z, "--", color="k", lw=1.8, zorder=10)
        if len(p.lines) > 1:
            ax.legend(handles=[Line2D([], [], color="tab:red", lw=2.5, label=p.lines[0].name)]
                      + [Line2D([], [], color="k", ls="--", lw=1.8, label=line.name) for line in p.lines[1:]],
                      loc="upper left", fontsize=9, frameon=False)
    return fig



def _range(shown: Sequence[np.ma.MaskedArray]) -> tuple[float, float]:
    """The z range of several panels' heights together (one unit tall when they are flat)."""
    lo, hi = min(float(s.min()) for s in shown), max(float(s.max()) for s in shown)
    return lo, hi if hi > lo else lo + 1.0



def _save(fig: Figure, path) -> None:
    """Write the static picture (`plot.save`) when a path is given."""
    if path is not None:
        from lossviz.views import plot

        plot.save(fig, path)


def bundle(spec: dict, static: Figure | None = None, text: str = "", dpi: int = 100) -> dict:
    """One output's mime bundle: the Plotly spec (live in JupyterLab, the pages and the decks), the static figure
    as a PNG (GitHub, PDF) when given, and a line of text."""
    out: dict[str, Any] = {MIME: spec, "text/plain": text or "an interactive 3D figure (Plotly)"}
    if static is not None:
        buffer = _io.BytesIO()
        static.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")  # as the inline backend
        out["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    return out


def show(spec: dict, static: Figure | None = None, text: str = "", dpi: int = 100) -> dict:
    """Display `bundle(spec, static)` as one notebook output (the static figure closed, so it shows only there)."""
    from IPython.display import display

    display(bundle(spec, static, text, dpi), raw=True)
    if static is not None:
        plt.close(static)
    return spec


# --- the course's figures: one call each in the notebooks ------------------------------------------------------

def compare(surfaces: Mapping[str, Any], captions: Mapping[str, str], *, key: str = "train_loss",
            vmax: float | None = None, log: bool = False, ncols: int = 2, static: Figure | None = None,
            save=None, display: bool = True) -> dict:
    """Surfaces side by side (depth, width: notebooks 03, 03b, 04, 10), each captioned, on one z range; shown with
    `static` (the matplotlib figure of the same surfaces) as its picture, or one drawn here (and saved to `save`)."""
    panels = [panel(surfaces[name], captions[name], key) for name in surfaces]
    spec = figure(panels, vmax=vmax, log=log, ncols=ncols, zlabel=key.replace("_", " "))
    if display:
        fig = static if static is not None else picture(panels, vmax=vmax, log=log, ncols=ncols)
        _save(fig, save)
        show(spec, fig, f"{len(panels)} interactive 3D surfaces: {', '.join(p.title for p in panels)}")
    return spec


def pca_paths(planes: Mapping[str, Any], *, vmax: float | None = None, log: bool = False, ncols: int = 2,
              static: Figure | None = None, save=None, display: bool = True) -> dict:
    """Each run's loss on its PCA plane with the optimizer's path drawn on it, epochs in the hover and the end
    marked (notebooks 06, 10); `planes`: {label: `landscapes.PathPlane`}."""
    panels = []
    for label, p in planes.items():
        s = p.surface
        path = Line(p.pca.coords, "epoch", labels=[f"{e:g}" for e in p.epochs])
        panels.append(panel(s, label, lines=[path], points_xy=np.asarray(p.pca.coords)[-1:], point_labels=["end"]))
    names = [f"{n} PC ({100 * e:.1f} %)" for n, e in zip(("1st", "2nd"), next(iter(planes.values())).pca.explained)]
    spec = figure(panels, vmax=vmax, log=log, ncols=ncols, xlabel=names[0] if len(panels) == 1 else "1st PC",
                  ylabel=names[1] if len(panels) == 1 else "2nd PC")
    if display:
        fig = static if static is not None else picture(panels, vmax=vmax, log=log, ncols=ncols, xlabel="1st PC",
                                                        ylabel="2nd PC")
        _save(fig, save)
        show(spec, fig, f"{len(panels)} interactive PCA planes with their paths: {', '.join(planes)}")
    return spec


def curve_plane(surface, anchors, curve_xy, *, title: str, curve_values=None, vmax: float | None = None,
                log: bool = False, static: Figure | None = None, save=None, display: bool = True,
                elev: float = 32.0, azim: float = -120.0) -> dict:
    """The plane of a one-bend curve between two minima (Garipov et al. Fig. 1): its loss, the curve drawn on it
    (its own measured values when given) and the straight segment between its end points beside it, the two
    minima and the bend marked (notebooks 08, 10)."""
    a = drawing.points("anchors", anchors)
    segment = np.linspace(a[0], a[1], 31)
    curve_name = "Bezier curve" + (" (its measured loss)" if curve_values is not None else "")
    lines = [Line(curve_xy, curve_name, curve_values), Line(segment, "straight segment (read off the grid)", dash=True)]
    p = panel(surface, title, lines=lines, points_xy=a, point_labels=["θ1", "θ2", "bend"][:len(a)])
    x_name, y_name = "x (along û)", "y (along v̂)"
    spec = figure([p], vmax=vmax, log=log, ncols=1, xlabel=x_name, ylabel=y_name, elev=elev, azim=azim,
                  height=560)
    if display:
        fig = static
        if fig is None:
            fig = picture([p], vmax=vmax, log=log, ncols=1, xlabel=x_name, ylabel=y_name, elev=elev, azim=azim)
            fig.set_size_inches(7.5, 6.0)
        _save(fig, save)
        show(spec, fig, f"an interactive 3D plane: {title}")
    return spec
