"""Shape numbers of surfaces: center, rim, local minima, the robust rise, and the difference of two grids."""
import numpy as np
import pytest

from lossviz.base import io
from lossviz.compute import shape


def test_summary_of_a_bowl_and_of_a_rough_surface():
    x = np.linspace(-1, 1, 9)
    bowl = io.Surface(x, x, {"train_loss": x[None, :] ** 2 + x[:, None] ** 2}, np.ones((9, 9), bool))
    s = shape.summary(bowl)
    assert s["center"] == 0 and s["local_minima"] == 1 and s["rim"] > 1
    rough = np.cos(6 * np.pi * x)[None, :] + np.cos(6 * np.pi * x)[:, None]
    assert shape.summary(io.Surface(x, x, {"train_loss": rough}, np.ones((9, 9), bool)))["local_minima"] > 1
    line = io.Surface(x, None, {"train_loss": np.abs(x)}, np.ones(9, bool))
    assert shape.summary(line) == {"center": 0.0, "rim": 1.0, "local_minima": 1, "rise": 0.5}


def test_rise_is_the_median_on_the_ring_and_ignores_one_outlier():
    x = np.linspace(-1, 1, 21)
    z = x[None, :] ** 2 + x[:, None] ** 2
    gx, gy = np.meshgrid(x, x)
    ring = np.abs(np.hypot(gx, gy) - 0.5) <= 0.05 + 1e-9
    s = shape.summary(io.Surface(x, x, {"train_loss": z}, np.ones((21, 21), bool)))
    assert s["rise"] == np.median(z[ring]) and 0.2 < s["rise"] < 0.3  # r^2 on a ring of radius ~0.5
    spiked = z.copy()
    spiked[0, 0] = spiked[np.argwhere(ring)[0][0], np.argwhere(ring)[0][1]] = 1e7  # a corner and one ring point
    t = shape.summary(io.Surface(x, x, {"train_loss": spiked}, np.ones((21, 21), bool)))
    assert t["rim"] > 1e4 * s["rim"] and abs(t["rise"] - s["rise"]) < 0.02
    with pytest.raises(ValueError, match="radius"):
        shape.summary(io.Surface(x, x, {"train_loss": z}, np.ones((21, 21), bool)), radius=3.0)


def test_difference_of_two_grids_counts_only_the_plotted_range():
    x = np.linspace(-1, 1, 5)
    ref = x[None, :] ** 2 + x[:, None] ** 2 + 0.5
    noisy = ref * 1.01
    noisy[0, 0] = 1e6  # outside the plotted range on one surface only: still compared (the reference is shown)
    ref[4, 4] = 50.0  # outside the plotted range of the reference: left out
    d = shape.difference(io.Surface(x, x, {"train_loss": noisy}, np.ones((5, 5), bool)),
                           io.Surface(x, x, {"train_loss": ref}, np.ones((5, 5), bool)))
    assert d["points"] == 24 and abs(d["median_rel"] - 0.01) < 1e-9 and d["max_abs"] > 1e5
    with pytest.raises(ValueError, match="different grids"):
        shape.difference(io.Surface(x, None, {"train_loss": x}, np.ones(5, bool)),
                           io.Surface(x, x, {"train_loss": ref}, np.ones((5, 5), bool)))


def test_ring_holds_the_values_whose_median_is_the_rise():
    x = np.linspace(-1, 1, 21)
    z = x[None, :] ** 2 + x[:, None] ** 2 + 3.0
    gx, gy = np.meshgrid(x, x)
    on = np.abs(np.hypot(gx, gy) - 0.5) <= 0.05 + 1e-9
    s = io.Surface(x, x, {"train_loss": z}, np.ones((21, 21), bool))
    values = shape.ring(s)
    assert sorted(values) == pytest.approx(sorted(z[on] - 3.0)) and np.median(values) == shape.summary(s)["rise"]
    z[on.nonzero()[0][0], on.nonzero()[1][0]] = np.nan  # a diverged point counts as inf
    assert np.isinf(shape.ring(io.Surface(x, x, {"train_loss": z}, np.ones((21, 21), bool)))).sum() == 1
    line = io.Surface(x, None, {"train_loss": np.abs(x)}, np.ones(21, bool))
    assert sorted(shape.ring(line)) == pytest.approx([0.5, 0.5])  # alpha = -0.5 and 0.5 (grid step 0.1)
