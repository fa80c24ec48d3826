"""Landscapes of trained runs: each request computed into its own file, read back for the same request, and its
values checked against a direct evaluation."""
import copy
import dataclasses

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from lossviz.base import data
from lossviz.base.schedules import Schedule
from lossviz.compute import eigenmaps, landscapes, shape, surface, train
from lossviz.compute.train import TrainConfig

CONFIG = TrainConfig(model="resnet20", dataset="synthetic", train_subset=128, test_subset=64, epochs=1,
                     batch_size=32, schedule=Schedule("constant", 0.05))
SAMPLE = data.Sample("synthetic", train_subset=64, test_subset=32, batch_size=32)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("cache")
    return [train.train(CONFIG.replace(seed=s), cache_dir=cache_dir, progress=False) for s in (0, 1)]


def direct(model: nn.Module, batches, point=None, bn_batches=None) -> tuple[float, float]:
    """Loss and accuracy (%) of a copy of `model` holding `point`, by plain eval-mode forward passes (BN statistics
    first re-estimated by torch's update_bn on `bn_batches` if given): independent of lossviz's evaluation."""
    net = copy.deepcopy(model)
    net.load_state_dict(point or {}, strict=False)
    with torch.no_grad():
        if bn_batches is not None:
            update_bn(bn_batches, net)
        net.eval()
        logits, labels = torch.cat([net(x) for x, _ in batches]), torch.cat([y for _, y in batches])
    accuracy = 100.0 * float((logits.argmax(1) == labels).double().mean())
    return float(nn.functional.cross_entropy(logits, labels)), accuracy


def plane(run, out_dir, sample=SAMPLE, **options):
    """`random_surface` of a `RandomPlane` request of `run` on `sample`."""
    return landscapes.random_surface(landscapes.RandomPlane(run.config, sample, **options), run, out_dir=out_dir)


def line(runs, out_dir, sample=SAMPLE, **options):
    """`interpolation` of an `Interpolation` request from runs[0] to runs[1] on `sample`."""
    request = landscapes.Interpolation(runs[0].config, runs[1].config, sample, **options)
    return landscapes.interpolation(request, runs[0], runs[1], out_dir=out_dir)


def test_random_surface_center_is_the_model_and_file_is_reused(runs, tmp_path, monkeypatch):
    s = plane(runs[0], dims=2, points=3, out_dir=tmp_path)
    assert s.complete and s["train_loss"].shape == (3, 3)
    batches = SAMPLE.batches()["train"]
    loss, acc = direct(runs[0].model(), batches)
    assert abs(s["train_loss"][1, 1] - loss) < 1e-5 * max(1.0, loss) and abs(s["train_acc"][1, 1] - acc) < 1e-9
    monkeypatch.setattr(surface, "evaluator", lambda *a, **k: pytest.fail("recomputed a finished file"))
    again = plane(runs[0], dims=2, points=3, out_dir=tmp_path)
    assert np.array_equal(again["train_loss"], s["train_loss"])
    assert len(list(tmp_path.glob("*.h5"))) == 1


def test_other_settings_get_their_own_file(runs, tmp_path):
    plane(runs[0], dims=1, points=3, out_dir=tmp_path)
    plane(runs[0], dims=1, points=3, norm="none", span=0.01, out_dir=tmp_path)
    assert len(list(tmp_path.glob("*.h5"))) == 2


def test_interpolation_endpoints_are_the_two_models(runs, tmp_path):
    found = line(runs, points=5, span=(0.0, 1.0), out_dir=tmp_path)
    batches = SAMPLE.batches()["test"]
    for index, run in ((0, runs[0]), (-1, runs[1])):
        loss, _ = direct(run.model(), batches)
        assert abs(found["test_loss"][index] - loss) < 1e-5 * max(1.0, loss)


def test_scale_invariance_under_recomputed_bn(runs):
    result = landscapes.scale_invariance(runs[0], SAMPLE, factors=(0.5, 1.0, 3.0))
    recomputed = result["bn recomputed"]
    assert max(recomputed) - min(recomputed) < 1e-3 * max(recomputed)
    assert max(result["bn eval"]) - min(result["bn eval"]) > 10 * (max(recomputed) - min(recomputed))
    with pytest.raises(ValueError, match="factors"):
        landscapes.scale_invariance(runs[0], SAMPLE, factors=(0.0,))


def test_bad_input():
    with pytest.raises(ValueError, match="dims"):
        landscapes.RandomPlane(CONFIG, SAMPLE, dims=3)
    with pytest.raises(ValueError, match="norm='unit'"):
        landscapes.RandomPlane(CONFIG, SAMPLE, norm="unit")
    with pytest.raises(ValueError, match="share a model"):
        landscapes.Interpolation(CONFIG, CONFIG.replace(model="resnet56"), SAMPLE)
    with pytest.raises(ValueError, match="margin"):
        landscapes.PCAPlane(CONFIG, SAMPLE, margin=-1.0)


def test_pca_surface_centers_on_the_final_weights(tmp_path):
    config = CONFIG.replace(checkpoint_epochs=(0.0, 0.5, 1.0), train_subset=64)
    run = train.train(config, cache_dir=tmp_path, progress=False)
    plane = landscapes.pca_surface(landscapes.PCAPlane(run.config, SAMPLE, points=3, margin=0.5), run,
                                   out_dir=tmp_path)
    assert plane.epochs == (0.0, 0.5, 1.0) and plane.surface.complete and plane.surface["train_loss"].shape == (3, 3)
    x, y = plane.surface.xcoordinates, plane.surface.ycoordinates
    assert x[0] < plane.pca.coords[:, 0].min() and x[-1] > plane.pca.coords[:, 0].max()  # the path is inside
    assert y[0] < plane.pca.coords[:, 1].min() and y[-1] > plane.pca.coords[:, 1].max()
    model = run.model()
    theta = {k: v for k, v in run.checkpoints[1.0].items() if v.is_floating_point()}
    point = {k: v + x[2] * plane.pca.directions[0][k] + y[0] * plane.pca.directions[1][k] for k, v in theta.items()}
    loss, _ = direct(model, SAMPLE.batches()["train"], point)
    assert abs(plane.surface["train_loss"][0, 2] - loss) < 1e-5 * max(1.0, loss)
    with pytest.raises(ValueError, match="checkpoints"):
        short = train.train(CONFIG, cache_dir=tmp_path, progress=False)
        landscapes.pca_surface(landscapes.PCAPlane(CONFIG, SAMPLE), short, out_dir=tmp_path)


def test_eigen_surface_center_and_sharpness_agree(runs, tmp_path):
    small = data.Sample("synthetic", train_subset=8, batch_size=4)
    lanczos = eigenmaps.Lanczos(tol=1e-2, max_steps=25)
    m = landscapes.eigen_surface(landscapes.EigenPlane(runs[0].config, small, points=3, lanczos=lanczos), runs[0],
                                 out_dir=tmp_path)
    assert m.complete and sorted(m.values) == ["converged", "hvps", "max_eig", "min_eig", "seconds"]
    s = landscapes.sharpness(landscapes.Sharpness(runs[0].config, small, tol=1e-2, max_steps=25, samples=3), runs[0],
                             cache_dir=tmp_path)
    assert abs(m["max_eig"][1, 1] - s["lambda_max"]) < 2e-2 * s["lambda_max"]  # same point, same Hessian
    assert s["lambda_max"] > 0 and set(s) == {"lambda_max", "trace", "trace_se", "hvps"}


def test_interpolation_with_recomputed_bn_is_defined_where_interpolated_statistics_fail(runs, tmp_path):
    """Far outside [0, 1] interpolated BN variances turn negative (NaN loss); recomputed statistics are defined
    everywhere and at the end points equal a recomputation on the end point's own weights."""
    far = {"points": 5, "span": (-6.0, 7.0), "out_dir": tmp_path}
    plain = line(runs, **far)
    fixed = line(runs, bn="recompute", **far)
    assert np.isnan(plain["train_loss"]).any() and np.isfinite(fixed["train_loss"]).all()
    ends = line(runs, bn="recompute", points=2, span=(0.0, 1.0), out_dir=tmp_path)
    batches = SAMPLE.batches()["train"]
    for index, run in ((0, runs[0]), (-1, runs[1])):
        loss, _ = direct(run.model(), batches, bn_batches=batches)
        assert abs(ends["train_loss"][index] - loss) < 1e-4 * max(1.0, loss)
    assert shape.peak_between(ends) == max(ends["train_loss"])


def test_every_input_of_a_request_gets_its_own_file(runs, tmp_path):
    """The file name is the request's key: changing any field of a request (or the run) names another file."""
    base = landscapes.RandomPlane(CONFIG, SAMPLE)
    changes = {"run": CONFIG.replace(seed=1), "sample": data.Sample("synthetic", 32, 16, 32), "dims": 1,
               "points": 5, "span": 0.5, "norm": "layer", "ignore": "none", "seed": 1, "bn": "recompute",
               "precision": "bf16", "device": "cuda"}
    assert set(changes) == {f.name for f in dataclasses.fields(base)}  # every field is tried
    files = {base.file(tmp_path)} | {dataclasses.replace(base, **{k: v}).file(tmp_path) for k, v in changes.items()}
    assert len(files) == 1 + len(changes)


def test_a_file_of_another_request_is_refused_not_overwritten(runs, tmp_path):
    """A surface file renamed to where another request's file belongs is refused, and left as it was."""
    first = landscapes.RandomPlane(runs[0].config, SAMPLE, dims=1, points=3)
    landscapes.random_surface(first, runs[0], out_dir=tmp_path)
    other = dataclasses.replace(first, seed=5)
    first.file(tmp_path).rename(other.file(tmp_path))
    before = other.file(tmp_path).read_bytes()
    with pytest.raises(ValueError, match="another request"):
        landscapes.random_surface(other, runs[0], out_dir=tmp_path)
    assert other.file(tmp_path).read_bytes() == before
