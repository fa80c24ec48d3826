"""Charts of one value against another: what each draws (values, marks, scales, ranges, labels) and bad input."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lossviz.views import charts


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _xy(line) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(line.get_xdata(), line.get_ydata())]


def test_schedule_draws_the_rate_per_iteration_and_marks_snapshots():
    lrs = np.linspace(0.1, 0.001, 40)
    ax = charts.schedule(lrs, snapshots=[20, 40]).axes[0]
    curve, dots = ax.lines
    assert list(curve.get_xdata()) == list(range(1, 41))  # 1-based iterations
    np.testing.assert_allclose(curve.get_ydata(), lrs)
    assert list(dots.get_xdata()) == [20, 40]
    np.testing.assert_allclose(dots.get_ydata(), lrs[[19, 39]])
    assert ax.get_xlim() == (1, 40) and ax.get_ylim()[1] == pytest.approx(0.125)  # headroom for the legend
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("iteration", "learning rate")
    assert charts.schedule(lrs, log=True).axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="snapshots"):
        charts.schedule(lrs, snapshots=[41])
    with pytest.raises(ValueError, match="log=True takes log10 of lrs"):
        charts.schedule([0.1, 0.0], log=True)


def test_ensemble_errors_draw_single_members_and_the_growing_ensemble_against_m():
    fig = charts.ensemble_errors([1, 2, 3], [7.0, 6.9, 7.1], [7.0, 6.2, 5.9])
    ax = fig.axes[0]
    single, ensemble = (c.lines[0] for c in ax.containers)
    assert _xy(single) == [(1, 7.0), (2, 6.9), (3, 7.1)] and ax.containers[0].get_label() == "single snapshot"
    assert _xy(ensemble) == [(1, 7.0), (2, 6.2), (3, 5.9)] and ax.containers[1].get_label() == "ensemble of first $m$"
    assert (ax.get_xlabel(), ax.get_ylabel()) == (r"ensemble size $m$", "test error (%)")
    with pytest.raises(ValueError, match="ensemble_errors must have length 2"):
        charts.ensemble_errors([1, 2], [7.0, 6.0], [7.0])


def test_spectrum_draws_the_density_on_a_log_axis_and_the_top_eigenvalues():
    grid = np.linspace(-1.0, 5.0, 61)
    density = np.exp(-grid**2)
    density[0] = 0.0  # drawn at a floor, not at log(0)
    ax = charts.spectrum(grid, density, top=[4.0, 4.5]).axes[0]
    curve, *tops = ax.lines
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(curve.get_xdata(), grid)
    np.testing.assert_allclose(np.ma.getdata(curve.get_ydata())[1:], density[1:])
    assert 0 < np.ma.getdata(curve.get_ydata())[0] <= 1e-12
    assert [list(t.get_xdata()) for t in tops] == [[4.0, 4.0], [4.5, 4.5]]
    assert ax.get_xlabel() == r"eigenvalue $\lambda$"
    with pytest.raises(ValueError, match="density must have length 61"):
        charts.spectrum(grid, density[:5])


def test_sharpness_draws_one_point_per_model_with_its_error_bar():
    errors, values, se = [48.8, 52.35, 49.45], [26.1, 27.3, 22.9], [1.1, 0.4, 2.0]
    ax = charts.sharpness(errors, values, ["a", "b", "c"], ylabel="lambda_max", log=True, error_se=se).axes[0]
    bars, dots = ax.collections
    np.testing.assert_allclose(dots.get_offsets(), np.column_stack([errors, values]))
    spans = [(seg[0, 0], seg[1, 0]) for seg in bars.get_segments()]  # horizontal: test error +- its standard error
    np.testing.assert_allclose(spans, [(e - s, e + s) for e, s in zip(errors, se)])
    assert [(t.get_text(), tuple(t.xy)) for t in ax.texts] == list(zip("abc", zip(errors, values)))
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale()) == ("test error (%)", "lambda_max", "log")
    with pytest.raises(ValueError, match="one entry per model"):
        charts.sharpness(errors, values[:2], ["a", "b", "c"], ylabel="x")
    with pytest.raises(ValueError, match="error_se"):
        charts.sharpness(errors, values, ["a", "b", "c"], ylabel="x", error_se=[1.0])


def test_layer_ratios_draw_one_line_per_network_on_a_log_axis():
    fig = charts.layer_ratios({"a": [1.0, 0.1, 0.01], "b": [0.5, 0.5]}, title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert [_xy(line) for line in ax.get_lines()] == [[(1, 1.0), (2, 0.1), (3, 0.01)], [(1, 0.5), (2, 0.5)]]
    with pytest.raises(ValueError, match="positive"):
        charts.layer_ratios({"a": [1.0, 0.0]})
    with pytest.raises(ValueError, match="at least one"):
        charts.layer_ratios({})


def test_image_grid_one_row_per_class_of_its_first_images():
    from lossviz.base import data
    split = data.synthetic(200, seed=0)
    fig = charts.image_grid(split, per_class=3)
    assert len(fig.axes) == 10 * 3
    for c in (0, 7):
        first = np.flatnonzero(split.labels.numpy() == c)[:3]
        for col, k in enumerate(first):
            ax = fig.axes[3 * c + col]
            assert np.array_equal(ax.images[0].get_array(), split.images[k].permute(1, 2, 0).numpy())
        assert fig.axes[3 * c].get_ylabel() == str(c)  # a synthetic split: classes by number
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
    with pytest.raises(ValueError, match="threshold"):
        charts.loss_curves(logs, final={"a": 0.02, "b": 0.3})


def _bars(container) -> list[float]:
    """bottom, top, bottom, top, ... of the vertical error bars of an errorbar container."""
    return [float(v) for s in container.lines[2][0].get_segments() for v in (s[0, 1], s[1, 1])]


def test_ensemble_errors_bar_each_error_by_its_binomial_standard_error():
    fig = charts.ensemble_errors([1, 2], [10.0, 12.0], [10.0, 8.0], test_images=400, baseline=12.5)
    ax = fig.axes[0]
    single, ensemble = ax.containers
    se = [100 * np.sqrt(p * (1 - p) / 400) for p in (0.10, 0.12, 0.08)]  # 1.5, 1.625, 1.356
    assert _bars(single) == pytest.approx([10 - se[0], 10 + se[0], 12 - se[1], 12 + se[1]])
    assert _bars(ensemble) == pytest.approx([10 - se[0], 10 + se[0], 8 - se[2], 8 + se[2]])
    se_base = 100 * np.sqrt(0.125 * 0.875 / 400)
    band = ax.patches[0]  # the baseline's band, its y in data units
    assert [band.get_y(), band.get_y() + band.get_height()] == pytest.approx([12.5 - se_base, 12.5 + se_base])
    assert ax.get_legend().get_title().get_text() == "bars: ± binomial SE, 400 test images"


def test_budget_errors_bar_a_single_ensemble_by_its_binomial_standard_error():
    fig = charts.budget_errors([1, 2], {"fge": [8.0, 7.5]}, {"fge": [0.4, None]}, test_images=10_000)
    (fge,) = fig.axes[0].containers
    se = 100 * np.sqrt(0.075 * 0.925 / 10_000)  # 0.263: one ensemble at 2B, no seeds to spread over
    assert _bars(fge) == pytest.approx([7.6, 8.4, 7.5 - se, 7.5 + se])
    assert "binomial SE, 10,000 images" in fig.axes[0].get_legend().get_title().get_text()


def test_along_t_bands_test_errors_by_their_binomial_standard_error():
    fig = charts.along_t([0.0, 0.5, 1.0], {"line": [10.0, 50.0, 10.0]}, ylabel="test error (%)", test_images=100)
    ax = fig.axes[0]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    se = [100 * np.sqrt(p * (1 - p) / 100) for p in (0.1, 0.5)]  # 3.0 and 5.0
    assert band.min() == pytest.approx(10 - se[0]) and band.max() == pytest.approx(50 + se[1])
    assert ax.get_legend().get_title().get_text() == "bands: ± binomial SE, 100 images"
