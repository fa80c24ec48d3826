"""Mode connectivity (Garipov et al. 2018): Bezier curves and polygonal chains phi(t) between two
trained weights, their training, their evaluation along t, and the plane through three points (Fig. 1).

Points are named tensor dicts keyed like `named_parameters()` (parameters only; BN running statistics are
not on the curve). Control points theta_0 .. theta_n (n = bends + 1) are matched by name, never by position;
the endpoints theta_0 and theta_n stay fixed, the bends start on the straight line between them.
BN: during curve training the network runs in train mode (batch statistics; running statistics unused);
every evaluated point gets its BN statistics recomputed with a pass over the training data.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from lossviz.base import batchnorm, cache, data, devices, directions, folders, io
from lossviz.base import precision as precisions
from lossviz.base.data import Sample
from lossviz.base.directions import Weights
from lossviz.base.precision import autocast
from lossviz.compute import surface, train
from lossviz.compute.train import TrainConfig

KINDS = ("bezier", "polychain")


def check_kind(kind: str) -> None:
    """Raise ValueError unless `kind` is a curve family."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a curve; valid choices: {', '.join(KINDS)}")


def coefficients(t: float, bends: int, kind: str = "bezier") -> list[float]:
    """Weights c_k(t) of theta_0..theta_n in phi(t) = sum_k c_k(t) theta_k (n = bends + 1); they sum to 1.

    Bezier: c_k = C(n,k) t^k (1-t)^(n-k). Polychain: linear between equally spaced bends at t = k/n.
    """
    check_kind(kind)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t={t} must lie in [0, 1]")
    if bends < 0 or int(bends) != bends:
        raise ValueError(f"bends={bends} must be a whole number >= 0")
    n = int(bends) + 1
    if kind == "bezier":
        return [math.comb(n, k) * t**k * (1 - t) ** (n - k) for k in range(n + 1)]
    j = min(int(t * n), n - 1)  # the segment [j/n, (j+1)/n] holding t
    s = t * n - j
    return [1.0 - s if k == j else s if k == j + 1 else 0.0 for k in range(n + 1)]


def parameters(point: Mapping[str, torch.Tensor], names: Sequence[str]) -> Weights:
    """The entries `names` of a point or state dict (a ValueError lists missing names)."""
    missing = [k for k in names if k not in point]
    if missing:
        raise ValueError(f"point lacks parameters {missing[:5]} ({len(missing)} missing)")
    return {k: point[k] for k in names}


def _check_points(points: Sequence[Mapping[str, torch.Tensor]]) -> None:
    """Raise ValueError unless all points hold the same names with the same shapes."""
    first = points[0]
    for i, p in enumerate(points[1:], start=1):
        if set(p) != set(first):
            raise ValueError(f"control point {i} has names {sorted(set(p) ^ set(first))[:5]} that point 0 "
                             f"{'lacks' if set(p) - set(first) else 'has and it lacks'}")
        bad = [k for k in first if p[k].shape != first[k].shape]
        if bad:
            raise ValueError(f"control point {i} entry {bad[0]!r} has shape {tuple(p[bad[0]].shape)}, "
                             f"point 0 {tuple(first[bad[0]].shape)}")


def combine(points: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> Weights:
    """sum_k w_k theta_k, entry by entry (keys of the first point)."""
    if len(points) != len(weights) or not points:
        raise ValueError(f"{len(points)} points and {len(weights)} weights must match and be non-empty")
    _check_points(points)
    return {k: sum((w * p[k] for w, p in zip(weights, points) if w != 0.0), torch.zeros_like(points[0][k]))
            for k in points[0]}


def point(controls: Sequence[Mapping[str, torch.Tensor]], t: float, kind: str = "bezier") -> Weights:
    """phi(t) = sum_k c_k(t) theta_k for control points theta_0..theta_n (Garipov et al., any number of bends)."""
    if len(controls) < 2:
        raise ValueError(f"controls must hold at least the two endpoints; got {len(controls)}")
    return combine(controls, coefficients(t, len(controls) - 2, kind))


def line_bends(theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor], bends: int) -> list[Weights]:
    """Bends initialized on the straight line: theta1 + k/n (theta2 - theta1), k = 1..bends, n = bends + 1."""
    if bends < 0:
        raise ValueError(f"bends={bends} must be >= 0")
    n = bends + 1
    return [combine([theta1, theta2], [1 - k / n, k / n]) for k in range(1, n)]


@dataclass(frozen=True)
class Curve:
    """A trained curve: kind and control points theta_0 (start), bends..., theta_n (end), on the CPU."""

    kind: str
    controls: tuple[Weights, ...]
    log: tuple[dict, ...] = ()

    @property
    def bends(self) -> int:
        """Number of bends between the endpoints."""
        return len(self.controls) - 2

    def at(self, t: float) -> Weights:
        """phi(t)."""
        return point(self.controls, t, self.kind)


@dataclass(frozen=True)
class CurveConfig:
    """Curve training settings (Garipov et al. reference: 600/200 epochs, lr 0.015/0.03, wd 5e-4/3e-4)."""

    kind: str = "bezier"
    bends: int = 1
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.015
    momentum: float = 0.9
    weight_decay: float = 5e-4
    augment: bool = True
    seed: int = 0
    precision: str = "fp32"  # fp32 or bf16 autocast for the forward pass (resolve "auto" first)

    def __post_init__(self) -> None:
        check_kind(self.kind)
        precisions.check(self.precision, allow_auto=False)
        if self.bends < 1:
            raise ValueError(f"bends={self.bends} must be >= 1 (a curve with no bend is the straight line)")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs={self.epochs} and batch_size={self.batch_size} must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr={self.lr} must be positive")


def curve_lr(i: int, total: int, lr0: float) -> float:
    """Garipov et al. curve schedule at alpha = i/total: lr0 to 50%, linear down to 0.01 lr0 at 90%, then flat."""
    if not 1 <= i <= total:
        raise ValueError(f"i={i} must lie in 1..total={total}")
    alpha = i / total
    if alpha <= 0.5:
        return lr0
    if alpha <= 0.9:
        return lr0 * (1.0 - (alpha - 0.5) / 0.4 * 0.99)
    return 0.01 * lr0


def train_curve(model: nn.Module, theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor],
                split: data.Split, config: CurveConfig, device: str | torch.device = "cpu",
                progress: bool = False) -> Curve:
    """Fit the bends: t ~ U(0,1) per batch, loss CE(phi(t)) + wd/2 ||phi(t)||^2, SGD with momentum (Garipov et al.)."""
    device = torch.device(device)
    names = [k for k, _ in model.named_parameters()]
    start = {k: v.detach().to(device) for k, v in parameters(theta1, names).items()}
    end = {k: v.detach().to(device) for k, v in parameters(theta2, names).items()}
    _check_points([start, end])
    bends = [{k: v.clone().requires_grad_(True) for k, v in b.items()} for b in line_bends(start, end, config.bends)]
    net = copy.deepcopy(model).to(device).train()  # the caller's model is never touched
    scratch = {k: b.detach().clone() for k, b in net.named_buffers()}  # BN writes running stats here, unused
    optimizer = torch.optim.SGD([v for b in bends for v in b.values()], lr=config.lr, momentum=config.momentum)
    total = config.epochs * -(-len(split) // config.batch_size)
    gen = torch.Generator().manual_seed(config.seed)
    accumulate = devices.rules(device).accumulate
    split = data.on_device(split, device)
    log, i = [], 0
    for epoch in tqdm(range(1, config.epochs + 1), desc="curve", disable=not progress, leave=False):
        seen = 0
        nll_sum = torch.zeros((), dtype=accumulate, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for x, y in data.batches(split, config.batch_size, shuffle=True, augmented=config.augment,
                                 seed=config.seed * 100_003 + epoch, device=device):
            i += 1
            lr = curve_lr(i, total, config.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            t = float(torch.rand((), generator=gen))
            phi = point([start, *bends, end], t, config.kind)
            with autocast(config.precision, device):
                logits = functional_call(net, {**phi, **scratch}, (x,))
            nll = nn.functional.cross_entropy(logits.float(), y)
            l2 = sum((p**2).sum() for p in phi.values())
            optimizer.zero_grad(set_to_none=True)
            (nll + 0.5 * config.weight_decay * l2).backward()
            optimizer.step()
            seen += len(y)
            nll_sum += nll.detach().to(accumulate) * len(y)
            correct += (logits.argmax(1) == y).sum()
        log.append({"epoch": epoch, "lr": lr, "train_loss": float(nll_sum) / seen,  # one read per epoch
                    "train_acc_pct": 100.0 * int(correct) / seen})
    cpu = [{k: v.detach().to("cpu", copy=True) for k, v in p.items()} for p in [start, *bends, end]]
    return Curve(config.kind, tuple(cpu), tuple(log))


def connect(run1: TrainConfig, run2: TrainConfig, config: CurveConfig, root: str | Path | None = None,
            cache_dir: str | Path | None = None, device: str | torch.device = "cpu", progress: bool = True) -> Curve:
    """Train (or load) the two endpoint runs and the curve between their final weights (cached)."""
    if (run1.model, run1.dataset, run1.train_subset) != (run2.model, run2.dataset, run2.train_subset):
        raise ValueError("run1 and run2 must share model, dataset and train_subset to be connected")
    theta1 = train.train(run1, root, cache_dir, device, progress).state
    theta2 = train.train(run2, root, cache_dir, device, progress).state
    split, _ = train.splits(run1, root)
    model = train.network(run1)
    fingerprint = data.fingerprint(split)
    key = cache.key("curve", run1, run2, config, fingerprint, devices.key(device))
    return cache.cached(f"curve-{run1.model}", key,
                        lambda: train_curve(model, theta1, theta2, split, config, device, progress), cache_dir)


# ---- evaluation along t ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PathResult:
    """Plain cross-entropy and error (%) on train and test at each t, BN recomputed at every t, and the weight-
    decay term wd/2 ||phi(t)||^2 at each t (Garipov et al. report the loss with it: `train_objective`)."""

    t: tuple[float, ...]
    train_loss: tuple[float, ...]
    train_error: tuple[float, ...]
    test_loss: tuple[float, ...]
    test_error: tuple[float, ...]
    l2: tuple[float, ...]

    @property
    def train_objective(self) -> tuple[float, ...]:
        """Cross-entropy plus wd/2 ||phi(t)||^2 on the training images: the curve's training objective."""
        return tuple(a + b for a, b in zip(self.train_loss, self.l2))


def l2_term(theta: Mapping[str, torch.Tensor], names: Sequence[str], weight_decay: float) -> float:
    """wd/2 ||theta||^2 over the parameters `names` (in float64): the L2 part of the curve's training objective."""
    return 0.5 * weight_decay * sum(float((directions.flatten({k: theta[k]}) ** 2).sum()) for k in names)


def bn_batches(split: data.Split, batch_size: int, augmented: bool, device: str | torch.device = "cpu"
               ) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """The batches BN statistics are recomputed over at each point of a path or plane: None (the clean training
    images themselves) for a network trained without augmentation; for one trained with it, one fixed draw of
    random crops and flips of those images (seed 0, the same at every point), as Garipov et al.'s update_bn
    passes over their augmented training loader: clean images' statistics misfit such a network."""
    return list(data.batches(split, batch_size, augmented=True, seed=0, device=device)) if augmented else None


def path_evaluator(model: nn.Module, train_split: data.Split, test_split: data.Split, weight_decay: float = 0.0,
                   batch_size: int | None = None, device: str | torch.device = "cpu", precision: str = "fp32",
                   bn_augmented: bool = False):
    """A function theta -> {"train_loss", "train_error", "test_loss", "test_error", "l2"} (plain cross-entropy,
    error in %, wd/2 ||theta||^2): `surface.evaluator` with BN recomputed on the train split at every point
    (over its augmented batches where `bn_augmented`: `bn_batches`); the losses are on the clean images."""
    batch_size = batch_size or data.eval_batch_size(device)
    names = [k for k, _ in model.named_parameters()]
    shell = copy.deepcopy(model).to(device)  # the caller's model stays where it is
    evaluate = surface.evaluator(shell, {name: data.batches(split, batch_size, device=device)
                                         for name, split in (("train", train_split), ("test", test_split))},
                                 bn="recompute", precision=precision,
                                 bn_data=bn_batches(train_split, batch_size, bn_augmented, device))

    def at(theta: Mapping[str, torch.Tensor]) -> dict[str, float]:
        values = evaluate({k: theta[k].to(device) for k in names})
        out = {key: value for name in ("train", "test")
               for key, value in ((f"{name}_loss", values[f"{name}_loss"]),
                                  (f"{name}_error", 100.0 - values[f"{name}_acc"]))}
        return {**out, "l2": l2_term(theta, names, weight_decay)}

    return at


def evaluate_point(model: nn.Module, theta: Mapping[str, torch.Tensor], train_split: data.Split,
                   test_split: data.Split, weight_decay: float = 0.0, batch_size: int | None = None,
                   device: str | torch.device = "cpu", precision: str = "fp32") -> dict[str, float]:
    """Train and test cross-entropy and error (%) of weights theta, BN recomputed on train_split, and the L2 term."""
    return path_evaluator(model, train_split, test_split, weight_decay, batch_size, device, precision)(theta)


def ts(points: int = 61) -> list[float]:
    """points equally spaced values of t in [0, 1] (61 as in the reference eval_curve.py)."""
    if points < 2:
        raise ValueError(f"points={points} must be >= 2")
    return [k / (points - 1) for k in range(points)]


def evaluate_path(model: nn.Module, thetas: Sequence[Mapping[str, torch.Tensor]], t: Sequence[float],
                  train_split: data.Split, test_split: data.Split, weight_decay: float = 0.0,
                  batch_size: int | None = None, device: str | torch.device = "cpu",
                  precision: str = "fp32", bn_augmented: bool = False) -> PathResult:
    """Evaluate the points thetas[j] (at t[j]) of a path, BN recomputed at each (`path_evaluator`)."""
    if len(thetas) != len(t):
        raise ValueError(f"{len(thetas)} thetas and {len(t)} values of t must match")
    at = path_evaluator(model, train_split, test_split, weight_decay, batch_size, device, precision, bn_augmented)
    rows = [at(th) for th in thetas]
    return PathResult(tuple(t), *(tuple(r[k] for r in rows)
                                  for k in ("train_loss", "train_error", "test_loss", "test_error", "l2")))


def evaluate_curve(model: nn.Module, curve: Curve, train_split: data.Split, test_split: data.Split,
                   points: int = 61, weight_decay: float = 0.0, batch_size: int | None = None,
                   device: str | torch.device = "cpu", precision: str = "fp32",
                   bn_augmented: bool = False) -> PathResult:
    """Train/test loss and error along phi(t) at `points` values of t (a straight line is a curve with no bend)."""
    grid = ts(points)
    return evaluate_path(model, [curve.at(t) for t in grid], grid, train_split, test_split, weight_decay,
                         batch_size, device, precision, bn_augmented)


def straight(theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor],
             names: Sequence[str] | None = None) -> Curve:
    """The straight line (1 - t) theta1 + t theta2 as a curve without bends, over the parameters `names`
    (default: theta1's keys; pass the model's parameter names to leave BN statistics out)."""
    names = list(theta1) if names is None else list(names)
    return Curve("bezier", (dict(parameters(theta1, names)), dict(parameters(theta2, names))))


def evaluate_line(model: nn.Module, theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor],
                  train_split: data.Split, test_split: data.Split, points: int = 61, weight_decay: float = 0.0,
                  batch_size: int | None = None, device: str | torch.device = "cpu",
                  precision: str = "fp32") -> PathResult:
    """The same along the straight line (1 - t) theta1 + t theta2, whose barrier the curve removes."""
    line = straight(theta1, theta2, [k for k, _ in model.named_parameters()])
    return evaluate_curve(model, line, train_split, test_split, points, weight_decay, batch_size, device, precision)


def along(model: nn.Module, paths: Mapping[str, Curve], sample: Sample, points: int = 61, weight_decay: float = 0.0,
          precision: str = "fp32", root: str | Path | None = None, cache_dir: str | Path | None = None,
          device: str | torch.device = "cpu", bn_augmented: bool = False) -> dict[str, PathResult]:
    """{name: PathResult} of each path (a `Curve`; `straight` makes lines) at `points` values of t on the sample's
    train and test images, BN recomputed at every point, over augmented batches where `bn_augmented` (for networks
    trained with augmentation: `bn_batches`) (cached)."""
    splits = sample.splits(root)
    if "test" not in splits:
        raise ValueError(f"sample={sample!r} needs test_subset > 0: the paths are evaluated on train and test")
    if not paths:
        raise ValueError("paths must name at least one curve or line")
    fingerprint = data.fingerprint(*splits.values())
    key = cache.key("paths-ce", {name: (c.kind, [directions.fingerprint(x) for x in c.controls])
                                 for name, c in paths.items()}, sample, points, weight_decay, precision, fingerprint,
                    devices.key(device), *batchnorm.augmented_tag(bn_augmented))

    def compute() -> dict[str, PathResult]:
        return {name: evaluate_curve(model, c, splits["train"], splits["test"], points, weight_decay,
                                     sample.batch_size, device, precision, bn_augmented)
                for name, c in paths.items()}

    return cache.cached(f"paths-{type(model).__name__.lower()}", key, compute, cache_dir)


def line_and_curves(model: nn.Module, trained: Mapping[str, Curve], sample: Sample, points: int = 61,
                    weight_decay: float = 0.0, precision: str = "fp32", root: str | Path | None = None,
                    cache_dir: str | Path | None = None, device: str | torch.device = "cpu",
                    bn_augmented: bool = False) -> dict[str, PathResult]:
    """{"line": ..., name: ...}: the straight line between the curves' common endpoints and each curve (`along`)."""
    if not trained:
        raise ValueError("trained must hold at least one curve")
    first = next(iter(trained.values()))
    for name, c in trained.items():
        same = all(torch.equal(c.controls[i][k], first.controls[i][k]) for i in (0, -1) for k in first.controls[0])
        if set(c.controls[0]) != set(first.controls[0]) or not same:
            raise ValueError(f"curve {name!r} does not share its endpoints with the others: one line cannot serve both")
    return along(model, {"line": straight(first.controls[0], first.controls[-1]), **trained}, sample, points,
                 weight_decay, precision, root, cache_dir, device, bn_augmented)


def barriers(result: PathResult) -> dict[str, float]:
    """The barriers of one path: plain cross-entropy on train and test, and the training objective with wd."""
    return {"train_ce": barrier(result.train_loss), "test_ce": barrier(result.test_loss),
            "train_objective": barrier(result.train_objective)}


def barrier(losses: Sequence[float]) -> float:
    """Loss barrier of a path: max over the path minus the larger endpoint loss (0 when no point rises above)."""
    if len(losses) < 2:
        raise ValueError(f"losses must hold at least the two endpoints; got {len(losses)}")
    return float(max(losses) - max(losses[0], losses[-1]))


# ---- the plane through three points (Garipov et al. Fig. 1, footnote 1) ------------------------------

@dataclass(frozen=True)
class Plane:
    """P(x, y) = origin + x u + y v with u, v orthonormal; `anchors` are the (x, y) of the three points."""

    origin: Weights
    u: Weights
    v: Weights
    anchors: tuple[tuple[float, float], ...]

    def at(self, x: float, y: float) -> Weights:
        """The weights at plane coordinates (x, y)."""
        return directions.add(directions.add(self.origin, self.u, x), self.v, y)

    def coordinates(self, theta: Mapping[str, torch.Tensor]) -> tuple[float, float]:
        """(x, y) of theta's orthogonal projection onto the plane."""
        d = directions.between(self.origin, parameters(theta, list(self.origin)))
        return directions.dot(d, self.u), directions.dot(d, self.v)


def plane(theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor],
          theta3: Mapping[str, torch.Tensor]) -> Plane:
    """u = (theta2 - theta1)/||.||, v = theta3 - theta1 orthogonalized to u, normalized; origin theta1."""
    names = list(theta1)
    w1, w2, w3 = (dict(parameters(th, names)) for th in (theta1, theta2, theta3))
    u = directions.between(w1, w2)
    if directions.norm(u) == 0:
        raise ValueError("theta1 and theta2 coincide: they span no direction u")
    u_hat = directions.scale(u, 1.0 / directions.norm(u))
    v = directions.orthogonalize(directions.between(w1, w3), u_hat)
    if directions.norm(v) <= 1e-5 * directions.norm(directions.between(w1, w3)):  # float32 round-off
        raise ValueError("theta3 lies on the line through theta1 and theta2: the three points span no plane")
    v_hat = directions.scale(v, 1.0 / directions.norm(v))
    anchors = ((0.0, 0.0), (directions.norm(u), 0.0),
               (directions.dot(directions.between(w1, w3), u_hat), directions.norm(v)))
    return Plane(w1, u_hat, v_hat, anchors)


def plane_through(model: nn.Module, states: Sequence[Mapping[str, torch.Tensor]]) -> Plane:
    """The plane through three trained networks' parameters, given as state dicts (BN statistics and other
    buffers are left out: they are recomputed at every point of the plane)."""
    if len(states) != 3:
        raise ValueError(f"states must hold exactly three state dicts to span a plane; got {len(states)}")
    names = [k for k, _ in model.named_parameters()]
    return plane(*(parameters(s, names) for s in states))


def curve_plane(curve: Curve) -> Plane:
    """The plane through the endpoints and the middle bend (the one bend of a one-bend curve)."""
    if curve.bends < 1:
        raise ValueError("curve needs at least one bend to span a plane with its endpoints")
    return plane(curve.controls[0], curve.controls[-1], curve.controls[len(curve.controls) // 2])


def curve_coordinates(p: Plane, curve: Curve, points: int = 61) -> np.ndarray:
    """(points, 2) plane coordinates of phi(t) (projected; exact when the curve lies in the plane)."""
    return np.array([p.coordinates(curve.at(t)) for t in ts(points)])


def grid(anchors: Sequence[tuple[float, float]], points: int = 21,
         margin: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes covering the anchors plus `margin` of their extent on each side (reference plane.py)."""
    if points < 2 or margin < 0:
        raise ValueError(f"points={points} must be >= 2 and margin={margin} >= 0")
    xy = np.asarray(anchors, dtype=float)
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - margin * span, hi + margin * span
    return np.linspace(lo[0], hi[0], points), np.linspace(lo[1], hi[1], points)


@dataclass(frozen=True)
class PlaneRequest:
    """The loss on a `Plane` through three networks (sha256 of its origin and axes, and of the network's other
    buffers), on the grid `xs` by `ys`, over `sample` with BN recomputed at every point, in `precision`."""

    plane: tuple[str, str, str]
    buffers: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    sample: Sample
    precision: str = "fp32"
    device: str = "cpu"


def plane_surface(p: Plane, model: nn.Module, sample: Sample, points: int = 21, margin: float = 0.2, *,
                  precision: str = "fp32", root: str | Path | None = None, out_dir: str | Path | None = None,
                  device: str | torch.device = "cpu", progress: bool = False, bn_augmented: bool = False
                  ) -> io.Surface:
    """Loss and accuracy (%) on a points x points grid over the plane, covering its anchors plus `margin`
    (Garipov et al. Fig. 1), BN statistics recomputed at every point on the sample's training images (augmented
    where `bn_augmented`: `bn_batches`).

    Computed into a resumable HDF5 file under `out_dir` named after its `PlaneRequest` (`surface.compute_file`);
    `z[j, i]` is the value at `(xcoordinates[i], ycoordinates[j])`.
    """
    xs, ys = grid(p.anchors, points, margin)
    net = copy.deepcopy(model).to(device)  # the caller's model stays where it is
    request = PlaneRequest((directions.fingerprint(p.origin), directions.fingerprint(p.u), directions.fingerprint(p.v)),
                           directions.fingerprint(dict(net.named_buffers())), tuple(xs.tolist()), tuple(ys.tolist()),
                           sample, precision, devices.key(device))
    folder = Path(out_dir) if out_dir is not None else folders.output_dir("surfaces")
    tag = batchnorm.augmented_tag(bn_augmented)
    out = folder / f"plane-{type(model).__name__.lower()}-{cache.key('plane', request, *tag)[:16]}.h5"
    theta = {k: v.to(device) for k, v in p.origin.items()}
    axes = [{k: v.to(device) for k, v in d.items()} for d in (p.u, p.v)]
    evaluation = surface.Evaluation(bn="recompute", precision=precision, batch_size=sample.batch_size)
    wanted = surface.loss_request(net, theta, axes, xs, ys, sample.fingerprints(root), evaluation,
                                  {"request": cache.text(request), **({"bn_data": tag[0]} if tag else {})})

    def evaluator() -> surface.PointValues:
        batches = sample.batches(root)
        bn_data = bn_batches(sample.splits(root)["train"], sample.batch_size, bn_augmented, device)
        return surface.evaluator(net, batches, bn="recompute", precision=precision, bn_data=bn_data)

    return surface.compute_file(out, wanted, theta, axes, evaluator, saving=surface.Saving(progress=progress), log=None)
