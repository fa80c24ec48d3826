"""Eigenvalue maps in surface files: `surface.compute_file` with other point values, `eigenmaps.eigen_map_file` and
`python -m lossviz hessian` (values, resuming, two-process sharding, bad input)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lossviz import cli
from lossviz.base import data, io, models
from lossviz.base import directions as dirs
from lossviz.compute import eigenmaps, hessian, surface

REPO = Path(__file__).resolve().parents[1]
LANCZOS = ["--tol", "1e-2", "--max-steps", "25"]
GRID = ["--x=-0.5:0.5:3", "--y=-0.5:0.5:2"]  # 6 points, non-square


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A resnet20 checkpoint with BN statistics of the synthetic data."""
    folder = tmp_path_factory.mktemp("hessian_map")
    torch.manual_seed(0)
    model = models.get("resnet20").train()
    with torch.no_grad():
        for x, _ in data.batches(data.synthetic(16), 16):
            model(x)
    torch.save(model.state_dict(), folder / "a.pt")
    return folder


def env() -> dict[str, str]:
    """Subprocess environment: this checkout importable, one thread per process."""
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": "1"}


def args_for(workdir, out: str) -> list[str]:
    return ["hessian", "--model", "resnet20", "--checkpoint", str(workdir / "a.pt"), "--data", "synthetic",
            "--train-subset", "4", "--batch-size", "2", "--device", "cpu", "--no-progress",
            "--out", str(workdir / out), "--dir-file", str(workdir / "plane.h5"), *GRID, *LANCZOS]


@pytest.fixture(scope="module")
def reference(workdir):
    assert cli.main(args_for(workdir, "ref.h5")) == 0
    return io.load_surface(workdir / "ref.h5")


def same_values(a: io.Surface, b: io.Surface) -> bool:
    return (a.done.all() and b.done.all() and sorted(a.values) == sorted(b.values)
            and all(np.allclose(a[k], b[k], rtol=1e-6, atol=0) for k in a.values if k != "seconds"))  # timings vary


def test_values_are_hessian_extremes_at_the_point(workdir, reference):
    assert sorted(reference.values) == ["converged", "hvps", "max_eig", "min_eig", "seconds"]
    assert reference["min_eig"].shape == (2, 3)
    assert reference.attrs["quantity"] == "hessian_extremes" and reference.attrs["tol"] == 1e-2
    model = cli.load_model("resnet20", str(workdir / "a.pt"), 10, torch.device("cpu"))
    theta = dirs.weights(model)
    delta, eta = io.load_directions(workdir / "plane.h5", theta)
    alpha, beta = reference.xcoordinates[2], reference.ycoordinates[0]
    point = dirs.add(dirs.add(theta, delta, alpha), eta, beta)
    batches = list(data.batches(data.synthetic(4), 4))  # another batching: H is the mean over all images
    e = hessian.extremes(hessian.operator(model, batches, point), tol=1e-2, max_steps=25, floor=1e-2)
    assert reference["min_eig"][0, 2] == pytest.approx(e.lambda_min, rel=1e-3)
    assert reference["max_eig"][0, 2] == pytest.approx(e.lambda_max, rel=1e-3)
    assert reference["max_eig"][0, 2] > 0 > reference["min_eig"][0, 2]  # an untrained net is not convex


def test_file_layout_matches_in_memory_eigen_map(workdir, reference):
    model = cli.load_model("resnet20", str(workdir / "a.pt"), 10, torch.device("cpu"))
    theta = dirs.weights(model)
    delta, eta = io.load_directions(workdir / "plane.h5", theta)
    xs, ys = reference.xcoordinates, reference.ycoordinates
    batches = list(data.batches(data.synthetic(4), 2))
    direct = eigenmaps.eigen_map(model, batches, theta, delta, eta, xs, ys, eigenmaps.Lanczos(tol=1e-2, max_steps=25))
    assert reference["min_eig"].shape == direct.lambda_min.shape == (len(ys), len(xs))  # both z[j, i]
    assert np.allclose(reference["min_eig"], direct.lambda_min, rtol=1e-3)
    assert np.allclose(reference["max_eig"], direct.lambda_max, rtol=1e-3)
    assert np.array_equal(reference["converged"].astype(bool), direct.converged)


def test_resume_computes_only_the_missing_points(workdir, reference, capsys):
    partial = io.load_surface(workdir / "ref.h5")
    done = partial.done.copy()
    done.flat[[1, 4]] = False
    io.save_surface(workdir / "partial.h5", io.Surface(partial.xcoordinates, partial.ycoordinates, partial.values,
                                                       done, partial.attrs, partial.dir_file))
    capsys.readouterr()
    assert cli.main(args_for(workdir, "partial.h5")) == 0
    assert "computing 2 of 6 points" in capsys.readouterr().out
    assert same_values(io.load_surface(workdir / "partial.h5"), reference)
    assert cli.main(args_for(workdir, "partial.h5")) == 0
    assert "computing 0 of 6 points" in capsys.readouterr().out


def test_a_complete_file_computes_nothing(workdir, reference, monkeypatch):
    model = cli.load_model("resnet20", str(workdir / "a.pt"), 10, torch.device("cpu"))
    theta = dirs.weights(model)
    found = io.load_directions(workdir / "plane.h5", theta)
    monkeypatch.setattr(hessian, "operator", lambda *a, **k: pytest.fail("computed a point of a finished file"))
    batches = list(data.batches(data.synthetic(4), 2))
    again = eigenmaps.eigen_map_file(workdir / "ref.h5", model, theta, found, reference.xcoordinates,
                                     reference.ycoordinates, batches, eigenmaps.Lanczos(tol=1e-2, max_steps=25),
                                     context={k: reference.attrs[k] for k in ("model", "data", "kind")}, log=None)
    assert same_values(again, reference)


@pytest.mark.slow
def test_two_process_sharding_matches_one_process(workdir, reference):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "lossviz", *args_for(workdir, "sharded.h5"), "--save-every", "2"]
    result = subprocess.run(command, cwd=workdir, env=env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("computing 6 of 6 points") == 1
    sharded = io.load_surface(workdir / "sharded.h5")
    assert same_values(sharded, reference) and sharded.attrs == reference.attrs


def test_other_settings_and_other_files_are_refused(workdir, reference, capsys):
    before = (workdir / "ref.h5").read_bytes()
    assert cli.main([*args_for(workdir, "ref.h5"), "--tol", "1e-3"]) == 2
    assert "another request" in capsys.readouterr().err
    assert (workdir / "ref.h5").read_bytes() == before
    surface_args = ["surface", *args_for(workdir, "loss.h5")[1:-len(LANCZOS)]]
    assert cli.main(surface_args) == 0
    assert cli.main(args_for(workdir, "loss.h5")) == 2  # a loss surface is no eigenvalue map
    assert "arrays" in capsys.readouterr().err


def test_bad_cli_input(workdir, capsys):
    with pytest.raises(SystemExit):
        cli.main([*args_for(workdir, "bad.h5"), "--test-subset", "4"])  # the Hessian is of the training loss
    assert "unrecognized arguments" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([*args_for(workdir, "bad.h5"), "--params", "biases"])
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main([*args_for(workdir, "bad.h5"), "--tol", "0"]) == 2
    assert "--tol=0.0 must be a finite number > 0 and < 1" in capsys.readouterr().err
    assert not (workdir / "bad.h5").exists()


def test_point_values_are_stored_by_name(tmp_path):
    model = torch.nn.Linear(3, 2)
    theta = dirs.weights(model)
    delta = {k: torch.ones_like(v) for k, v in theta.items()}
    xs = np.linspace(-1, 1, 5)
    wanted = surface.request(model, theta, [delta], xs, None, ["sq_norm"], {"quantity": "squared norm"})
    s = surface.compute_file(tmp_path / "norm.h5", wanted, theta, [delta], lambda: lambda p: {
        "sq_norm": sum(float((t.double() ** 2).sum()) for t in p.values())}, log=None)
    expected = [sum(float(((v.double() + a) ** 2).sum()) for v in theta.values()) for a in xs]
    assert np.allclose(s["sq_norm"], expected) and list(io.load_surface(tmp_path / "norm.h5").values) == ["sq_norm"]
    assert io.load_surface(tmp_path / "norm.h5").attrs["quantity"] == "squared norm"


def test_point_values_bad_input(tmp_path):
    model = torch.nn.Linear(3, 2)
    theta = dirs.weights(model)
    delta = [{k: torch.ones_like(v) for k, v in theta.items()}]
    xs = [0.0, 1.0]
    with pytest.raises(ValueError, match="names"):
        surface.request(model, theta, delta, xs, None, [], {})
    with pytest.raises(ValueError, match="reserved"):
        surface.request(model, theta, delta, xs, None, ["done"], {})
    with pytest.raises(ValueError, match="data must name"):
        surface.loss_request(model, theta, delta, xs, None, {})
    wanted = surface.request(model, theta, delta, xs, None, ["a"], {})
    with pytest.raises(ValueError, match="returned"):
        surface.compute_file(tmp_path / "b.h5", wanted, theta, delta, lambda: lambda p: {"b": 1.0}, log=None)
    for kwargs, message in (({"params": "biases"}, "params="), ({"method": "exact"}, "method="),
                            ({"max_steps": 0}, "max_steps="), ({"tol": float("nan")}, "tol=")):
        with pytest.raises(ValueError, match=message):
            eigenmaps.Lanczos(**kwargs)
    assert not (tmp_path / "c.h5").exists()


def test_warm_started_map_agrees_with_the_cold_one_and_says_so_in_its_request(workdir, reference, tmp_path):
    model = models.get("resnet20")
    model.load_state_dict(torch.load(workdir / "a.pt", weights_only=True))
    theta = dirs.weights(model)
    delta, eta = io.load_directions(workdir / "plane.h5", theta)  # the reference map's plane
    batches = list(data.batches(data.synthetic(4), 2))
    xs, ys = reference.xcoordinates, reference.ycoordinates
    kw = dict(saving=surface.Saving(progress=False), log=None)
    lanczos = eigenmaps.Lanczos(tol=1e-2, max_steps=25)
    cold = eigenmaps.eigen_map_file(tmp_path / "cold.h5", model, theta, [delta, eta], xs, ys, batches, lanczos, **kw)
    warm_lanczos = eigenmaps.Lanczos(tol=1e-2, max_steps=25, warm=True)
    warm = eigenmaps.eigen_map_file(tmp_path / "warm.h5", model, theta, [delta, eta], xs, ys, batches, warm_lanczos,
                                    **kw)
    scale = np.maximum(np.abs(cold["min_eig"]), 1e-2 * cold["max_eig"])
    assert np.all(np.abs(warm["max_eig"] - cold["max_eig"]) <= 2e-2 * cold["max_eig"])
    assert np.all(np.abs(warm["min_eig"] - cold["min_eig"]) <= 0.1 * scale + 2e-2 * cold["max_eig"])
    assert warm.attrs["warm"] and not cold.attrs["warm"]
    with pytest.raises(ValueError, match="warm: file has False"):  # a cold file is not resumed as a warm one
        eigenmaps.eigen_map_file(tmp_path / "cold.h5", model, theta, [delta, eta], xs, ys, batches, warm_lanczos, **kw)
