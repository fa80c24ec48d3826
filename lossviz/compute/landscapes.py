"""The landscapes of trained runs, each described by a frozen request and computed into its own file.

A request names the run (its `TrainConfig`), the images (`Sample`), the grid, the directions, how each point is
evaluated and the device type: everything its numbers depend on. Its cache key names the file
(`<kind>-<network>-<key>.h5` under the output folder) and its JSON text is the file's `request` attribute, so a
file is found again by the request that made it and refused for any other. Li et al. 2018: random planes and
lines (Sec. 4-5), interpolation between two minimizers (Fig. 2-3), Hessian eigenvalue maps (Fig. 7), PCA planes of
the optimizer's path (Fig. 9); and the curvature numbers of a minimizer (lambda_max, tr H).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lossviz.base import cache, devices, directions, folders, io
from lossviz.base.data import Sample
from lossviz.compute import hessian, surface, trajectory
from lossviz.compute.eigenmaps import Lanczos, eigen_request, point_values
from lossviz.compute.train import TrainConfig, TrainResult

DIMS = (1, 2)


def _check_run(run: TrainConfig, result: TrainResult) -> None:
    if result.config != run:
        raise ValueError(f"the result is of another run than the request's ({result.config.model} vs {run.model})")


def path(kind: str, network: str, request: object, device: str, out_dir: str | Path | None = None) -> Path:
    """The file of a request: `<kind>-<network>-<first 16 hex digits of its key>.h5` under `out_dir` (default: the
    output folder of "surfaces"); the key holds the request and what its device computes in (`devices.key`)."""
    folder = Path(out_dir) if out_dir is not None else folders.output_dir("surfaces")
    return folder / f"{kind}-{network}-{cache.key(kind, request, devices.key(device))[:16]}.h5"


def complete(out: Path) -> bool:
    """True when a finished result file exists (a view can then be read back instead of computed)."""
    try:
        return out.exists() and io.load_surface(out).complete
    except (OSError, ValueError, KeyError):
        return False


@dataclass(frozen=True)
class RandomPlane:
    """Loss and accuracy around a run's final weights along `dims` seeded random directions on [-span, span]
    (Li et al. Sec. 4-5), directions normalized by `norm` with `ignore`d tensors zero, BN `bn`, in `precision`."""

    run: TrainConfig
    sample: Sample
    dims: int = 2
    points: int = 21
    span: float = 1.0
    norm: str = "filter"
    ignore: str = "biasbn"
    seed: int = 0
    bn: str = "eval"
    precision: str = "fp32"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.dims not in DIMS:
            raise ValueError(f"dims={self.dims} must be 1 or 2")
        directions.check_choice("norm", self.norm, directions.NORMS)
        directions.check_choice("ignore", self.ignore, directions.IGNORES)

    @property
    def xs(self) -> np.ndarray:
        """The grid along each axis."""
        return np.linspace(-self.span, self.span, self.points)

    def file(self, out_dir: str | Path | None = None) -> Path:
        """The file this request is computed into."""
        return path("surface", self.run.model, self, self.device, out_dir)


def random_surface(request: RandomPlane, result: TrainResult, root: str | Path | None = None,
                   out_dir: str | Path | None = None, progress: bool = False) -> io.Surface:
    """The surface of a `RandomPlane` request, computed into (or read back from) its file."""
    _check_run(request.run, result)
    model = result.model(request.device)
    theta = directions.weights(model)
    found = directions.random_directions(model, request.seed, request.dims, request.norm, request.ignore)
    xs = request.xs
    evaluation = surface.Evaluation(bn=request.bn, precision=request.precision, batch_size=request.sample.batch_size)
    wanted = surface.loss_request(model, theta, found, xs, xs if request.dims == 2 else None,
                                  request.sample.fingerprints(root), evaluation, {"request": cache.text(request)})
    return surface.compute_file(request.file(out_dir), wanted, theta, found,
                                lambda: surface.evaluator(model, request.sample.batches(root), bn=request.bn,
                                                          precision=request.precision),
                                saving=surface.Saving(progress=progress), log=None)


@dataclass(frozen=True)
class Interpolation:
    """Loss and accuracy at (1 - alpha) theta1 + alpha theta2 for `points` alphas on `span` (Goodfellow et al. 2015;
    Li et al. Fig. 2-3): `kind` "states" moves the BN statistics too; bn "eval" uses them as interpolated
    (undefined where a variance turns negative), "recompute" re-estimates them on the sample at every alpha."""

    first: TrainConfig
    second: TrainConfig
    sample: Sample
    points: int = 21
    span: tuple[float, float] = (-0.5, 1.5)
    kind: str = "states"
    bn: str = "eval"
    precision: str = "fp32"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.first.model != self.second.model:
            raise ValueError(f"first and second must share a model; got {self.first.model} and {self.second.model}")
        directions.check_choice("kind", self.kind, directions.KINDS)

    def file(self, out_dir: str | Path | None = None) -> Path:
        """The file this request is computed into."""
        return path("interpolation", self.first.model, self, self.device, out_dir)


def interpolation(request: Interpolation, first: TrainResult, second: TrainResult, root: str | Path | None = None,
                  out_dir: str | Path | None = None, progress: bool = False) -> io.Surface:
    """The line of an `Interpolation` request between two trained runs, computed into (or read from) its file."""
    _check_run(request.first, first)
    _check_run(request.second, second)
    model = first.model(request.device)
    theta1 = directions.weights(model, request.kind)
    theta2 = directions.weights(second.model(request.device), request.kind)
    line = [directions.between(theta1, theta2)]
    alphas = np.linspace(request.span[0], request.span[1], request.points)
    evaluation = surface.Evaluation(bn=request.bn, precision=request.precision, batch_size=request.sample.batch_size)
    wanted = surface.loss_request(model, theta1, line, alphas, None, request.sample.fingerprints(root), evaluation,
                                  {"request": cache.text(request)})
    return surface.compute_file(request.file(out_dir), wanted, theta1, line,
                                lambda: surface.evaluator(model, request.sample.batches(root), bn=request.bn,
                                                          precision=request.precision),
                                saving=surface.Saving(progress=progress), log=None)


@dataclass(frozen=True)
class EigenPlane:
    """min_eig/max_eig of the training-loss Hessian over the sample's training images on the plane of the
    `RandomPlane` with the same seed, points, span, norm and ignore (Li et al. Fig. 7)."""

    run: TrainConfig
    sample: Sample
    points: int = 5
    span: float = 1.0
    norm: str = "filter"
    ignore: str = "biasbn"
    seed: int = 0
    lanczos: Lanczos = Lanczos()
    device: str = "cpu"

    def file(self, out_dir: str | Path | None = None) -> Path:
        """The file this request is computed into."""
        return path("eigen", self.run.model, self, self.device, out_dir)


def eigen_surface(request: EigenPlane, result: TrainResult, root: str | Path | None = None,
                  out_dir: str | Path | None = None, progress: bool = False) -> io.Surface:
    """The eigenvalue map of an `EigenPlane` request, computed into (or read back from) its resumable file."""
    _check_run(request.run, result)
    model = result.model(request.device)
    theta = directions.weights(model)
    found = directions.random_directions(model, request.seed, 2, request.norm, request.ignore)
    xs = np.linspace(-request.span, request.span, request.points)
    data = {"train": request.sample.fingerprints(root)["train"]}
    wanted = eigen_request(model, theta, found, xs, xs, data, request.lanczos, context={"request": cache.text(request)})
    return surface.compute_file(request.file(out_dir), wanted, theta, found,
                                lambda: point_values(model, lambda: request.sample.batches(root)["train"],
                                                     request.lanczos),
                                saving=surface.Saving(progress=progress), log=None)


@dataclass(frozen=True)
class Sharpness:
    """lambda_max (Lanczos to `tol`, at most `max_steps` HVPs) and the Hutchinson trace (`samples` Rademacher
    vectors) of the training-loss Hessian at a run's final weights, over the sample's training images."""

    run: TrainConfig
    sample: Sample
    tol: float = 1e-2
    max_steps: int = 30
    samples: int = 10
    seed: int = 0
    device: str = "cpu"


def sharpness(request: Sharpness, result: TrainResult, root: str | Path | None = None,
              cache_dir: str | Path | None = None) -> dict[str, float]:
    """{lambda_max, trace, trace_se, hvps} of a `Sharpness` request, cached under the request and the images' sha256.
    (lambda_min needs many more products at a minimizer, where it is near 0: the maps give it. Test errors come from
    `train.test_outcomes`, on all the test images, not from here.)"""
    _check_run(request.run, result)

    def compute() -> dict[str, float]:
        op = hessian.operator(result.model(request.device), request.sample.batches(root)["train"])
        top = hessian.top_k(op, k=1, tol=request.tol, max_steps=request.max_steps, seed=request.seed)
        tr = hessian.trace(op, samples=request.samples, seed=request.seed)
        return {"lambda_max": top.values[0], "trace": tr.value, "trace_se": tr.std_error,
                "hvps": top.hvps + tr.hvps}

    key = cache.key("sharpness", request, request.sample.fingerprints(root))
    return cache.cached(f"sharpness-{request.run.model}", key, compute, cache_dir)


@dataclass(frozen=True)
class PCAPlane:
    """The loss on the plane of the two PCA directions of a run's checkpoints (Li et al. Fig. 9), centered at its
    final weights, on a grid covering the path with `margin` (a fraction of its extent) on every side."""

    run: TrainConfig
    sample: Sample
    points: int = 9
    margin: float = 0.3
    ignore: str | None = "biasbn"
    precision: str = "fp32"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.margin < 0:
            raise ValueError(f"margin={self.margin} must be >= 0")

    def file(self, out_dir: str | Path | None = None) -> Path:
        """The file this request is computed into."""
        return path("pca", self.run.model, self, self.device, out_dir)


@dataclass(frozen=True)
class PathPlane:
    """The loss on a run's PCA plane, the PCA of its path, and the epoch of each checkpoint (rows of pca.coords)."""

    surface: io.Surface
    pca: trajectory.PCA
    epochs: tuple[float, ...]


def pca_surface(request: PCAPlane, result: TrainResult, root: str | Path | None = None,
                out_dir: str | Path | None = None, progress: bool = False) -> PathPlane:
    """PCA of the run's checkpoints (ending at the final weights) and the loss on that plane, into its file."""
    _check_run(request.run, result)
    if len(result.checkpoints) < 3:
        raise ValueError(f"the run saved {len(result.checkpoints)} checkpoints; a path needs at least 3 "
                         "(train with checkpoints every epoch)")
    epochs = tuple(sorted(result.checkpoints))
    checkpoints = [result.checkpoints[e] for e in epochs]
    found = trajectory.pca(checkpoints, ignore=request.ignore)
    lo, hi = found.coords.min(axis=0), found.coords.max(axis=0)
    pad = request.margin * (hi - lo)
    xs, ys = (np.linspace(a - p, b + p, request.points) for a, b, p in zip(lo, hi, pad))
    model = result.model(request.device)
    theta = {k: v.to(request.device) for k, v in checkpoints[-1].items() if v.is_floating_point()}
    axes = [{k: v.to(request.device) for k, v in d.items()} for d in found.directions]
    evaluation = surface.Evaluation(precision=request.precision, batch_size=request.sample.batch_size)
    wanted = surface.loss_request(model, theta, axes, xs, ys, request.sample.fingerprints(root), evaluation,
                                  {"request": cache.text(request)})
    plane = surface.compute_file(request.file(out_dir), wanted, theta, axes,
                                 lambda: surface.evaluator(model, request.sample.batches(root),
                                                           precision=request.precision),
                                 saving=surface.Saving(progress=progress), log=None)
    return PathPlane(plane, found, epochs)


def scale_invariance(result: TrainResult, sample: Sample, factors: tuple[float, ...] = (0.25, 1.0, 4.0),
                     root: str | Path | None = None, device: str | torch.device = "cpu") -> dict[str, list[float]]:
    """Training loss after scaling every conv filter by c, with BN statistics kept or recomputed (Li et al. sec. 3).

    A convolution followed by batch normalization computes the same function for theta and c*theta once
    BN statistics are recomputed; with the stored statistics the loss changes. So the distance between
    two minimizers, and a plot over it, says little without accounting for the weights' scale.
    """
    if not factors or any(c <= 0 for c in factors):
        raise ValueError(f"factors={factors} must be positive numbers")
    model = result.model(device)
    theta = directions.weights(model)
    batches = sample.batches(root)["train"]
    out: dict[str, list[float]] = {"factor": list(factors), "bn eval": [], "bn recomputed": []}
    for c in factors:
        scaled = {k: v * c if k.endswith("weight") and v.dim() == 4 else v for k, v in theta.items()}
        out["bn eval"].append(surface.evaluate(model, scaled, batches, bn="eval")[0])
        out["bn recomputed"].append(surface.evaluate(model, scaled, batches, bn="recompute")[0])
    return out
