"""Command line: `python -m lossviz surface|interpolate|hessian ...` writes resumable HDF5 surface files.

Run under `torchrun --nproc_per_node N -m lossviz surface ...` to shard the points over N processes.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from lossviz.base import cache, data, devices, distributed, errors, files, grids, io, models
from lossviz.base import directions as dirs
from lossviz.base import precision as precisions
from lossviz.base.distributed import on_rank0, rank_and_world
from lossviz.compute import eigenmaps, hessian, surface

DEFAULTS = {"norm": "filter", "ignore": "biasbn", "seed": 0}  # the paper's setting
SEED_MAX = 2 ** 63 - 1  # seeds are stored as 64-bit integers
REFERENCE = ("It reads the checkpoints, direction files and model names of the reference code "
             "(tomgoldstein/loss-landscape) and writes surface files in its layout.")


def parse_axis(text: str, name: str = "x") -> tuple[float, float, int]:
    """'min:max:num' -> (min, max, num), checked as the reference's --x/--y, without making the coordinates."""
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        start, stop, num = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--{name}={text!r} must look like min:max:num, e.g. --{name}=-1:1:51") from None
    try:
        grids.check_axis(start, stop, num)
    except ValueError as error:
        raise ValueError(f"--{name}={text!r}: {error}") from None
    return start, stop, int(num)


def parse_grid(text: str, name: str = "x") -> np.ndarray:
    """'min:max:num' -> np.linspace(min, max, num), as the reference's --x/--y."""
    return grids.grid(*parse_axis(text, name))


def _subset(text: str) -> int:
    """A non-negative image count for --train-subset/--test-subset."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be >= 0")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be >= 1")
    return value


def _common_options(cmd: argparse.ArgumentParser, test_split: bool = True) -> None:
    """Model, checkpoint, data, output file and saving options, shared by every command."""
    cmd.add_argument("--model", required=True, choices=models.names(), metavar="NAME",
                     help=f"registry model (the reference code's names, with its parameter names): "
                          f"{', '.join(models.names())}")
    cmd.add_argument("--checkpoint", required=True,
                     help="state dict saved with torch.save (theta*, theta1); the reference code's "
                          "{'state_dict': ...} checkpoints and nn.DataParallel's 'module.' names are read too")
    cmd.add_argument("--data", default="cifar10", choices=data.DATASETS)
    cmd.add_argument("--data-root", default=None,
                     help="folder holding the CIFAR folders (default $LOSSVIZ_DATA or data/)")
    cmd.add_argument("--train-subset", type=_subset, default=None, metavar="N",
                     help="the first N training images (default all; 0 = skip the training set)")
    if test_split:
        cmd.add_argument("--test-subset", type=_subset, default=0, metavar="N",
                         help="the first N test images (default 0 = skip the test set)")
    cmd.add_argument("--out", required=True, help="surface HDF5 file; an unfinished one is resumed")
    cmd.add_argument("--dir-file", default=None,
                     help="direction HDF5 file (default: next to --out); reused if it exists, also one written by "
                          "the reference code (matched by position; its shapes are checked)")
    cmd.add_argument("--batch-size", type=_positive, default=None,
                     help="images per forward pass (default: fast for the device, 128 on CPUs, 1000 on GPUs)")
    cmd.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (auto: cuda if available)")
    cmd.add_argument("--save-every", type=int, default=0, metavar="K",
                     help="rewrite the file every K points (default 0: by time only)")
    cmd.add_argument("--save-seconds", type=float, default=30.0, help="rewrite the file at least this often (> 0)")
    cmd.add_argument("--no-progress", action="store_true", help="no progress bar")


def _loss_options(cmd: argparse.ArgumentParser, bn: str = "eval") -> None:
    """How the loss is evaluated at a point (surface, interpolate)."""
    cmd.add_argument("--precision", default=None, choices=precisions.CHOICES,
                     help="fp32 (default: exact, comparable with the reference code); bf16: autocast, faster where "
                          "the device computes bf16 natively (AMX or AVX512-BF16 CPUs, CUDA); auto: bf16 there, "
                          "else fp32")
    cmd.add_argument("--bn", default=bn, choices=surface.BN_MODES,
                     help=f"eval: BN running statistics as stored; recompute: re-estimate them at each point "
                          f"on the first split's images (default {bn})")
    cmd.add_argument("--fuse-bn", action="store_true", help="fold conv->BN pairs into the conv weights (bn=eval)")


def _plane_options(cmd: argparse.ArgumentParser) -> None:
    """The grid and the random directions (surface, hessian)."""
    cmd.add_argument("--x", default="-1:1:51", help="alpha grid min:max:num (write --x=-1:1:51)")
    cmd.add_argument("--y", default=None, help="beta grid min:max:num for a 2D surface (omit for 1D)")
    cmd.add_argument("--kind", default=None, choices=dirs.KINDS, help="params (default) or states (with BN buffers)")
    cmd.add_argument("--norm", default=None, choices=dirs.NORMS, help="direction normalization (default filter)")
    cmd.add_argument("--ignore", default=None, choices=dirs.IGNORES,
                     help="biasbn (default): zero for 1-D tensors; none: normalize them too")
    cmd.add_argument("--seed", type=int, default=None, help="seed of the random directions (default 0)")
    cmd.add_argument("--orthogonal", action="store_true", help="Gram-Schmidt the y direction against x")
    cmd.add_argument("--reuse-directions", action="store_true",
                     help="use an existing --dir-file even if it was made for another checkpoint")


def build_parser() -> argparse.ArgumentParser:
    """The `surface`, `interpolate` and `hessian` commands and their options."""
    parser = argparse.ArgumentParser(prog="python -m lossviz", description=__doc__.splitlines()[0], epilog=REFERENCE)
    commands = parser.add_subparsers(dest="command", required=True)
    surface_cmd = commands.add_parser("surface", help="loss along 1 or 2 random directions (Li et al. 2018)",
                                      epilog=REFERENCE)
    interp_cmd = commands.add_parser("interpolate", help="loss on the line through two checkpoints", epilog=REFERENCE)
    hessian_cmd = commands.add_parser("hessian", help="Hessian min_eig/max_eig on the random plane (Li et al. Fig. 7)",
                                      epilog=REFERENCE)
    for cmd in (surface_cmd, interp_cmd):
        _common_options(cmd)
    _loss_options(surface_cmd)
    _loss_options(interp_cmd, bn="recompute")  # interpolated BN variances go negative outside [0, 1]
    _plane_options(surface_cmd)
    interp_cmd.add_argument("--checkpoint2", required=True, help="state dict of the second model (theta2)")
    interp_cmd.add_argument("--x", default="-0.5:1.5:41", help="alpha grid min:max:num (alpha=0: theta1, 1: theta2)")
    interp_cmd.add_argument("--kind", default="states", choices=dirs.KINDS,
                            help="states (default: BN statistics move too, so alpha=1 is model 2) or params")
    _common_options(hessian_cmd, test_split=False)
    _plane_options(hessian_cmd)
    hessian_cmd.add_argument("--params", default="all", choices=hessian.PARAMS,
                             help="Hessian over all parameters, or only the matrices (dim > 1) as the reference")
    hessian_cmd.add_argument("--tol", type=float, default=1e-2,
                             help="relative Ritz residual that stops Lanczos (0 < tol < 1)")
    hessian_cmd.add_argument("--max-steps", type=_positive, default=100, help="at most this many HVPs per point")
    hessian_cmd.add_argument("--floor", type=float, default=1e-2,
                             help="stop refining an end below floor * lambda_max in magnitude (0 to 1)")
    hessian_cmd.add_argument("--lanczos-seed", type=int, default=0, help="seed of the Lanczos start vector")
    hessian_cmd.add_argument("--method", default="cached", choices=hessian.METHODS,
                             help="Hessian-vector products: cached (fastest), reverse (least memory), forward")
    return parser


# ---- setup ------------------------------------------------------------------------------------------------

def check_options(args: argparse.Namespace) -> None:
    """Raise ValueError naming the option (as typed) of any number out of range, NaN or infinite, and of a
    --data-root that does not exist, before any work."""
    if args.save_every < 0:
        raise ValueError(f"--save-every={args.save_every} must be a whole number of points >= 0 (0: by time only)")
    if not (math.isfinite(args.save_seconds) and args.save_seconds > 0):
        raise ValueError(f"--save-seconds={args.save_seconds} must be a finite number of seconds > 0")
    for name in ("seed", "lanczos_seed"):
        value = getattr(args, name, None)
        if value is not None and not 0 <= value <= SEED_MAX:
            raise ValueError(f"--{name.replace('_', '-')}={value} must be a whole number from 0 to 2**63 - 1")
    if args.command == "hessian":
        if not (math.isfinite(args.tol) and 0 < args.tol < 1):
            raise ValueError(f"--tol={args.tol} must be a finite number > 0 and < 1 (a relative residual)")
        if not (math.isfinite(args.floor) and 0 <= args.floor <= 1):
            raise ValueError(f"--floor={args.floor} must be a finite number from 0 to 1 (a fraction of lambda_max)")
    if args.data_root is not None and args.data != "synthetic" and not Path(args.data_root).is_dir():
        problem = "is a file, not a folder" if Path(args.data_root).exists() else "does not exist"
        raise ValueError(f"--data-root {args.data_root} {problem}: name the folder that holds "
                         f"{data.FOLDERS[args.data]}/, or create it first")


def load_state(path: str, log: Callable[[str], None] | None = None) -> dict[str, torch.Tensor]:
    """A state dict from torch.save: the dict itself, or its 'state_dict' entry (reference checkpoints); names
    saved from nn.DataParallel lose their 'module.' prefix (said with `log`). NaN or infinite values are refused."""
    if Path(path).is_dir():
        raise ValueError(f"checkpoint {path!r} is a folder, not a checkpoint file")
    if not Path(path).is_file():
        raise ValueError(f"checkpoint {path!r} does not exist")
    stored = cache.torch_load(path, f"checkpoint {path!r}", "save model.state_dict() with torch.save")
    if isinstance(stored, dict) and isinstance(stored.get("state_dict"), dict):
        stored = stored["state_dict"]
    if not isinstance(stored, dict) or not all(isinstance(v, torch.Tensor) for v in stored.values()):
        raise ValueError(f"checkpoint {path!r} is not a state dict (a dict of tensors, or one under 'state_dict')")
    prefix = "module."
    if stored and all(isinstance(k, str) and k.startswith(prefix) for k in stored):
        stored = {k[len(prefix):]: v for k, v in stored.items()}
        if log is not None:
            log(f"removed the prefix {prefix!r} (nn.DataParallel) from the {len(stored)} tensor names of {path}")
    bad = [k for k, v in stored.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"checkpoint {path!r} holds NaN or infinite values in {len(bad)} of its {len(stored)} "
                         f"tensors: {_first(bad)}; refused before any work")
    return stored


def _first(names: Sequence[str], count: int = 3) -> str:
    """The first `count` names, then '...' if there are more."""
    return ", ".join(list(names[:count]) + (["..."] if len(names) > count else []))


def misfit(state: dict[str, torch.Tensor], model: nn.Module) -> str:
    """What keeps `state` from loading into `model`, in a few words ("" when its names and shapes fit)."""
    own = model.state_dict()
    extra = [k for k in state if k not in own]
    missing = [k for k in own if k not in state]
    shapes = [k for k in state if k in own and tuple(state[k].shape) != tuple(own[k].shape)]
    parts = []
    if extra:
        parts.append(f"{len(extra)} of its {len(state)} tensors are not in the model ({_first(extra)})")
    if missing:
        parts.append(f"{len(missing)} of the model's {len(own)} are missing ({_first(missing)})")
    if shapes:
        first = shapes[0]
        parts.append(f"{len(shapes)} have another shape ({first}: {tuple(state[first].shape)} in the checkpoint, "
                     f"{tuple(own[first].shape)} in the model{', ...' if len(shapes) > 1 else ''})")
    return "; ".join(parts)


def load_model(name: str, checkpoint: str, num_classes: int, device: torch.device,
               log: Callable[[str], None] | None = None) -> nn.Module:
    """Registry model `name` holding the checkpoint's weights, on `device`, in eval mode."""
    model = models.get(name, num_classes)
    state = load_state(checkpoint, log)
    problem = misfit(state, model)
    if problem:
        raise ValueError(f"checkpoint {checkpoint!r} does not fit --model {name}: {problem}")
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"checkpoint {checkpoint!r} does not fit --model {name}: "
                         f"{errors.one_line(error)[:300]}") from None
    return model.to(device).eval()


def resolve_device(text: str) -> torch.device:
    """The device to run on (`devices.resolve`: auto is CUDA, else MPS, else the CPU; a device that is not there is a
    one-line error naming those that are); under torchrun on CUDA this rank's own GPU (`distributed.rank_device`)."""
    try:
        device = devices.resolve(text)
    except ValueError as error:
        raise ValueError(f"--{error}") from None
    device = distributed.rank_device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    devices.prepare(device)
    return device


def split_names(args: argparse.Namespace) -> list[str]:
    """The data splits a command evaluates on: 'train' and/or 'test'."""
    names = [name for name, wanted in (("train", args.train_subset != 0),
                                       ("test", bool(getattr(args, "test_subset", 0)))) if wanted]
    if not names:
        raise ValueError("--train-subset 0 and --test-subset 0 leave no data; evaluate on at least one split")
    return names


def splits(args: argparse.Namespace) -> dict[str, data.Split]:
    """The requested data splits by name ('train' and/or 'test')."""
    subsets = {"train": args.train_subset, "test": getattr(args, "test_subset", 0)}
    return {name: data.load(args.data, name == "train", args.data_root, subsets[name]) for name in split_names(args)}


def check_path(path: str, option: str) -> None:
    """Raise ValueError unless `path` can be written as a file (through a symbolic link: the file it points to): no
    folder above it is a file, the nearest existing one is writable, and it is no folder."""
    target = files.real(path)
    if target.is_dir():
        raise ValueError(f"{option} {path} is a folder; name a file")
    for parent in target.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{option} {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ValueError(f"{option} {path}: the folder {parent} is not writable")
            break


def check_files(out: str, dir_file: str) -> None:
    """Check --out and --dir-file before any work: writable paths, and existing files of the right kind."""
    check_path(out, "--out")
    check_path(dir_file, "--dir-file")
    for option, path, read, kind in (("--out", out, io.load_surface, "a surface file this command can resume"),
                                      ("--dir-file", dir_file, io.direction_attrs, "a direction file")):
        if not Path(path).exists():
            continue
        try:
            read(path)
        except ValueError as error:
            raise ValueError(f"{option} {path} exists and is not {kind} ({error}); "
                             f"it was not changed: choose another {option}, or remove it") from None


def _cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in tensors.items()}


def _to(tensors: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in tensors.items()}


def default_dir_file(out: str) -> str:
    """The direction file next to the surface file: a.h5 -> a.directions.h5."""
    path = Path(out)
    return str(path.with_name(path.stem + ".directions.h5"))


def _stored_kind(dir_file: str) -> str | None:
    """The kind recorded in an existing direction file, if any."""
    if not Path(dir_file).exists():
        return None
    attrs = io.direction_attrs(dir_file)
    return attrs[0].get("kind") if attrs else None


def random_plane(args: argparse.Namespace, theta: dict[str, torch.Tensor], dir_file: str,
                 log: Callable[[str], None]) -> tuple[list[dict[str, torch.Tensor]], list[dict] | None]:
    """The directions (on the CPU) read from `dir_file`, with None; or drawn and normalized, with the attributes
    to save them with once the request is checked (`io.save_directions`). Rank 0 only.

    A direction file records the fingerprint of the weights it was made for (`theta_sha256`) and how it was made;
    one made for other weights is refused unless --reuse-directions, and options that differ from (or, in a
    reference-code file that records nothing, would be overridden by) the file's are refused.
    """
    count = 1 if args.y is None else 2
    made_for = dirs.fingerprint(_cpu(theta))
    asked = {k: getattr(args, k) for k in ("kind", "norm", "ignore", "seed") if getattr(args, k) is not None}
    if args.orthogonal:
        asked["orthogonal"] = True
    if Path(dir_file).exists():
        found = io.load_directions(dir_file, theta)  # the count and shapes of its tensors are checked
        stored = io.direction_attrs(dir_file)
        for name, value in asked.items():
            have = stored[0].get(name)
            if have is None and name != "kind":  # the kind chose `theta`, whose shapes the file matched
                raise ValueError(f"--{name}={value} has no effect: the directions are read from {dir_file}, which does "
                                 f"not record its {name}; drop --{name}, or choose another --dir-file/--out")
            if have is not None and have != value:
                raise ValueError(f"--{name}={value} but {dir_file} was made with {name}={have}; "
                                 f"drop --{name}, or choose another --dir-file/--out")
        if "theta_sha256" not in stored[0]:
            log(f"warning: {dir_file} records neither the checkpoint it was made for nor how (a reference-code "
                f"file): its {len(theta)} tensor shapes match --model {args.model}, which is all that can be checked")
        elif stored[0]["theta_sha256"] != made_for and not args.reuse_directions:
            raise ValueError(f"--dir-file {dir_file} was made for another checkpoint than {args.checkpoint}; "
                             f"pass --reuse-directions to use it anyway, or choose another --dir-file/--out")
        if len(found) < count:
            raise ValueError(f"{dir_file} holds 1 direction; a 2D surface (--y) needs 2: choose another --dir-file")
        if len(found) > count:
            log(f"using the xdirection of {dir_file} (it also holds a ydirection) for this 1D surface")
        log(f"directions read from {dir_file}")
        return [_cpu(d) for d in found[:count]], None
    settings = {**DEFAULTS, "kind": "params", "orthogonal": False, **asked}
    found = dirs.random_directions(theta, settings["seed"], count, settings["norm"], settings["ignore"])
    if settings["orthogonal"] and count == 2:
        found[1] = dirs.orthogonalize(found[1], found[0])
    return [_cpu(d) for d in found], [{**settings, "axis": axis, "theta_sha256": made_for} for axis in "xy"[:count]]


def target_direction(theta1: dict[str, torch.Tensor], theta2: dict[str, torch.Tensor], dir_file: str,
                     kind: str) -> tuple[list[dict[str, torch.Tensor]], list[dict] | None]:
    """[theta2 - theta1] on the CPU, checked against `dir_file` when it exists (then with None), else with the
    attributes to save it with once the request is checked. Rank 0 only."""
    delta = _cpu(dirs.between(theta1, theta2))
    if Path(dir_file).exists():
        stored = io.load_directions(dir_file, theta1)[0]
        if dirs.fingerprint(_cpu(stored)) != dirs.fingerprint(delta):
            raise ValueError(f"{dir_file} holds another direction than checkpoint2 - checkpoint; "
                             f"choose another --dir-file/--out")
        return [delta], None
    return [delta], [{"kind": kind, "norm": "none", "ignore": "none", "axis": "x",
                      "theta_sha256": dirs.fingerprint(_cpu(theta1)), "target": dirs.fingerprint(_cpu(theta2))}]


# ---- commands ----------------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> io.Surface:
    """Execute a parsed `surface`, `interpolate` or `hessian` command: check every option and the grid's size, lock
    --out and --dir-file (`files.lock`) for the whole run, then compute."""
    rank, _ = rank_and_world()
    log = print if rank == 0 else (lambda message: None)
    check_options(args)
    device = resolve_device(args.device)
    x_axis = parse_axis(args.x, "x")
    y_axis = parse_axis(args.y, "y") if getattr(args, "y", None) is not None else None
    arrays = len(eigenmaps.EIGEN_NAMES) if args.command == "hessian" else 2 * len(split_names(args))
    grids.check_size((x_axis[2],) if y_axis is None else (y_axis[2], x_axis[2]), arrays)  # before the coordinates
    xs = grids.grid(*x_axis)
    ys = None if y_axis is None else grids.grid(*y_axis)
    dir_file = args.dir_file or default_dir_file(args.out)
    check_files(args.out, dir_file)  # nothing is written before the request is checked
    with contextlib.ExitStack() as held:
        def lock() -> None:
            held.enter_context(files.lock(args.out))
            held.enter_context(files.lock(dir_file, shared=Path(dir_file).exists()))  # readers may share it
        on_rank0(lock)  # rank 0 writes; another run on these files is refused on every rank
        return _compute(args, device, xs, ys, dir_file, log)


def _compute(args: argparse.Namespace, device: torch.device, xs: np.ndarray, ys: np.ndarray | None, dir_file: str,
             log: Callable[[str], None]) -> io.Surface:
    """The body of `run`, its files locked: read, check, compute and write. A direction file this run made is
    removed again when the command fails before its surface file exists, so a failure leaves nothing new."""
    chosen = splits(args)
    num_classes = data.NUM_CLASSES[args.data]
    model = load_model(args.model, args.checkpoint, num_classes, device, log)
    kind = args.kind or _stored_kind(dir_file) or "params"
    theta = dirs.weights(model, kind)
    if args.command in ("surface", "hessian"):
        cpu_found, dir_attrs = on_rank0(lambda: random_plane(args, theta, dir_file, log))
    else:
        theta2 = dirs.weights(load_model(args.model, args.checkpoint2, num_classes, device, log), kind)
        cpu_found, dir_attrs = on_rank0(lambda: target_direction(theta, theta2, dir_file, kind))
    found = [_to(d, device) for d in cpu_found]
    if len(found) == 2:
        log(f"cosine similarity between x and y directions: {dirs.cosine(*found):.6f}")
    made = []

    def write_directions() -> None:
        """Save new directions once compute_file has checked the request (rank 0)."""
        if dir_attrs is not None:
            io.save_directions(dir_file, cpu_found, dir_attrs)
            made.append(dir_file)
            log(f"directions written to {dir_file}")

    context = {"model": args.model, "data": args.data, "kind": kind}
    batch_size = args.batch_size or data.eval_batch_size(device)
    batches = {name: data.batches(split, batch_size, device=device) for name, split in chosen.items()}
    saving = surface.Saving(every=args.save_every, seconds=args.save_seconds, progress=not args.no_progress)
    try:
        if args.command == "hessian":
            lanczos = eigenmaps.Lanczos(params=args.params, tol=args.tol, max_steps=args.max_steps,
                                        seed=args.lanczos_seed, floor=args.floor, method=args.method)
            result = eigenmaps.eigen_map_file(args.out, model, theta, found, xs, ys, batches["train"], lanczos,
                                              context=context, saving=saving, dir_file=dir_file,
                                              on_start=write_directions, log=log)
        else:
            evaluation = surface.Evaluation(bn=args.bn, fuse_bn=args.fuse_bn, batch_size=batch_size,
                                            precision=precisions.resolve(args.precision or "fp32", device))
            log(describe_precision(args.precision, device) + f"; batch size {batch_size}")
            result = surface.loss_file(args.out, model, theta, found, xs, ys, data=batches, evaluation=evaluation,
                                       context=context, saving=saving, dir_file=dir_file, on_start=write_directions,
                                       log=log)
    except Exception:
        if made and not Path(args.out).exists():
            Path(dir_file).unlink(missing_ok=True)
        raise
    log(f"wrote {args.out} ({int(result.done.sum())} of {result.done.size} points done)")
    if args.command != "hessian":
        log_undefined(result, args.bn, log)
    return result


def describe_precision(asked: str | None, device: torch.device) -> str:
    """The line saying which precision evaluates the points: `asked`, or fp32 by default with a hint where the
    device computes bf16 natively (faster there, with losses a few tenths of a percent from fp32's)."""
    if asked is not None:
        return precisions.describe(asked, device)
    line = f"precision fp32 (the default) on {device.type}"
    if precisions.native_bf16(device):
        units = precisions.cpu_bf16_units() if device.type == "cpu" else ("bf16 support",)
        line += (f"; --precision bf16 runs natively on this {device.type} ({' and '.join(units)}) and is usually "
                 f"faster, with losses a few tenths of a percent from fp32's")
    return line


def log_undefined(result: io.Surface, bn: str, log: Callable[[str], None]) -> None:
    """Say which points have an undefined (NaN or infinite) loss, and what may help."""
    bad = result.undefined()
    if not bad:
        return
    shown = ", ".join("(" + ", ".join(f"{c:g}" for c in point) + ")" for point in bad[:8])
    hint = ("; with --bn eval, BN running variances interpolated outside [0, 1] can go negative: "
            "--bn recompute re-estimates them at each point" if bn == "eval" else "")
    log(f"warning: {len(bad)} of {result.done.size} points have an undefined loss (NaN/inf), at "
        f"{shown}{', ...' if len(bad) > 8 else ''}{hint}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m lossviz`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    started = distributed.join(args.device)

    def command() -> int:
        run(args)
        return 0

    try:
        return errors.exit_status(f"python -m lossviz {args.command}", command)
    finally:
        if started:
            dist.destroy_process_group()
