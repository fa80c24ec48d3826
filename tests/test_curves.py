"""Curves: coefficients, exact endpoints, name matching, schedule, plane, training lowers the midpoint loss."""
import copy
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from lossviz.base import data, directions
from lossviz.base.schedules import Schedule
from lossviz.compute import curves, train
from lossviz.compute.train import TrainConfig


def recomputed_loss_and_error(model: nn.Module, theta, split, batch_size: int = 16,
                              bn_augmented: bool = False) -> tuple[float, float]:
    """CE and error (%) of a copy holding theta, BN statistics re-estimated by torch's update_bn on split (on one
    draw of its augmented batches, seed 0, where `bn_augmented`), the loss on its clean images."""
    from torch.optim.swa_utils import update_bn
    net = copy.deepcopy(model)
    net.load_state_dict(theta, strict=False)
    batches = list(data.batches(split, batch_size))
    with torch.no_grad():
        update_bn(list(data.batches(split, batch_size, augmented=True, seed=0)) if bn_augmented else batches, net)
        net.eval()
        logits = torch.cat([net(x) for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    return (float(nn.functional.cross_entropy(logits, labels)),
            100.0 * float((logits.argmax(1) != labels).double().mean()))


def test_evaluate_point_recomputes_bn_and_adds_the_l2_term(tiny_net):
    model = tiny_net(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    theta = {k: v.detach() for k, v in tiny_net(1).named_parameters()}
    train_split, test_split = data.synthetic(48, seed=0), data.synthetic(32, seed=1)
    plain = curves.evaluate_point(model, theta, train_split, test_split, batch_size=16)
    loss, error = recomputed_loss_and_error(model, theta, train_split)
    assert plain["train_loss"] == pytest.approx(loss, rel=1e-5) and plain["train_error"] == pytest.approx(error)
    with torch.no_grad():  # test: BN statistics of the train split, not of the test split
        net = copy.deepcopy(model)
        net.load_state_dict(theta, strict=False)
        from torch.optim.swa_utils import update_bn
        update_bn(list(data.batches(train_split, 16)), net)
        test_loss = float(nn.functional.cross_entropy(net.eval()(data.normalize(test_split.images)),
                                                      test_split.labels))
    assert plain["test_loss"] == pytest.approx(test_loss, rel=1e-5)
    wd = 3e-2
    with_l2 = curves.evaluate_point(model, theta, train_split, test_split, weight_decay=wd, batch_size=16)
    l2 = 0.5 * wd * sum(float((v.double() ** 2).sum()) for v in theta.values())
    assert plain["l2"] == 0.0 and with_l2["l2"] == pytest.approx(l2, rel=1e-12)
    for name in ("train", "test"):  # the losses stay plain cross-entropy; the L2 term is reported beside them
        assert with_l2[f"{name}_loss"] == plain[f"{name}_loss"]
        assert with_l2[f"{name}_error"] == plain[f"{name}_error"]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # the model is untouched


def random_point(seed: int, shapes=(("a.weight", (3, 4)), ("a.bias", (4,)), ("b.weight", (2, 2, 3)))):
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(*s, generator=gen) for k, s in shapes}


T_VALUES = [0.0, 0.1, 1 / 3, 0.5, 0.77, 0.999, 1.0]


@pytest.mark.parametrize("kind", curves.KINDS)
@pytest.mark.parametrize("bends", [0, 1, 2, 3, 5])
def test_coefficients_sum_to_one_and_are_nonnegative(kind, bends):
    for t in T_VALUES:
        c = curves.coefficients(t, bends, kind)
        assert len(c) == bends + 2
        assert sum(c) == pytest.approx(1.0, abs=1e-12)
        assert min(c) >= 0


@pytest.mark.parametrize("kind", curves.KINDS)
@pytest.mark.parametrize("bends", [1, 2, 3])
def test_endpoints_are_exact_and_matched_by_name(kind, bends):
    controls = [random_point(k) for k in range(bends + 2)]
    shuffled = list(controls[-1].items())
    random.Random(0).shuffle(shuffled)
    controls[-1] = dict(shuffled)  # same names, another order
    start, end = curves.point(controls, 0.0, kind), curves.point(controls, 1.0, kind)
    assert list(start) == list(controls[0])
    for k in controls[0]:
        assert torch.equal(start[k], controls[0][k])
        assert torch.equal(end[k], controls[-1][k])


def test_bezier_matches_the_quadratic_formula_and_polychain_the_segments():
    w1, theta, w2 = random_point(1), random_point(2), random_point(3)
    t = 0.3
    phi = curves.point([w1, theta, w2], t, "bezier")
    for k in w1:
        expected = (1 - t) ** 2 * w1[k] + 2 * t * (1 - t) * theta[k] + t**2 * w2[k]
        assert torch.allclose(phi[k], expected, atol=1e-6)
    chain = curves.point([w1, theta, w2], 0.25, "polychain")  # halfway along the first segment
    for k in w1:
        assert torch.allclose(chain[k], (w1[k] + theta[k]) / 2, atol=1e-6)
    assert torch.allclose(curves.point([w1, theta, w2], 0.5, "polychain")["a.bias"], theta["a.bias"])


@pytest.mark.parametrize("kind", curves.KINDS)
def test_line_initialized_curves_are_the_straight_line(kind):
    w1, w2 = random_point(4), random_point(5)
    controls = [w1, *curves.line_bends(w1, w2, 3), w2]
    for t in T_VALUES:  # Bernstein polynomials reproduce linear functions
        phi = curves.point(controls, t, kind)
        for k in w1:
            assert torch.allclose(phi[k], (1 - t) * w1[k] + t * w2[k], atol=1e-5)


def test_curve_lr_schedule():
    total, lr0 = 200, 0.03
    assert curves.curve_lr(1, total, lr0) == lr0
    assert curves.curve_lr(100, total, lr0) == lr0
    assert curves.curve_lr(140, total, lr0) == pytest.approx(lr0 * (1 - 0.2 / 0.4 * 0.99))
    assert curves.curve_lr(180, total, lr0) == pytest.approx(0.01 * lr0)
    assert curves.curve_lr(200, total, lr0) == pytest.approx(0.01 * lr0)


def test_plane_basis_is_orthonormal_and_anchor_coordinates_as_expected():
    w1, w2, w3 = random_point(6), random_point(7), random_point(8)
    p = curves.plane(w1, w2, w3)
    assert directions.dot(p.u, p.u) == pytest.approx(1, abs=1e-6)
    assert directions.dot(p.v, p.v) == pytest.approx(1, abs=1e-6)
    assert directions.dot(p.u, p.v) == pytest.approx(0, abs=1e-6)
    d12, d13 = directions.between(w1, w2), directions.between(w1, w3)
    x3 = directions.dot(d13, d12) / directions.norm(d12)
    y3 = math.sqrt(directions.norm(d13) ** 2 - x3**2)
    expected = [(0, 0), (directions.norm(d12), 0), (x3, y3)]
    for anchor, computed, want in zip((w1, w2, w3), p.anchors, expected):
        assert p.coordinates(anchor) == pytest.approx(want, abs=1e-4)
        assert computed == pytest.approx(want, abs=1e-4)
    back = p.at(x3, y3)
    for k in w3:
        assert torch.allclose(back[k], w3[k], atol=1e-5)
    xs, ys = curves.grid(p.anchors, points=11, margin=0.2)
    assert len(xs) == len(ys) == 11
    assert xs[0] < min(a[0] for a in p.anchors) and xs[-1] > max(a[0] for a in p.anchors)
    assert ys[0] < 0 and ys[-1] > y3


def test_curve_coordinates_of_a_one_bend_curve_lie_in_its_plane():
    curve = curves.Curve("bezier", (random_point(1), random_point(2), random_point(3)))
    p = curves.curve_plane(curve)
    xy = curves.curve_coordinates(p, curve, points=5)
    assert xy.shape == (5, 2)
    assert np.allclose(xy[0], p.anchors[0], atol=1e-4) and np.allclose(xy[-1], p.anchors[1], atol=1e-4)
    phi = curve.at(0.5)  # in the plane: rebuilding from (x, y) gives the point back
    back = p.at(*xy[2])
    for k in phi:
        assert torch.allclose(back[k], phi[k], atol=1e-5)


def test_barrier():
    assert curves.barrier([1.0, 3.0, 2.0, 1.5]) == pytest.approx(1.5)
    assert curves.barrier([1.0, 0.5, 1.2]) == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="kind='spline'.*bezier, polychain"):
        curves.coefficients(0.5, 1, "spline")
    with pytest.raises(ValueError, match="t=1.5"):
        curves.coefficients(1.5, 1)
    with pytest.raises(ValueError, match="bends=-1"):
        curves.coefficients(0.5, -1)
    w1, w2 = random_point(1), random_point(2)
    with pytest.raises(ValueError, match="names"):
        curves.point([w1, {**w2, "extra": torch.zeros(1)}], 0.5)
    with pytest.raises(ValueError, match="shape"):
        curves.point([w1, {**w2, "a.bias": torch.zeros(5)}], 0.5)
    with pytest.raises(ValueError, match="coincide"):
        curves.plane(w1, w1, w2)
    with pytest.raises(ValueError, match="line"):
        curves.plane(w1, w2, curves.point([w1, w2], 0.3))
    with pytest.raises(ValueError, match="bends=0"):
        curves.CurveConfig(bends=0)
    with pytest.raises(ValueError, match="losses"):
        curves.barrier([1.0])
    with pytest.raises(ValueError, match="i=0"):
        curves.curve_lr(0, 10, 0.1)


def test_curve_training_lowers_the_midpoint_loss_and_keeps_the_model(tiny_net):
    split = data.synthetic(256, seed=21, noise=120.0)
    config = TrainConfig(model="resnet20", dataset="synthetic", epochs=3, batch_size=32, augment=False,
                         schedule=Schedule("cosine", lr=0.1), weight_decay=0.0)
    ends = []
    for seed in (1, 2):
        net = tiny_net(seed)
        train.fit(net, split, split, config.replace(seed=seed), progress=False)
        ends.append({k: v.detach().clone() for k, v in net.state_dict().items()})
    template = tiny_net(0)
    before = {k: v.clone() for k, v in template.state_dict().items()}
    curve = curves.train_curve(template, ends[0], ends[1], split,
                               curves.CurveConfig(bends=1, epochs=4, batch_size=32, lr=0.05, augment=False,
                                                  weight_decay=0.0))
    assert all(torch.equal(v, template.state_dict()[k]) for k, v in before.items())  # template untouched
    names = [k for k, _ in template.named_parameters()]
    assert list(curve.controls[0]) == names
    for k in names:  # endpoints fixed
        assert torch.equal(curve.controls[0][k], ends[0][k]) and torch.equal(curve.controls[-1][k], ends[1][k])
    on_curve = curves.evaluate_path(template, [curve.at(0.5)], [0.5], split, split)
    on_line = curves.evaluate_line(template, ends[0], ends[1], split, split, points=3)
    assert on_curve.train_loss[0] < on_line.train_loss[1]
    assert curves.barrier(on_line.train_loss) > 0
    assert len(curve.log) == 4 and curve.log[-1]["lr"] == pytest.approx(0.0005)
    assert all(0.0 <= e["train_acc_pct"] <= 100.0 for e in curve.log) and "train_acc" not in curve.log[-1]


def test_connect_trains_endpoints_and_curve_once(tiny_net, tmp_path, monkeypatch):
    from lossviz.base import models
    monkeypatch.setattr(models, "get", lambda name, num_classes=10: tiny_net(None))  # for speed
    base = TrainConfig(model="resnet20", dataset="synthetic", train_subset=64, test_subset=32, epochs=1,
                       batch_size=32, schedule=Schedule("constant", 0.05))
    config = curves.CurveConfig(kind="polychain", bends=2, epochs=1, batch_size=32)
    curve = curves.connect(base, base.replace(seed=1), config, cache_dir=tmp_path, progress=False)
    again = curves.connect(base, base.replace(seed=1), config, cache_dir=tmp_path, progress=False)
    assert curve.kind == "polychain" and curve.bends == 2
    assert all(torch.equal(a[k], b[k]) for a, b in zip(curve.controls, again.controls) for k in a)
    with pytest.raises(ValueError, match="run1 and run2"):
        curves.connect(base, base.replace(dataset="cifar10"), config, cache_dir=tmp_path)


# ---- recipes for the notebooks: the plane of three networks, the two paths -------------------------------

def test_plane_through_state_dicts_uses_parameters_only(tiny_net):
    model = tiny_net(0)
    states = [{k: v.clone() for k, v in tiny_net(s).state_dict().items()} for s in (1, 2, 3)]
    p = curves.plane_through(model, states)
    names = [k for k, _ in model.named_parameters()]
    assert list(p.origin) == names and list(p.u) == names
    distance = math.sqrt(sum(float(((states[1][k] - states[0][k]) ** 2).sum()) for k in names))
    assert p.anchors[1] == pytest.approx((distance, 0.0), rel=1e-5)  # BN running statistics not counted
    with pytest.raises(ValueError, match="three"):
        curves.plane_through(model, states[:2])


def test_plane_surface_matches_a_direct_evaluation_and_resumes(tiny_net, tmp_path, monkeypatch):
    from lossviz.base.data import Sample
    from lossviz.compute import surface
    model = tiny_net(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    states = [tiny_net(s).state_dict() for s in (1, 2, 3)]
    p = curves.plane_through(model, states)
    sample = Sample("synthetic", 48, 0, batch_size=16)
    s = curves.plane_surface(p, model, sample, points=3, margin=0.1, out_dir=tmp_path)
    assert s.complete and s["train_loss"].shape == (3, 3) and np.isfinite(s["train_loss"]).all()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # the model is untouched
    split = sample.splits()["train"]
    for j, i in [(0, 0), (1, 2), (2, 1)]:  # independent check: BN recomputed by torch's update_bn
        loss, error = recomputed_loss_and_error(model, p.at(s.xcoordinates[i], s.ycoordinates[j]), split)
        assert s["train_loss"][j, i] == pytest.approx(loss, rel=1e-4)
        assert 100.0 - s["train_acc"][j, i] == pytest.approx(error, abs=1e-6)
    monkeypatch.setattr(surface, "evaluator", lambda *a, **k: pytest.fail("recomputed a finished file"))
    again = curves.plane_surface(p, model, sample, points=3, margin=0.1, out_dir=tmp_path)
    assert np.array_equal(again["train_loss"], s["train_loss"])
    assert len(list(tmp_path.glob("plane-*.h5"))) == 1


def test_line_and_curves_share_endpoints_and_are_cached(tiny_net, tmp_path, monkeypatch):
    from lossviz.base.data import Sample
    model = tiny_net(0)
    names = [k for k, _ in model.named_parameters()]
    controls = tuple(curves.parameters(tiny_net(s).state_dict(), names) for s in (1, 2, 3))
    trained = {"bezier": curves.Curve("bezier", controls), "polychain": curves.Curve("polychain", controls)}
    sample = Sample("synthetic", 32, 32, batch_size=16)
    wd = 1e-2
    result = curves.line_and_curves(model, trained, sample, points=3, weight_decay=wd, cache_dir=tmp_path)
    assert list(result) == ["line", "bezier", "polychain"]
    line, bent, chain = result["line"], result["bezier"], result["polychain"]
    assert line.t == bent.t == (0.0, 0.5, 1.0)
    for path in (bent, chain):
        for k in ("train_loss", "test_loss", "train_error", "test_error", "l2"):
            assert getattr(line, k)[0] == pytest.approx(getattr(path, k)[0], rel=1e-5)
            assert getattr(line, k)[-1] == pytest.approx(getattr(path, k)[-1], rel=1e-5)
    # at t = 0.5 the polygonal chain sits on its bend: plain CE there equals an independent evaluation
    loss, error = recomputed_loss_and_error(model, controls[1], sample.splits()["train"])
    assert chain.train_loss[1] == pytest.approx(loss, rel=1e-4) and chain.train_error[1] == pytest.approx(error)
    half = {k: 0.25 * controls[0][k] + 0.5 * controls[1][k] + 0.25 * controls[2][k] for k in names}  # Bezier(1/2)
    assert bent.l2[1] == pytest.approx(0.5 * wd * sum(float((v.double() ** 2).sum()) for v in half.values()))
    assert bent.train_objective[1] == pytest.approx(bent.train_loss[1] + bent.l2[1])
    b = curves.barriers(line)
    assert b["train_ce"] == pytest.approx(curves.barrier(line.train_loss))
    assert b["train_objective"] == pytest.approx(curves.barrier([x + y for x, y in zip(line.train_loss, line.l2)]))
    monkeypatch.setattr(curves, "evaluate_curve", lambda *a, **k: pytest.fail("evaluated twice"))
    again = curves.line_and_curves(model, trained, sample, points=3, weight_decay=wd, cache_dir=tmp_path)
    assert again["bezier"].train_loss == bent.train_loss
    with pytest.raises(ValueError, match="test_subset"):
        curves.line_and_curves(model, trained, Sample("synthetic", 32), points=3, cache_dir=tmp_path)
    other = curves.Curve("bezier", (controls[0], controls[1], controls[0]))
    with pytest.raises(ValueError, match="endpoints"):
        curves.line_and_curves(model, {"a": trained["bezier"], "b": other}, sample, points=3, cache_dir=tmp_path)


def test_a_straight_curve_is_the_line():
    w1, w2 = random_point(1), random_point(2)
    line = curves.straight(w1, w2, ["a.weight", "b.weight"])
    assert line.bends == 0 and list(line.controls[0]) == ["a.weight", "b.weight"]
    for t in T_VALUES:
        for k in ("a.weight", "b.weight"):
            assert torch.allclose(line.at(t)[k], (1 - t) * w1[k] + t * w2[k], atol=1e-6)


def test_curve_training_in_bf16_keeps_float32_bends(tiny_net):
    split = data.synthetic(64, seed=3)
    ends = [{k: v.detach().clone() for k, v in tiny_net(s).state_dict().items()} for s in (1, 2)]
    curve = curves.train_curve(tiny_net(0), ends[0], ends[1], split,
                               curves.CurveConfig(epochs=1, batch_size=32, augment=False, precision="bf16"))
    assert all(v.dtype == torch.float32 for v in curve.controls[1].values())
    assert not any(torch.equal(curve.controls[1][k], 0.5 * (ends[0][k] + ends[1][k])) for k in curve.controls[1]
                   if k.endswith("weight"))  # the bend moved off the line
    with pytest.raises(ValueError, match="precision"):
        curves.CurveConfig(precision="fp8")


def test_bn_over_augmented_batches_for_networks_trained_with_augmentation(tiny_net, tmp_path):
    """Paths and planes of augmented runs recompute BN over one fixed draw of augmented batches (as Garipov et
    al.'s update_bn over their augmented loader) and score the clean images; without augmentation nothing
    changes, down to the cache files' names."""
    from lossviz.base.data import Sample
    model = tiny_net(0)
    split = data.synthetic(48, seed=0)
    assert curves.bn_batches(split, 16, augmented=False) is None
    drawn = curves.bn_batches(split, 16, augmented=True)
    again = curves.bn_batches(split, 16, augmented=True)
    clean = list(data.batches(split, 16))
    assert len(drawn) == len(clean) and all(torch.equal(a[0], b[0]) for a, b in zip(drawn, again))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(drawn, clean))
    theta = {k: v.detach() for k, v in tiny_net(1).named_parameters()}
    test_split = data.synthetic(32, seed=1)
    plain = curves.evaluate_point(model, theta, split, test_split, batch_size=16)
    augmented = curves.path_evaluator(model, split, test_split, batch_size=16, bn_augmented=True)(theta)
    loss, error = recomputed_loss_and_error(model, theta, split, bn_augmented=True)
    assert augmented["train_loss"] == pytest.approx(loss, rel=1e-5) and augmented["train_error"] == pytest.approx(error)
    assert augmented["train_loss"] != pytest.approx(plain["train_loss"], rel=1e-3)
    names = [k for k, _ in model.named_parameters()]
    controls = tuple(curves.parameters(tiny_net(s).state_dict(), names) for s in (1, 2, 3))
    sample = Sample("synthetic", 32, 32, batch_size=16)
    paths = {"bezier": curves.Curve("bezier", controls)}
    clean_paths = curves.along(model, paths, sample, points=3, cache_dir=tmp_path)
    assert curves.along(model, paths, sample, points=3, cache_dir=tmp_path, bn_augmented=False) == clean_paths
    assert len(list(tmp_path.glob("paths-*"))) == 1
    bent = curves.along(model, paths, sample, points=3, cache_dir=tmp_path, bn_augmented=True)["bezier"]
    assert len(list(tmp_path.glob("paths-*"))) == 2
    p = curves.plane_through(model, [tiny_net(s).state_dict() for s in (1, 2, 3)])
    plane_sample = Sample("synthetic", 48, 0, batch_size=16)
    kept = curves.plane_surface(p, model, plane_sample, points=3, margin=0.1, out_dir=tmp_path / "planes")
    moved = curves.plane_surface(p, model, plane_sample, points=3, margin=0.1, out_dir=tmp_path / "planes",
                                 bn_augmented=True)
    assert len(list((tmp_path / "planes").glob("plane-*.h5"))) == 2
    for j, i in [(0, 0), (2, 1)]:
        at = p.at(moved.xcoordinates[i], moved.ycoordinates[j])
        assert moved["train_loss"][j, i] == pytest.approx(
            recomputed_loss_and_error(model, at, plane_sample.splits()["train"], bn_augmented=True)[0], rel=1e-4)
        assert kept["train_loss"][j, i] == pytest.approx(
            recomputed_loss_and_error(model, at, plane_sample.splits()["train"])[0], rel=1e-4)
    assert bent.train_loss[0] != pytest.approx(clean_paths["bezier"].train_loss[0], rel=1e-3)
