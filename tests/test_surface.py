"""Surfaces: values against direct evaluation of a perturbed copy, grid orientation, BN modes, resuming files."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossviz.base import data, files, grids, io, models
from lossviz.base import directions as dirs
from lossviz.compute import surface

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = surface.Saving(progress=False)


@pytest.fixture(scope="module")
def make_net(tiny_net):
    """`make_net(seed)`: the shared tiny network (4 classes) with non-trivial BN running statistics, in eval mode."""
    def make(seed: int) -> nn.Module:
        net = tiny_net(seed, classes=4)
        with torch.no_grad():
            for _ in range(3):
                net(torch.randn(16, 3, 8, 8) * 2 + 0.5)
        return net.eval()
    return make


@pytest.fixture
def net(make_net) -> nn.Module:
    return make_net(0)


@pytest.fixture(scope="module")
def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(48, 3, 8, 8, generator=gen), torch.randint(4, (48,), generator=gen)
    return [(x[i:i + 16], y[i:i + 16]) for i in range(0, 48, 16)]


def direct(model: nn.Module, point: dict, batches, loss_fn=F.cross_entropy) -> tuple[float, float]:
    """Loss and accuracy (%) of a deep copy holding `point`, by plain forward passes in eval mode."""
    m = copy.deepcopy(model).eval()
    m.load_state_dict(point, strict=False)
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            logits = m(x)
            total += float(loss_fn(logits, y)) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            n += len(y)
    return total / n, 100.0 * correct / n


def test_origin_is_the_models_own_loss(net, batches):
    theta = dirs.weights(net)
    delta, eta = dirs.random_directions(net, 0, 2)
    s = surface.scan(net, theta, [delta, eta], [-0.5, 0.0, 0.5], [0.0, 1.0], data={"train": batches})
    loss, acc = direct(net, {}, batches)
    assert s["train_loss"][0, 1] == pytest.approx(loss, rel=1e-6)
    assert s["train_acc"][0, 1] == pytest.approx(acc)
    assert s.complete


def test_registry_model_evaluation_matches_plain_forward_passes():
    torch.manual_seed(0)
    model = models.get("resnet20").train()  # train mode: evaluation must still use the running statistics
    with torch.no_grad():  # running statistics away from their initial 0/1, so a BN mode mix-up shows
        model(data.normalize(data.synthetic(64, seed=1).images))
    split = data.synthetic(16)
    expected_loss, expected_acc = direct(model, {}, list(data.batches(split, 8)))
    loss, acc = surface.evaluate(model, None, data.batches(split, 8))
    assert loss == pytest.approx(expected_loss, rel=1e-5) and acc == pytest.approx(expected_acc)
    assert model.training  # evaluation leaves the model's flag as it was


def test_non_square_grid_orientation_against_direct_evaluation(net, batches):
    theta = dirs.weights(net)
    delta, eta = dirs.random_directions(net, 2, 2)
    xs, ys = [-1.0, 0.0, 0.5], [-0.5, 1.0]
    s = surface.scan(net, theta, [delta, eta], xs, ys, data={"train": batches, "test": batches[:1]})
    assert s["train_loss"].shape == (2, 3)
    for j, beta in enumerate(ys):
        for i, alpha in enumerate(xs):
            point = dirs.add(dirs.add(theta, delta, alpha), eta, beta)
            loss, acc = direct(net, point, batches)
            assert s["train_loss"][j, i] == pytest.approx(loss, rel=1e-5), (i, j)
            assert s["train_acc"][j, i] == pytest.approx(acc)
            assert s["test_loss"][j, i] == pytest.approx(direct(net, point, batches[:1])[0], rel=1e-5)


def test_predictable_loss_fixes_the_orientation():
    """Loss = w = w0 + alpha + 10 beta for a 1x1 linear model and loss_fn = mean output."""
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(2.0)
    theta = dirs.weights(model)
    delta, eta = {"weight": torch.ones(1, 1)}, {"weight": torch.full((1, 1), 10.0)}
    xs, ys = [0.0, 1.0, 2.0, 3.0], [0.0, 0.5]
    feed = [(torch.ones(5, 1), torch.zeros(5))]
    s = surface.scan(model, theta, [delta, eta], xs, ys, data={"train": feed}, loss_fn=lambda out, y: out.mean())
    expected = 2.0 + np.array(xs)[None, :] + 10 * np.array(ys)[:, None]
    assert np.allclose(s["train_loss"], expected)
    assert np.isnan(s["train_acc"]).all()  # no class labels, no accuracy


def test_callers_model_is_never_changed(net, batches):
    net.train()
    before = copy.deepcopy(net.state_dict())
    momenta = [m.momentum for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    delta, eta = dirs.random_directions(net, 0, 2, ignore="none", kind="states")
    theta = dirs.weights(net, "states")
    for bn, fuse in (("eval", False), ("recompute", False), ("eval", True)):
        surface.scan(net, theta, [delta, eta], [0.0, 1.0], [1.0], data={"train": batches}, bn=bn, fuse_bn=fuse)
    after = net.state_dict()
    assert list(after) == list(before) and all(torch.equal(after[k], v) for k, v in before.items())
    assert net.training and all(m.training for m in net.modules())
    assert momenta == [m.momentum for m in net.modules() if isinstance(m, nn.BatchNorm2d)]


def test_interpolation_endpoints_and_beyond(batches, make_net):
    net1, net2 = make_net(0), make_net(1)
    theta1, theta2 = dirs.weights(net1, "states"), dirs.weights(net2, "states")
    alphas = [-0.5, 0.0, 1.0, 1.5]
    s = surface.interpolate(net1, theta1, theta2, alphas, data={"test": batches})
    assert s["test_loss"][1] == pytest.approx(direct(net1, {}, batches)[0], rel=1e-5)
    assert s["test_loss"][2] == pytest.approx(direct(net2, {}, batches)[0], rel=1e-5)
    for k in (0, 3):
        a = alphas[k]
        point = {n: (1 - a) * t + a * theta2[n] if t.is_floating_point() else t for n, t in theta1.items()}
        assert s["test_loss"][k] == pytest.approx(direct(net1, point, batches)[0], rel=1e-5)


def test_bn_recompute_matches_a_cumulative_average_on_a_copy(net, batches):
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 5, 1)[0]
    point = dirs.add(theta, delta, 0.7)
    loss, acc = surface.evaluate(net, point, batches, bn="recompute")
    m = copy.deepcopy(net)
    m.load_state_dict(point, strict=False)
    for bn in (m.bn1, m.bn2):
        bn.reset_running_stats()
        bn.momentum = None
    m.train()
    with torch.no_grad():
        for x, _ in batches:
            m(x)
    expected = direct(m, {}, batches)
    assert loss == pytest.approx(expected[0], rel=1e-5) and acc == pytest.approx(expected[1])
    assert loss != pytest.approx(surface.evaluate(net, point, batches)[0], rel=1e-3)  # it did change something


@pytest.mark.parametrize("name", ["tiny", "resnet20"])
def test_fused_bn_equals_unfused(name, batches, make_net):
    if name == "tiny":
        model, feed = make_net(3), batches
    else:
        model, feed = models.get("resnet20").eval(), list(data.batches(data.synthetic(8), 8))
    theta = dirs.weights(model)
    delta, eta = dirs.random_directions(model, 1, 2)
    plain = surface.scan(model, theta, [delta, eta], [0.0, 0.6], [-0.4], data={"train": feed})
    fused = surface.scan(model, theta, [delta, eta], [0.0, 0.6], [-0.4], data={"train": feed}, fuse_bn=True)
    assert np.allclose(fused["train_loss"], plain["train_loss"], rtol=1e-4, atol=1e-4)


def test_bf16_is_close_to_fp32(net, batches):
    fp32 = surface.evaluate(net, None, batches)[0]
    bf16 = surface.evaluate(net, None, batches, precision="bf16")[0]
    assert bf16 == pytest.approx(fp32, rel=0.05)


def test_any_model_loss_and_data():
    """An MLP on 5 features with labels: not CIFAR, not a conv net."""
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    x, y = torch.randn(30, 5), torch.randint(3, (30,))
    theta = dirs.weights(mlp)
    delta = dirs.random_directions(mlp, 0, 1, ignore="none")[0]
    s = surface.scan(mlp, theta, [delta], [0.0, 0.3], data={"train": [(x[:20], y[:20]), (x[20:], y[20:])]},
                     loss_fn=F.multi_margin_loss)
    with torch.no_grad():
        moved = copy.deepcopy(mlp)
        moved.load_state_dict(dirs.add(theta, delta, 0.3))
        expected = F.multi_margin_loss(moved(x), y)
    assert s["train_loss"][1] == pytest.approx(float(expected), rel=1e-5)
    assert 0.0 <= s["train_acc"][1] <= 100.0


def test_bad_inputs(net, batches):
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 0, 1)[0]
    feed = {"train": batches}
    with pytest.raises(ValueError, match=r"bn='train'.*valid choices: eval, recompute"):
        surface.scan(net, theta, [delta], [0.0], data=feed, bn="train")
    with pytest.raises(ValueError, match=r"precision='fp16'.*fp32, bf16"):
        surface.scan(net, theta, [delta], [0.0], data=feed, precision="fp16")
    with pytest.raises(ValueError, match="directions must hold 2"):
        surface.scan(net, theta, [delta], [0.0], [0.0], data=feed)
    with pytest.raises(ValueError, match="keys do not match"):
        surface.scan(net, dirs.weights(net, "states"), [delta], [0.0], data=feed)
    with pytest.raises(ValueError, match="fuse_bn=True needs bn='eval'"):
        surface.evaluate(net, None, batches, bn="recompute", fuse_bn=True)
    with pytest.raises(ValueError, match="no batches"):
        surface.evaluate(net, None, [])
    with pytest.raises(ValueError, match="num=0"):
        grids.grid(-1, 1, 0)
    with pytest.raises(ValueError, match="save_seconds=nan"):
        surface.Saving(seconds=float("nan"))
    with pytest.raises(ValueError, match="save_every=-1"):
        surface.Saving(every=-1)
    with pytest.raises(ValueError, match="fuse_bn=True needs bn='eval'"):
        surface.Evaluation(bn="recompute", fuse_bn=True)
    with pytest.raises(ValueError, match="reserved names"):
        surface.request(net, theta, [delta], [0.0], None, ["done"], {})


# ---- files ---------------------------------------------------------------------------------------------

def test_compute_file_resumes_only_unfinished_points(tmp_path, net, batches):
    theta = dirs.weights(net)
    delta, eta = dirs.random_directions(net, 0, 2)
    xs, ys = [-1.0, 0.0, 1.0], [0.0, 2.0]
    out = tmp_path / "s.h5"
    full = surface.loss_file(out, net, theta, [delta, eta], xs, ys, data={"train": batches},
                                context={"data": "test"}, log=None, saving=QUIET)
    assert full.complete and io.load_surface(out).attrs["data"] == "test"
    partial = io.load_surface(out)
    partial.done[1, :2] = False  # as if killed before these were written
    io.save_surface(out, partial)
    messages = []
    again = surface.loss_file(out, net, theta, [delta, eta], xs, ys, data={"train": iter(batches)},
                                 context={"data": "test"}, log=messages.append, saving=QUIET)
    assert messages == ["computing 2 of 6 points"]
    assert np.array_equal(again["train_loss"], full["train_loss"])
    assert np.array_equal(io.load_surface(out)["train_loss"], full["train_loss"])
    done = []
    surface.loss_file(out, net, theta, [delta, eta], xs, ys, data={"train": batches},
                         context={"data": "test"}, log=done.append, saving=QUIET)
    assert done == ["computing 0 of 6 points"]


def test_compute_file_refuses_another_request_and_keeps_the_file(tmp_path, net, batches, make_net):
    theta = dirs.weights(net)
    delta, eta = dirs.random_directions(net, 0, 2)
    out = tmp_path / "s.h5"
    surface.loss_file(out, net, theta, [delta], [0.0, 1.0], data={"train": batches}, log=None, saving=QUIET)
    stored = out.read_bytes()
    attempts = [
        {"directions": [eta], "xs": [0.0, 1.0], "ys": None, "kwargs": {}},
        {"directions": [delta], "xs": [0.0, 0.5], "ys": None, "kwargs": {}},
        {"directions": [delta, eta], "xs": [0.0, 1.0], "ys": [0.0], "kwargs": {}},
        {"directions": [delta], "xs": [0.0, 1.0], "ys": None,
         "kwargs": {"evaluation": surface.Evaluation(bn="recompute")}},
        {"directions": [delta], "xs": [0.0, 1.0], "ys": None, "kwargs": {"context": {"data": "other"}}},
    ]
    for attempt in attempts:
        with pytest.raises(ValueError, match="another request"):
            surface.loss_file(out, net, theta, attempt["directions"], attempt["xs"], attempt["ys"],
                                 data={"train": batches}, log=None, saving=QUIET, **attempt["kwargs"])
    other_model = dirs.weights(make_net(9))
    with pytest.raises(ValueError, match="theta_sha256"):
        surface.loss_file(out, net, other_model, [delta], [0.0, 1.0], data={"train": batches}, log=None)
    with pytest.raises(ValueError, match="resume=True"):
        surface.loss_file(out, net, theta, [delta], [0.0, 1.0], data={"train": batches},
                          saving=surface.Saving(resume=False), log=None)
    assert out.read_bytes() == stored


def test_far_points_store_nan_and_inf_as_they_are(tmp_path, net, batches):
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 0, 1)[0]
    out = tmp_path / "far.h5"
    s = surface.loss_file(out, net, theta, [delta], [0.0, 1e30], data={"train": batches}, log=None,
                             saving=QUIET)
    back = io.load_surface(out)
    assert back.complete and np.isfinite(back["train_loss"][0])
    assert not np.isfinite(back["train_loss"][1]) and back["train_loss"][1] != -1
    assert np.array_equal(back["train_loss"], s["train_loss"], equal_nan=True)


def test_nan_points_store_nan_accuracy(tmp_path, net, batches):
    """Where the logits are NaN no class is predicted: accuracy is NaN, not the share of class 0 (argmax of NaN)."""
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 0, 1)[0]
    out = tmp_path / "far.h5"
    surface.loss_file(out, net, theta, [delta], [0.0, 1e30], data={"train": batches}, log=None, saving=QUIET)
    back = io.load_surface(out)
    assert np.isnan(back["train_loss"][1]) and np.isnan(back["train_acc"][1])
    share_of_class_0 = 100.0 * float(sum((y == 0).sum() for _, y in batches)) / 48
    assert share_of_class_0 > 0  # what argmax of NaN logits would have recorded
    assert back["train_acc"][0] == pytest.approx(direct(net, theta, batches)[1])


# ---- request limits and identity -------------------------------------------------------------------------

def test_grid_refuses_one_point_over_a_range_and_more_points_than_the_limit(monkeypatch):
    with pytest.raises(ValueError, match="num=1 gives the single point -1, not a range to 1"):
        grids.grid(-1, 1, 1)
    assert grids.grid(0.5, 0.5, 1).tolist() == [0.5]
    with pytest.raises(ValueError, match=r"num=1,000,000,000 is more than the 1,000,000 .*LOSSVIZ_MAX_POINTS=N"):
        grids.grid(-1, 1, 1e9)  # refused before np.linspace allocates 8 GB
    monkeypatch.setenv("LOSSVIZ_MAX_POINTS", "2000000")
    assert len(grids.grid(-1, 1, 1_500_000)) == 1_500_000
    monkeypatch.setenv("LOSSVIZ_MAX_POINTS", "10")
    assert len(grids.grid(-1, 1, 10)) == 10
    with pytest.raises(ValueError, match="num=11 is more than the 10 points"):
        grids.grid(-1, 1, 11)
    monkeypatch.setenv("LOSSVIZ_MAX_POINTS", "many")
    with pytest.raises(ValueError, match="LOSSVIZ_MAX_POINTS='many' must be a positive whole number"):
        grids.grid(-1, 1, 3)


def test_check_size_counts_points_and_estimates_memory(monkeypatch):
    grids.check_size((100, 100), 4)
    with pytest.raises(ValueError, match=r"\(1,001 x 1,000\) has 1,001,000 points, more than the limit of 1,000,000"):
        grids.check_size((1001, 1000), 4)
    monkeypatch.setattr(grids, "free_memory", lambda: 2 * 3 * 100 * (8 * 4 + 1) - 1)  # just under twice the need
    with pytest.raises(ValueError, match=r"\(10 x 10\) needs about .* GiB for its 4 arrays, more than half"):
        grids.check_size((10, 10), 4)
    grids.check_size((10, 10), 3)


def test_device_and_dtype_are_part_of_the_request(tmp_path, net, batches):
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 0, 1)[0]
    out = tmp_path / "s.h5"
    surface.loss_file(out, net, theta, [delta], [0.0, 1.0], data={"train": batches}, log=None, saving=QUIET)
    stored = io.load_surface(out)
    assert stored.attrs["device"] == "cpu" and stored.attrs["dtype"] == "torch.float32"
    stored.done[1] = False
    stored.attrs["device"] = "cuda"  # as if started on a GPU
    io.save_surface(out, stored)
    before = out.read_bytes()
    with pytest.raises(ValueError, match="device: file has 'cuda', request 'cpu'"):
        surface.loss_file(out, net, theta, [delta], [0.0, 1.0], data={"train": batches}, log=None)
    wide = copy.deepcopy(net).double()
    with pytest.raises(ValueError, match="dtype: file has 'torch.float32', request 'torch.float64'"):
        surface.loss_file(out, wide, dirs.weights(wide), [{k: v.double() for k, v in delta.items()}], [0.0, 1.0],
                             data={"train": [(x.double(), y) for x, y in batches]}, log=None)
    assert out.read_bytes() == before


def test_files_of_an_older_format_are_refused_finished_or_not(tmp_path, net, batches):
    """No compatibility paths: a file whose request differs in any recorded attribute (here the format version, and
    a missing device) is another request's, refused and left as it was."""
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 0, 1)[0]
    out = tmp_path / "old.h5"
    surface.loss_file(out, net, theta, [delta], [0.0, 1.0], data={"train": batches}, log=None, saving=QUIET)
    old = io.load_surface(out)
    old.attrs["format"] = "lossviz-surface-1"
    del old.attrs["device"]
    io.save_surface(out, old)
    before = out.read_bytes()
    with pytest.raises(ValueError, match="format: file has 'lossviz-surface-1'.*device: file has None, request 'cpu'"):
        surface.loss_file(out, net, theta, [delta], [0.0, 1.0], data={"train": batches}, log=None)
    assert out.read_bytes() == before


def test_on_start_runs_only_after_the_request_is_checked(tmp_path, net, batches):
    theta = dirs.weights(net)
    delta, eta = dirs.random_directions(net, 0, 2)
    out = tmp_path / "s.h5"
    calls = []
    surface.loss_file(out, net, theta, [delta], [0.0, 1.0], data={"train": batches}, log=None, saving=QUIET,
                         on_start=lambda: calls.append(out.exists()))
    assert calls == [False]  # before the file is first written
    with pytest.raises(ValueError, match="another request"):
        surface.loss_file(out, net, theta, [eta], [0.0, 1.0], data={"train": batches}, log=None,
                             on_start=lambda: calls.append("mismatch"))
    with pytest.raises(ValueError, match="more than the limit"):
        surface.loss_file(tmp_path / "big.h5", net, theta, [delta, eta], np.zeros(1001), np.zeros(1000),
                             data={"train": batches}, log=None, on_start=lambda: calls.append("big"))
    assert calls == [False] and not (tmp_path / "big.h5").exists()


def test_interrupt_saves_the_finished_points(tmp_path, net, batches):
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 0, 1)[0]
    out = tmp_path / "s.h5"
    seen = []

    def values(point):
        if len(seen) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the 4th point
        seen.append(float(point["fc.bias"][0]))
        return {"b": float(point["fc.bias"][0])}

    messages = []
    xs = [0.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(KeyboardInterrupt):
        wanted = surface.request(net, theta, [delta], xs, None, ["b"], {"quantity": "bias"})
        surface.compute_file(out, wanted, theta, [delta], lambda: values, log=messages.append,
                             saving=surface.Saving(seconds=3600, progress=False))
    saved = io.load_surface(out)
    assert saved.done.tolist() == [True, True, True, False, False]
    expected = [float(theta["fc.bias"][0] + x * delta["fc.bias"][0]) for x in xs[:3]]
    np.testing.assert_allclose(saved["b"][:3], expected, rtol=1e-6)
    assert messages[-1].startswith(f"interrupted: 3 of 5 points are saved in {out}")


def test_a_failed_computation_leaves_no_empty_file_and_the_output_is_locked(tmp_path, net, batches):
    """A point that fails before any is done: the file this call made goes again (an older file stays as it was);
    while the call runs, its output is locked against another run."""
    theta = dirs.weights(net)
    delta = dirs.random_directions(net, 0, 1)[0]
    out = tmp_path / "s.h5"
    wanted = surface.request(net, theta, [delta], [0.0, 1.0], None, ["b"], {"quantity": "bias"})
    locked = []

    def failing(point):
        locked.append(files.lock_file(out).exists())
        raise ValueError("the data went away")

    with pytest.raises(ValueError, match="went away"):
        surface.compute_file(out, wanted, theta, [delta], lambda: failing, log=None, saving=QUIET)
    assert locked == [True] and sorted(tmp_path.iterdir()) == []
    done = surface.compute_file(out, wanted, theta, [delta], lambda: lambda p: {"b": 1.0}, log=None, saving=QUIET)
    half = io.Surface(done.xcoordinates, None, done.values, np.array([True, False]), done.attrs)
    io.save_surface(out, half)
    before = out.read_bytes()
    with pytest.raises(ValueError, match="went away"):
        surface.compute_file(out, wanted, theta, [delta], lambda: failing, log=None, saving=QUIET)
    assert out.read_bytes() == before
