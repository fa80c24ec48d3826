"""Loss and accuracy along directions in weight space (Li et al. 2018, Sec. 3) and between two models.

1D: f(alpha) = L(theta* + alpha delta). 2D: f(alpha, beta) = L(theta* + alpha delta + beta eta).
Linear interpolation: theta(alpha) = (1 - alpha) theta1 + alpha theta2 = theta1 + alpha (theta2 - theta1).

Any `nn.Module`, any `loss_fn(logits, y)` returning a batch mean, any iterable of (x, y) batches.
The data are moved to the device once and reused for every point; each point is evaluated with
`torch.func.functional_call` on a shell of the model that shares no state with the caller's, so the
caller's model (weights, buffers, train/eval flag) is never changed. Accuracy is in percent, as in
the reference code and its files.

Files: `compute_file` fills a resumable HDF5 surface file (`lossviz.base.io`) for a `Request`, the frozen record of
everything its numbers depend on, which is also the file's attributes and its cache key.
"""
from __future__ import annotations

import contextlib
import copy
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from lossviz.base import batchnorm, cache, devices, files, grids, io
from lossviz.base import directions as dirs
from lossviz.base import precision as precisions
from lossviz.base.directions import Weights
from lossviz.base.distributed import broadcast, on_rank0, rank_and_world
from lossviz.base.grids import Coordinates
from lossviz.base.precision import autocast
from lossviz.compute import folding

Batches = list[tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PointValues = Callable[[Weights], Mapping[str, float]]
BN_MODES = ("eval", "recompute")
FORMAT = "lossviz-surface-2"
RESERVED = (*io.COORDINATES, "done", "dir_file")  # dataset names of a surface file that hold no values


# ---- data ---------------------------------------------------------------------------------------------

def prepare(batches: Iterable[tuple[torch.Tensor, torch.Tensor]], device: str | torch.device) -> Batches:
    """Materialize (x, y) batches on `device` once (4-D x in the device's layout, `devices.rules`), for reuse at
    every point."""
    layout = devices.rules(device).memory_format
    result = []
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        if x.dim() == 4:
            x = x.contiguous(memory_format=layout)
        result.append((x, y))
    if not result:
        raise ValueError("data holds no batches")
    return result


def fingerprint(batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> str:
    """The sha256 of a split's batches (inputs and targets, in order): what a result computed on them depends on."""
    return dirs.fingerprint([t for x, y in batches for t in (x, y)])


# ---- evaluating one point -----------------------------------------------------------------------------

def _shell(model: nn.Module) -> nn.Module:
    """A copy of the module tree that shares the tensors (no copy) but has its own flags and attributes."""
    memo = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    return copy.deepcopy(model, memo)


class _Sweep(nn.Module):
    """Runs `net` over all batches in one call, so that functional_call swaps the weights once per point; sums are
    accumulated in `accumulate` (float64, or float32 where the device has no float64)."""

    def __init__(self, net: nn.Module, accumulate: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.net = net
        self.accumulate = accumulate

    def forward(self, batches: Batches, loss_fn: LossFn | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(sum of loss x batch size, number correct or None without class labels); passes only if no loss_fn."""
        total, correct = None, None
        for i, (x, y) in enumerate(batches):
            logits = self.net(x)
            if loss_fn is None:
                continue
            logits = logits.float()
            loss = loss_fn(logits, y).to(self.accumulate) * len(y)
            right = _correct(logits, y, self.accumulate)
            total = loss if total is None else total + loss
            if i == 0:
                correct = right
            elif correct is not None:
                correct = None if right is None else correct + right
        return total, correct


def _correct(logits: torch.Tensor, y: torch.Tensor, accumulate: torch.dtype) -> torch.Tensor | None:
    """Number of correct argmax predictions (NaN when a logit is NaN or infinite: no prediction is defined),
    or None when (logits, y) are not a classification batch."""
    if logits.dim() == 2 and not y.is_floating_point() and y.dim() == 1:
        right = (logits.argmax(1) == y).sum().to(accumulate)
        return torch.where(torch.isfinite(logits).all(), right, math.nan)
    return None


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer)."""
    return next(itertools.chain(model.parameters(), model.buffers())).device


def evaluator(model: nn.Module, data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]],
              loss_fn: LossFn = F.cross_entropy, bn: str = "eval", precision: str = "fp32",
              bn_data: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None, fuse_bn: bool = False
              ) -> Callable[[Mapping[str, torch.Tensor]], dict[str, float]]:
    """A function point -> {"<split>_loss": mean loss, "<split>_acc": accuracy in %} over each data split: the one
    evaluation of the package (surfaces, paths, training logs and minimizer checks all call it).

    The point is a tensor dict (parameters and/or buffers); tensors it lacks come from `model`.
    bn="eval" uses BN running statistics as they are (the reference code); bn="recompute" first
    re-estimates them at the point with train-mode passes over `bn_data` (default: the first split),
    as a cumulative average (`lossviz.base.batchnorm`). fuse_bn=True (bn="eval" only) merges each Conv2d->BN pair
    into the conv's weights and skips the BN layer (`lossviz.compute.folding`): the same function, fewer passes.
    Accuracy is NaN when the batches are not (logits, class labels).
    """
    dirs.check_choice("bn", bn, BN_MODES)
    precisions.check(precision)
    if fuse_bn and bn != "eval":
        raise ValueError(f"fuse_bn=True needs bn='eval' (got bn={bn!r}); BN statistics are recomputed per point")
    if not data:
        raise ValueError("data must name at least one split, e.g. {'train': batches}")
    device = device_of(model)
    precision = precisions.resolve(precision, device)
    prepared = {name: prepare(batches, device) for name, batches in data.items()}
    bn_batches = prepare(bn_data, device) if bn_data is not None else next(iter(prepared.values()))
    shell = _shell(model).eval()
    base = {k: v.detach() for k, v in itertools.chain(shell.named_parameters(), shell.named_buffers())}
    net, pairs = folding.plan(shell) if fuse_bn else (shell, [])
    keep = set(dict(itertools.chain(net.named_parameters(), net.named_buffers())))
    sweep = _Sweep(net, devices.rules(device).accumulate)

    def passes(point: Weights) -> None:
        functional_call(sweep, {f"net.{k}": v for k, v in point.items()}, (bn_batches, None))

    def evaluate_point(theta: Mapping[str, torch.Tensor]) -> dict[str, float]:
        point = {**base, **theta}
        result = {}
        with torch.inference_mode(), autocast(precision, device):
            if bn == "recompute":
                point = batchnorm.recompute_point(shell, point, passes)
            if pairs:
                point = folding.fold(point, pairs)
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


def at(theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
       alpha: float, beta: float | None = None) -> Weights:
    """theta + alpha delta (+ beta eta); integer tensors stay as they are (one fused op for all tensors)."""
    keys = [k for k, t in theta.items() if t.is_floating_point()]
    moved = torch._foreach_add([theta[k] for k in keys], [directions[0][k] for k in keys], alpha=alpha)
    if beta is not None:
        torch._foreach_add_(moved, [directions[1][k] for k in keys], alpha=beta)
    return {**theta, **dict(zip(keys, moved))}


def _check_directions(theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
                      ys: Coordinates | None) -> None:
    """Raise ValueError unless there is one direction per axis, keyed like theta."""
    want = 1 if ys is None else 2
    if len(directions) != want:
        raise ValueError(f"directions must hold {want} direction(s) for a {want}D grid "
                         f"(ys={'None' if ys is None else 'given'}); got {len(directions)}")
    for d in directions:
        dirs.check_keys(theta, d)


def _fill(surface: io.Surface, todo: Sequence[int], theta: Mapping[str, torch.Tensor],
          directions: Sequence[Mapping[str, torch.Tensor]], evaluate_point: PointValues,
          on_update: Callable[[bool], None] | None = None, progress: bool = False) -> None:
    """Compute the points `todo` into `surface` (in place); ranks take interleaved shares and rank 0 gathers."""
    rank, world = rank_and_world()
    layout = devices.rules(next(iter(theta.values())).device).memory_format
    theta = {k: v.contiguous(memory_format=layout) if v.dim() == 4 else v for k, v in theta.items()}
    directions = [{k: v.contiguous(memory_format=layout) if v.dim() == 4 else v for k, v in d.items()}
                  for d in directions]
    bar = tqdm(total=len(todo), disable=None if progress and rank == 0 else True, leave=False, desc="surface")
    for start in range(0, len(todo), world):
        mine = todo[start + rank] if start + rank < len(todo) else None
        result = None
        if mine is not None:
            alpha, beta = grids.coordinates(surface.xcoordinates, surface.ycoordinates, mine)
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
         xs: Coordinates, ys: Coordinates | None = None, *,
         data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]], loss_fn: LossFn = F.cross_entropy,
         bn: str = "eval", precision: str = "fp32", bn_data: Iterable | None = None, fuse_bn: bool = False,
         progress: bool = False) -> io.Surface:
    """Loss and accuracy (%) at theta + alpha delta (+ beta eta) for alpha in xs (and beta in ys), in memory.

    2D arrays have shape (len(ys), len(xs)): value [j, i] is at (xs[i], ys[j]).
    """
    _check_directions(theta, directions, ys)
    ev = evaluator(model, data, loss_fn, bn, precision, bn_data, fuse_bn)
    surface = io.empty_surface(xs, ys, [f"{s}_{m}" for s in data for m in ("loss", "acc")])
    _fill(surface, range(surface.done.size), theta, directions, ev, progress=progress)
    return surface


def interpolate(model: nn.Module, theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor],
                alphas: Coordinates, *, data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]],
                loss_fn: LossFn = F.cross_entropy, bn: str = "eval", precision: str = "fp32",
                fuse_bn: bool = False, progress: bool = False) -> io.Surface:
    """Loss and accuracy (%) at theta1 + alpha (theta2 - theta1), alpha anywhere (Goodfellow et al. 2015).

    Weights missing from the thetas come from `model`: pass state dicts (`weights(m, "states")`) so
    that alpha = 1 gives model 2 with its own BN statistics.
    """
    return scan(model, theta1, [dirs.between(theta1, theta2)], alphas, None, data=data, loss_fn=loss_fn,
                bn=bn, precision=precision, fuse_bn=fuse_bn, progress=progress)


# ---- requests and resumable files ------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """How the loss at a point is computed: BN mode, BN folding, precision (fp32/bf16, or auto resolved for the
    model's device), the loss function's name and the evaluation batch size."""

    bn: str = "eval"
    fuse_bn: bool = False
    precision: str = "fp32"
    loss: str = "cross_entropy"
    batch_size: int = 128

    def __post_init__(self) -> None:
        dirs.check_choice("bn", self.bn, BN_MODES)
        precisions.check(self.precision)
        if self.fuse_bn and self.bn != "eval":
            raise ValueError(f"fuse_bn=True needs bn='eval' (got bn={self.bn!r}); BN statistics are recomputed "
                             f"per point")
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be >= 1")


@dataclass(frozen=True)
class Saving:
    """How a file is kept while it fills: resume an unfinished one, rewrite it every `every` points (0: not by
    count) and at least every `seconds`, show a progress bar."""

    resume: bool = True
    every: int = 0
    seconds: float = 30.0
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 0:
            raise ValueError(f"save_every={self.every!r} must be a whole number of points >= 0 (0: by time only)")
        if not (isinstance(self.seconds, (int, float)) and math.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(f"save_seconds={self.seconds!r} must be a finite number of seconds > 0")


@dataclass(frozen=True)
class Request:
    """Everything the numbers of a surface file depend on: the weights at the center and the directions (sha256),
    the grid, the arrays, the device type and dtype, how each point is computed (`method`: an `Evaluation`'s or
    Lanczos' settings), the data (sha256 per split) and what the caller adds (`context`: the course's own request as
    JSON text, the command line's model name). `attrs()` are the file's attributes; `key()` its cache key."""

    theta: str
    directions: str
    xs: tuple[float, ...]
    ys: tuple[float, ...] | None
    names: tuple[str, ...]
    device: str
    dtype: str
    method: tuple[tuple[str, Any], ...]
    data: tuple[tuple[str, str], ...] = ()
    context: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        names = list(self.names)
        if not names or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"names={names!r} must list the distinct value names of each point")
        if set(names) & set(RESERVED):
            raise ValueError(f"names={names!r} may not use the reserved names {RESERVED}")
        own = self.attrs(context=False)
        clash = sorted(k for k, _ in self.context if k in own)
        if clash:
            raise ValueError(f"context keys {clash} are reserved; reserved keys: {', '.join(own)}")

    def attrs(self, context: bool = True) -> dict[str, Any]:
        """The file's attributes: every field but the grid and the arrays (which the file holds as datasets)."""
        return {"format": FORMAT, "theta_sha256": self.theta, "directions_sha256": self.directions,
                "device": self.device, "dtype": self.dtype, **dict(self.method),
                **{f"{split}_data_sha256": sha for split, sha in self.data}, **(dict(self.context) if context else {})}

    def key(self) -> str:
        """The cache key of the request (a file named after it holds this request's result)."""
        return cache.key(self)

    @property
    def shape(self) -> tuple[int, ...]:
        """(len(xs),) or (len(ys), len(xs))."""
        return grids.shape(self.xs, self.ys)


def request(model: nn.Module, theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
            xs: Coordinates, ys: Coordinates | None, names: Sequence[str], method: Mapping[str, Any],
            data: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None) -> Request:
    """The `Request` of a grid around `theta` (over the model's own parameters and buffers) along `directions`."""
    _check_directions(theta, directions, ys)
    state = {**{k: v for k, v in itertools.chain(model.named_parameters(), model.named_buffers())}, **theta}
    return Request(theta=dirs.fingerprint(state),
                   directions=dirs.fingerprint({f"{i}.{k}": v for i, d in enumerate(directions) for k, v in d.items()}),
                   xs=tuple(float(x) for x in xs), ys=None if ys is None else tuple(float(y) for y in ys),
                   names=tuple(names), device=devices.key(next(iter(theta.values())).device),
                   dtype=",".join(sorted({str(v.dtype) for v in theta.values() if v.is_floating_point()})),
                   method=tuple(method.items()), data=tuple((data or {}).items()),
                   context=tuple((context or {}).items()))


def loss_names(splits: Iterable[str]) -> tuple[str, ...]:
    """The arrays of a loss surface: `<split>_loss` and `<split>_acc` of each split."""
    names = tuple(f"{s}_{m}" for s in splits for m in ("loss", "acc"))
    if not names:
        raise ValueError("data must name at least one split, e.g. {'train': batches}")
    return names


def loss_request(model: nn.Module, theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
                 xs: Coordinates, ys: Coordinates | None, data: Mapping[str, str],
                 evaluation: Evaluation = Evaluation(), context: Mapping[str, Any] | None = None) -> Request:
    """The `Request` of a loss surface: splits by their data sha256 (`fingerprint`), precision "auto" resolved."""
    resolved = precisions.resolve(evaluation.precision, device_of(model))
    method = {**cache.plain(evaluation), "precision": resolved}
    method.pop("__type__")
    return request(model, theta, directions, xs, ys, loss_names(data), method, data, context)


def _mismatches(surface: io.Surface, wanted: Request) -> list[str]:
    """What differs between a stored surface and a request."""
    problems = []
    if (surface.ycoordinates is None) != (wanted.ys is None):
        problems.append(f"grid is {'1D' if surface.ycoordinates is None else '2D'} in the file")
    if not np.array_equal(surface.xcoordinates, np.asarray(wanted.xs)):
        problems.append("xcoordinates differ")
    if wanted.ys is not None and surface.ycoordinates is not None and not np.array_equal(surface.ycoordinates,
                                                                                        np.asarray(wanted.ys)):
        problems.append("ycoordinates differ")
    if sorted(surface.values) != sorted(wanted.names):
        problems.append(f"arrays {sorted(surface.values)} vs requested {sorted(wanted.names)}")
    for key, value in wanted.attrs().items():
        stored = surface.attrs.get(key)
        if stored != value:
            problems.append(f"{key}: file has {stored!r}, request {value!r}")
    return problems


def _checked(point_values: PointValues, names: Sequence[str]) -> Callable[[Weights], dict[str, float]]:
    """point_values, with a ValueError when it returns other names than promised."""
    def evaluate_point(point: Weights) -> dict[str, float]:
        values = dict(point_values(point))
        if sorted(values) != sorted(names):
            raise ValueError(f"point_values returned {sorted(values)}, but names={list(names)}")
        return {k: float(v) for k, v in values.items()}
    return evaluate_point


def compute_file(out: str | os.PathLike, wanted: Request, theta: Mapping[str, torch.Tensor],
                 directions: Sequence[Mapping[str, torch.Tensor]], point_values: Callable[[], PointValues], *,
                 saving: Saving = Saving(), dir_file: str = "", on_start: Callable[[], None] | None = None,
                 log: Callable[[str], None] | None = print) -> io.Surface:
    """Fill HDF5 file `out` with the values of request `wanted` at each grid point, resuming the points it lacks.

    `point_values()` makes the function point -> {name: value} (called only when points remain, so data are read
    only then). The file is rewritten atomically every `saving.every` points and at least every `saving.seconds`,
    and at the end. An existing file made for another request raises ValueError and is left untouched. Under
    torch.distributed every rank calls this with the same arguments; ranks evaluate interleaved shares and rank 0
    writes. The request is checked before anything is written; then rank 0 calls `on_start()` (e.g. to write the
    direction file) before it writes `out`. Rank 0 holds a lock on `out` (`files.lock`) throughout, so another run on
    the same file is refused. On KeyboardInterrupt (Ctrl-C, or SIGTERM raised as one) the points finished so far are
    saved to `out` before the exception goes on; on another error a file this call made before any point was done is
    removed. Returns the finished surface (every rank).
    """
    _check_directions(theta, directions, wanted.ys)
    grids.check_size(wanted.shape, len(wanted.names))
    out = os.fspath(out)
    with contextlib.ExitStack() as held:
        def lock() -> None:
            held.enter_context(files.lock(out))
        on_rank0(lock)  # rank 0 writes; another run on `out` is refused on every rank
        return _compute_file(out, wanted, theta, directions, point_values, saving, dir_file, on_start, log)


def _compute_file(out: str, wanted: Request, theta: Mapping[str, torch.Tensor],
                  directions: Sequence[Mapping[str, torch.Tensor]], point_values: Callable[[], PointValues],
                  saving: Saving, dir_file: str, on_start: Callable[[], None] | None,
                  log: Callable[[str], None] | None) -> io.Surface:
    """`compute_file` with `out` locked."""
    rank, world = rank_and_world()
    xs = np.asarray(wanted.xs, dtype=np.float64)
    ys = None if wanted.ys is None else np.asarray(wanted.ys, dtype=np.float64)
    attrs = wanted.attrs()
    opened: dict[str, Any] = {}  # rank 0: the surface, and whether this call made the file

    def open_out() -> list[int]:
        """Rank 0: check an existing `out` against the request (or start it); the indices of the points it lacks."""
        if os.path.exists(out):
            if not saving.resume:
                raise ValueError(f"out={out!r} exists; pass resume=True to complete it, or remove it")
            found = io.load_surface(out)
            problems = _mismatches(found, wanted)
            if problems:
                raise ValueError(f"out={out!r} holds a surface for another request ({'; '.join(problems)}); "
                                 f"it was not changed: choose another output file or remove it")
            if on_start is not None:
                on_start()
        else:
            found = io.empty_surface(xs, ys, wanted.names, attrs, dir_file)
            if on_start is not None:
                on_start()
            io.save_surface(out, found)
            opened["made"] = True
        opened["surface"] = found
        return [int(i) for i in np.flatnonzero(~found.done.ravel())]

    todo = on_rank0(open_out)  # every rank gets the points to do (not the surface), or rank 0's error
    surface = opened["surface"] if rank == 0 else io.empty_surface(xs, ys, wanted.names, attrs, dir_file)
    if rank == 0 and log is not None:
        log(f"computing {len(todo)} of {int(np.prod(wanted.shape))} points")

    try:
        if todo:
            _fill_file(out, surface, todo, wanted, theta, directions, point_values, saving, log)
    except Exception:
        if rank == 0 and opened.get("made") and not surface.done.any():
            os.unlink(out)  # made by this call, and nothing in it
        raise
    return broadcast(surface if rank == 0 else None)  # rank 0 holds the finished surface


def _fill_file(out: str, surface: io.Surface, todo: list[int], wanted: Request,
               theta: Mapping[str, torch.Tensor], directions: Sequence[Mapping[str, torch.Tensor]],
               point_values: Callable[[], PointValues], saving: Saving, log: Callable[[str], None] | None) -> None:
    """Compute the points `todo` into `surface` (rank 0 writes it), saving `out` as `saving` says."""
    rank, world = rank_and_world()
    ev = _checked(point_values(), wanted.names)
    last = {"time": time.monotonic(), "count": 0}

    def save(final: bool) -> None:
        last["count"] += world
        if final or (saving.every and last["count"] >= saving.every) or \
                time.monotonic() - last["time"] >= saving.seconds:
            io.save_surface(out, surface)
            last["time"], last["count"] = time.monotonic(), 0

    try:
        _fill(surface, todo, theta, directions, ev, save, saving.progress)
    except KeyboardInterrupt:
        if rank == 0:
            io.save_surface(out, surface)
            if log is not None:
                log(f"interrupted: {int(surface.done.sum())} of {surface.done.size} points are saved in {out}; "
                    f"run the same command again to compute the rest")
        raise


def loss_file(out: str | os.PathLike, model: nn.Module, theta: Mapping[str, torch.Tensor],
              directions: Sequence[Mapping[str, torch.Tensor]], xs: Coordinates, ys: Coordinates | None = None,
              *, data: Mapping[str, Iterable[tuple[torch.Tensor, torch.Tensor]]], evaluation: Evaluation = Evaluation(),
              loss_fn: LossFn = F.cross_entropy, bn_data: Iterable | None = None,
              context: Mapping[str, Any] | None = None,
              saving: Saving = Saving(), dir_file: str = "", on_start: Callable[[], None] | None = None,
              log: Callable[[str], None] | None = print) -> io.Surface:
    """`scan` into a resumable file `out` (`compute_file`): the request holds every split's data sha256, so the
    batches are materialized once here. `evaluation.loss` names `loss_fn` in the request."""
    prepared = {name: prepare(batches, device_of(model)) for name, batches in data.items()}
    wanted = loss_request(model, theta, directions, xs, ys, {k: fingerprint(b) for k, b in prepared.items()},
                          evaluation, context)
    method = dict(wanted.method)
    return compute_file(out, wanted, theta, directions,
                        lambda: evaluator(model, prepared, loss_fn, method["bn"], method["precision"], bn_data,
                                          method["fuse_bn"]),
                        saving=saving, dir_file=dir_file, on_start=on_start, log=log)
