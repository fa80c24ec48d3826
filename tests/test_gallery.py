"""Slide renderings: lifting a path onto a surface, and the 3D slide with its path."""
import matplotlib
import numpy as np
import pytest

from lossviz.views import gallery

matplotlib.use("Agg")
X, Y = np.linspace(-1, 1, 5), np.linspace(0, 2, 4)
Z = 2 * X[None, :] + 3 * Y[:, None] + 10  # z[j, i] at (x[i], y[j]); a plane, so bilinear is exact


def test_lift_is_exact_on_a_plane_and_at_grid_points():
    path = np.array([[0.1, 0.3], [-0.95, 1.9], [X[2], Y[1]]])
    assert np.allclose(gallery.lift(X, Y, Z, path), 2 * path[:, 0] + 3 * path[:, 1] + 10, atol=1e-12)
    bumpy = np.arange(20.0).reshape(4, 5) ** 2
    assert gallery.lift(X, Y, bumpy, [[X[3], Y[2]]])[0] == bumpy[2, 3]


def test_lift_refuses_bad_input():
    with pytest.raises(ValueError, match="leaves the grid"):
        gallery.lift(X, Y, Z, [[1.5, 0.0]])
    with pytest.raises(ValueError, match="shape"):
        gallery.lift(X, Y, Z.T, [[0.0, 0.0]])
    with pytest.raises(ValueError, match="path_xy"):
        gallery.lift(X, Y, Z, [0.0, 0.0])


def test_slide_draws_the_path_on_the_surface():
    z = 0.5 + (X[None, :] ** 2 + Y[:, None] ** 2)
    path = np.array([[-0.5, 0.5], [0.0, 1.0], [0.5, 1.5]])
    fig = gallery.slide_3d(X, Y, z, title="bowl", path_xy=path, points_xy=path[-1:], point_labels=["end"], log=False)
    ax = fig.axes[0]
    assert ax.get_title() == "bowl"
    (line,) = [ln for ln in ax.lines if ln.get_color() == "tab:red"]
    xs, ys, zs = line.get_data_3d()
    assert np.allclose(xs, path[:, 0]) and np.allclose(ys, path[:, 1])
    assert np.all(zs >= gallery.lift(X, Y, z, path))  # drawn on (just above) the surface
    assert np.all(zs - gallery.lift(X, Y, z, path) < 0.1 * np.ptp(z))
