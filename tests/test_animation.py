"""The path animation: one frame per checkpoint, written as a GIF atomically."""
import gc

import matplotlib
import numpy as np
import pytest
from PIL import Image

from lossviz.views import animation

matplotlib.use("Agg")
# animations these tests only inspect (or refuse to save) are never rendered; matplotlib warns when collected
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")
X = Y = np.linspace(-1, 1, 7)
Z = 0.1 + X[None, :] ** 2 + Y[:, None] ** 2
PATH = np.array([[0.8, 0.6], [0.5, 0.2], [0.2, 0.1], [0.0, 0.0]])


def test_frames_follow_the_path():
    anim = animation.path_animation(X, Y, Z, PATH, epochs=[0, 1, 2, 3])
    fig = anim._fig
    trail, head = fig.axes[0].lines[-2:]
    anim._func(2)  # draw frame 2
    assert np.allclose(trail.get_xdata(), PATH[:3, 0]) and np.allclose(head.get_xdata(), [PATH[2, 0]])
    assert any(t.get_text() == "epoch 2" for t in fig.axes[0].texts)
    assert "0" in [t.get_text() for t in fig.axes[0].texts]  # the start is labelled with its epoch
    del anim
    gc.collect()


def test_gif_has_one_frame_per_checkpoint(tmp_path):
    out = animation.save_gif(animation.path_animation(X, Y, Z, PATH), tmp_path / "path.gif", dpi=40)
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(PATH)
    assert [p.name for p in tmp_path.iterdir()] == ["path.gif"]  # no temp file left


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="path_xy"):
        animation.path_animation(X, Y, Z, PATH[:1])
    with pytest.raises(ValueError, match="epochs"):
        animation.path_animation(X, Y, Z, PATH, epochs=[0, 1])
    anim = animation.path_animation(X, Y, Z, PATH)
    with pytest.raises(ValueError, match="gif"):
        animation.save_gif(anim, tmp_path / "path.mp4")
    del anim
    gc.collect()
    assert not list(tmp_path.iterdir())
