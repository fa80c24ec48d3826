"""An interactive explorer of cached loss surfaces: pick a model and a plot, slide along an interpolation.

The logic is plain functions on a frozen `View` (what is shown), so it is testable without a browser;
`widget` wires ipywidgets controls to them and `show` falls back to static figures when the notebook runs
unattended (papermill, nbval: the environment variable `LOSSVIZ_STATIC=1`, which the runner sets). Its 3D mode is
the interactive surface of `surface3d` (turn, zoom, hover), its static figure carried along for what runs no
JavaScript.
Surfaces already computed by the notebooks are read from their files; other grids are computed live,
on a small sample, only up to `Explorer.live_points` points per axis. Where surfaces come from is given
as two functions (`lossviz.course.recipes.Course.explorer` builds them), so views need no recipes.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from lossviz.base import io
from lossviz.views import plot, surface3d

KINDS = ("1d", "contour", "3d")

STATIC_ENV = "LOSSVIZ_STATIC"  # "1": notebooks run unattended (runner, publish, tests) and show static figures


@dataclass(frozen=True)
class View:
    """What the explorer shows: a model's surface of one kind, and a point on the interpolation."""

    model: str
    kind: str = "contour"
    alpha: float = 0.5  # position on the interpolation between the two minima
    seed: int = 0  # of the random directions
    points: int = 9  # grid points per axis on [-1, 1]


@dataclass(frozen=True)
class Explorer:
    """The surfaces to explore (one per caption), the interpolation between two minima, and where surfaces
    come from: `compute(view, live)` returns a view's surface (live: on the small sample), `cached(view)`
    whether the notebooks already saved it."""

    captions: Mapping[str, str]  # {model: its caption}; the models the explorer offers
    line: io.Surface  # an interpolation (`lossviz.course.recipes.interpolation`) between two minima
    line_label: str  # its x-axis label, e.g. "alpha (0: batch 128, 1: batch 1000)"
    compute: Callable[[View, bool], io.Surface]
    cached: Callable[[View], bool]
    live_images: int  # training images of the surfaces computed live (shown in their titles)
    live_points: int = 11  # the largest grid (points per axis) computed live


def check(ex: Explorer, view: View) -> None:
    """Raise ValueError naming the field when the view asks for something the explorer cannot show."""
    if view.model not in ex.captions:
        raise ValueError(f"model={view.model!r} is not loaded; valid choices: {', '.join(ex.captions)}")
    if view.kind not in KINDS:
        raise ValueError(f"kind={view.kind!r}; valid choices: {', '.join(KINDS)}")
    lo, hi = float(np.min(ex.line.xcoordinates)), float(np.max(ex.line.xcoordinates))
    if not lo <= view.alpha <= hi:
        raise ValueError(f"alpha={view.alpha} must lie on the interpolation, within [{lo:g}, {hi:g}]")
    if view.points < 3:
        raise ValueError(f"points={view.points} must be >= 3")
    if view.seed < 0:
        raise ValueError(f"seed={view.seed} must be >= 0")


def update(view: View, name: str, value) -> View:
    """The view with one field changed (what a widget callback does); unknown fields are a ValueError."""
    fields = [f.name for f in dataclasses.fields(View)]
    if name not in fields:
        raise ValueError(f"name={name!r} is not a field of View; valid choices: {', '.join(fields)}")
    return dataclasses.replace(view, **{name: value})


def dims(view: View) -> int:
    """1 for a 1D view, else 2."""
    return 1 if view.kind == "1d" else 2


def surface(ex: Explorer, view: View) -> tuple[io.Surface, bool]:
    """The view's surface and whether it is the cached one (else computed live on the small sample)."""
    check(ex, view)
    if ex.cached(view):
        return ex.compute(view, False), True
    if view.points > ex.live_points:
        raise ValueError(f"points={view.points} is not cached for seed {view.seed}, and live computation is "
                         f"limited to points <= {ex.live_points}; choose fewer points or a cached grid")
    return ex.compute(view, True), False


def on_line(line: io.Surface, alpha: float, key: str = "train_loss") -> float:
    """The interpolation's value at alpha (linear between its grid points); NaN where the loss is undefined."""
    x = np.asarray(line.xcoordinates, dtype=float)
    if not x.min() <= alpha <= x.max():
        raise ValueError(f"alpha={alpha} must lie within [{x.min():g}, {x.max():g}]")
    return float(np.interp(alpha, x, np.asarray(line[key], dtype=float)))


def interactive(ex: Explorer, view: View) -> dict:
    """The view's surface as an interactive 3D figure spec (`surface3d`), its heights as `render` draws them."""
    s, from_cache = surface(ex, view)
    source = "cached" if from_cache else f"live, {ex.live_images} images"
    title = f"{ex.captions[view.model]} ({view.points} points, seed {view.seed}, {source})"
    return surface3d.figure([surface3d.panel(s, title)], vmax=10.0, log=True, ncols=1, height=480)


def render(ex: Explorer, view: View) -> Figure:
    """The view as one figure: the model's surface (left) and the interpolation with the chosen point (right)."""
    s, from_cache = surface(ex, view)
    fig = plt.figure(figsize=(11.0, 4.2), layout="constrained")
    left = fig.add_subplot(1, 2, 1, projection="3d" if view.kind == "3d" else None)
    source = "cached" if from_cache else f"live, {ex.live_images} images"
    title = f"{ex.captions[view.model]} ({view.points} points, seed {view.seed}, {source})"
    if view.kind == "1d":
        plot.line_1d(s.xcoordinates, s["train_loss"], s["train_acc"], title=title, ax=left)
    elif view.kind == "contour":
        plot.contour(s.xcoordinates, s.ycoordinates, s["train_loss"], title=title, ax=left, **plot.PAPER_LEVELS)
    else:
        plot.surface_3d(s.xcoordinates, s.ycoordinates, s["train_loss"], vmax=10.0, log=True, title=title, ax=left)
    right = fig.add_subplot(1, 2, 2)
    line = ex.line
    plot.line_1d(line.xcoordinates, line["train_loss"], line["train_acc"], xlabel=ex.line_label, ax=right,
                 title="linear interpolation between two minima")
    loss = on_line(line, view.alpha)
    right.axvline(view.alpha, color="0.3", lw=1, ls=":")
    right.plot([view.alpha], [loss], "o", color="tab:orange", ms=8, zorder=6)
    right.annotate(f"alpha = {view.alpha:.2f}\ntrain loss {loss:.3f}\ntrain accuracy "
                   f"{on_line(line, view.alpha, 'train_acc'):.1f}%", (view.alpha, loss), textcoords="offset points",
                   xytext=(8, 8), fontsize=8, zorder=7)
    return fig


def static_mode() -> bool:
    """True when the notebook runs unattended (`LOSSVIZ_STATIC=1`): show figures, not widgets."""
    return os.environ.get(STATIC_ENV, "") == "1"


def controls(ex: Explorer, view: View, draw: Callable[[View], None]):
    """ipywidgets controls for every View field; each change builds the new View and calls draw(view).

    Returns (the widget box, a function returning the current view)."""
    import ipywidgets as w

    state = {"view": view}
    widgets = {
        "model": w.Dropdown(options=list(ex.captions), value=view.model, description="model"),
        "kind": w.ToggleButtons(options=list(KINDS), value=view.kind, description="plot"),
        "alpha": w.FloatSlider(value=view.alpha, min=float(np.min(ex.line.xcoordinates)),
                               max=float(np.max(ex.line.xcoordinates)), step=0.05, description="alpha",
                               continuous_update=False),
        "seed": w.BoundedIntText(value=view.seed, min=0, max=10_000, description="seed"),
        "points": w.IntSlider(value=view.points, min=3, max=max(view.points, ex.live_points, 21), step=2,
                              description="points", continuous_update=False),
    }

    def changed(name: str) -> Callable[[dict], None]:
        def on_change(change: dict) -> None:
            state["view"] = update(state["view"], name, change["new"])
            draw(state["view"])
        return on_change

    for name, control in widgets.items():
        control.observe(changed(name), names="value")
    return w.VBox([w.HBox([widgets["model"], widgets["kind"]]), w.HBox([widgets["alpha"], widgets["seed"],
                                                                        widgets["points"]])]), lambda: state["view"]


def show(ex: Explorer, view: View, static: bool | None = None, extra: tuple[View, ...] = ()) -> list[Figure]:
    """Display the explorer: live widgets in Jupyter, or (static=True, default when unattended) the figures of
    `view` and `extra` views. Returns the static figures (empty when live)."""
    from IPython.display import display

    check(ex, view)
    if static if static is not None else static_mode():
        figures = []
        for v in (view, *extra):
            fig = render(ex, v)
            if v.kind == "3d":  # the interactive surface where JavaScript runs, this figure elsewhere
                surface3d.show(interactive(ex, v), fig, f"an interactive 3D view of {ex.captions[v.model]}")
            else:
                display(fig)
                plt.close(fig)
            figures.append(fig)
        return figures
    import ipywidgets as w

    out = w.Output()

    def draw(v: View) -> None:
        with out:
            out.clear_output(wait=True)
            try:
                fig = render(ex, v)
                spec = interactive(ex, v) if v.kind == "3d" else None
            except ValueError as exc:  # a choice the explorer cannot show: say why, keep the controls
                print(exc)
                return
            if spec is not None:  # JupyterLab's plotly renderer turns it; the static figure is its picture
                surface3d.show(spec, fig, f"an interactive 3D view of {ex.captions[v.model]}")
            else:
                display(fig)
                plt.close(fig)

    box, _ = controls(ex, view, draw)
    display(w.VBox([box, out]))
    draw(view)
    return []
