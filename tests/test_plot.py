"""Plots on a synthetic bowl over a non-square grid: orientation, masking, clipping, errors, atomic saving."""
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lossviz import plot  # noqa: E402
from lossviz.views import charts, labels  # noqa: E402

X = np.linspace(-3.0, 3.0, 7)  # nx = 7, step 1
Y = np.linspace(-1.0, 1.0, 5)  # ny = 5, step 0.5
XX, YY = np.meshgrid(X, Y)
BOWL = XX**2 + 2 * YY**2  # z[j, i] at (X[i], Y[j]); minimum 0 at (0, 0)
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


EVERY_PLOT = {
    "line_1d": lambda: plot.line_1d(X, X**2 + 0.1, 100 * np.exp(-X**2), test_loss=X**2 + 0.3,
                                    test_acc=90 * np.exp(-X**2)),
    "contour": lambda: plot.contour(X, Y, BOWL),
    "filled": lambda: plot.filled(X, Y, BOWL, labels=True),
    "heatmap": lambda: plot.heatmap(X, Y, BOWL),
    "surface_3d": lambda: plot.surface_3d(X, Y, BOWL),
    "eigen_ratio": lambda: plot.eigen_ratio(X, Y, -0.1 * BOWL, 1 + BOWL, BOWL + 0.1),
    "trajectory": lambda: plot.trajectory(X, Y, BOWL, _path(), explained=(0.784, 0.12)),
    "curve_plane": lambda: plot.curve_plane(X, Y, BOWL + 0.1, _path(), _path()[[0, -1]], point_labels=["a", "b"]),
    "schedule": lambda: charts.schedule(np.linspace(0.1, 0.001, 50), snapshots=[25, 50]),
    "ensemble_errors": lambda: charts.ensemble_errors([1, 2, 3], [7.0, 6.9, 7.1], [7.0, 6.2, 5.9]),
}


@pytest.mark.parametrize("name", EVERY_PLOT)
def test_every_plot_returns_a_labeled_figure(name):
    fig = EVERY_PLOT[name]()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    for cbar_ax in fig.axes[1:]:  # colorbars (and the accuracy twin axis) are labeled
        assert cbar_ax.get_ylabel() or cbar_ax.get_xlabel()


@pytest.mark.parametrize("name", ["contour", "filled", "heatmap", "surface_3d"])
@pytest.mark.parametrize("log", [False, True])
def test_surfaces_mask_nan_and_inf(name, log):
    z = _with_bad(BOWL + 0.1)
    fig = getattr(plot, name)(X, Y, z, log=log)
    assert isinstance(fig, Figure)


def test_caption_like_the_paper():
    assert plot.caption("ResNet-56-NS", 13.31) == "ResNet-56-NS, 13.31%"
    assert plot.caption("VGG-9", 7) == "VGG-9, 7.00%"
    with pytest.raises(ValueError, match="test_error_percent"):
        plot.caption("VGG-9", 120)
    with pytest.raises(ValueError, match="model_display_name"):
        plot.caption("", 5.0)


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
    with pytest.raises(ValueError, match="ensemble_errors"):
        charts.ensemble_errors([1, 2], [7.0, 6.0], [7.0])


def test_log_scale_with_non_positive_values_is_a_clear_error():
    with pytest.raises(ValueError, match="log=True.*z > 0"):
        plot.contour(X, Y, BOWL, log=True)  # the bowl's bottom is exactly 0
    with pytest.raises(ValueError, match="loss"):
        plot.line_1d(X, X**2, log=True)
    plot.contour(X, Y, BOWL + 0.01, log=True)  # positive values are fine


def test_line_1d_axes_and_legend():
    fig = plot.line_1d(X, X**2 + 0.1, 100 * np.exp(-X**2), test_loss=X**2 + 0.3, test_acc=90 * np.exp(-X**2),
                       title=plot.caption("VGG-9", 7.0))
    ax, acc_ax = fig.axes
    assert acc_ax.get_ylim() == (0, 100) and acc_ax.get_ylabel() == "accuracy (%)"
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--"]
    assert len(ax.get_legend().get_texts()) == 4
    assert ax.get_title() == "VGG-9, 7.00%"
    with pytest.raises(ValueError, match="acc must be accuracies in percent"):
        plot.line_1d(X, X**2, 200 * np.ones(7))


def test_line_1d_masks_nan_and_draws_on_a_given_axes():
    fig, axes = plot.grid(2, 2)
    loss = X**2
    loss[3] = np.nan
    assert plot.line_1d(X, loss, ax=axes[1]) is fig
    assert np.ma.getmaskarray(axes[1].lines[0].get_ydata())[3]


def test_eigen_ratio_colors_abs_ratio_and_masks_zero_max():
    lo, hi = -0.1 * (BOWL + 1), 1 + BOWL
    hi[1, 1] = 0.0
    fig = plot.eigen_ratio(X, Y, lo, hi)
    arr = fig.axes[0].collections[0].get_array()
    want = np.abs(lo / np.where(hi == 0, 1, hi))
    assert np.ma.getmaskarray(arr)[1, 1]
    np.testing.assert_allclose(np.ma.filled(arr, 0)[hi != 0], want[hi != 0])
    assert "lambda" in fig.axes[1].get_ylabel()


def test_trajectory_axes_give_explained_variance():
    ax = plot.trajectory(X, Y, BOWL, _path(), epochs=range(0, 120, 10), explained=(0.784, 0.121)).axes[0]
    assert ax.get_xlabel() == "1st PC: 78.4 %" and ax.get_ylabel() == "2nd PC: 12.1 %"
    labels = [t.get_text() for t in ax.texts]
    assert "0" in labels and len(labels) >= 3
    with pytest.raises(ValueError, match="explained"):
        plot.trajectory(X, Y, BOWL, _path(), explained=(78.4, 12.1))


def test_grid_captions_and_3d_axes():
    caps = [plot.caption("ResNet-56", 5.89), plot.caption("ResNet-56-NS", 13.31), plot.caption("VGG-9", 7.0)]
    fig, axes = plot.grid(3, ncols=2, captions=caps)
    assert len(axes) == 3 and [a.get_title() for a in axes] == caps
    fig3, axes3 = plot.grid(2, projection="3d")
    assert plot.surface_3d(X, Y, BOWL, ax=axes3[0]) is fig3
    with pytest.raises(ValueError, match="3D axes"):
        plot.surface_3d(X, Y, BOWL, ax=axes[0])
    with pytest.raises(ValueError, match="captions"):
        plot.grid(2, captions=["one"])


def test_schedule_marks_snapshots():
    lrs = np.linspace(0.1, 0.001, 40)
    ax = charts.schedule(lrs, snapshots=[20, 40]).axes[0]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), lrs[[19, 39]])
    with pytest.raises(ValueError, match="snapshots"):
        charts.schedule(lrs, snapshots=[41])


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


def test_image_grid_one_row_per_class():
    from lossviz.base import data
    split = data.synthetic(200, seed=0)
    fig = charts.image_grid(split, per_class=3)
    assert len(fig.axes) == 10 * 3
    with pytest.raises(ValueError, match="per_class"):
        charts.image_grid(split, per_class=0)


def test_training_curves_plot_error_in_percent():
    log = [{"epoch": e, "train_loss": 2.0 / e, "test_loss": 2.2 / e, "train_acc_pct": 10.0 * e,
            "test_acc_pct": 9.0 * e}
           for e in (1, 2, 3)]
    fig = charts.training_curves(log, title="ResNet-20, 73.00%")
    error_line = fig.axes[1].lines[1]
    assert np.allclose(error_line.get_ydata(), [91.0, 82.0, 73.0])
    with pytest.raises(ValueError, match="log"):
        charts.training_curves([])


def test_training_curves_join_only_the_epochs_the_test_set_was_measured_on():
    log = [{"epoch": e, "train_loss": 2.0 / e, "train_acc_pct": 10.0 * e} for e in range(1, 6)]
    for e in (log[1], log[4]):
        e.update(test_loss=3.0 / e["epoch"], test_acc_pct=8.0 * e["epoch"])
    fig = charts.training_curves(log)
    test_loss, test_error = fig.axes[0].lines[1], fig.axes[1].lines[1]
    assert list(test_loss.get_xdata()) == [2, 5] and np.allclose(test_loss.get_ydata(), [1.5, 0.6])
    assert np.allclose(test_error.get_ydata(), [84.0, 60.0])
    assert len(fig.axes[1].lines[0].get_xdata()) == 5


def test_line_1d_hides_accuracy_where_the_loss_is_undefined():
    a = np.linspace(-1, 1, 5)
    fig = plot.line_1d(a, [1.0, 0.5, 0.2, np.nan, np.nan], [50, 60, 70, 10, 10])
    acc_line = [l for ax in fig.axes for l in ax.lines if l.get_color() in ("r", "red", (1.0, 0.0, 0.0, 1))][0]
    y = np.ma.masked_invalid(np.ma.asarray(acc_line.get_ydata()))
    assert np.ma.getmaskarray(y).tolist() == [False, False, False, True, True]


def test_ensemble_errors_draws_the_baseline_at_its_value():
    fig = charts.ensemble_errors([1, 2], [10.0, 11.0], [10.0, 9.0], baseline=12.5)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "one normal run, same budget"]
    assert len(lines) == 1 and list(lines[0].get_ydata()) == [12.5, 12.5]


def test_budget_errors_leaves_out_missing_cells_and_draws_the_std():
    fig = charts.budget_errors([1, 2, 3], {"ind": [10.0, 9.0, None], "fge": [8.0, 7.5, 7.0]},
                             {"ind": [0.5, None, None]})
    drawn = {c.get_label(): c for c in fig.axes[0].containers}
    ind_line = drawn["ind"].lines[0]
    assert list(ind_line.get_xdata()) == [1, 2] and list(ind_line.get_ydata()) == [10.0, 9.0]
    bars = drawn["ind"].lines[2][0].get_segments()
    assert bars[0][:, 1].tolist() == [9.5, 10.5] and bars[1][:, 1].tolist() == [9.0, 9.0]
    assert list(drawn["fge"].lines[0].get_ydata()) == [8.0, 7.5, 7.0]


def test_loss_per_epoch_marks_the_members_on_their_run():
    epochs, cyclic, normal = [1, 2, 3, 4], [2.0, 0.5, 1.5, 0.05], [2.0, 1.0, 0.2, 0.04]
    fig = charts.loss_per_epoch({"normal": (epochs, normal), "SSE": (epochs, cyclic)}, marks={"SSE": [2, 4]})
    ax = fig.axes[0]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [(float(d.get_xdata()[0]), float(d.get_ydata()[0])) for d in dots] == [(2.0, 0.5), (4.0, 0.05)]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="marks"):
        charts.loss_per_epoch({"SSE": (epochs, cyclic)}, marks={"SSE": [9]})
    with pytest.raises(ValueError, match="curves"):
        charts.loss_per_epoch({})


def test_along_t_dashes_the_line_and_keeps_the_values():
    t = [0.0, 0.5, 1.0]
    fig = charts.along_t(t, {"line": [0.1, 2.0, 0.1], "bezier": [0.1, 0.12, 0.1]}, ylabel="cross-entropy")
    line, curve = fig.axes[0].get_lines()
    assert line.get_linestyle() == "--" and curve.get_linestyle() == "-"
    assert list(curve.get_ydata()) == [0.1, 0.12, 0.1]
    with pytest.raises(ValueError, match="series"):
        charts.along_t(t, {"line": [1.0, 2.0]}, ylabel="x")


def test_axis_stretch_measures_the_drawn_aspect():
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.set_aspect("equal")
    assert plot.axis_stretch(ax) == pytest.approx(1.0, rel=1e-3)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.set_xlim(0, 40)
    ax.set_ylim(0, 2)  # a square box: one unit of y is drawn 20 times as long as one of x
    assert plot.axis_stretch(ax) == pytest.approx(20.0, rel=0.02)
    assert plot.note_scale(ax) == pytest.approx(20.0, rel=0.02)
    assert "y$ stretched" in ax.texts[-1].get_text()


def test_weight_histograms_share_a_central_range_and_label_each_spread():
    import torch
    gen = torch.Generator().manual_seed(0)
    narrow = {"conv.weight": 0.05 * torch.randn(64, 3, 3, 3, generator=gen), "bn.weight": torch.ones(64)}
    wide = {"conv.weight": 0.1 * torch.randn(64, 3, 3, 3, generator=gen)}
    wide["conv.weight"][0, 0, 0, 0] = 50.0  # one outlier must not set the axis
    fig = charts.weight_histograms({"narrow": narrow, "wide": wide})
    ax = fig.axes[0]
    assert ax.get_xlim()[1] < 1.0
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("narrow (std 0.05") and labels[1].startswith("wide (std")
    with pytest.raises(ValueError, match="states"):
        charts.weight_histograms({})


def test_loss_curves_mark_the_eval_mode_loss_not_the_running_one():
    """The criterion line goes with the eval-mode losses after training (stars at the last epoch); without them the
    running train-mode curves get no criterion line, since they are not what the criterion measures."""
    logs = {"a": [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.05}],
            "b": [{"epoch": 1, "train_loss": 2.0}, {"epoch": 2, "train_loss": 0.5}]}
    bare = charts.loss_curves(logs).axes[0]
    assert [list(line.get_ydata()) for line in bare.lines] == [[1.0, 0.05], [2.0, 0.5]]
    ax = charts.loss_curves(logs, final={"a": 0.02, "b": 0.3}, threshold=0.1).axes[0]
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert [(list(s.get_xdata()), list(s.get_ydata())) for s in stars] == [([2], [0.02]), ([2], [0.3])]
    assert list(ax.lines[-1].get_ydata()) == [0.1, 0.1] and "eval-mode" in ax.get_legend().get_texts()[-1].get_text()
    with pytest.raises(ValueError, match="logs"):
        charts.loss_curves({"a": []})
    with pytest.raises(ValueError, match="final"):
        charts.loss_curves(logs, final={"a": 0.02})


def _boxes(anchors: np.ndarray, sizes: np.ndarray, offsets: np.ndarray) -> list[tuple[float, float, float, float]]:
    """The label boxes (x0, y0, x1, y1) that offsets give."""
    return [(x + dx, y + dy, x + dx + w, y + dy + h) for (x, y), (w, h), (dx, dy) in zip(anchors, sizes, offsets)]


def _disjoint(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_label_offsets_keep_labels_apart_and_inside():
    """Labels of points that coincide or sit side by side do not cover each other, and a label at the right edge
    goes to the left of its point, inside the bounds."""
    anchors = np.array([[50.0, 50.0], [50.0, 50.0], [52.0, 51.0], [195.0, 100.0], [100.0, 120.0]])
    sizes = np.array([[40.0, 9.0], [40.0, 9.0], [30.0, 9.0], [40.0, 9.0], [30.0, 9.0]])
    offsets = labels.label_offsets(anchors, sizes, (0.0, 0.0, 200.0, 150.0))
    boxes = _boxes(anchors, sizes, offsets)
    assert all(_disjoint(boxes[i], boxes[j]) for i in range(5) for j in range(i))
    assert all(_disjoint(box, (x - 3, y - 3, x + 3, y + 3)) for box in boxes for x, y in anchors)  # no point covered
    assert boxes[3][2] <= 200.0 and boxes[3][0] >= 0.0  # moved left of its point, inside
    assert tuple(offsets[4]) == (4.0, 4.0)  # a free label keeps the usual place, upper right


def test_label_offsets_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="anchors and sizes"):
        labels.label_offsets(np.zeros((3, 2)), np.zeros((2, 2)), (0, 0, 1, 1))


def test_sharpness_labels_of_close_points_do_not_overlap_when_drawn():
    """Drawn for real: the labels of two runs at almost the same place (as batch 256 and ResNet-20-NS in notebook
    05) come out with disjoint extents, and every label lies inside the axes."""
    labels = ["b256_wd0.0005", "resnet20_noshort", "b256_wd0", "resnet56_noshort", "wrn20_2"]
    fig = charts.sharpness([48.8, 52.35, 49.45, 63.1, 46.3], [26.1, 27.3, 22.9, 111.4, 95.6], labels,
                         ylabel="lambda_max", log=True, error_se=[1.1] * 5)
    fig.canvas.draw()
    ax = fig.axes[0]
    boxes = [t.get_window_extent().extents for t in ax.texts]
    assert len(boxes) == len(labels)
    assert all(_disjoint(boxes[i], boxes[j]) for i in range(len(boxes)) for j in range(i))
    x0, y0, x1, y1 = ax.bbox.extents
    assert all(b[0] >= x0 - 1 and b[2] <= x1 + 1 and b[1] >= y0 - 1 and b[3] <= y1 + 1 for b in boxes)
    plt.close(fig)


def test_label_offsets_avoid_obstacles_and_misreadings():
    """An error bar across the usual place pushes the label elsewhere; a label is not put nearer another point than
    its own when a free place near its own exists."""
    anchors, sizes = np.array([[100.0, 100.0]]), np.array([[40.0, 9.0]])
    bar = (90.0, 103.0, 160.0, 106.0)  # across the upper-right place
    offsets = labels.label_offsets(anchors, sizes, (0.0, 0.0, 300.0, 300.0), obstacles=[bar])
    assert _disjoint(_boxes(anchors, sizes, offsets)[0], bar)
    anchors = np.array([[100.0, 100.0], [148.0, 109.0]])  # the second point sits just right of the first's usual place
    sizes = np.array([[40.0, 9.0], [10.0, 9.0]])
    offsets = labels.label_offsets(anchors, sizes, (0.0, 0.0, 300.0, 300.0))
    box = _boxes(anchors, sizes, offsets)[0]
    own = labels._distance(box, (100.0, 100.0))
    assert own <= labels._distance(box, (148.0, 109.0))
