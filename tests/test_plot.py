"""Surface figures on a synthetic bowl over a non-square grid: what each draws (values, masks, levels, ranges,
orientation), labels, errors, atomic saving."""
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lossviz import plot
from lossviz.views.drawing import ALPHA, BETA

X = np.linspace(-3.0, 3.0, 7)  # nx = 7, step 1
Y = np.linspace(-1.0, 1.0, 5)  # ny = 5, step 0.5
XX, YY = np.meshgrid(X, Y)
BOWL = XX**2 + 2 * YY**2  # z[j, i] at (X[i], Y[j]); minimum 0 at (0, 0), maximum 11 at the corners
SHIFTED = (XX - 1) ** 2 + 2 * (YY + 0.5) ** 2 + 0.1  # minimum at the grid point (1, -0.5)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _with_bad(z):
    z = z.astype(float).copy()
    z[0, 0], z[-1, -1], z[2, 3] = np.nan, np.inf, -np.inf
    return z


def _lowest_contour_centre(cs):
    for path in cs.get_paths():
        if len(path.vertices):
            return path.vertices.mean(axis=0)
    raise AssertionError("no contour line drawn")


def _path():
    t = np.linspace(0, 1, 12)
    return np.stack([2.5 * (1 - t), 0.8 * (1 - t) ** 2], axis=1)


def _colorbar_range(fig) -> tuple[float, float]:
    """The value range the figure's colorbar (its second axes) spans."""
    return tuple(float(v) for v in fig.axes[1].get_ylim())


# ---- what each figure draws ------------------------------------------------------------------------------

def test_line_1d_draws_loss_left_and_accuracy_right_over_the_alphas():
    acc, test_acc = 100 * np.exp(-X**2), 90 * np.exp(-X**2)
    fig = plot.line_1d(X, X**2 + 0.1, acc, test_loss=X**2 + 0.3, test_acc=test_acc, title="VGG-9")
    ax, acc_ax = fig.axes
    for axis, want in ((ax, [X**2 + 0.1, X**2 + 0.3]), (acc_ax, [acc, test_acc])):
        assert [list(line.get_xdata()) for line in axis.lines] == [list(X)] * 2
        for line, values in zip(axis.lines, want):
            np.testing.assert_allclose(np.ma.getdata(line.get_ydata()), values)
    assert [line.get_color() for line in (*ax.lines, *acc_ax.lines)] == ["b", "b", "r", "r"]
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]  # train solid, test dashed
    assert (ax.get_xlabel(), ax.get_ylabel(), acc_ax.get_ylabel()) == (ALPHA, "loss", "accuracy (%)")
    assert ax.get_xlim() == (-3.0, 3.0) and acc_ax.get_ylim() == (0, 100)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train loss", "test loss", "train accuracy",
                                                                   "test accuracy"]
    assert ax.get_title() == "VGG-9"
    with pytest.raises(ValueError, match="acc must be accuracies in percent"):
        plot.line_1d(X, X**2, 200 * np.ones(7))


def test_contour_lines_sit_inside_the_data_and_are_labeled_in_its_units():
    ax = plot.contour(X, Y, BOWL).axes[0]
    cs = ax.collections[0]
    assert len(cs.levels) >= 5 and np.all((cs.levels > 0.0) & (cs.levels < 11.0))  # every level draws a line
    assert {t.get_text() for t in ax.texts} <= {f"{v:.3g}" for v in cs.levels} and ax.texts
    assert (ax.get_xlabel(), ax.get_ylabel()) == (ALPHA, BETA) and len(ax.figure.axes) == 1  # no colorbar
    logged = plot.contour(X, Y, BOWL + 1.0, log=True).axes[0]  # levels are log10 values, labels in loss units
    levels = logged.collections[0].levels
    assert np.all((levels > 0.0) & (levels < np.log10(12.0)))
    assert {t.get_text() for t in logged.texts} <= {f"{10 ** v:.3g}" for v in levels}


def test_filled_colorbar_spans_its_levels_which_cover_the_data():
    fig = plot.filled(X, Y, BOWL, labels=True)
    ax = fig.axes[0]
    fill, lines = ax.collections
    assert fill.levels[0] <= 0.0 and fill.levels[-1] >= 11.0 and len(fill.levels) >= 10
    assert _colorbar_range(fig) == pytest.approx((fill.levels[0], fill.levels[-1]))
    assert fig.axes[1].get_ylabel() == "loss"
    assert set(lines.levels) <= set(fill.levels[::2]) and ax.texts  # thin labeled lines at every other level
    logged = plot.filled(X, Y, BOWL + 1.0, log=True, zlabel="test loss")
    assert logged.axes[1].get_ylabel() == r"$\log_{10}$(test loss)"
    np.testing.assert_allclose(_colorbar_range(logged)[0], logged.axes[0].collections[0].levels[0])
    assert logged.axes[0].collections[0].levels[-1] >= np.log10(12.0)


def test_heatmap_colorbar_runs_from_the_minimum_to_the_clip_level():
    assert _colorbar_range(plot.heatmap(X, Y, BOWL)) == (0.0, 11.0)
    spiked = BOWL.copy()
    spiked[0, 0] = 1e6
    q95 = np.percentile(spiked, 95)  # the clip level of drawing.auto_vmax: min(max, q95 + (q95 - min))
    assert _colorbar_range(plot.heatmap(X, Y, spiked)) == (0.0, pytest.approx(q95 + q95))
    assert _colorbar_range(plot.heatmap(X, Y, BOWL, vmin=2.0, vmax=5.0)) == (2.0, 5.0)


def test_surface_3d_heights_colorbar_and_masked_faces():
    fig = plot.surface_3d(X, Y, BOWL, vmax=5.0)
    ax = fig.axes[0]
    assert ax.name == "3d" and ax.get_zlim() == (0.0, 5.0) and _colorbar_range(fig) == (0.0, 5.0)
    assert (ax.get_xlabel(), ax.get_ylabel(), fig.axes[1].get_ylabel()) == (ALPHA, BETA, "loss")
    faces = ax.collections[0].get_facecolor()
    assert len(faces) == (len(Y) - 1) * (len(X) - 1) and np.all(faces[:, 3] > 0)
    # a face is colored by the mean of its four corners: one NaN/inf corner leaves it transparent; the three bad
    # points (two corners of the grid, one inside it) touch 1 + 1 + 4 faces
    bad = plot.surface_3d(X, Y, _with_bad(BOWL + 0.1)).axes[0].collections[0].get_facecolor()
    assert int((bad[:, 3] == 0).sum()) == 6
    logged = plot.surface_3d(X, Y, BOWL + 1.0, vmax=100.0, log=True, colorbar=False).axes[0]
    assert logged.get_zlim() == pytest.approx((0.0, np.log10(12.0))) and logged.get_zlabel() == r"$\log_{10}$(loss)"


def test_eigen_ratio_colors_abs_ratio_and_masks_zero_max():
    lo, hi = -0.1 * (BOWL + 1), 1 + BOWL
    hi[1, 1] = 0.0
    fig = plot.eigen_ratio(X, Y, lo, hi)
    arr = fig.axes[0].collections[0].get_array()
    want = np.abs(lo / np.where(hi == 0, 1, hi))
    assert np.ma.getmaskarray(arr)[1, 1]
    np.testing.assert_allclose(np.ma.filled(arr, 0)[hi != 0], want[hi != 0])
    assert "lambda" in fig.axes[1].get_ylabel()
    assert _colorbar_range(fig) == pytest.approx((0.0, 0.1))  # |-0.1 (z + 1) / (1 + z)| = 0.1 everywhere


def test_eigen_ratio_draws_the_loss_contours_over_the_ratio():
    fig = plot.eigen_ratio(X, Y, -0.1 * BOWL, 1 + BOWL, BOWL + 0.1)
    mesh, lines = fig.axes[0].collections
    np.testing.assert_allclose(np.asarray(mesh.get_array()), 0.1 * BOWL / (1 + BOWL))
    assert _colorbar_range(fig) == pytest.approx((0.0, 0.1 * 11 / 12))  # the corners' ratio is the largest
    assert np.all((lines.levels > 0.1) & (lines.levels < 11.1)) and np.allclose(lines.get_edgecolor()[0], 1.0)


def test_trajectory_draws_the_path_and_numbers_some_epochs_on_it():
    path, epochs = _path(), list(range(0, 120, 10))
    ax = plot.trajectory(X, Y, BOWL, path, epochs=epochs, explained=(0.784, 0.121)).axes[0]
    line, dots = ax.lines
    for drawn in (line, dots):
        np.testing.assert_allclose(np.column_stack([drawn.get_xdata(), drawn.get_ydata()]), path)
    assert dots.get_marker() == "o"
    numbers = [t for t in ax.texts if hasattr(t, "xy")]  # the epochs (the others label contour lines)
    assert len(numbers) >= 3 and numbers[0].get_text() == "0"
    for t in numbers:  # each number sits on the path point of that epoch
        k = epochs.index(int(t.get_text()))
        np.testing.assert_allclose(t.xy, path[k])
    assert ax.get_xlabel() == "1st PC: 78.4 %" and ax.get_ylabel() == "2nd PC: 12.1 %"
    with pytest.raises(ValueError, match="explained"):
        plot.trajectory(X, Y, BOWL, _path(), explained=(78.4, 12.1))


def test_curve_plane_draws_the_curve_and_labels_its_anchor_points():
    curve, anchors = _path(), _path()[[0, -1]]
    fig = plot.curve_plane(X, Y, BOWL + 0.1, curve, anchors, point_labels=["a", "b"], zlabel="test error (%)")
    ax = fig.axes[0]
    line, points = ax.lines
    np.testing.assert_allclose(np.column_stack([line.get_xdata(), line.get_ydata()]), curve)
    np.testing.assert_allclose(np.column_stack([points.get_xdata(), points.get_ydata()]), anchors)
    assert [(t.get_text(), tuple(t.xy)) for t in ax.texts] == [("a", tuple(anchors[0])), ("b", tuple(anchors[1]))]
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-1.0, 1.0)  # the whole grid, not the curve's extent
    levels = ax.collections[0].levels
    assert levels[0] <= 0.1 and levels[-1] >= 11.1 and fig.axes[1].get_ylabel() == "test error (%)"
    with pytest.raises(ValueError, match="point_labels"):
        plot.curve_plane(X, Y, BOWL, curve, anchors, point_labels=["a"])


def test_compare_draws_each_surface_under_its_caption():
    from lossviz.base import io
    done = np.ones(BOWL.shape, bool)
    surfaces = {"flat": io.Surface(X, Y, {"train_loss": BOWL}, done),
                "sharp": io.Surface(X, Y, {"train_loss": 4 * BOWL}, done)}
    captions = {"flat": plot.caption("ResNet-56", 5.89, 10_000), "sharp": plot.caption("ResNet-56-NS", 13.31, 10_000)}
    fig = plot.compare(surfaces, captions, kind="heatmap", vmax=100.0)
    panels = fig.axes[:2]  # the grid's axes, then their colorbars
    assert [ax.get_title().replace("\n", " ") for ax in panels] == [captions["flat"], captions["sharp"]]
    for ax, factor in zip(panels, (1, 4)):
        np.testing.assert_allclose(np.asarray(ax.collections[0].get_array()).reshape(BOWL.shape), factor * BOWL)
    with pytest.raises(ValueError, match="kind='image'; valid choices: contour, filled, 3d, heatmap"):
        plot.compare(surfaces, captions, kind="image")


@pytest.mark.parametrize("log", [False, True])
def test_nan_and_inf_are_left_out_of_every_surface(log):
    """The three bad points are masked: levels and ranges come from the finite values, the heatmap greys exactly
    those cells."""
    z = _with_bad(BOWL + 0.1)  # the bowl's bottom (0.1 at (0, 0)) is one of the bad points
    finite = z[np.isfinite(z)]
    to = np.log10 if log else float
    lo, hi = to(finite.min()), to(finite.max())  # 0.6 and 11.1
    contour = plot.contour(X, Y, z, log=log, vmax=20.0).axes[0].collections[0].levels
    assert np.all(np.isfinite(contour)) and np.all((contour > lo) & (contour < hi))
    filled = plot.filled(X, Y, z, log=log, vmax=20.0).axes[0].collections[0].levels  # from the finite min to vmax
    assert filled[0] <= lo < filled[1] and filled[-2] < to(20.0) <= filled[-1]
    heat = plot.heatmap(X, Y, z, log=log)
    mask = np.ma.getmaskarray(heat.axes[0].collections[0].get_array()).reshape(z.shape)
    assert mask.tolist() == (~np.isfinite(z)).tolist()
    assert _colorbar_range(heat)[0] == pytest.approx(lo)


# ---- orientation, masking, clipping, levels --------------------------------------------------------------

def test_caption_says_what_its_number_is_and_on_how_many_images():
    # sqrt(0.1331 * 0.8669 / 10000) = 0.3397 percentage points; sqrt(0.07 * 0.93 / 128) = 2.255
    assert plot.caption("ResNet-56-NS", 13.31, 10_000) == "ResNet-56-NS, test error 13.31% ± 0.34 on 10,000 images"
    assert plot.caption("VGG-9", 7, 128) == "VGG-9, test error 7.00% ± 2.26 on 128 images"
    with pytest.raises(ValueError, match="test_error_percent"):
        plot.caption("VGG-9", 120, 100)
    with pytest.raises(ValueError, match="model_display_name"):
        plot.caption("", 5.0, 100)
    with pytest.raises(ValueError, match="test_images"):
        plot.caption("VGG-9", 5.0, 0)


def test_heatmap_cells_match_z_with_x_horizontal_and_y_up():
    fig = plot.heatmap(X, Y, BOWL, vmax=100)
    mesh = fig.axes[0].collections[0]
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(BOWL.shape), BOWL)
    edges = mesh.get_coordinates()  # (ny + 1, nx + 1, 2) cell corners
    np.testing.assert_allclose((edges[0, 1:, 0] + edges[0, :-1, 0]) / 2, X)  # columns run along x
    np.testing.assert_allclose((edges[1:, 0, 1] + edges[:-1, 0, 1]) / 2, Y)  # rows run up along y
    assert fig.axes[1].get_ylabel() == "loss"


def test_heatmap_masks_nonfinite_cells():
    fig = plot.heatmap(X, Y, _with_bad(BOWL))
    arr = fig.axes[0].collections[0].get_array()
    mask = np.ma.getmaskarray(arr).reshape(BOWL.shape)
    assert mask[0, 0] and mask[-1, -1] and mask[2, 3] and mask.sum() == 3


def test_heatmap_clips_at_vmax_and_auto_ignores_a_divergent_point():
    z = BOWL.copy()
    z[0, 0] = 1e6
    arr = plot.heatmap(X, Y, z, vmax=5.0).axes[0].collections[0].get_array()
    assert arr.max() == 5.0
    norm = plot.heatmap(X, Y, z).axes[0].collections[0].norm
    assert norm.vmax < 100  # one far-away point does not wash out the basin


def test_heatmap_log_scale_is_log10_and_labeled():
    fig = plot.heatmap(X, Y, BOWL + 1.0, log=True, vmax=1e3)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_array(), np.log10(BOWL + 1.0))
    assert "log" in fig.axes[1].get_ylabel()


def test_contour_minimum_sits_at_the_bowl_bottom():
    cs = plot.contour(X, Y, BOWL).axes[0].collections[0]
    np.testing.assert_allclose(_lowest_contour_centre(cs), [0.0, 0.0], atol=0.1)


def test_contour_orientation_on_a_shifted_bowl():
    cs = plot.contour(X, Y, SHIFTED, levels=[0.5, 1.0]).axes[0].collections[0]
    np.testing.assert_allclose(_lowest_contour_centre(cs), [1.0, -0.5], atol=0.1)


def test_reference_levels_are_arange_vmin_vmax_vlevel():
    fig = plot.filled(X, Y, BOWL, vmin=0.1, vmax=10, vlevel=0.5)
    np.testing.assert_allclose(fig.axes[0].collections[0].levels, np.arange(0.1, 10, 0.5))


def test_levels_adapt_to_the_data_range():
    small = 1e-3 * (BOWL + 1)
    levels = plot.filled(X, Y, small).axes[0].collections[0].levels
    assert len(levels) >= 5 and levels[0] <= small.min() and levels[-1] >= small.max() * 0.99


def test_mismatched_shapes_name_the_parameter():
    with pytest.raises(ValueError, match=r"z must have shape \(len\(y\), len\(x\)\) = \(5, 7\)"):
        plot.contour(X, Y, BOWL.T)
    with pytest.raises(ValueError, match="x must be 1-D"):
        plot.heatmap(XX, Y, BOWL)
    with pytest.raises(ValueError, match="loss must have length 7"):
        plot.line_1d(X, BOWL[0, :5])
    with pytest.raises(ValueError, match="max_eig"):
        plot.eigen_ratio(X, Y, BOWL, BOWL.T)
    with pytest.raises(ValueError, match="path_xy"):
        plot.trajectory(X, Y, BOWL, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="epochs"):
        plot.trajectory(X, Y, BOWL, _path(), epochs=[1, 2])


def test_log_scale_with_non_positive_values_is_a_clear_error():
    with pytest.raises(ValueError, match="log=True.*z > 0"):
        plot.contour(X, Y, BOWL, log=True)  # the bowl's bottom is exactly 0
    with pytest.raises(ValueError, match="loss"):
        plot.line_1d(X, X**2, log=True)
    plot.contour(X, Y, BOWL + 0.01, log=True)  # positive values are fine


def test_line_1d_masks_nan_and_draws_on_a_given_axes():
    fig, axes = plot.grid(2, 2)
    loss = X**2
    loss[3] = np.nan
    assert plot.line_1d(X, loss, ax=axes[1]) is fig
    assert np.ma.getmaskarray(axes[1].lines[0].get_ydata())[3]


def test_line_1d_hides_accuracy_where_the_loss_is_undefined():
    a = np.linspace(-1, 1, 5)
    fig = plot.line_1d(a, [1.0, 0.5, 0.2, np.nan, np.nan], [50, 60, 70, 10, 10])
    acc_line = next(ln for ax in fig.axes for ln in ax.lines if ln.get_color() in ("r", "red", (1.0, 0.0, 0.0, 1)))
    y = np.ma.masked_invalid(np.ma.asarray(acc_line.get_ydata()))
    assert np.ma.getmaskarray(y).tolist() == [False, False, False, True, True]


def test_grid_captions_and_3d_axes():
    caps = [plot.caption("ResNet-56", 5.89, 100), plot.caption("ResNet-56-NS", 13.31, 100),
            plot.caption("VGG-9", 7.0, 100)]
    _, axes = plot.grid(3, ncols=2, captions=caps)
    assert len(axes) == 3 and [a.get_title().replace("\n", " ") for a in axes] == caps
    fig3, axes3 = plot.grid(2, projection="3d")
    assert plot.surface_3d(X, Y, BOWL, ax=axes3[0]) is fig3
    with pytest.raises(ValueError, match="3D axes"):
        plot.surface_3d(X, Y, BOWL, ax=axes[0])
    with pytest.raises(ValueError, match="captions"):
        plot.grid(2, captions=["one"])



# ---- saving, scale --------------------------------------------------------------------------------------

def test_save_is_atomic_png(tmp_path):
    fig = plot.heatmap(X, Y, BOWL)
    out = plot.save(fig, tmp_path / "new" / "dir" / "heat")
    assert out.name == "heat.png"
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert os.listdir(out.parent) == ["heat.png"]  # no temp file left behind
    plot.save(fig, out)  # overwriting in place works too
    assert os.listdir(out.parent) == ["heat.png"]
    with pytest.raises(ValueError, match="path suffix"):
        plot.save(fig, tmp_path / "heat.nope")


def test_save_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    fig = plot.contour(X, Y, BOWL)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError):
        plot.save(fig, tmp_path / "c.png")
    assert os.listdir(tmp_path) == []


def test_axis_stretch_measures_the_drawn_aspect():
    _, ax = plt.subplots(figsize=(6, 3))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.set_aspect("equal")
    assert plot.axis_stretch(ax) == pytest.approx(1.0, rel=1e-3)
    _, ax = plt.subplots(figsize=(4, 4))
    ax.set_xlim(0, 40)
    ax.set_ylim(0, 2)  # a square box: one unit of y is drawn 20 times as long as one of x
    assert plot.axis_stretch(ax) == pytest.approx(20.0, rel=0.02)
    assert plot.note_scale(ax) == pytest.approx(20.0, rel=0.02)
    assert "y$ stretched" in ax.texts[-1].get_text()


def test_loss_and_error_plane_draws_the_loss_and_the_error_of_one_plane():
    from lossviz.base import io
    done = np.ones(BOWL.shape, bool)
    acc = 100 - 10 * BOWL / BOWL.max()  # error 0 at the bowl's floor, 10% at its corners
    surface = io.Surface(X, Y, {"train_loss": BOWL + 0.1, "train_acc": acc}, done)
    anchors = [(0.0, 0.0), (2.0, 0.0), (1.0, 0.5)]
    fig = plot.loss_and_error_plane(surface, anchors, ["a", "b", "c"])
    loss, error = fig.axes[:2]
    assert (loss.get_title(), error.get_title()) == ("train loss (log scale)", "train error (%)")
    levels = error.collections[0].levels
    assert levels[0] <= 0.0 + 1e-9 and 10.0 - 1e-9 <= levels[-1] < 11.0  # the error, not the accuracy or the loss
    for ax in (loss, error):
        points = ax.lines[0]
        np.testing.assert_allclose(np.column_stack([points.get_xdata(), points.get_ydata()]), anchors)
        assert [t.get_text() for t in ax.texts][:3] == ["a", "b", "c"] and "scale" in ax.texts[-1].get_text()


def test_minima_and_curve_planes_draw_the_curve_and_the_dashed_segment():
    from lossviz.base import io
    done = np.ones(BOWL.shape, bool)
    minima = io.Surface(X, Y, {"train_loss": BOWL + 0.1}, done)
    bend = io.Surface(X, Y, {"train_loss": SHIFTED}, done)
    curve, anchors = _path(), [(-2.0, 0.0), (2.0, 0.0), (0.0, 0.8)]
    fig = plot.minima_and_curve_planes(minima, [(0, 0), (1, 0), (0, 1)], ["s0", "s1", "s2"], bend, anchors, curve)
    left, right = fig.axes[:2]
    assert (left.get_title(), right.get_title()) == ("three independent minima", "the plane of the Bezier curve")
    drawn, points, dashed = right.lines
    np.testing.assert_allclose(np.column_stack([drawn.get_xdata(), drawn.get_ydata()]), curve)
    np.testing.assert_allclose(np.column_stack([dashed.get_xdata(), dashed.get_ydata()]), anchors[:2])
    assert dashed.get_linestyle() == "--" and len(left.lines) == 1  # the minima's plane has no curve
    assert [t.get_text() for t in right.texts][:3] == [r"$\theta_1$", r"$\theta_2$", r"bend $\theta$"]
    assert all("scale" in ax.texts[-1].get_text() for ax in (left, right))


# ---- captions, shared ranges, labels, clipping (issue 27, item 6) ----------------------------------------

def _surfaces(*zs):
    from lossviz.base import io
    return {f"s{k}": io.Surface(X, Y, {"train_loss": z}, np.ones(z.shape, bool)) for k, z in enumerate(zs)}


def test_grid_titles_fit_their_panel_and_keep_every_word():
    caps = [plot.caption("ResNet-56-NS", 65.5, 2000), plot.caption("WRN-20-2-NS", 55.25, 10_000)]
    fig, axes = plot.grid(2, ncols=2, size=3.6, captions=caps)
    fig.canvas.draw()
    for ax, text in zip(axes, caps):
        assert ax.get_title().replace("\n", " ") == text and ax.get_title().count("\n") == 1  # broken at its comma
        assert ax.title.get_window_extent().width <= fig.bbox.width / 2  # inside its column of the figure


def test_compared_contours_share_one_set_of_levels():
    # alone, 0..11 gets levels every 1 and 0..44 every 3 or 5: the panels could not be read against each other
    fig = plot.compare(_surfaces(BOWL, 4 * BOWL), {"s0": "flat", "s1": "steep"}, kind="contour", vmax=100.0)
    flat, steep = (np.asarray(ax.collections[-1].levels) for ax in fig.axes[:2])
    assert set(flat.tolist()) <= set(steep.tolist()) and len(flat) < len(steep)
    filled = plot.compare(_surfaces(BOWL, 4 * BOWL), {"s0": "flat", "s1": "steep"}, kind="filled", vmax=100.0)
    a, b = (np.asarray(ax.collections[0].levels) for ax in filled.axes[:2])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["3d", "heatmap"])
def test_compared_panels_share_their_z_and_color_range(kind):
    fig = plot.compare(_surfaces(BOWL, 4 * BOWL), {"s0": "flat", "s1": "steep"}, kind=kind, vmax=100.0)
    panels, bars = fig.axes[:2], fig.axes[2:]
    assert [tuple(float(v) for v in bar.get_ylim()) for bar in bars] == [(0.0, 44.0)] * 2
    if kind == "3d":
        assert [ax.get_zlim() for ax in panels] == [(0.0, 44.0)] * 2


def test_compared_panels_share_one_clip_level():
    spiked = BOWL.copy()
    spiked[0, 0] = 1e6  # its own auto clip level is q95 + q95; the bowl's is 11
    fig = plot.compare(_surfaces(BOWL, spiked), {"s0": "bowl", "s1": "spiked"}, kind="3d")
    q95 = np.percentile(spiked, 95)
    assert [ax.get_zlim() for ax in fig.axes[:2]] == [pytest.approx((0.0, 2 * q95))] * 2


def test_surface_3d_notes_how_many_points_its_clip_cuts_off():
    ax = plot.surface_3d(X, Y, BOWL, vmax=5.0).axes[0]
    assert [t.get_text() for t in ax.texts] == [f"clipped at 5: {int((BOWL > 5).sum())} of 35 points"]
    assert len(plot.surface_3d(X, Y, BOWL, vmax=100.0).axes[0].texts) == 0


def test_contour_labels_keep_clear_of_each_other_and_name_their_lines():
    x = np.linspace(-1, 1, 9)
    XX9, YY9 = np.meshgrid(x, x)
    steep = 0.01 * np.exp(6 * np.abs(XX9) + 6 * np.abs(YY9))  # a narrow pit: matplotlib alone stacks its labels
    fig = plot.eigen_ratio(x, x, -0.1 * (1 + steep), 1 + steep, steep, log=True, vmax=1.0)
    ax = fig.axes[0]
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    assert len(boxes) >= 5
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i))
    lines = ax.collections[-1]
    shown = {f"{10 ** v:.3g}" for v in lines.levels}
    assert {t.get_text() for t in ax.texts} <= shown
    assert all(dashes is None for _, dashes in lines.get_linestyle())  # losses below 1 are not dashed


def test_line_1d_legend_says_how_many_images_each_point_is_on():
    fig = plot.line_1d(X, X**2 + 0.1, test_loss=X**2 + 0.3, images={"train": 256, "test": 128})
    assert fig.axes[0].get_legend().get_title().get_text() == "each point: 256 train, 128 test images"
    assert plot.line_1d(X, X**2 + 0.1).axes[0].get_legend().get_title().get_text() == ""
