"""The explorer's logic without a browser: views, cached vs live surfaces, the interpolation point, callbacks."""
import dataclasses

import matplotlib
import numpy as np
import pytest

from lossviz.base import data
from lossviz.base.schedules import Schedule
from lossviz.compute import landscapes, surface, train
from lossviz.compute.train import TrainConfig
from lossviz.course import profiles
from lossviz.course.recipes import Course
from lossviz.views import explorer
from lossviz.views.explorer import View

matplotlib.use("Agg")
CONFIG = TrainConfig(model="resnet20", dataset="synthetic", train_subset=128, test_subset=64, epochs=1,
                     batch_size=32, schedule=Schedule("constant", 0.05))
LIVE = data.Sample("synthetic", train_subset=32)


@pytest.fixture(scope="module")
def built(tmp_path_factory, one_thread):
    cache_dir, out = tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("out")
    a, b = (train.train(CONFIG.replace(seed=s), cache_dir=cache_dir, progress=False) for s in (0, 1))
    course = Course(profiles.get("smoke"), tmp_path_factory.mktemp("data"), out, cache_dir)
    request = landscapes.Interpolation(a.config, b.config, course.sample(), points=5, span=(0.0, 1.0))
    line = landscapes.interpolation(request, a, b, out_dir=out)
    course.random_surface(a, course.sample(test=False), dims=2, points=3, seed=0)  # what a notebook computed
    ex = course.explorer({"a": a, "b": b}, {"a": "run a", "b": "run b"}, line, "alpha", live_images=32)
    return dataclasses.replace(ex, live_points=5), b, out


@pytest.fixture
def ex(built):
    return built[0]


@pytest.mark.parametrize("change, field", [({"model": "c"}, "model"), ({"kind": "4d"}, "kind"),
                                           ({"alpha": 1.5}, "alpha"), ({"points": 2}, "points"),
                                           ({"seed": -1}, "seed")])
def test_bad_views_are_refused_naming_the_field(ex, change, field):
    view = View("a", points=3)
    with pytest.raises(ValueError, match=field):
        explorer.check(ex, explorer.update(view, *next(iter(change.items()))))


def test_update_changes_one_field_and_refuses_unknown_ones():
    view = View("a")
    assert explorer.update(view, "kind", "3d") == View("a", kind="3d")
    assert view.kind == "contour"  # views are values
    with pytest.raises(ValueError, match="name='colour'"):
        explorer.update(view, "colour", "red")


def test_cached_surface_is_read_from_its_file(ex, monkeypatch):
    assert ex.cached(View("a", points=3))
    monkeypatch.setattr(surface, "evaluator", lambda *a, **k: pytest.fail("recomputed a cached surface"))
    s, from_cache = explorer.surface(ex, View("a", points=3))
    assert from_cache and s.complete and s["train_loss"].shape == (3, 3)


def test_other_grids_are_computed_live_on_the_small_sample(built):
    ex, run_b, out = built
    view = View("b", kind="1d", seed=3, points=3)
    assert not ex.cached(view)
    s, from_cache = explorer.surface(ex, view)
    assert not from_cache and s.complete and s["train_loss"].shape == (3,)
    expected = landscapes.random_surface(landscapes.RandomPlane(run_b.config, LIVE, dims=1, points=3, seed=3), run_b,
                                         out_dir=out)
    assert np.array_equal(s["train_loss"], expected["train_loss"])
    assert "test_loss" not in s.values  # the live sample has no test split


def test_large_uncached_grids_are_refused(ex):
    with pytest.raises(ValueError, match="points=7"):
        explorer.surface(ex, View("a", seed=5, points=7))


def test_point_on_the_interpolation(ex):
    x, loss = ex.line.xcoordinates, ex.line["train_loss"]
    assert abs(explorer.on_line(ex.line, float(x[2])) - float(loss[2])) < 1e-12
    mid = (x[1] + x[2]) / 2
    assert abs(explorer.on_line(ex.line, mid) - (loss[1] + loss[2]) / 2) < 1e-9
    with pytest.raises(ValueError, match="alpha"):
        explorer.on_line(ex.line, 2.0)


@pytest.mark.parametrize("kind", explorer.KINDS)
def test_render_draws_the_surface_and_the_point(ex, kind):
    view = View("a", kind=kind, alpha=0.25, points=3)
    fig = explorer.render(ex, view)
    assert (fig.axes[0].name == "3d") == (kind == "3d")
    marker = [ln for ax in fig.axes for ln in ax.lines if ln.get_marker() == "o" and ln.get_color() == "tab:orange"]
    assert len(marker) == 1 and marker[0].get_xdata()[0] == 0.25
    assert abs(marker[0].get_ydata()[0] - explorer.on_line(ex.line, 0.25)) < 1e-12


def test_controls_call_draw_with_the_changed_view(ex):
    drawn = []
    box, current = explorer.controls(ex, View("a", points=3), drawn.append)
    (model, kind), (alpha, seed, points) = box.children[0].children, box.children[1].children
    model.value = "b"
    kind.value = "1d"
    alpha.value = 0.75
    seed.value = 2
    points.value = 5
    assert drawn == [View("b", points=3), View("b", kind="1d", points=3), View("b", kind="1d", alpha=0.75, points=3),
                     View("b", kind="1d", alpha=0.75, seed=2, points=3),
                     View("b", kind="1d", alpha=0.75, seed=2, points=5)]
    assert current() == drawn[-1]


def test_show_is_static_when_unattended(ex, monkeypatch):
    monkeypatch.setenv(explorer.STATIC_ENV, "1")
    assert explorer.static_mode()
    figures = explorer.show(ex, View("a", points=3), extra=(View("b", kind="1d", points=3),))
    assert len(figures) == 2
    monkeypatch.setenv(explorer.STATIC_ENV, "0")
    assert not explorer.static_mode()
    assert explorer.show(ex, View("a", points=3)) == []  # live: widgets, no static figures
    with pytest.raises(ValueError, match="model"):
        explorer.show(ex, View("zzz"), static=True)


def test_the_3d_mode_is_the_interactive_surface_with_its_static_figure(ex, monkeypatch):
    import IPython.display

    from lossviz.views import surface3d

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    view = View("a", kind="3d", points=3)
    spec = explorer.interactive(ex, view)
    s, _ = explorer.surface(ex, view)
    z = [t for t in spec["data"] if t["type"] == "surface"][0]["z"]
    assert np.allclose(np.array(z, float), np.log10(np.minimum(s["train_loss"], 10.0)), rtol=1e-4)  # as render draws
    figures = explorer.show(ex, View("a", points=3), static=True, extra=(view,))
    assert len(figures) == 2
    bundles = [obj for obj, raw in shown if raw]
    assert len(bundles) == 1 and {surface3d.MIME, "image/png"} <= set(bundles[0])
    assert bundles[0][surface3d.MIME] == spec
