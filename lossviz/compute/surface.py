"""Loss and accuracy along directions in weight space (Li et al. 2018, Sec. 3) and between two models.

1D: f(alpha) = L(theta* + alpha delta). 2D: f(alpha, beta) = L(theta* + alpha delta + beta eta).
Linear interpolation: theta(alpha) = (1 - alpha) theta1 + alpha theta2 = theta1 + alpha (theta2 - theta1).

Any `nn.Module`, any `loss_fn(logits, y)` returning a batch mean, any iterable of (x, y) batches.
The data are moved to the device once and reused for every point; each point is evaluated with
`torch.func.functional_call` on a shell of the model that shares no state with the caller's, so the
caller's model (weights, buffers, train/eval flag) is never changed. Accuracy is in percent, as in
the reference code and its files.
"""
from __future__ import annotations

import copy
import itertools
import math
import os
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from lossviz.base.directions import Weights
from lossviz.base import directions as dirs
from lossviz.base import io
from lossviz.base.distributed import broadcast, on_rank0, rank_and_world
from lossviz.base import precision as precisions
from lossviz.base.precision import autocast

Batches = list[tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BN_MODES = ("eval", "recompute")
FORMAT = "lossviz-surface-1"
MAX_POINTS_ENV = "LOSSVIZ_MAX_POINTS"  # raises (or lowers) the cap on grid points
DEFAULT_MAX_POINTS = 1_000_000  # a 1000 x 1000 grid; the papers' largest is 51 x 51 (hours on a GPU)
LATER_ATTRS = ("device", "dtype", "batch_size")  # recorded later: finished files written before lack them


# ---- data ---------------------------------------------------------------------------------------------

def prepare(batches: Iterable[tuple[torch.Tensor, torch.Tensor]], device: str | torch.device,
            channels_last: bool = True) -> Batches:
    """Materialize (x, y) batches on `device` once (4-D x in channels_last), for reuse at every point."""
    result = []
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        if channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        result.append((x, y))
    if not result:
        raise ValueError("data holds no batches")
    return result


# ---- evaluating one point -----------------------------------------------------------------------------

def _shell(model: nn.Module) -> nn.Module:
    """A copy of the module tree that shares the tensors (no copy) but has its own flags and attributes."""
    memo = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    return copy.deepcopy(model, memo)


def _batchnorms(module: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    """BN layers that keep running statistics, by name."""
    return {name: m for name, m in module.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats}


def _fold_plan(shell: nn.Module) -> tuple[torch.fx.GraphModule, list[tuple[str, str, float]]]:
    """Trace `shell` and drop every BN whose only input is a Conv2d used by nothing else (eval mode).

    Returns the traced module and (conv, bn, eps) name pairs whose weights `_fold` merges per point.
    """
    try:
        gm = torch.fx.symbolic_trace(shell)
    except Exception as error:  # fx raises many types for untraceable code
        raise ValueError(f"fuse_bn=True needs a model torch.fx can trace ({type(error).__name__}: {error}); "
                         f"use fuse_bn=False") from error
    modules = dict(gm.named_modules())
    pairs = []
    for node in list(gm.graph.nodes):
        bn = modules.get(node.target) if node.op == "call_module" else None
        if not (isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats and len(node.args) == 1 and not node.kwargs):
            continue
        source = node.args[0]
        conv = modules.get(source.target) if getattr(source, "op", None) == "call_module" else None
        if not isinstance(conv, nn.Conv2d) or len(source.users) != 1:
            continue
        if conv.bias is None:  # give the traced graph its own conv with a bias slot
            conv = copy.copy(conv)
            conv._parameters = {"weight": conv.weight, "bias": nn.Parameter(torch.empty(conv.out_channels))}
            parent, _, leaf = source.target.rpartition(".")
            setattr(gm.get_submodule(parent) if parent else gm, leaf, conv)
        node.replace_all_uses_with(source)
        gm.graph.erase_node(node)
        pairs.append((source.target, node.target, bn.eps))
    gm.graph.lint()
    gm.recompile()
    gm.delete_all_unused_submodules()
    return gm, pairs


def _fold(point: Mapping[str, torch.Tensor], pairs: Sequence[tuple[str, str, float]]) -> Weights:
    """Merge each eval-mode BN into its conv: W' = W s, b' = (b - mu) s + beta, s = gamma / sqrt(var + eps)."""
    out = dict(point)
    for conv, bn, eps in pairs:
        w = point[f"{conv}.weight"]
        var, mean = point[f"{bn}.running_var"], point[f"{bn}.running_mean"]
        gamma = point.get(f"{bn}.weight", torch.ones_like(var))
        beta = point.get(f"{bn}.bias", torch.zeros_like(mean))
        bias = point.get(f"{conv}.bias", torch.zeros_like(mean))
        s = gamma * torch.rsqrt(var + eps)
        out[f"{conv}.weight"] = w * s.to(w.dtype).reshape(-1, *([1] * (w.dim() - 1)))
        out[f"{conv}.bias"] = ((bias - mean) * s + beta).to(w.dtype)
        for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            out.pop(f"{bn}.{key}", None)
    return out


class _Sweep(nn.Module):
    """Runs `net` over all batches in one call, so that functional_call swaps the weights once per point."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, batches: Batches, loss_fn: LossFn | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(sum of loss x batch size, number correct or None without class labels); passes only if no loss_fn."""
        total, correct = None, None
        for i, (x, y) in enumerate(batches):
            logits = self.net(x)
            if loss_fn is None:
                continue
            logits = logits.float()
            loss = loss_fn(logits, y).double() * len(y)
            right = _correct(logits, y)
            total = loss if total is None else total + loss
            if i == 0:
                correct = right
            elif correct is not None:
                correct = None if right is None else correct + right
        return total, correct


def _correct(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """Number of correct argmax predictions (NaN when a logit is NaN or infinite: no prediction is defined),
    or None when (logits, y) are not a classification batch."""
    if logits.dim() == 2 and not y.is_floating_point() and y.dim() == 1:
        right = (logits.argmax(1) == y).sum().double()
        return torch.where(torch.isfinite(logits).all(), right, math.nan)
    return None


def evaluator(model: nn.Module, data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]],
              loss_fn: LossFn = F.cross_entropy, bn: str = "eval", precision: str = "fp32",
              bn_data: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None, fuse_bn: bool = False,
              device: str | torch.device | None = None) -> Callable[[Mapping[str, torch.Tensor]], dict[str, float]]:
    """A function point -> {"<split>_loss": mean loss, "<split>_acc": accuracy in %} over each data split.

    The point is a tensor dict (parameters and/or buffers); tensors it lacks come from `model`.
    bn="eval" uses BN running statistics as they are (the reference code); bn="recompute" first
    re-estimates them at the point with train-mode passes over `bn_data` (default: the first split),
    as a cumulative average (momentum=None). fuse_bn=True (bn="eval" only) merges each Conv2d->BN pair
    into the conv's weights and skips the BN layer: the same function, fewer passes over memory.
    Accuracy is NaN when the batches are not (logits, class labels).
    """
    dirs.check_choice("bn", bn, BN_MODES)
    precisions.check(precision)
    if fuse_bn and bn != "eval":
        raise ValueError(f"fuse_bn=True needs bn='eval' (got bn={bn!r}); BN statistics are recomputed per point")
    if not data:
        raise ValueError("data must name at least one split, e.g. {'train': batches}")
    if device is None:
        device = next(itertools.chain(model.parameters(), model.buffers())).device
    precision = precisions.resolve(precision, device)
    prepared = {name: prepare(batches, device) for name, batches in data.items()}
    bn_batches = prepare(bn_data, device) if bn_data is not None else next(iter(prepared.values()))
    shell = _shell(model).eval()
    base = {k: v.detach() for k, v in itertools.chain(shell.named_parameters(), shell.named_buffers())}
    batchnorms = _batchnorms(shell)
    for m in batchnorms.values():
        m.momentum = None  # the shell's own attribute: a cumulative average when recomputing
    net, pairs = _fold_plan(shell) if fuse_bn else (shell, [])
    keep = set(dict(itertools.chain(net.named_parameters(), net.named_buffers())))

    sweep = _Sweep(net)

    def recompute(point: Weights) -> None:
        for name, m in batchnorms.items():
            point[f"{name}.running_mean"] = torch.zeros_like(base[f"{name}.running_mean"])
            point[f"{name}.running_var"] = torch.ones_like(base[f"{name}.running_var"])
            point[f"{name}.num_batches_tracked"] = torch.zeros_like(base[f"{name}.num_batches_tracked"])
            m.train()
        try:
            functional_call(sweep, {f"net.{k}": v for k, v in point.items()}, (bn_batches, None))
        finally:
            shell.eval()

    def evaluate_point(theta: Mapping[str, torch.Tensor]) -> dict[str, float]:
        point = {**base, **theta}
        result = {}
        with torch.inference_mode(), autocast(precision, device):
            if bn == "recompute":
                recompute(point)
            if pairs:
                point = _fold(point, pairs)
            point = {f"net.{k}": v for k, v in point.items() if k in keep}
            for name, batches in prepared.items():
                total, correct = functional_call(sweep, point, (batches, loss_fn))
                count = sum(len(y) for _, y in batches)
                result[f"{name}_loss"] = float(total) / count
                result[f"{name}_acc"] = math.nan if correct is None else 100.0 * float(correct) / count
        return result

    return evaluate_point


def evaluate(model: nn.Module, theta: Mapping[str, torch.Tensor] | None,
             data: Iterable[tuple[torch.Tensor, torch.Tensor]], loss_fn: LossFn = F.cross_entropy,
             bn: str = "eval", precision: str = "fp32", fuse_bn: bool = False) -> tuple[float, float]:
    """Mean loss and accuracy (%) of `model` at point `theta` (None: its own weights) over (x, y) batches."""
    values = evaluator(model, {"data": data}, loss_fn, bn, precision, fuse_bn=fuse_bn)(theta or {})
    return values["data_loss"], values["data_acc"]


# ---- grids ----------------------------------------------------------------------------------------------

def max_points() -> int:
    """The cap on the points of one grid: `$LOSSVIZ_MAX_POINTS` if set, else DEFAULT_MAX_POINTS."""
    text = os.environ.get(MAX_POINTS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_POINTS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_POINTS_ENV}={text!r} must be a positive whole number of points")
    return value


def grid(start: float, stop: float, num: int, limit: int | None = None) -> np.ndarray:
    """`num` evenly spaced coordinates from start to stop (the reference's `--x=min:max:num`).

    One point needs start == stop (it would be start alone); at most `limit` points (default `max_points()`).
    """
    if int(num) != num or num < 1:
        raise ValueError(f"num={num} must be a positive whole number of points")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"grid bounds must be finite; got start={start}, stop={stop}")
    if num == 1 and start != stop:
        raise ValueError(f"num=1 gives the single point {start:g}, not a range to {stop:g}: "
                         f"use num >= 2, or start = stop for one point")
    limit = max_points() if limit is None else limit
    if num > limit:
        raise ValueError(f"num={int(num):,} is more than the {limit:,} points a grid may hold; "
                         f"raise the limit with {MAX_POINTS_ENV}=N if you mean it")
    return np.linspace(start, stop, int(num))


def check_size(shape: Sequence[int], arrays: int, limit: int | None = None) -> None:
    """Raise ValueError if a grid of `shape` holding `arrays` value arrays has more than `limit` points
    (default `max_points()`), or if its arrays would need more than half of the free memory."""
    points = int(np.prod([int(n) for n in shape], dtype=object))
    limit = max_points() if limit is None else limit
    where = " x ".join(f"{int(n):,}" for n in shape)
    if points > limit:
        raise ValueError(f"the grid ({where}) has {points:,} points, more than the limit of {limit:,}; "
                         f"raise it with {MAX_POINTS_ENV}=N if you mean it")
    needed = 3 * points * (8 * arrays + 1)  # the arrays, the masked copy written and the file's bytes
    free = _free_memory()
    if free is not None and needed > free / 2:
        raise ValueError(f"the grid ({where}) needs about {needed / 2**30:.1f} GiB for its {arrays} arrays, more "
                         f"than half of the {free / 2**30:.1f} GiB of free memory; use a coarser grid")


def _free_memory() -> int | None:
    """Bytes of free physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def coordinates(xs: np.ndarray, ys: np.ndarray | None, index: int) -> tuple[float, float | None]:
    """(alpha, beta) of flat point `index` in np.meshgrid(x, y) order (beta None for 1D)."""
    if ys is None:
        return float(xs[index]), None
    j, i = divmod(index, len(xs))
    return float(xs[i]), float(ys[j])


def at(theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
       alpha: float, beta: float | None = None) -> Weights:
    """theta + alpha delta (+ beta eta); integer tensors stay as they are (one fused op for all tensors)."""
    keys = [k for k, t in theta.items() if t.is_floating_point()]
    moved = torch._foreach_add([theta[k] for k in keys], [directions[0][k] for k in keys], alpha=alpha)
    if beta is not None:
        torch._foreach_add_(moved, [directions[1][k] for k in keys], alpha=beta)
    return {**theta, **dict(zip(keys, moved))}


def _check_request(theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
                   ys: Sequence[float] | None) -> None:
    """Raise ValueError unless there is one direction per axis, keyed like theta."""
    want = 1 if ys is None else 2
    if len(directions) != want:
        raise ValueError(f"directions must hold {want} direction(s) for a {want}D grid "
                         f"(ys={'None' if ys is None else 'given'}); got {len(directions)}")
    for d in directions:
        dirs.check_keys(theta, d)


def _fill(surface: io.Surface, todo: Sequence[int], theta: Mapping[str, torch.Tensor],
          directions: Sequence[Mapping[str, torch.Tensor]], evaluate_point: Callable[[Weights], dict[str, float]],
          on_update: Callable[[bool], None] | None = None, progress: bool = False) -> None:
    """Compute the points `todo` into `surface` (in place); ranks take interleaved shares and rank 0 gathers."""
    rank, world = rank_and_world()
    theta = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in theta.items()}
    directions = [{k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in d.items()}
                  for d in directions]
    bar = tqdm(total=len(todo), disable=None if progress and rank == 0 else True, leave=False, desc="surface")
    for start in range(0, len(todo), world):
        mine = todo[start + rank] if start + rank < len(todo) else None
        result = None
        if mine is not None:
            alpha, beta = coordinates(surface.xcoordinates, surface.ycoordinates, mine)
            result = (mine, evaluate_point(at(theta, directions, alpha, beta)))
        results = [result]
        if world > 1:
            results = [None] * world
            dist.all_gather_object(results, result)
        for item in results:
            if item is not None:
                index, values = item
                for name, value in values.items():
                    surface.values[name].flat[index] = value
                surface.done.flat[index] = True
        bar.update(sum(item is not None for item in results))
        if on_update is not None and rank == 0:
            on_update(start + world >= len(todo))
    bar.close()


def scan(model: nn.Module, theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
         xs: Sequence[float], ys: Sequence[float] | None = None, *,
         data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]], loss_fn: LossFn = F.cross_entropy,
         bn: str = "eval", precision: str = "fp32", bn_data: Iterable | None = None, fuse_bn: bool = False,
         progress: bool = False) -> io.Surface:
    """Loss and accuracy (%) at theta + alpha delta (+ beta eta) for alpha in xs (and beta in ys), in memory.

    2D arrays have shape (len(ys), len(xs)): value [j, i] is at (xs[i], ys[j]).
    """
    _check_request(theta, directions, ys)
    ev = evaluator(model, data, loss_fn, bn, precision, bn_data, fuse_bn)
    surface = io.empty_surface(xs, ys, [f"{s}_{m}" for s in data for m in ("loss", "acc")])
    _fill(surface, range(surface.done.size), theta, directions, ev, progress=progress)
    return surface


def interpolate(model: nn.Module, theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor],
                alphas: Sequence[float], *, data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]],
                loss_fn: LossFn = F.cross_entropy, bn: str = "eval", precision: str = "fp32",
                fuse_bn: bool = False, progress: bool = False) -> io.Surface:
    """Loss and accuracy (%) at theta1 + alpha (theta2 - theta1), alpha anywhere (Goodfellow et al. 2015).

    Weights missing from the thetas come from `model`: pass state dicts (`weights(m, "states")`) so
    that alpha = 1 gives model 2 with its own BN statistics.
    """
    return scan(model, theta1, [dirs.between(theta1, theta2)], alphas, None, data=data, loss_fn=loss_fn,
                bn=bn, precision=precision, fuse_bn=fuse_bn, progress=progress)


# ---- resumable files ------------------------------------------------------------------------------------

def _mismatches(surface: io.Surface, xs: np.ndarray, ys: np.ndarray | None, names: Sequence[str],
                attrs: Mapping[str, Any]) -> list[str]:
    """What differs between a stored surface and a request."""
    problems = []
    if (surface.ycoordinates is None) != (ys is None):
        problems.append(f"grid is {'1D' if surface.ycoordinates is None else '2D'} in the file")
    if not np.array_equal(surface.xcoordinates, xs):
        problems.append("xcoordinates differ")
    if ys is not None and surface.ycoordinates is not None and not np.array_equal(surface.ycoordinates, ys):
        problems.append("ycoordinates differ")
    if sorted(surface.values) != sorted(names):
        problems.append(f"arrays {sorted(surface.values)} vs requested {sorted(names)}")
    for key, value in attrs.items():
        if key not in surface.attrs and key in LATER_ATTRS and surface.complete:
            continue  # a finished file of an older lossviz, which did not record it: nothing will be added
        stored = surface.attrs.get(key)
        if stored != value:
            problems.append(f"{key}: file has {stored!r}, request {value!r}")
    return problems


def _names(data: Mapping | None, point_values: Callable | None, names: Sequence[str] | None) -> list[str]:
    """The arrays of a file: <split>_loss/_acc of each data split, or the given `names` of `point_values`."""
    if point_values is None:
        if names is not None:
            raise ValueError("names= goes with point_values=; the loss evaluator names its own arrays")
        if not data:
            raise ValueError("data must name at least one split, e.g. {'train': batches}")
        return [f"{s}_{m}" for s in data for m in ("loss", "acc")]
    names = list(names or [])
    if not names or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names={names!r} must list the distinct value names point_values returns")
    if set(names) & {*io.COORDINATES, "done", "dir_file"}:
        raise ValueError(f"names={names!r} may not use the reserved names {(*io.COORDINATES, 'done', 'dir_file')}")
    return names


def _checked(point_values: Callable[[Weights], Mapping[str, float]],
             names: Sequence[str]) -> Callable[[Weights], dict[str, float]]:
    """point_values, with a ValueError when it returns other names than promised."""
    def evaluate_point(point: Weights) -> dict[str, float]:
        values = dict(point_values(point))
        if sorted(values) != sorted(names):
            raise ValueError(f"point_values returned {sorted(values)}, but names={list(names)}")
        return {k: float(v) for k, v in values.items()}
    return evaluate_point


def compute_file(out: str | os.PathLike, model: nn.Module, theta: Mapping[str, torch.Tensor],
                 directions: Sequence[Mapping[str, torch.Tensor]], xs: Sequence[float],
                 ys: Sequence[float] | None = None, *,
                 data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]] | None = None,
                 loss_fn: LossFn = F.cross_entropy,
                 bn: str = "eval", precision: str = "fp32", bn_data: Iterable | None = None, fuse_bn: bool = False,
                 request: Mapping[str, str | int | float] | None = None, dir_file: str = "", resume: bool = True,
                 save_every: int = 0, save_seconds: float = 30.0, progress: bool = True,
                 log: Callable[[str], None] | None = print,
                 point_values: Callable[[Weights], Mapping[str, float]] | None = None,
                 names: Sequence[str] | None = None, on_start: Callable[[], None] | None = None) -> io.Surface:
    """Compute a surface into HDF5 file `out` (see `lossviz.base.io`), resuming the points it lacks.

    The file is rewritten atomically every `save_every` points (0: never by count) and at least every
    `save_seconds`, and at the end. An existing file made for another request (model state, directions,
    grid, splits, loss, BN mode, precision (with "auto" resolved for the model's device) or the `request` entries, e.g. a data fingerprint) raises
    ValueError and is left untouched. Under torch.distributed every rank calls this with the same
    arguments; ranks evaluate interleaved shares and rank 0 writes. Data are only read when points remain.
    Returns the finished surface (on every rank).

    Other per-point values: `point_values(point) -> {name: value}` for each name in `names` replaces the loss
    evaluator (then `data` is unused; e.g. `lossviz.compute.hessian.eigen_map_file`).

    The request is checked before anything is written: the grid against `check_size`, an existing `out`
    against the request (the device type and dtype of theta are part of it). Then rank 0 calls `on_start()`
    (e.g. to write the direction file) before it writes `out`. On KeyboardInterrupt (Ctrl-C, or SIGTERM
    raised as one) the points finished so far are saved to `out` before the exception goes on.
    """
    _check_request(theta, directions, ys)
    dirs.check_choice("bn", bn, BN_MODES)
    precisions.check(precision)
    precision = precisions.resolve(precision, next(itertools.chain(model.parameters(), model.buffers())).device)
    if fuse_bn and bn != "eval":
        raise ValueError(f"fuse_bn=True needs bn='eval' (got bn={bn!r}); BN statistics are recomputed per point")
    if save_every < 0 or save_seconds <= 0:
        raise ValueError(f"save_every={save_every} must be >= 0 and save_seconds={save_seconds} > 0")
    out = os.fspath(out)
    rank, world = rank_and_world()
    names = _names(data, point_values, names)
    state = {**{k: v for k, v in itertools.chain(model.named_parameters(), model.named_buffers())}, **theta}
    attrs = {"format": FORMAT, "theta_sha256": dirs.fingerprint(state),
             "directions_sha256": dirs.fingerprint({f"{i}.{k}": v for i, d in enumerate(directions)
                                                    for k, v in d.items()}),
             "bn": bn, "fuse_bn": bool(fuse_bn), "precision": precision,
             "loss": getattr(loss_fn, "__name__", type(loss_fn).__name__),
             "device": next(iter(theta.values())).device.type,
             "dtype": ",".join(sorted({str(v.dtype) for v in theta.values() if v.is_floating_point()}))}
    for key, value in (request or {}).items():
        if key in attrs:
            raise ValueError(f"request key {key!r} is reserved; reserved keys: {', '.join(attrs)}")
        attrs[key] = value
    xs = np.asarray(xs, dtype=np.float64)
    ys = None if ys is None else np.asarray(ys, dtype=np.float64)
    check_size(io.grid_shape(xs, ys), len(names))

    opened: dict[str, io.Surface] = {}

    def open_out() -> list[int]:
        """Rank 0: check an existing `out` against the request (or start it); the indices of the points it lacks."""
        if os.path.exists(out):
            if not resume:
                raise ValueError(f"out={out!r} exists; pass resume=True to complete it, or remove it")
            found = io.load_surface(out)
            problems = _mismatches(found, xs, ys, names, attrs)
            if problems:
                raise ValueError(f"out={out!r} holds a surface for another request ({'; '.join(problems)}); "
                                 f"it was not changed: choose another output file or remove it")
            if on_start is not None:
                on_start()
        else:
            found = io.empty_surface(xs, ys, names, attrs, dir_file)
            if on_start is not None:
                on_start()
            io.save_surface(out, found)
        opened["surface"] = found
        return [int(i) for i in np.flatnonzero(~found.done.ravel())]

    todo = on_rank0(open_out)  # every rank gets the points to do (not the surface), or rank 0's error
    surface = opened.get("surface")
    if rank == 0 and log is not None:
        log(f"computing {len(todo)} of {int(np.prod(io.grid_shape(xs, ys)))} points")

    if todo:
        ev = (_checked(point_values, names) if point_values is not None
              else evaluator(model, data, loss_fn, bn, precision, bn_data, fuse_bn))
        if rank != 0:
            surface = io.empty_surface(xs, ys, names, attrs, dir_file)
        last = {"time": time.monotonic(), "count": 0}

        def save(final: bool) -> None:
            last["count"] += world
            if final or (save_every and last["count"] >= save_every) or time.monotonic() - last["time"] >= save_seconds:
                io.save_surface(out, surface)
                last["time"], last["count"] = time.monotonic(), 0

        try:
            _fill(surface, todo, theta, directions, ev, save, progress)
        except KeyboardInterrupt:
            if rank == 0:
                io.save_surface(out, surface)
                if log is not None:
                    log(f"interrupted: {int(surface.done.sum())} of {surface.done.size} points are saved in {out}; "
                        f"run the same command again to compute the rest")
            raise
    return broadcast(surface if rank == 0 else None)  # rank 0 holds the finished surface
