"""The interactive 3D figure specs: the heights are the file's values (clipped, log10) as the static figures draw
them, compared panels share one z range, the hover names alpha, beta, loss and accuracy, paths lie on the surface,
and Plotly accepts the spec."""
import json
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from lossviz.base import io  # noqa: E402
from lossviz.views import drawing, surface3d  # noqa: E402


def bowl(scale: float = 1.0, n: int = 7):
    """A surface file: loss scale * (1 + 30 (x^2 + 2 y^2)), accuracy falling with it."""
    x = np.linspace(-1, 1, n)
    y = np.linspace(-1, 1, n + 2)  # not square: a transposed grid fails
    X, Y = np.meshgrid(x, y)
    loss = scale * (1 + 30 * (X ** 2 + 2 * Y ** 2))
    return io.Surface(x, y, {"train_loss": loss, "train_acc": 100 - loss / loss.max() * 90},
                      np.ones(loss.shape, bool))


def surfaces(spec: dict) -> list[dict]:
    return [t for t in spec["data"] if t["type"] == "surface"]


def test_heights_are_the_files_values_clipped_and_logged_as_the_static_figure():
    s = bowl()
    loss = s["train_loss"]
    linear = surfaces(surface3d.figure([surface3d.panel(s, "a")], vmax=10.0))[0]
    assert np.allclose(np.array(linear["z"], float), np.minimum(loss, 10.0), rtol=1e-4)
    logged = surfaces(surface3d.figure([surface3d.panel(s, "a")], vmax=10.0, log=True))[0]
    assert np.allclose(np.array(logged["z"], float), np.log10(np.minimum(loss, 10.0)), rtol=1e-4)
    assert np.allclose(logged["z"], drawing.scale(np.ma.asarray(loss), 10.0, True), rtol=1e-4)  # plot.surface_3d's
    assert logged["x"] == pytest.approx(list(s.xcoordinates), rel=1e-4)
    assert logged["y"] == pytest.approx(list(s.ycoordinates), rel=1e-4)
    # the hover reads the unclipped loss and the accuracy
    custom = np.array(logged["customdata"], float)
    assert np.allclose(custom[..., 0], loss, rtol=1e-4) and np.allclose(custom[..., 1], s["train_acc"], rtol=1e-4)
    assert custom[..., 0].max() > 10.0


def test_nan_cells_are_holes_and_the_spec_is_json():
    s = bowl()
    s.values["train_loss"][2, 3] = np.nan
    spec = surface3d.figure([surface3d.panel(s, "a")], vmax=10.0, log=True)
    assert surfaces(spec)[0]["z"][2][3] is None
    assert json.loads(json.dumps(spec, allow_nan=False)) == spec


def test_compared_panels_share_their_z_range_and_color_scale():
    low, high = bowl(0.5), bowl(3.0)
    spec = surface3d.figure([surface3d.panel(low, "low"), surface3d.panel(high, "high")], vmax=10.0, log=True)
    scenes = [spec["layout"]["scene"], spec["layout"]["scene2"]]
    lo, hi = np.log10(low["train_loss"].min()), np.log10(10.0)  # the lowest point of both, the clip level
    traces = surfaces(spec)
    assert [t["scene"] for t in traces] == ["scene", "scene2"]
    for t in traces:
        assert (t["cmin"], t["cmax"]) == pytest.approx((lo, hi), rel=1e-4)
    assert scenes[0]["zaxis"]["range"] == scenes[1]["zaxis"]["range"]
    assert all(s["zaxis"]["nticks"] <= 6 for s in scenes)  # few enough heights to read on a 0.7-high axis
    bottom, top = scenes[0]["zaxis"]["range"]
    assert bottom < lo and hi < top and top - bottom < 1.2 * (hi - lo)  # both surfaces inside, a small margin
    assert [t["showscale"] for t in traces] == [False, True]  # one colorbar for both
    domains = [s["domain"]["x"] for s in scenes]
    assert domains[0][1] <= domains[1][0]  # side by side, not overlapping


def test_hover_names_alpha_beta_loss_and_accuracy():
    hover = surfaces(surface3d.figure([surface3d.panel(bowl(), "ResNet-56, 7.0%")]))[0]["hovertemplate"]
    for field in ("α %{x", "β %{y", "train loss %{customdata[0]", "train accuracy %{customdata[1]", "ResNet-56"):
        assert field in hover
    s = bowl()
    del s.values["train_acc"]
    assert "accuracy" not in surfaces(surface3d.figure([surface3d.panel(s, "a")]))[0]["hovertemplate"]


def test_a_path_lies_on_the_surface_or_at_its_measured_values():
    s = bowl()
    path = np.array([[-1 / 3, 0.0], [0.0, 0.0], [1 / 3, 0.25]])  # grid points: bilinear is exact
    measured = np.array([2.0, 1.0, 50.0])
    p = surface3d.panel(s, "a", lines=[surface3d.Line(path, "read off the grid"),
                                       surface3d.Line(path, "measured", values=measured)])
    spec = surface3d.figure([p], vmax=10.0, log=True)
    lines = [t for t in spec["data"] if t["type"] == "scatter3d"]
    lift = 0.02 * (surfaces(spec)[0]["cmax"] - surfaces(spec)[0]["cmin"])
    exact = np.log10(np.minimum(1 + 30 * (path[:, 0] ** 2 + 2 * path[:, 1] ** 2), 10.0))
    assert np.array(lines[0]["z"], float) == pytest.approx(exact + lift, rel=1e-4)
    assert np.array(lines[1]["z"], float) == pytest.approx(np.log10(np.minimum(measured, 10.0)) + lift, rel=1e-4)
    assert lines[1]["customdata"] == pytest.approx(list(measured))


def test_the_course_figures_build_valid_plotly_specs():
    go = pytest.importorskip("plotly.graph_objects")
    s = bowl()
    coords = np.array([[-0.6, -0.3], [-0.2, 0.1], [0.1, 0.0]])
    pca = SimpleNamespace(coords=coords, explained=np.array([0.9, 0.05]))
    specs = [surface3d.compare({"a": s, "b": bowl(2.0)}, {"a": "A", "b": "B"}, vmax=10.0, display=False),
             surface3d.pca_paths({"run": SimpleNamespace(surface=s, pca=pca, epochs=(1.0, 2.0, 3.0))},
                                 display=False),
             surface3d.curve_plane(s, np.array([[-0.5, 0.0], [0.5, 0.0], [0.0, 0.5]]), coords, title="curve",
                                   log=True, display=False)]
    for spec in specs:
        go.Figure(spec)  # raises on a property Plotly does not know
    assert [t["line"]["dash"] for t in specs[2]["data"] if t.get("mode") == "lines"] == ["solid", "dash"]
    assert specs[1]["data"][1]["text"] == ["1", "2", "3"]  # the path's epochs in its hover


def test_bundle_carries_the_spec_and_the_picture():
    s = bowl()
    panels = [surface3d.panel(s, "a")]
    out = surface3d.bundle(surface3d.figure(panels), surface3d.picture(panels, vmax=10.0))
    assert set(out) == {surface3d.MIME, "image/png", "text/plain"}
    import base64
    assert base64.b64decode(out["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("bad, match", [({"ncols": 0}, "ncols"), ({"panels": []}, "panels")])
def test_bad_options_name_themselves(bad, match):
    args = {"panels": [surface3d.panel(bowl(), "a")], **bad}
    with pytest.raises(ValueError, match=match):
        surface3d.figure(args.pop("panels"), **args)


def test_the_static_picture_shares_one_z_range_and_names_its_lines():
    low, high = bowl(0.5), bowl(3.0)
    fig = surface3d.picture([surface3d.panel(low, "low"), surface3d.panel(high, "high")], vmax=10.0, log=True)
    lo = float(np.log10(low["train_loss"].min()))
    assert [ax.get_zlim() for ax in fig.axes] == [pytest.approx((lo, 1.0))] * 2  # the lowest point, the clip level
    coords = np.array([[-0.6, -0.3], [-0.2, 0.1], [0.1, 0.0]])
    anchors = np.array([[-0.5, 0.0], [0.5, 0.0], [0.0, 0.5]])
    spec = surface3d.curve_plane(low, anchors, coords, title="curve", curve_values=[2.0, 1.0, 2.0], display=False)
    names = [t["name"] for t in spec["data"] if t.get("mode") == "lines"]
    panel = surface3d.panel(low, "curve", lines=[surface3d.Line(coords, names[0], [2.0, 1.0, 2.0]),
                                                 surface3d.Line(np.linspace(anchors[0], anchors[1], 5), names[1],
                                                                dash=True)])
    ax = surface3d.picture([panel]).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == names
    assert names == ["Bezier curve (its measured loss)", "straight segment (read off the grid)"]


def test_long_panel_titles_break_after_their_first_comma():
    caption = "ResNet-56-NS, test error 67.10% ± 0.47 on 10,000 images"
    assert surface3d.title_lines(caption) == "ResNet-56-NS<br>test error 67.10% ± 0.47 on 10,000 images"
    assert surface3d.title_lines("ResNet-20, 50.30%") == "ResNet-20, 50.30%"  # short: one line
    # notebook 04's caption names the parameters too: its 50-character rest breaks between words
    wide = "WRN-20-2, test error 47.84% ± 0.50 on 10,000 images (1.08M)"
    assert surface3d.title_lines(wide) == "WRN-20-2<br>test error 47.84% ± 0.50 on 10,000 images<br>(1.08M)"
    assert all(len(line) <= 21 for line in surface3d.title_lines(wide, 21).split("<br>"))
    assert surface3d.title_lines("batch 32\n" + caption) == "batch 32<br>ResNet-56-NS<br>test error 67.10% ± 0.47 " \
                                                            "on 10,000 images"
    spec = surface3d.figure([surface3d.panel(bowl(), caption), surface3d.panel(bowl(2.0), "short")], vmax=10.0)
    assert [a["text"] for a in spec["layout"]["annotations"]] == [surface3d.title_lines(caption), "short"]
    top = spec["layout"]["scene"]["domain"]["y"][1], spec["layout"]["scene2"]["domain"]["y"][1]
    assert top[0] < top[1]  # the two-line title leaves its scene less height
