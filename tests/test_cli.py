"""`python -m lossviz surface|interpolate`: files, bad arguments, resuming after kill -9, two-process sharding."""
import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lossviz import cli
from lossviz.base import data, io, models
from lossviz.base import directions as dirs

pytestmark = pytest.mark.usefixtures("one_thread")


REPO = Path(__file__).resolve().parents[1]
GRID = ["--x=-1:1:5", "--y=-1:1:4"]  # 20 points, non-square


def direct(model: torch.nn.Module, split: data.Split, point=None) -> tuple[float, float]:
    """Loss and accuracy (%) of a copy of `model` holding `point`, by one plain eval-mode forward pass (not lossviz's
    evaluation, which the command uses)."""
    net = copy.deepcopy(model).eval()
    net.load_state_dict(point or {}, strict=False)
    with torch.no_grad():
        logits = net(data.normalize(split.images))
    loss = float(torch.nn.functional.cross_entropy(logits, split.labels))
    return loss, 100.0 * float((logits.argmax(1) == split.labels).double().mean())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder with two resnet20 checkpoints (the second in the reference's {'state_dict': ...} form)."""
    folder = tmp_path_factory.mktemp("cli")
    for seed, name in ((0, "a.pt"), (1, "b.pt")):
        torch.manual_seed(seed)
        model = models.get("resnet20")
        model.train()
        with torch.no_grad():
            for x, _ in data.batches(data.synthetic(16, seed=seed), 16):
                model(x)  # BN statistics that differ between the checkpoints
        state = model.state_dict()
        torch.save(state if seed == 0 else {"state_dict": state, "acc": 0.0}, folder / name)
    return folder


def common(workdir: Path, out: str) -> list[str]:
    return ["--model", "resnet20", "--checkpoint", str(workdir / "a.pt"), "--data", "synthetic",
            "--train-subset", "4", "--batch-size", "4", "--device", "cpu", "--precision", "fp32", "--no-progress",
            "--out", str(workdir / out)]


def same_surface(a: io.Surface, b: io.Surface) -> bool:
    return (a.done.all() and b.done.all() and sorted(a.values) == sorted(b.values)
            and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a.values))


def env() -> dict[str, str]:
    """Subprocess environment: this checkout importable, one thread per process (as in this process)."""
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def reference(workdir) -> io.Surface:
    """The uninterrupted single-process run of the grid the subprocess tests use."""
    assert cli.main(["surface", *common(workdir, "ref.h5"), *GRID, "--dir-file", str(workdir / "plane.h5")]) == 0
    return io.load_surface(workdir / "ref.h5")


def test_surface_file_matches_direct_evaluation(workdir, reference, capsys):
    assert reference["train_loss"].shape == (4, 5) and "test_loss" not in reference.values
    assert reference.attrs["model"] == "resnet20" and reference.attrs["kind"] == "params"
    assert io.direction_attrs(workdir / "plane.h5")[0]["norm"] == "filter"
    model = cli.load_model("resnet20", str(workdir / "a.pt"), 10, torch.device("cpu"))
    theta = dirs.weights(model)
    delta, eta = io.load_directions(workdir / "plane.h5", theta)
    alpha, beta = reference.xcoordinates[3], reference.ycoordinates[1]  # off the diagonal
    point = dirs.add(dirs.add(theta, delta, alpha), eta, beta)
    loss, acc = direct(model, data.synthetic(4), point)
    assert reference["train_loss"][1, 3] == pytest.approx(loss, rel=1e-5)
    assert reference["train_acc"][1, 3] == pytest.approx(acc)


def test_interpolate_endpoints_are_the_two_models(workdir, capsys):
    args = [*common(workdir, "line.h5"), "--checkpoint2", str(workdir / "b.pt"), "--x=0:1:2", "--test-subset", "4",
            "--bn", "eval"]
    assert cli.main(["interpolate", *args]) == 0
    line = io.load_surface(workdir / "line.h5")
    assert line.ycoordinates is None and list(line.xcoordinates) == [0.0, 1.0]
    for k, name in enumerate(("a.pt", "b.pt")):
        model = cli.load_model("resnet20", str(workdir / name), 10, torch.device("cpu"))
        expected = direct(model, data.synthetic(4))[0]
        assert line["train_loss"][k] == pytest.approx(expected, rel=1e-5)
    assert "computing 2 of 2 points" in capsys.readouterr().out


def test_interpolate_recomputes_bn_by_default_so_no_point_is_undefined(workdir, tmp_path, capsys):
    """Outside [0, 1] interpolated BN variances go negative: NaN with --bn eval (and said so), finite by default."""
    theta_a = torch.load(workdir / "a.pt")
    theta_b = dict(theta_a)
    for k in [k for k in theta_a if k.endswith("running_var")]:
        theta_a[k] = torch.full_like(theta_a[k], 0.1)
        theta_b[k] = torch.full_like(theta_b[k], 1.0)  # at alpha = -0.5: 1.5 * 0.1 - 0.5 * 1.0 < 0
    torch.save(theta_a, tmp_path / "a.pt")
    torch.save(theta_b, tmp_path / "b.pt")
    args = ["--model", "resnet20", "--checkpoint", str(tmp_path / "a.pt"), "--checkpoint2", str(tmp_path / "b.pt"),
            "--data", "synthetic", "--train-subset", "8", "--device", "cpu", "--no-progress", "--x=-0.5:1:4"]
    assert cli.main(["interpolate", *args, "--out", str(tmp_path / "eval.h5"), "--bn", "eval"]) == 0
    said = capsys.readouterr().out
    assert np.isnan(io.load_surface(tmp_path / "eval.h5")["train_loss"][0])
    assert "1 of 4 points have an undefined loss" in said and "(-0.5)" in said and "--bn recompute" in said
    assert cli.main(["interpolate", *args, "--out", str(tmp_path / "default.h5")]) == 0
    line = io.load_surface(tmp_path / "default.h5")
    assert line.attrs["bn"] == "recompute" and np.isfinite(line["train_loss"]).all()
    assert "undefined" not in capsys.readouterr().out


def test_default_precision_is_fp32_with_a_hint_where_bf16_is_native(workdir, tmp_path, capsys, monkeypatch):
    """The command line measures: fp32 unless asked (comparable with the reference); "auto" follows the hardware."""
    from lossviz.base import precision
    args = ["--model", "resnet20", "--checkpoint", str(workdir / "a.pt"), "--data", "synthetic", "--train-subset", "4",
            "--device", "cpu", "--no-progress", "--x=-1:1:2"]
    for units in ((), ("AMX-BF16",)):
        monkeypatch.setattr(precision, "cpu_bf16_units", lambda units=units: units)
        out = tmp_path / f"default{len(units)}.h5"
        assert cli.main(["surface", *args, "--out", str(out)]) == 0
        assert io.load_surface(out).attrs["precision"] == "fp32"
        said = capsys.readouterr().out
        assert "precision fp32 (the default) on cpu" in said
        assert ("--precision bf16 runs natively on this cpu (AMX-BF16)" in said) == bool(units)
    for units, chosen in (((), "fp32"), (("AMX-BF16",), "bf16")):
        monkeypatch.setattr(precision, "cpu_bf16_units", lambda units=units: units)
        assert cli.main(["surface", *args, "--precision", "auto", "--out", str(tmp_path / f"{chosen}.h5")]) == 0
        assert io.load_surface(tmp_path / f"{chosen}.h5").attrs["precision"] == chosen
        assert f"precision auto -> {chosen} on cpu" in capsys.readouterr().out
    assert cli.build_parser().parse_args(["surface", *args, "--out", "x.h5"]).batch_size is None
    assert data.eval_batch_size("cpu") == 128 and data.eval_batch_size("cuda") == 1000


@pytest.mark.parametrize("extra, message", [
    (["--x=1:2"], "--x='1:2' must look like min:max:num"),
    (["--x=-1:1:0"], "num=0"),
    (["--y=a:b:3"], "--y="),
    (["--train-subset", "0"], "no data"),
])
def test_bad_values_exit_nonzero_with_a_message(workdir, capsys, extra, message):
    assert cli.main(["surface", *common(workdir, "bad.h5"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (workdir / "bad.h5").exists()


def test_bad_choices_are_argparse_errors(workdir, capsys):
    for extra in (["--norm", "filtre"], ["--bn", "train"], ["--kind", "weights"], ["--data", "mnist"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["surface", *common(workdir, "bad.h5"), *extra])
        assert exit_info.value.code == 2
        assert "invalid choice" in capsys.readouterr().err


def test_mismatches_are_refused(workdir, reference, capsys):
    plane = ["--dir-file", str(workdir / "plane.h5")]
    assert cli.main(["surface", *common(workdir, "ref.h5"), *GRID, *plane, "--seed", "3"]) == 2
    assert "--seed=3 but" in capsys.readouterr().err
    before = (workdir / "ref.h5").read_bytes()
    assert cli.main(["surface", *common(workdir, "ref.h5"), "--x=-1:1:7", "--y=-1:1:4", *plane]) == 2
    assert "another request" in capsys.readouterr().err
    assert (workdir / "ref.h5").read_bytes() == before
    wrong = common(workdir, "vgg.h5")
    wrong[1] = "vgg9"
    assert cli.main(["surface", *wrong]) == 2
    assert "does not fit --model vgg9" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_after_kill_computes_only_the_rest(workdir, reference, capsys):
    out = workdir / "killed.h5"
    args = [*common(workdir, "killed.h5"), *GRID, "--dir-file", str(workdir / "plane.h5"), "--save-every", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "lossviz", "surface", *args], cwd=workdir, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if out.exists() and io.load_surface(out).done.sum() >= 2:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    done = int(io.load_surface(out).done.sum())  # the file is whole, whenever the kill came
    assert 2 <= done < 20
    assert cli.main(["surface", *args]) == 0
    assert f"computing {20 - done} of 20 points" in capsys.readouterr().out
    resumed = io.load_surface(out)
    assert same_surface(resumed, reference) and resumed.attrs == reference.attrs
    assert out.read_bytes() == (workdir / "ref.h5").read_bytes()  # the same file, as if never interrupted


@pytest.mark.slow
def test_two_process_sharding_matches_one_process(workdir, reference):
    args = [*common(workdir, "sharded.h5"), *GRID, "--dir-file", str(workdir / "plane.h5"), "--save-every", "4"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "lossviz", "surface", *args]
    result = subprocess.run(command, check=False, cwd=workdir, env=env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("computing 20 of 20 points") == 1  # rank 0 speaks for both
    sharded = io.load_surface(workdir / "sharded.h5")
    assert same_surface(sharded, reference) and sharded.attrs == reference.attrs


@pytest.mark.slow
def test_a_second_run_on_the_same_output_is_refused_while_the_first_runs(workdir, tmp_path, capsys):
    """Two requests (seeds 0 and 1) on one --out: the second is refused on one line; the first's file and its
    direction file stay a pair."""
    out = tmp_path / "shared.h5"
    args = [*common(workdir, "x.h5")[:-1], str(out), "--x=-1:1:400", "--save-every", "1"]
    first = subprocess.Popen([sys.executable, "-m", "lossviz", "surface", *args, "--seed", "0"], cwd=tmp_path,
                             env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and io.load_surface(out).done.any()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cli.main(["surface", *args, "--seed", "1"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{out} is in use by another run (process {first.pid})" in err[0], err
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) == 130, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    saved = io.load_surface(out)
    plane = cli.default_dir_file(str(out))
    assert io.direction_attrs(plane)[0]["seed"] == 0 and saved.dir_file == plane
    model = cli.load_model("resnet20", str(workdir / "a.pt"), 10, torch.device("cpu"))
    found = io.load_directions(plane, dirs.weights(model))
    assert saved.attrs["directions_sha256"] == dirs.fingerprint({f"0.{k}": v for k, v in found[0].items()})
    assert not list(tmp_path.glob(".*.lock"))


def test_a_symlinked_output_is_written_through(workdir, tmp_path, capsys):
    (tmp_path / "store").mkdir()
    link, target = tmp_path / "link.h5", tmp_path / "store" / "surface.h5"
    link.symlink_to(target)  # dangling until the first save
    args = [*common(workdir, "x.h5")[:-1], str(link), "--x=-1:1:3", "--dir-file", str(workdir / "plane1d.h5")]
    assert cli.main(["surface", *args]) == 0
    assert link.is_symlink() and io.load_surface(target).complete
    half = io.load_surface(target)
    half.done[2] = False
    io.save_surface(link, half)
    assert link.is_symlink() and not io.load_surface(target).complete
    assert cli.main(["surface", *args]) == 0
    assert "computing 1 of 3 points" in capsys.readouterr().out
    assert link.is_symlink() and io.load_surface(target).complete
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["surface.h5"]


def test_a_failed_command_leaves_no_direction_file_behind(workdir, tmp_path, monkeypatch, capsys):
    """The surface file cannot be written (as in a read-only folder): the direction file made for it goes too."""
    out, plane = tmp_path / "ro" / "s.h5", tmp_path / "plane.h5"
    save = io.save_surface

    def refuse(path, found):
        if Path(path) == out:
            raise PermissionError(13, "Permission denied", str(path))
        save(path, found)

    monkeypatch.setattr(io, "save_surface", refuse)
    args = [*common(workdir, "x.h5")[:-1], str(out), "--x=-1:1:3", "--dir-file", str(plane)]
    assert cli.main(["surface", *args]) == 2
    assert "Permission denied" in capsys.readouterr().err
    assert not plane.exists() and not out.exists() and sorted(tmp_path.iterdir()) == []
    monkeypatch.setattr(io, "save_surface", save)
    assert cli.main(["surface", *args]) == 0 and plane.exists()


def test_reference_direction_files_are_checked_as_far_as_they_can_be(workdir, tmp_path, capsys):
    """A reference direction file carries no fingerprint and no settings: its shapes are checked, the rest is said,
    and options it would silently override are refused."""
    model = cli.load_model("resnet20", str(workdir / "a.pt"), 10, torch.device("cpu"))
    theta = dirs.weights(model)
    plane = tmp_path / "reference_plane.h5"
    import h5py
    with h5py.File(plane, "w") as f:  # as the reference's net_plotter.write_list: datasets 0, 1, ... per axis
        for axis, seed in (("xdirection", 5), ("ydirection", 6)):
            group = f.create_group(axis)
            for i, d in enumerate(dirs.random_directions(theta, seed, 1)[0].values()):
                group.create_dataset(str(i), data=d.numpy())
    args = [*common(workdir, "x.h5")[:-1], str(tmp_path / "s.h5"), *GRID, "--dir-file", str(plane)]
    assert cli.main(["surface", *args]) == 0
    said = capsys.readouterr().out
    assert (f"warning: {plane} records neither the checkpoint it was made for nor how (a reference-code file): "
            f"its 65 tensor shapes match --model resnet20, which is all that can be checked") in said
    for option, value in (("--seed", "3"), ("--norm", "layer"), ("--ignore", "none")):
        assert cli.main(["surface", *args, option, value]) == 2
        err = capsys.readouterr().err.strip()
        assert f"{option}={value} has no effect: the directions are read from {plane}" in err
    assert cli.main(["surface", *args, "--kind", "states"]) == 2  # BN statistics too: more tensors than the file's
    assert "xdirection holds 65 tensors, the model 128" in capsys.readouterr().err


def test_help_says_what_of_the_reference_code_is_read():
    text = " ".join(cli.build_parser().format_help().split())
    assert "checkpoints, direction files and model names of the reference code" in text
    surface_help = " ".join(cli.build_parser()._subparsers._group_actions[0].choices["surface"].format_help().split())
    assert "{'state_dict': ...}" in surface_help and "nn.DataParallel" in surface_help
