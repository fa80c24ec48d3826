"""Recipes for the notebooks: the surface of a trained run, computed once into a resumable HDF5 file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lossviz import cache, data, directions, hessian, io, models, paths, surface, trajectory
from lossviz.train import TrainResult


@dataclass(frozen=True)
class Sample:
    """Which images a surface is evaluated on: the first N training (and test) images of a dataset."""

    dataset: str
    train_subset: int
    test_subset: int = 0  # 0: no test split
    batch_size: int = 128  # fast on CPUs (lossviz.data.EVAL_BATCH_SIZES); BN recomputation also uses it

    def splits(self, root: str | Path | None = None) -> dict[str, data.Split]:
        """The named splits: {"train": ..., "test": ...} (test only when test_subset > 0)."""
        found = {"train": data.load(self.dataset, True, root, self.train_subset)}
        if self.test_subset:
            found["test"] = data.load(self.dataset, False, root, self.test_subset)
        return found

    def batches(self, root: str | Path | None = None) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Normalized batches of each split, ready for `lossviz.surface`."""
        return {name: list(data.batches(split, self.batch_size)) for name, split in self.splits(root).items()}


def _path(kind: str, result: TrainResult, spec: dict, out_dir: str | Path | None) -> Path:
    """A result file named after the run and everything else that determines it."""
    folder = Path(out_dir) if out_dir is not None else paths.output_dir("surfaces")
    digest = cache.key(kind, result.config, spec)[:16]
    return folder / f"{kind}-{result.config.model}-{digest}.h5"


def surface_path(result: TrainResult, sample: Sample, *, dims: int = 2, points: int = 21, span: float = 1.0,
                 norm: str = "filter", ignore: str = "biasbn", seed: int = 0, bn: str = "eval",
                 precision: str = "fp32", out_dir: str | Path | None = None) -> Path:
    """The file `random_surface` with these arguments reads or writes."""
    if dims not in (1, 2):
        raise ValueError(f"dims={dims} must be 1 or 2")
    xs = np.linspace(-span, span, points)
    spec = {"dims": dims, "xs": xs.tolist(), "norm": norm, "ignore": ignore, "seed": seed, "bn": bn,
            "precision": precision, "sample": sample}
    return _path("surface", result, spec, out_dir)


def random_surface(result: TrainResult, sample: Sample, *, dims: int = 2, points: int = 21,
                   span: float = 1.0, norm: str = "filter", ignore: str = "biasbn", seed: int = 0,
                   bn: str = "eval", precision: str = "fp32", root: str | Path | None = None,
                   out_dir: str | Path | None = None, device: str | torch.device = "cpu",
                   progress: bool = False) -> io.Surface:
    """Loss and accuracy around a trained run along `dims` seeded random directions (Li et al. sec. 4-5)."""
    xs = np.linspace(-span, span, points)
    out = surface_path(result, sample, dims=dims, points=points, span=span, norm=norm, ignore=ignore, seed=seed,
                       bn=bn, precision=precision, out_dir=out_dir)
    model = result.model(device)
    theta = directions.weights(model)
    dirs = directions.random_directions(model, seed, count=dims, norm=norm, ignore=ignore)
    batches = sample.batches(root) if not complete(out) else {}
    return surface.compute_file(out, model, theta, dirs, xs, xs if dims == 2 else None,
                                data=_lazy(batches, sample, root), bn=bn, precision=precision,
                                request={"sample": repr(sample)}, progress=progress, log=None)


def interpolation(first: TrainResult, second: TrainResult, sample: Sample, *, points: int = 21,
                  span: tuple[float, float] = (-0.5, 1.5), kind: str = "states", precision: str = "fp32",
                  root: str | Path | None = None, out_dir: str | Path | None = None,
                  device: str | torch.device = "cpu", progress: bool = False) -> io.Surface:
    """Loss and accuracy at (1 - alpha) theta1 + alpha theta2 (Goodfellow et al. 2015; Li et al. Fig. 2/3)."""
    if first.config.model != second.config.model:
        raise ValueError(f"first and second must share a model; got {first.config.model} and {second.config.model}")
    alphas = np.linspace(span[0], span[1], points)
    spec = {"second": second.config, "alphas": alphas.tolist(), "kind": kind, "precision": precision,
            "sample": sample}
    out = _path("interpolation", first, spec, out_dir)
    model = first.model(device)
    theta1 = directions.weights(model, kind)
    theta2 = directions.weights(second.model(device), kind)
    batches = sample.batches(root) if not complete(out) else {}
    return surface.compute_file(out, model, theta1, [directions.between(theta1, theta2)], alphas,
                                data=_lazy(batches, sample, root), precision=precision,
                                request={"sample": repr(sample)}, progress=progress, log=None)


def eigen_surface(result: TrainResult, sample: Sample, *, points: int = 5, span: float = 1.0, norm: str = "filter",
                  ignore: str = "biasbn", seed: int = 0, params: str = "all", tol: float = 1e-2,
                  max_steps: int = 100, floor: float = 1e-2, root: str | Path | None = None,
                  out_dir: str | Path | None = None, device: str | torch.device = "cpu",
                  progress: bool = False) -> io.Surface:
    """min_eig/max_eig of the training-loss Hessian on the plane of `random_surface` with the same seed, points,
    span, norm and ignore (Li et al. Fig. 7), into a resumable file; the Hessian is over `sample`'s training images.
    """
    xs = np.linspace(-span, span, points)
    spec = {"xs": xs.tolist(), "norm": norm, "ignore": ignore, "seed": seed, "params": params, "tol": tol,
            "max_steps": max_steps, "floor": floor, "sample": sample}
    out = _path("eigen", result, spec, out_dir)
    model = result.model(device)
    theta = directions.weights(model)
    dirs = directions.random_directions(model, seed, count=2, norm=norm, ignore=ignore)
    batches = sample.batches(root)["train"] if not complete(out) else []
    return hessian.eigen_map_file(out, model, theta, dirs, xs, xs, batches, params=params, tol=tol,
                                  max_steps=max_steps, seed=0, floor=floor, request={"sample": repr(sample)},
                                  progress=progress, log=None)


def sharpness(result: TrainResult, sample: Sample, *, tol: float = 1e-2, max_steps: int = 50, samples: int = 10,
              seed: int = 0, root: str | Path | None = None, device: str | torch.device = "cpu",
              cache_dir: str | Path | None = None) -> dict[str, float]:
    """lambda_min, lambda_max (Lanczos) and the Hutchinson trace (with its standard error) of the training-loss
    Hessian at the run's final weights, over `sample`'s training images; cached like the runs."""
    def compute() -> dict[str, float]:
        op = hessian.operator(result.model(device), sample.batches(root)["train"])
        e = hessian.extremes(op, tol=tol, max_steps=max_steps, seed=seed, floor=1e-2)
        tr = hessian.trace(op, samples=samples, seed=seed)
        return {"lambda_min": e.lambda_min, "lambda_max": e.lambda_max, "trace": tr.value,
                "trace_se": tr.std_error, "test_error": result.test_error}

    spec = {"tol": tol, "max_steps": max_steps, "samples": samples, "seed": seed, "sample": sample}
    return cache.cached("sharpness", cache.key("sharpness", result.config, spec), compute, cache_dir)


@dataclass(frozen=True)
class PathPlane:
    """The loss on the plane of a run's two PCA directions, centered at its final weights (Li et al. Fig. 9)."""

    surface: io.Surface
    pca: trajectory.PCA
    epochs: tuple[float, ...]  # the epoch of each checkpoint, one per row of pca.coords


def pca_surface(result: TrainResult, sample: Sample, *, points: int = 9, margin: float = 0.3,
                ignore: str | None = "biasbn", precision: str = "fp32", root: str | Path | None = None,
                out_dir: str | Path | None = None,
                device: str | torch.device = "cpu", progress: bool = False) -> PathPlane:
    """PCA of the run's checkpoints (`TrainResult.checkpoints`, ending at the final weights) and the loss on
    that plane, on a grid covering the path with `margin` (a fraction of its extent) on every side."""
    if len(result.checkpoints) < 3:
        raise ValueError(f"the run saved {len(result.checkpoints)} checkpoints; a path needs at least 3 "
                         "(train with checkpoints every epoch)")
    if margin < 0:
        raise ValueError(f"margin={margin} must be >= 0")
    epochs = tuple(sorted(result.checkpoints))
    path = [result.checkpoints[e] for e in epochs]
    found = trajectory.pca(path, ignore=ignore)
    lo, hi = found.coords.min(axis=0), found.coords.max(axis=0)
    pad = margin * (hi - lo)
    xs, ys = (np.linspace(a - p, b + p, points) for a, b, p in zip(lo, hi, pad))
    spec = {"xs": xs.tolist(), "ys": ys.tolist(), "ignore": ignore, "precision": precision, "sample": sample}
    out = _path("pca", result, spec, out_dir)
    model = result.model(device)
    theta = {k: v.to(device) for k, v in path[-1].items() if v.is_floating_point()}
    dirs = [{k: v.to(device) for k, v in d.items()} for d in found.directions]
    batches = sample.batches(root) if not complete(out) else {}
    plane = surface.compute_file(out, model, theta, dirs, xs, ys, data=_lazy(batches, sample, root),
                                 precision=precision, request={"sample": repr(sample)}, progress=progress, log=None)
    return PathPlane(plane, found, epochs)


def complete(out: Path) -> bool:
    """True when a finished result file exists (then the data need not be loaded)."""
    try:
        return out.exists() and io.load_surface(out).complete
    except (OSError, ValueError, KeyError):
        return False


def _lazy(batches: dict, sample: Sample, root: str | Path | None) -> dict:
    """The batches, or placeholders named like the splits when the file is already complete."""
    if batches:
        return batches
    return {name: [] for name in (("train", "test") if sample.test_subset else ("train",))}


def caption(result: TrainResult) -> str:
    """The paper's caption of a trained run: "ResNet-56-NS, 13.31%"."""
    from lossviz.plot import caption as plot_caption
    return plot_caption(models.display_name(result.config.model), result.test_error)


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
    out = {"factor": list(factors), "bn eval": [], "bn recomputed": []}
    for c in factors:
        scaled = {k: v * c if k.endswith("weight") and v.dim() == 4 else v for k, v in theta.items()}
        out["bn eval"].append(surface.evaluate(model, scaled, batches, bn="eval")[0])
        out["bn recomputed"].append(surface.evaluate(model, scaled, batches, bn="recompute")[0])
    return out


def summary(s: io.Surface, key: str = "train_loss") -> dict[str, float]:
    """Numbers that describe a surface: the loss at the center and at the rim, and its local minima."""
    z = np.asarray(s[key], dtype=np.float64)
    if z.ndim == 1:
        center = z[len(z) // 2]
        rim = float(np.mean([z[0], z[-1]]))
        minima = int(np.sum((z[1:-1] < z[:-2]) & (z[1:-1] < z[2:])))
    else:
        center = z[z.shape[0] // 2, z.shape[1] // 2]
        rim = float(np.mean(np.concatenate([z[0], z[-1], z[1:-1, 0], z[1:-1, -1]])))
        inner = z[1:-1, 1:-1]
        neighbours = [z[1 + dy:z.shape[0] - 1 + dy, 1 + dx:z.shape[1] - 1 + dx]
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
        minima = int(np.sum(np.all([inner < n for n in neighbours], axis=0)))
    return {"center": float(center), "rim": rim, "local_minima": minima}
