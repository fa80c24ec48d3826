"""User mistakes and interruptions, from the shell: one line naming the problem, exit status 2, nothing written.

Each case runs `python -m lossviz ...` (or the runner, or publish) as a subprocess in a folder whose files
are compared before and after, so a stray directions file or a half-written output cannot pass.
"""
import hashlib
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lossviz import cli
from lossviz.base import data, grids, io, models
from lossviz.base import directions as dirs
from lossviz.compute import surface

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[1]


def env() -> dict[str, str]:
    """This checkout importable, one thread, unbuffered output (the interrupt tests read it as it comes)."""
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too) with a digest of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(args: list[str], cwd: Path, message: str, module: str = "lossviz",
            watch: Path | None = None) -> str:
    """Run `python -m module args` in `cwd`; assert status 2, one line on stderr holding `message`, and no
    file created or changed under `watch` (default cwd). Return the line."""
    watch = watch or cwd
    before = snapshot(watch)
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env(), capture_output=True,
                            text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert message in lines[0], lines[0]
    assert lines[0].startswith(f"python -m {module}") and ": error: " in lines[0]
    assert snapshot(watch) == before
    return lines[0]


def refused_here(args: list[str], cwd: Path, message: str, capsys, monkeypatch) -> str:
    """`refused` without a subprocess (for errors found before any work): `cli.main` in `cwd`."""
    monkeypatch.chdir(cwd)
    before = snapshot(cwd)
    assert cli.main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert lines[0].startswith(f"python -m lossviz {args[0]}: error: ")
    assert snapshot(cwd) == before
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with two resnet20 checkpoints (a.pt; b.pt in the reference's {'state_dict', 'acc'} form with a
    numpy accuracy), a finished 1D surface a.h5 with its directions, and the bad files of the cases below."""
    folder = tmp_path_factory.mktemp("bad")
    states = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        states.append(models.get("resnet20").state_dict())
    torch.save(states[0], folder / "a.pt")
    torch.save({"state_dict": states[1], "acc": np.float64(91.5), "epoch": np.int64(300)}, folder / "b.pt")
    torch.manual_seed(0)
    torch.save(models.get("resnet20"), folder / "whole_model.pt")  # the model object, not its state dict
    broken = dict(states[0])
    for k, (name, value) in enumerate((("conv1.weight", math.nan), ("layer2.0.bn1.running_var", math.inf),
                                       ("linear.bias", -math.inf))):
        broken[name] = broken[name].clone()
        broken[name].view(-1)[k] = value
    torch.save(broken, folder / "nan.pt")
    torch.save(models.get("vgg9").state_dict(), folder / "vgg9.pt")  # another architecture
    torch.save({f"module.{k}": v for k, v in states[0].items()}, folder / "parallel.pt")  # nn.DataParallel's names
    (folder / "checkpoints").mkdir()
    (folder / "garbage.pt").write_bytes(b"\x00\x01 these are not the bytes of a checkpoint \xff" * 20)
    (folder / "notes.txt").write_text("not an HDF5 file\n")
    assert cli.main(["surface", *base(folder), "--x=-1:1:2", "--out", str(folder / "a.h5")]) == 0
    whole = (folder / "a.h5").read_bytes()
    (folder / "truncated.h5").write_bytes(whole[: len(whole) // 2])
    plane = (folder / "a.directions.h5").read_bytes()
    (folder / "truncated_dirs.h5").write_bytes(plane[: len(plane) // 2])
    cifar = folder / "cifar" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    gen = np.random.default_rng(0)
    for k in range(1, 6):
        batch = {"data": gen.integers(0, 256, (10, 3072), dtype=np.uint8), "labels": list(range(10))}
        (cifar / f"data_batch_{k}").write_bytes(pickle.dumps(batch))
    raw = (cifar / "data_batch_3").read_bytes()
    (cifar / "data_batch_3").write_bytes(raw[: len(raw) // 3])
    return folder


def base(folder: Path, checkpoint: str = "a.pt") -> list[str]:
    """A tiny request: resnet20 on 4 synthetic images, on the CPU in fp32."""
    return ["--model", "resnet20", "--checkpoint", str(folder / checkpoint), "--data", "synthetic",
            "--train-subset", "4", "--batch-size", "4", "--device", "cpu", "--precision", "fp32", "--no-progress"]


# ---- checkpoints -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("checkpoint, message", [
    ("whole_model.pt", "holds pickled objects ("),
    ("garbage.pt", "cannot be read"),
    ("missing.pt", "does not exist"),
    ("checkpoints", "is a folder, not a checkpoint file"),
    ("nan.pt", ("holds NaN or infinite values in 3 of its 128 tensors: conv1.weight, layer2.0.bn1.running_var, "
                "linear.bias; refused before any work")),
    ("vgg9.pt", ("does not fit --model resnet20: 58 of its 58 tensors are not in the model (features.0.weight, "
                 "features.0.bias, features.1.weight, ...); 128 of the model's 128 are missing (conv1.weight, "
                 "bn1.weight, bn1.bias, ...)")),
])
def test_bad_checkpoint(work, checkpoint, message):
    line = refused(["surface", *base(work, checkpoint), "--x=-1:1:2", "--out", "new.h5"], work, message)
    assert checkpoint in line and len(line) < 400
    if checkpoint == "whole_model.pt":
        assert "refused, not loaded; save model.state_dict() with torch.save" in line


def test_a_data_parallel_checkpoint_is_read_without_its_module_prefix(work, tmp_path, capsys):
    out = tmp_path / "parallel.h5"
    assert cli.main(["surface", *base(work, "parallel.pt"), "--x=-1:1:2", "--dir-file", str(work / "a.directions.h5"),
                     "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "removed the prefix 'module.' (nn.DataParallel) from the 128 tensor names of" in said
    assert np.array_equal(io.load_surface(out)["train_loss"], io.load_surface(work / "a.h5")["train_loss"])


def test_reference_checkpoint_with_numpy_accuracy_is_read(work, capsys):
    """{'state_dict': ..., 'acc': np.float64}: numpy scalars are data, so the checkpoint loads (weights_only)."""
    out = work / "b_line.h5"
    assert cli.main(["surface", *base(work, "b.pt"), "--x=0:0:1", "--out", str(out)]) == 0
    loss = io.load_surface(out)["train_loss"][0]
    model = models.get("resnet20")
    torch.manual_seed(1)
    model.load_state_dict(models.get("resnet20").state_dict())
    expected = surface.evaluate(model, None, data.batches(data.synthetic(4), 4))[0]
    assert loss == pytest.approx(expected, rel=1e-5) and np.isfinite(loss)
    out.unlink()
    Path(cli.default_dir_file(str(out))).unlink()


@pytest.mark.parametrize("extra, message", [
    (["--save-seconds", "nan"], "--save-seconds=nan must be a finite number of seconds > 0"),
    (["--save-seconds", "inf"], "--save-seconds=inf must be a finite number of seconds > 0"),
    (["--save-seconds", "0"], "--save-seconds=0.0 must be a finite number of seconds > 0"),
    (["--save-every", "-1"], "--save-every=-1 must be a whole number of points >= 0"),
    (["--seed", "-1"], "--seed=-1 must be a whole number from 0 to 2**63 - 1"),
    (["--seed", str(2 ** 70)], "--seed=1180591620717411303424 must be a whole number from 0 to 2**63 - 1"),
])
def test_bad_numbers_name_the_option(work, extra, message, capsys, monkeypatch):
    line = refused_here(["surface", *base(work), "--x=-1:1:2", "--out", "new.h5", *extra], work, message, capsys,
                        monkeypatch)
    assert "save_" not in line and "seed=" not in line.replace("--seed=", "")


@pytest.mark.parametrize("extra, message", [
    (["--tol", "nan"], "--tol=nan must be a finite number > 0 and < 1"),
    (["--tol", "inf"], "--tol=inf must be a finite number > 0 and < 1"),
    (["--tol", "0"], "--tol=0.0 must be a finite number > 0 and < 1"),
    (["--floor", "nan"], "--floor=nan must be a finite number from 0 to 1"),
    (["--floor", "-0.5"], "--floor=-0.5 must be a finite number from 0 to 1"),
    (["--lanczos-seed", "-3"], "--lanczos-seed=-3 must be a whole number from 0 to 2**63 - 1"),
])
def test_bad_hessian_numbers_name_the_option(work, extra, message, capsys, monkeypatch):
    hessian = [a for a in base(work) if a not in ("--precision", "fp32")]
    refused_here(["hessian", *hessian, "--x=-1:1:2", "--out", "new.h5", *extra], work, message, capsys, monkeypatch)


@pytest.mark.parametrize("device", ["mps", "xpu", "meta", "cuda", "cuda:3", "hpu"])
def test_a_device_that_is_not_there_is_one_line(work, device, capsys, monkeypatch):
    available = "cpu" + "".join(f", cuda:{i}" for i in range(torch.cuda.device_count()))
    args = [*base(work), "--x=-1:1:2", "--out", "new.h5"]
    args[args.index("--device") + 1] = device
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    message = f"--device={device!r} is not available here; available: auto, {available}"
    if device == "mps":  # once from the shell: no traceback of any kind
        refused(["surface", *args], work, message)
    else:
        refused_here(["surface", *args], work, message, capsys, monkeypatch)


def test_a_mistyped_data_root_is_refused_and_not_created(work):
    line = refused(["surface", *base(work), "--data", "cifar10", "--data-root", str(work / "cifra"), "--x=-1:1:2",
                    "--out", "new.h5"], work, f"--data-root {work / 'cifra'} does not exist")
    assert not (work / "cifra").exists() and "could not be downloaded" not in line


# ---- output and direction files ----------------------------------------------------------------------------

@pytest.mark.parametrize("out, dir_file, message", [
    ("notes.txt", None, "--out notes.txt exists and is not a surface file"),
    ("notes.txt/x.h5", None, "notes.txt is a file, not a folder"),
    ("truncated.h5", None, "truncated"),
    ("new.h5", "truncated_dirs.h5", "--dir-file truncated_dirs.h5 exists and is not a direction file"),
    ("new.h5", "notes.txt/d.h5", "notes.txt is a file, not a folder"),
])
def test_bad_output_or_direction_file(work, out, dir_file, message):
    extra = [] if dir_file is None else ["--dir-file", dir_file]
    refused(["surface", *base(work), "--x=-1:1:2", "--out", out, *extra], work, message)


def test_truncated_cifar_batch(work):
    line = refused(["surface", *base(work), "--data", "cifar10", "--data-root", str(work / "cifar"), "--x=-1:1:2",
                    "--out", "new.h5"], work, "data_batch_3 is not a readable CIFAR batch")
    assert "replace it with the original file" in line


# ---- requests -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("grid, message", [
    (["--x=-1:1:1e9"], "num=1,000,000,000 is more than the 1,000,000 points a grid may hold"),
    (["--x=-1:1:2000", "--y=-1:1:2000"], "(2,000 x 2,000) has 4,000,000 points, more than the limit of 1,000,000"),
    (["--x=-1:1:1"], "num=1 gives the single point -1, not a range to 1"),
])
def test_bad_grid_is_refused_before_anything_is_written(work, grid, message):
    started = time.monotonic()
    line = refused(["surface", *base(work), *grid, "--out", "big.h5"], work, message)
    assert time.monotonic() - started < 60  # refused up front, not after allocating
    if "1e9" in grid[0] or "2000" in grid[0]:
        assert "LOSSVIZ_MAX_POINTS=N" in line


def test_a_huge_grid_is_refused_before_its_coordinates_exist(work, monkeypatch, capsys):
    """A raised LOSSVIZ_MAX_POINTS: the memory check comes before np.linspace allocates the coordinates."""
    monkeypatch.setenv("LOSSVIZ_MAX_POINTS", str(10 ** 12))
    monkeypatch.setattr(grids, "free_memory", lambda: 2 ** 30)  # 1 GiB free
    allocated = []
    real_linspace = np.linspace
    monkeypatch.setattr(np, "linspace", lambda *a, **k: allocated.append(a[2]) or real_linspace(*a, **k))
    for grid in (["--x=-1:1:200000000"], ["--x=-1:1:10000000000"], ["--x=-1:1:30000", "--y=-1:1:30000"]):
        assert cli.main(["surface", *base(work), *grid, "--out", str(work / "huge.h5")]) == 2
        assert "of free memory; use a coarser grid" in capsys.readouterr().err
    assert not allocated and not (work / "huge.h5").exists()


def test_the_point_limit_comes_from_the_environment(work, monkeypatch, capsys):
    monkeypatch.setenv("LOSSVIZ_MAX_POINTS", "2")
    assert cli.main(["surface", *base(work), "--x=-1:1:3", "--out", str(work / "three.h5")]) == 2
    assert "more than the 2 points" in capsys.readouterr().err
    assert not (work / "three.h5").exists() and not (work / "three.directions.h5").exists()


def test_resume_with_another_batch_size_is_refused(work, tmp_path):
    """The batches change the stored numbers (and the BN statistics with --bn recompute): no mixed file."""
    out = tmp_path / "half.h5"
    assert cli.main(["surface", *base(work), "--x=-1:1:2", "--bn", "recompute", "--dir-file",
                     str(work / "a.directions.h5"), "--out", str(out)]) == 0
    half = io.load_surface(out)
    half.done[1] = False  # as if interrupted after the first point
    io.save_surface(out, half)
    args = [*base(work), "--x=-1:1:2", "--bn", "recompute", "--dir-file", str(work / "a.directions.h5")]
    args[args.index("--batch-size") + 1] = "2"
    line = refused(["surface", *args, "--out", str(out)], tmp_path, "batch_size: file has 4, request 2")
    assert "it was not changed" in line and io.load_surface(out).done.sum() == 1


def test_another_request_writes_no_direction_file(work):
    """a.h5 was made with seed 0: new directions (seed 3, a new --dir-file) are drawn, but not saved."""
    line = refused(["surface", *base(work), "--x=-1:1:2", "--seed", "3", "--dir-file", "seed3.h5", "--out", "a.h5"],
                   work, "holds a surface for another request (directions_sha256")
    assert "it was not changed" in line


def test_directions_made_for_another_checkpoint_are_refused_unless_asked(work, tmp_path, capsys):
    dir_file = str(work / "a.directions.h5")
    line = refused(["surface", *base(work, "b.pt"), "--x=-1:1:2", "--dir-file", dir_file, "--out", "b.h5"],
                   work, "was made for another checkpoint")
    assert "--reuse-directions" in line
    out = tmp_path / "b.h5"
    assert cli.main(["surface", *base(work, "b.pt"), "--x=-1:1:2", "--dir-file", dir_file, "--out", str(out),
                     "--reuse-directions"]) == 0
    assert io.load_surface(out).complete


# ---- the runner and publish --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A project folder with one (never executed) notebook."""
    folder = tmp_path_factory.mktemp("course")
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "00_intro.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, '
                                                         '"nbformat_minor": 5}')
    return folder


@pytest.mark.parametrize("module", ["lossviz.suite.runner", "lossviz.suite.publish"])
@pytest.mark.parametrize("args, message", [
    (["--only", "99"], "only=['99'] matches no notebook in 'notebooks'; valid choices: 00_intro"),
    (["--notebooks", "/nonexistent"], "notebook folder '/nonexistent' does not exist"),
])
def test_bad_notebook_selection(course, module, args, message):
    extra = ["--profile", "smoke"] if module == "lossviz.suite.runner" else []
    refused([*extra, *args], course, message, module=module)
    assert sorted(p.name for p in course.iterdir()) == ["notebooks"]  # no runs/ folder


# ---- interruptions ---------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_saves_the_finished_points(work, tmp_path, sig, status):
    out = tmp_path / "long.h5"
    args = [*base(work), "--x=-1:1:2000", "--dir-file", str(work / "a.directions.h5"), "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "lossviz", "surface", *args], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("computing 2000 of 2000 points"):
                break
        time.sleep(1.5)  # some points done, long before the first save (every 30 s)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, stderr[-3000:]
    assert "Traceback" not in stderr
    name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    assert stderr.strip().splitlines() == [f"python -m lossviz surface: interrupted ({name})"]
    saved = io.load_surface(out)
    done = int(saved.done.sum())
    assert 1 <= done < 2000 and saved.done[:done].all()
    assert f"interrupted: {done} of 2000 points are saved in {out}" in stdout
    model = cli.load_model("resnet20", str(work / "a.pt"), 10, torch.device("cpu"))
    theta = dirs.weights(model)
    (delta,) = io.load_directions(work / "a.directions.h5", theta)[:1]
    k = done - 1  # the last point saved
    point = dirs.add(theta, delta, saved.xcoordinates[k])
    loss, acc = surface.evaluate(model, point, data.batches(data.synthetic(4), 4))
    assert saved["train_loss"][k] == pytest.approx(loss, rel=1e-5) and saved["train_acc"][k] == pytest.approx(acc)
    assert np.all(saved["train_loss"][done:] == io.UNFINISHED)
