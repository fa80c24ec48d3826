"""Several networks' panels on shared ranges: one set of loss levels across networks, one frame, the images named."""
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lossviz.base import cache, io  # noqa: E402
from lossviz.base.data import Sample  # noqa: E402
from lossviz.views import panels  # noqa: E402

X = np.linspace(-1.0, 1.0, 9)
Y = np.linspace(-1.0, 1.0, 7)  # not square: a transposed grid fails
XX, YY = np.meshgrid(X, Y)
BOWL = 0.05 + XX**2 + 2 * YY**2


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _surface(values: dict, images: int | None = None) -> io.Surface:
    attrs = {"request": cache.text({"sample": Sample("cifar10", images)})} if images else {}
    return io.Surface(X, Y, values, np.ones(BOWL.shape, bool), attrs=attrs)


def _levels(ax) -> set[float]:
    return {round(float(v), 9) for v in ax.collections[-1].levels}


def test_hessian_maps_draw_every_network_on_one_set_of_loss_levels_and_one_frame():
    maps = {n: _surface({"min_eig": -0.1 * BOWL, "max_eig": 1 + BOWL}) for n in ("flat", "steep")}
    losses = {"flat": _surface({"train_loss": BOWL}, 256), "steep": _surface({"train_loss": 50 * BOWL}, 256)}
    planes = {n: _surface({"train_loss": 3 * BOWL}) for n in ("flat", "steep")}
    fig = panels.hessian_maps(maps, losses, planes, {"flat": "A", "steep": "B"}, frame=(-0.8, 0.8))
    axes = fig.axes[:4]
    shared = {round(float(v), 9) for v in panels.loss_levels([BOWL, 50 * BOWL], nbins=10, log=True)}
    flat, steep = _levels(axes[0]), _levels(axes[2])
    assert flat <= shared and steep <= shared and flat & steep  # alone each would take its own steps
    assert all(ax.get_xlim() == (-0.8, 0.8) and ax.get_ylim() == (-0.8, 0.8) for ax in axes)
    assert "on 256 training images" in axes[0].get_title().replace("\n", " ")


def test_pca_paths_share_their_contour_levels():
    coords = np.array([[0.8, 0.5], [0.3, 0.2], [0.0, 0.0]])
    pca = SimpleNamespace(coords=coords, explained=np.array([0.8, 0.1]))
    planes = {label: SimpleNamespace(surface=_surface({"train_loss": k * BOWL}), pca=pca, epochs=(1.0, 2.0, 3.0))
              for label, k in (("small", 1.0), ("large", 7.0))}
    fig = panels.pca_paths(planes)
    shared = {round(float(v), 9) for v in panels.loss_levels([BOWL, 7 * BOWL], nbins=15)}
    small, large = _levels(fig.axes[0]), _levels(fig.axes[1])
    assert small <= shared and large <= shared and len(small) < len(large)


def test_fge_settings_put_both_settings_on_one_y_range_with_their_baselines():
    """Two FGE settings far apart in error share one y range that holds every value; each panel draws its
    snapshots, its growing ensemble and its normal run's line at that run's error."""
    def fge(errors, together, single):
        return (SimpleNamespace(member_errors=errors, ensemble_errors=together, test_images=10_000),
                SimpleNamespace(error=single))
    fig = panels.fge_settings({"plain": fge([40.0, 41.0], [40.0, 39.0], 40.5),
                               "augmented": fge([30.0, 31.0], [30.0, 28.0], 33.0)})
    a, b = fig.axes[:2]
    assert a.get_ylim() == b.get_ylim() and a.get_ylim()[0] < 28.0 and a.get_ylim()[1] > 41.0
    assert [ax.get_title() for ax in (a, b)] == ["plain", "augmented"]
    assert [float(ax.lines[-1].get_ydata()[0]) for ax in (a, b)] == [40.5, 33.0]  # the normal run's line
    with pytest.raises(ValueError, match="at least one"):
        panels.fge_settings({})
