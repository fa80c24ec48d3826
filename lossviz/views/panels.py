"""Figures of several networks' panels on shared ranges: the Hessian maps beside the loss contours (Li et al. Fig. 7,
notebook 05), the optimizer's paths on their PCA planes (Li et al. Fig. 9, notebook 06) and FGE in two settings
(notebook 08)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lossviz.views import charts, drawing, plot


def loss_levels(zs, nbins: int, log: bool = False) -> list[float]:
    """One set of contour levels for several surfaces: `drawing.levels` of all their values (each clipped at its
    own `drawing.auto_vmax`, log10 when log), as each panel alone would take them from its own."""
    shown = [drawing.scale(np.ma.masked_invalid(np.ma.asarray(z, dtype=float)), None, log) for z in zs]
    pooled = np.ma.concatenate([s.ravel() for s in shown])
    return drawing.levels(pooled, None, None, None, None, log, nbins=nbins).tolist()


def _on(surface) -> str:
    """"on 256 training images" of a surface file that records its sample, else ""."""
    n = surface.images().get("train")
    return f" on {n:,} training images" if n else ""


def hessian_maps(maps: Mapping[str, Any], losses: Mapping[str, Any], planes: Mapping[str, Any],
                 captions: Mapping[str, str], *, frame: tuple[float, float] = (-1.0, 1.0), size: float = 4.2) -> Figure:
    """A row per network: |lambda_min / lambda_max| on its Hessian plane with the training loss there in contours
    (log scale, one set of levels for all networks, `plot.eigen_ratio`), and the training loss on its random plane
    (the reference's levels, `plot.PAPER_LEVELS`); every panel on one frame, the ratio on one color range [0, 1]."""
    names = list(maps)
    fig, axes = plot.grid(2 * len(names), ncols=2, size=size)
    levels = loss_levels([losses[n]["train_loss"] for n in names], nbins=10, log=True)
    for row, name in enumerate(names):
        m, loss, plane = maps[name], losses[name], planes[name]
        plot.eigen_ratio(m.xcoordinates, m.ycoordinates, m["min_eig"], m["max_eig"], loss["train_loss"], log=True,
                         vmax=1.0, levels=levels, ax=axes[2 * row],
                         title=f"{captions[name]}, eigenvalue ratio, loss{_on(loss)}")
        plot.contour(plane.xcoordinates, plane.ycoordinates, plane["train_loss"], ax=axes[2 * row + 1],
                     title=f"{captions[name]}, training loss{_on(plane)}", **plot.PAPER_LEVELS)
    for ax in axes:
        ax.set(xlim=frame, ylim=frame)
    return fig


def pca_paths(planes: Mapping[str, Any], *, ncols: int = 2, size: float = 4.2) -> Figure:
    """Each run's optimizer path on its PCA plane over its training loss in contours (`plot.trajectory`), all on one
    set of levels; `planes`: {label: `landscapes.PathPlane`}."""
    fig, axes = plot.grid(len(planes), ncols=ncols, size=size)
    levels = loss_levels([p.surface["train_loss"] for p in planes.values()], nbins=15)
    for ax, (label, p) in zip(axes, planes.items()):
        s = p.surface
        plot.trajectory(s.xcoordinates, s.ycoordinates, s["train_loss"], p.pca.coords, levels=levels,
                        epochs=[int(e) for e in p.epochs], explained=p.pca.explained, ax=ax,
                        title=f"{label}, loss{_on(s)}")
    return fig


def fge_settings(settings: Mapping[str, tuple[Any, Any]], *, size: tuple[float, float] = (5.2, 3.8)) -> Figure:
    """A panel per FGE setting, {title: (FGE ensemble, normal run of the same budget)} (`ensembles.EnsembleResult`):
    each snapshot's and the growing ensemble's test error with binomial error bars beside the normal run
    (`charts.ensemble_errors`), every panel on one y range."""
    if not settings:
        raise ValueError("settings must hold at least one (FGE ensemble, normal run) pair")
    fig, axes = plot.grid(len(settings), ncols=2, size=size)
    for ax, (title, (fge, single)) in zip(axes, settings.items()):
        charts.ensemble_errors(range(1, len(fge.member_errors) + 1), fge.member_errors, fge.ensemble_errors,
                               test_images=fge.test_images, baseline=single.error, title=title, ax=ax)
    low = min(ax.get_ylim()[0] for ax in axes)
    high = max(ax.get_ylim()[1] for ax in axes)
    for ax in axes:
        ax.set_ylim(low, high)
    return fig
