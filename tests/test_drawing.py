"""The drawing helpers the figure modules share: checked series and surfaces, clip levels, log scales, contour levels,
labels, colormaps, worked by hand."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from lossviz.views import drawing

X = np.linspace(-3.0, 3.0, 7)
Y = np.linspace(-1.0, 1.0, 5)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_series_masks_nan_and_inf_and_names_a_bad_one():
    s = drawing.series("loss", [1.0, np.nan, 3.0, np.inf, -np.inf])
    assert np.ma.getmaskarray(s).tolist() == [False, True, False, True, True]
    assert s.compressed().tolist() == [1.0, 3.0]
    with pytest.raises(ValueError, match="loss must be 1-D"):
        drawing.series("loss", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="acc must have length 3"):
        drawing.series("acc", [1.0, 2.0], 3)


def test_points_are_n_by_2():
    assert drawing.points("path_xy", [[0, 1], [2, 3]]).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    for bad in ([0.0, 1.0], np.zeros((3, 3)), np.zeros((0, 2))):
        with pytest.raises(ValueError, match="path_xy must have shape"):
            drawing.points("path_xy", bad)


def test_surface_takes_z_rows_along_y_and_masks_what_is_not_finite():
    z = np.arange(35.0).reshape(5, 7)
    z[1, 2], z[4, 6] = np.nan, -np.inf
    *_, zm = drawing.surface(X, Y, z)
    assert zm.shape == (5, 7) and np.ma.getmaskarray(zm).sum() == 2 and zm.mask[1, 2] and zm.mask[4, 6]
    with pytest.raises(ValueError, match=r"z must have shape \(len\(y\), len\(x\)\) = \(5, 7\).*got \(7, 5\)"):
        drawing.surface(X, Y, z.T)
    with pytest.raises(ValueError, match="y must be 1-D with >= 2 finite"):
        drawing.surface(X, [0.0, np.nan], np.zeros((2, 7)))
    with pytest.raises(ValueError, match="min_eig has no finite values"):
        drawing.surface(X, Y, np.full((5, 7), np.nan), "min_eig")


def test_auto_vmax_ignores_one_divergent_point_and_keeps_the_max_otherwise():
    spiked = np.ma.masked_invalid(np.r_[np.arange(20.0), 1000.0])  # q95 = 19 (the 20th of 21 values)
    assert drawing.auto_vmax(spiked) == 19.0 + (19.0 - 0.0)
    assert drawing.auto_vmax(np.ma.masked_invalid(np.arange(5.0))) == 4.0  # q95 = 3.8: 7.6 is above the max
    assert drawing.auto_vmax(np.ma.masked_invalid([1.0, np.nan, 2.0, np.inf])) == 2.0  # masked values left out


def test_scale_clips_then_takes_log10():
    z = np.ma.masked_invalid([[0.5, 10.0, 1000.0], [np.nan, 2.0, 100.0]])
    clipped = drawing.scale(z, 100.0, log=False)
    assert clipped.filled(-1).tolist() == [[0.5, 10.0, 100.0], [-1, 2.0, 100.0]]
    logged = drawing.scale(z, 100.0, log=True)
    np.testing.assert_allclose(logged.filled(np.nan), np.log10([[0.5, 10.0, 100.0], [np.nan, 2.0, 100.0]]))
    with pytest.raises(ValueError, match=r"log=True takes log10 of loss.*min loss is 0"):
        drawing.scale(np.ma.masked_invalid([0.0, 1.0]), None, log=True, name="loss")
    with pytest.raises(ValueError, match="vmax=-1 must be > 0 with log=True"):
        drawing.scale(z, -1, log=True)


def test_levels_given_counted_or_as_the_reference_arange():
    z = np.ma.masked_invalid([[0.3, 7.9], [1.0, 2.0]])
    np.testing.assert_allclose(drawing.levels(z, None, 0.1, 10.0, 0.5, False), np.arange(0.1, 10.0, 0.5))
    np.testing.assert_allclose(drawing.levels(z, None, 1.0, 1000.0, 1.0, True), [0.0, 1.0, 2.0])  # log10 bounds
    assert drawing.levels(z, [1.0, 2.5], None, None, None, False).tolist() == [1.0, 2.5]
    assert drawing.levels(z, 5, None, None, None, False).tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]  # covers 0.3..7.9
    auto = drawing.levels(z, None, None, None, None, False)
    assert auto[0] <= 0.3 and auto[-1] >= 7.9 and len(auto) >= 5
    flat = drawing.levels(np.ma.masked_invalid([[2.0, 2.0]]), None, None, None, None, False)
    assert flat[0] <= 2.0 <= flat[-1] and len(flat) >= 2  # a flat surface still gets levels
    for bad, match in (({"levels": 1}, "levels=1 must be >= 2"), ({"levels": [2.0, 1.0]}, "increasing"),
                       ({"vmin": 5.0, "vmax": 1.0}, "vmin=5.0 must be below vmax=1.0"),
                       ({"vmin": 0.1, "vmax": 10.0, "vlevel": 1e-3}, "vlevel=0.001"),
                       ({"vmin": 0.0, "log": True}, "vmin=0.0 must be > 0 with log=True")):
        options = {"levels": None, "vmin": None, "vmax": None, "vlevel": None, "log": False, **bad}
        with pytest.raises(ValueError, match=match):
            drawing.levels(z, **options)


def test_extend_says_which_ends_fall_outside_the_levels():
    levels = np.array([1.0, 2.0, 3.0])
    cases = {"neither": [1.0, 3.0], "min": [0.5, 3.0], "max": [1.0, 3.5], "both": [0.5, 3.5]}
    for want, values in cases.items():
        assert drawing.extend(np.ma.masked_invalid(values), levels) == want


def test_names_and_label_text_say_when_values_are_log10():
    assert drawing.zname("loss", False) == "loss" and drawing.zname("loss", True) == r"$\log_{10}$(loss)"
    assert drawing.fmt(True)(2.0) == "100" and drawing.fmt(False)(0.123456) == "0.123"


def test_label_sets_only_what_is_given_and_returns_the_figure():
    fig, ax = plt.subplots()
    ax.set_ylabel("kept")
    assert drawing.label(ax, "x", None, "t") is fig
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("x", "kept", "t")


def test_colormap_draws_masked_cells_grey_and_axes_refuse_a_2d_axes_for_3d():
    assert drawing.cmap("viridis")(np.ma.masked_invalid([np.nan]))[0].tolist() == list(to_rgba(drawing.BAD))
    ax = drawing.axes(None, projection="3d")
    assert ax.name == "3d" and drawing.axes(ax) is ax
    with pytest.raises(ValueError, match="3D axes"):
        drawing.axes(plt.figure().add_subplot(), projection="3d")


def test_log_y_labels_ticks_as_plain_numbers_not_powers_of_ten():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1.5, 7.0])
    drawing.log_y(ax)
    fig.canvas.draw()
    texts = [t.get_text() for t in ax.yaxis.get_majorticklabels() + ax.yaxis.get_minorticklabels() if t.get_text()]
    assert ax.get_yscale() == "log"
    assert texts and not any("times" in t or "10^" in t for t in texts), texts
    assert {"2", "6"} <= set(texts), texts
    plt.close(fig)


def test_log_y_writes_decades_below_one_as_decimals():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [0.002, 3.0])
    drawing.log_y(ax)
    fig.canvas.draw()
    texts = {t.get_text() for t in ax.yaxis.get_majorticklabels() if t.get_text()}
    assert {"0.01", "0.1", "1"} <= texts, texts
    plt.close(fig)
