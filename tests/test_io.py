"""HDF5 files: our layout round-trips, and files of the Li et al. reference code are read (and vice versa)."""
import h5py
import numpy as np
import pytest
import torch

from lossviz.base import directions as dirs
from lossviz.base import io

pytestmark = pytest.mark.usefixtures("one_thread")


def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A made-up surface, asymmetric in x and y so transposes show."""
    return 5.0 + x ** 2 + y + 0.25 * x * y


# ---- directions ---------------------------------------------------------------------------------------

def test_direction_round_trip_with_names_and_attrs(tiny_net, tmp_path):
    model = tiny_net(0, classes=3)
    theta = dirs.weights(model, "states")
    delta, eta = dirs.random_directions(theta, 4, 2, ignore="none")
    path = tmp_path / "d.h5"
    io.save_directions(path, [delta, eta], {"kind": "states", "norm": "filter", "ignore": "none", "seed": 4})
    back = io.load_directions(path, theta)
    for saved, loaded in zip((delta, eta), back):
        assert list(loaded) == list(theta)
        assert all(torch.equal(saved[k], loaded[k]) for k in theta)
    assert io.direction_attrs(path)[1] == {"kind": "states", "norm": "filter", "ignore": "none", "seed": 4}
    with h5py.File(path) as h:  # the reference layout: datasets 0, 1, ... in state_dict order
        assert sorted(h) == ["xdirection", "ydirection"]
        assert np.array_equal(h["xdirection"][str(len(theta) - 1)][()], delta[list(theta)[-1]].numpy())


def test_direction_file_of_another_model_or_kind_is_rejected(tiny_net, tmp_path):
    path = tmp_path / "d.h5"
    io.save_directions(path, [dirs.random_directions(tiny_net(0, classes=3), 0, 1)[0]])
    with pytest.raises(ValueError, match="does not match the model"):
        io.load_directions(path, dirs.weights(tiny_net(0, classes=3), "states"))
    with pytest.raises(ValueError, match="shape"):
        reference_like = tmp_path / "r.h5"
        with h5py.File(reference_like, "w") as h:
            group = h.create_group("xdirection")
            for i, t in enumerate(dirs.weights(tiny_net(0, classes=5)).values()):
                group.create_dataset(str(i), data=t.numpy())
        io.load_directions(reference_like, dirs.weights(tiny_net(0, classes=3)))


def test_reference_direction_file_is_read_by_position(tiny_net, tmp_path):
    """A file as net_plotter.setup_direction writes it: groups of numbered datasets, no names."""
    model = tiny_net(0, classes=3)
    weights = [p.detach().numpy() for p in model.parameters()]
    rng = np.random.default_rng(0)
    xdir = [rng.standard_normal(w.shape).astype(np.float32) for w in weights]
    ydir = [rng.standard_normal(w.shape).astype(np.float32) for w in weights]
    path = tmp_path / "ref.h5"
    with h5py.File(path, "w") as h:
        for name, direction in (("xdirection", xdir), ("ydirection", ydir)):
            group = h.create_group(name)
            for i, d in enumerate(direction):
                group.create_dataset(str(i), data=d)
    delta, eta = io.load_directions(path, dirs.weights(model))
    assert np.array_equal(delta["conv2.weight"].numpy(), xdir[3])
    assert np.array_equal(eta["conv1.weight"].numpy(), ydir[0])
    assert np.array_equal(delta["fc.bias"].numpy(), xdir[8])
    with pytest.raises(ValueError, match="holds 9 tensors, the model 15"):
        io.load_directions(path, dirs.weights(model, "states"))


def test_our_direction_file_reads_the_reference_way(tiny_net, tmp_path):
    model = tiny_net(0, classes=3)
    delta = dirs.random_directions(model, 0, 1)[0]
    path = tmp_path / "d.h5"
    io.save_directions(path, [delta])
    with h5py.File(path) as h:  # h5_util.read_list: [grp[str(i)] for i in range(len(grp))]
        listed = [np.asarray(h["xdirection"][str(i)]) for i in range(len(h["xdirection"]))]
    assert [d.shape for d in listed] == [tuple(p.shape) for p in model.parameters()]
    assert all(np.array_equal(a, d.numpy()) for a, d in zip(listed, delta.values()))


# ---- surfaces -------------------------------------------------------------------------------------------

def test_surface_round_trip_keeps_nan_inf_done_and_attrs(tmp_path):
    xs, ys = np.linspace(-1, 1, 4), np.linspace(0, 2, 3)
    surface = io.empty_surface(xs, ys, ["train_loss", "train_acc"], {"model": "tiny", "seed": 3}, "d.h5")
    X, Y = np.meshgrid(xs, ys)
    surface.values["train_loss"][...] = f(X, Y)
    surface.values["train_loss"][0, 1], surface.values["train_loss"][2, 3] = np.nan, np.inf
    surface.values["train_acc"][...] = 50.0
    surface.done[...] = True
    surface.done[1, 2] = False
    path = tmp_path / "s.h5"
    io.save_surface(path, surface)
    back = io.load_surface(path)
    assert back.shape == (3, 4) and back.dir_file == "d.h5" and back.attrs == {"model": "tiny", "seed": 3}
    assert np.array_equal(back.done, surface.done)
    assert np.isnan(back["train_loss"][0, 1]) and np.isposinf(back["train_loss"][2, 3])
    assert back["train_loss"][1, 2] == -1.0 and back["train_acc"][1, 2] == -1.0  # unfinished, as the reference
    keep = surface.done & np.isfinite(surface["train_loss"])
    assert np.array_equal(back["train_loss"][keep], f(X, Y)[keep])
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary file


def test_a_surface_read_back_and_saved_again_is_the_same_file(tmp_path):
    """Resuming reads a file and writes it again: the bytes depend on the contents only, not on the order in which
    the arrays and attributes happen to be held (a fresh surface holds them as requested, a read one by name)."""
    attrs = {"theta_sha256": "ab" * 32, "bn": "eval", "fuse_bn": False, "batch_size": 128, "precision": "fp32"}
    first = io.empty_surface(np.linspace(-1, 1, 3), None, ["train_loss", "train_acc", "test_loss"], attrs, "d.h5")
    first.values["train_loss"][...] = [3.0, 1.0, 2.0]
    first.done[...] = True
    io.save_surface(tmp_path / "a.h5", first)
    io.save_surface(tmp_path / "b.h5", io.load_surface(tmp_path / "a.h5"))
    shuffled = io.Surface(first.xcoordinates, None, dict(reversed(first.values.items())), first.done,
                          dict(reversed(attrs.items())), "d.h5")
    io.save_surface(tmp_path / "c.h5", shuffled)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes() == (tmp_path / "c.h5").read_bytes()


def test_reference_surface_file_is_read(tmp_path):
    """A file as plot_surface.py writes it: square (len(x), len(y)) arrays at -1, filled by flat meshgrid index."""
    xs = ys = np.linspace(-1, 1, 5)
    losses, accs = -np.ones((len(xs), len(ys))), -np.ones((len(xs), len(ys)))
    X, Y = np.meshgrid(xs, ys)
    for ind in range(losses.size - 3):  # three points still to do
        losses.ravel()[ind] = f(X.ravel()[ind], Y.ravel()[ind])
        accs.ravel()[ind] = 87.5  # percent
    path = tmp_path / "ref.h5"
    with h5py.File(path, "w") as h:
        h["dir_file"] = "model.t7_weights_xignore=biasbn_xnorm=filter.h5"
        h["xcoordinates"], h["ycoordinates"] = xs, ys
        h["train_loss"], h["train_acc"] = losses, accs
    surface = io.load_surface(path)
    assert surface.dir_file.startswith("model.t7") and surface.attrs == {}
    assert surface.done.sum() == losses.size - 3 and not surface.done.ravel()[-3:].any()
    assert surface["train_loss"][4, 1] == pytest.approx(f(xs[1], ys[4]))  # value [j, i] at (x_i, y_j)
    assert surface["train_acc"][0, 0] == 87.5


def test_reference_non_square_file_is_reshaped_by_flat_order(tmp_path):
    xs, ys = np.linspace(-1, 1, 4), np.linspace(-2, 2, 3)
    losses = -np.ones((len(xs), len(ys)))  # the reference allocates (len(x), len(y)) ...
    X, Y = np.meshgrid(xs, ys)
    losses.ravel()[:] = f(X.ravel(), Y.ravel())  # ... and fills it in meshgrid order
    path = tmp_path / "ref.h5"
    with h5py.File(path, "w") as h:
        h["dir_file"], h["xcoordinates"], h["ycoordinates"], h["train_loss"] = "d.h5", xs, ys, losses
    surface = io.load_surface(path)
    assert surface["train_loss"].shape == (3, 4)
    assert np.allclose(surface["train_loss"], f(X, Y))


def test_our_surface_file_reads_the_reference_way(tmp_path):
    """plot_2D: X, Y = meshgrid(x, y); Z = f['train_loss'] must line up. scheduler: vals <= 0 are redone."""
    xs, ys = np.linspace(-1, 1, 4), np.linspace(0, 1, 3)
    surface = io.empty_surface(xs, ys, ["train_loss", "train_acc"])
    X, Y = np.meshgrid(xs, ys)
    surface.values["train_loss"][...] = f(X, Y)
    surface.done[...] = True
    surface.done[2, 1] = False
    path = tmp_path / "s.h5"
    io.save_surface(path, surface)
    with h5py.File(path) as h:
        x, y, Z = h["xcoordinates"][:], h["ycoordinates"][:], h["train_loss"][:]
        assert h["dir_file"][()] == b""
    X2, Y2 = np.meshgrid(x, y)
    assert Z.shape == X2.shape
    todo = np.flatnonzero(Z.ravel() <= 0)
    assert list(todo) == [2 * 4 + 1]
    assert (X2.ravel()[todo][0], Y2.ravel()[todo][0]) == (xs[1], ys[2])
    finished = Z > 0
    assert np.allclose(Z[finished], f(X2, Y2)[finished])


def test_1d_surface_has_no_ycoordinates(tmp_path):
    surface = io.empty_surface([0.0, 0.5, 1.0], None, ["test_loss", "test_acc"])
    surface.values["test_loss"][...], surface.done[...] = [1.0, 2.0, 3.0], True
    io.save_surface(tmp_path / "s.h5", surface)
    with h5py.File(tmp_path / "s.h5") as h:
        assert "ycoordinates" not in h and h["test_loss"].shape == (3,)
    back = io.load_surface(tmp_path / "s.h5")
    assert back.ycoordinates is None and back.complete and list(back["test_loss"]) == [1.0, 2.0, 3.0]


def test_bad_files_and_grids(tiny_net, tmp_path):
    with pytest.raises(ValueError, match="xs"):
        io.empty_surface([], None, ["train_loss"])
    with pytest.raises(ValueError, match="ys"):
        io.empty_surface([0.0], [np.nan], ["train_loss"])
    path = tmp_path / "d.h5"
    io.save_directions(path, [dirs.random_directions(tiny_net(0, classes=3), 0, 1)[0]])
    with pytest.raises(ValueError, match="not a surface file"):
        io.load_surface(path)
    with pytest.raises(ValueError, match="1 or 2"):
        io.save_directions(path, [])


def test_a_surface_says_how_many_images_each_point_is_on():
    from lossviz.base import cache
    from lossviz.base.data import Sample
    done = np.ones((3,), bool)
    request = {"request": cache.text({"sample": Sample("cifar10", 256, 128)})}
    line = io.Surface(np.linspace(0, 1, 3), None, {"train_loss": np.ones(3)}, done, attrs=request)
    assert line.images() == {"train": 256, "test": 128}
    no_test = {"request": cache.text({"sample": Sample("cifar10", 2560)})}
    assert io.Surface(np.linspace(0, 1, 3), None, {}, done, attrs=no_test).images() == {"train": 2560}
    assert io.Surface(np.linspace(0, 1, 3), None, {}, done).images() == {}
