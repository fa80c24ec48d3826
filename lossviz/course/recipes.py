"""The recipes the notebooks call: one `Course` (a profile, its folders and device) whose methods compute each
figure's data once, cached on disk (runs) or in resumable HDF5 files (surfaces); the functions below it take
everything as arguments, for use outside the course."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lossviz.base import cache, data, directions, folders, io, models
from lossviz.base.data import Sample
from lossviz.compute import curves, ensembles, hessian, surface, trajectory
from lossviz.compute.train import TrainConfig, TrainResult, train
from lossviz.course.profiles import Profile, get
from lossviz.views import explorer, plot, vtk


def _path(kind: str, result: TrainResult, spec: dict, out_dir: str | Path | None) -> Path:
    """A result file named after the run and everything else that determines it."""
    folder = Path(out_dir) if out_dir is not None else folders.output_dir("surfaces")
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
    return plot.caption(models.display_name(result.config.model), result.test_error)


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


def batch_label(batch_size: int, weight_decay: float) -> str:
    """The label of a batch-size study run: "b=128, wd=0"."""
    return f"b={batch_size}, wd={weight_decay:g}"


@dataclass(frozen=True)
class Connection:
    """What notebook 08 connects: two normal runs of one budget and the curve settings."""

    plan: ensembles.Plan
    ends: tuple[TrainConfig, TrainConfig]
    config: curves.CurveConfig

    @property
    def model_name(self) -> str:
        """The network the endpoints train."""
        return self.plan.base.model

    @property
    def dataset(self) -> str:
        """The dataset the endpoints train on."""
        return self.plan.base.dataset


@dataclass(frozen=True)
class Course:
    """A profile, where its data, results and cache live, and the device: the recipes the notebooks call."""

    profile: Profile
    data_root: Path
    out_dir: Path
    cache_dir: Path | None = None  # None: $LOSSVIZ_CACHE or cache/ in the project
    device: str = "cpu"

    @classmethod
    def from_profile(cls, name: str, device: str | torch.device = "cpu", data_root: str | Path | None = None,
                     out_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> Course:
        """The course at profile `name` (its precision "auto" resolved for `device`); None folders: the defaults."""
        profile = get(name, device)
        return cls(profile, Path(data_root) if data_root is not None else folders.data_root(),
                   Path(out_dir) if out_dir is not None else folders.output_dir(profile.name),
                   Path(cache_dir) if cache_dir is not None else None, str(device))

    @property
    def precision(self) -> str:
        """The profile's precision, resolved for the device (fp32 or bf16)."""
        return self.profile.precision

    @property
    def progress(self) -> bool:
        """Whether long steps show progress bars."""
        return self.profile.progress

    def sample(self, test: bool = True) -> Sample:
        """The images each surface point is evaluated on (training, and test when `test`)."""
        return self.profile.landscape.sample(self.profile.dataset, test)

    def hessian_sample(self) -> Sample:
        """The training images the Hessian is taken over."""
        return Sample(self.profile.dataset, self.profile.landscape.hessian_subset)

    # ---- training runs --------------------------------------------------------------------------------

    def train(self, config: TrainConfig) -> TrainResult:
        """One trained run (cached)."""
        return train(config, root=self.data_root, cache_dir=self.cache_dir, device=self.device,
                     progress=self.progress)

    def first_run(self) -> TrainResult:
        """Notebook 00's first trained network."""
        return self.train(self.profile.first_run())

    def batch_runs(self, labels: bool = False) -> dict:
        """The runs of the batch-size / weight-decay study: {(batch size, weight decay): run}, or keyed by
        `batch_label` ("b=128, wd=0") when `labels`."""
        runs = {key: self.train(config) for key, config in self.profile.batch_runs().items()}
        return {batch_label(*key): run for key, run in runs.items()} if labels else runs

    def model_runs(self, names: tuple[str, ...]) -> dict[str, TrainResult]:
        """One trained run per network name (Li et al. Fig. 5/6 settings)."""
        return {name: self.train(config) for name, config in self.profile.model_runs(names).items()}

    # ---- surfaces (Li et al.) -------------------------------------------------------------------------

    def random_surface(self, run: TrainResult, sample: Sample, **options) -> io.Surface:
        """`random_surface` at this course's precision, folders and device (options: dims, points, seed, ...)."""
        options = {"precision": self.precision, **options}
        return random_surface(run, sample, root=self.data_root, out_dir=self.out_dir, device=self.device, **options)

    def interpolations(self, runs: dict[tuple[int, float], TrainResult]) -> dict[float, io.Surface]:
        """{weight decay: the linear interpolation from the small-batch to the large-batch minimizer} (notebook 01)."""
        land = self.profile.landscape
        return {wd: interpolation(runs[land.batch_small, wd], runs[land.batch_large, wd], self.sample(),
                                  points=land.interpolation_points, precision=self.precision, root=self.data_root,
                                  out_dir=self.out_dir, device=self.device)
                for wd in land.weight_decays}

    def model_planes(self, runs: dict, seed: int = 0) -> dict:
        """The filter-normalized 2D surface around each run, on the profile's grid and training sample."""
        return {key: self.random_surface(run, self.sample(test=False), dims=2,
                                         points=self.profile.landscape.points_2d, seed=seed)
                for key, run in runs.items()}

    def lines_1d(self, runs: dict, norm: str = "filter", seed: int = 0) -> dict:
        """The 1D surface around each run along one random direction, train and test (notebook 02); without
        normalization the direction is short (span 0.02), as its raw length dwarfs the weights' scale."""
        return {key: self.random_surface(run, self.sample(), dims=1, points=self.profile.landscape.points_1d,
                                         span=0.02 if norm == "none" else 1.0, norm=norm, seed=seed)
                for key, run in runs.items()}

    def path_planes(self, runs: dict[str, TrainResult]) -> dict[str, PathPlane]:
        """Each run's optimizer path on its PCA plane, with the loss there (notebook 06)."""
        return {label: pca_surface(run, self.sample(test=False), points=self.profile.landscape.points_2d,
                                   precision=self.precision, root=self.data_root, out_dir=self.out_dir,
                                   device=self.device)
                for label, run in runs.items()}

    def scale_invariance(self, run: TrainResult, factors: tuple[float, ...] = (0.25, 1.0, 4.0)
                         ) -> dict[str, list[float]]:
        """`scale_invariance` on the course's sample."""
        return scale_invariance(run, self.sample(), factors, root=self.data_root, device=self.device)

    # ---- Hessian (Li et al. sec. 6) ----------------------------------------------------------------------

    def eigen_maps(self, runs: dict[str, TrainResult], seed: int = 0, max_steps: int = 40
                   ) -> tuple[dict[str, io.Surface], dict[str, io.Surface]]:
        """({name: min_eig/max_eig map}, {name: the loss on the same plane}) on the Hessian sample (Fig. 7)."""
        land, sample = self.profile.landscape, self.hessian_sample()
        maps = {name: eigen_surface(run, sample, points=land.hessian_points, seed=seed, tol=1e-2,
                                    max_steps=max_steps, root=self.data_root, out_dir=self.out_dir,
                                    device=self.device, progress=self.progress)
                for name, run in runs.items()}
        losses = {name: random_surface(run, sample, dims=2, points=land.hessian_points, seed=seed,
                                       root=self.data_root, out_dir=self.out_dir, device=self.device)
                  for name, run in runs.items()}
        return maps, losses

    def hessian_operator(self, run: TrainResult) -> hessian.Operator:
        """The training-loss Hessian of `run` at its final weights, over the Hessian sample."""
        return hessian.operator(run.model(self.device), self.hessian_sample().batches(self.data_root)["train"])

    def sharpness(self, runs: dict[str, TrainResult]) -> dict[str, dict[str, float]]:
        """{label: lambda_min, lambda_max, trace (+- se) and test error} of each run (cached)."""
        return {label: sharpness(run, self.hessian_sample(), root=self.data_root, device=self.device,
                                 cache_dir=self.cache_dir)
                for label, run in runs.items()}

    # ---- ensembles and curves (Huang et al., Garipov et al.) ---------------------------------------------

    def plan(self, **changes) -> ensembles.Plan:
        """The ensemble plan of the profile's first model and dataset."""
        E = self.profile.ensembles
        return ensembles.plan(E, E.models[0], E.datasets[0], **changes)

    def ensemble(self, method: str, seeds: tuple[int, ...], plan: ensembles.Plan) -> ensembles.EnsembleResult:
        """Train (or load) the runs of `method` and evaluate members and ensemble."""
        return ensembles.ensemble(method, seeds, plan, self.data_root, self.cache_dir, device=self.device,
                                  progress=self.progress)

    def table(self, budgets: tuple[int, ...] = ensembles.BUDGETS) -> list[ensembles.Row]:
        """Garipov et al. Table 1 at this profile."""
        return ensembles.table(self.profile.ensembles, self.data_root, self.cache_dir, device=self.device,
                               progress=self.progress, budgets=budgets)

    def snapshot_plane(self, run: TrainResult, epochs: tuple[float, ...]) -> tuple[curves.Plane, io.Surface]:
        """The plane through three checkpoints of `run` and the loss on it (BN recomputed at every point)."""
        plane = curves.plane_through(run.model(), [run.checkpoints[e] for e in epochs])
        return plane, curves.plane_surface(
            plane, run.model(self.device), Sample(run.config.dataset, self.profile.landscape.surface_subset),
            points=min(21, self.profile.ensembles.curve_points), root=self.data_root, out_dir=self.out_dir,
            device=self.device, progress=self.progress)

    def connection(self, seed: int = 0) -> Connection:
        """The two endpoints (normal runs of the first two seeds) and the curve configuration of notebook 08."""
        E = self.profile.ensembles
        plan = self.plan()
        ends = tuple(plan.normal_run(s) for s in E.seeds[:2])
        config = curves.CurveConfig(bends=E.curve_bends, epochs=E.curve_epochs, batch_size=E.batch_size, seed=seed)
        return Connection(plan, ends, config)

    def connect(self, link: Connection) -> curves.Curve:
        """The trained curve between the two endpoints (the endpoints are trained first when not cached)."""
        return curves.connect(link.ends[0], link.ends[1], link.config, self.data_root, self.cache_dir,
                              device=self.device, progress=self.progress)

    def line_and_curve(self, link: Connection, curve: curves.Curve) -> dict[str, curves.PathResult]:
        """Train loss (with weight decay: the curve's training objective) and test error along the line and the
        curve, on the profile's surface images and its test set (all 10,000 when the profile uses all)."""
        E = self.profile.ensembles
        model = models.get(link.model_name, data.NUM_CLASSES[link.dataset])
        sample = Sample(link.dataset, self.profile.landscape.surface_subset, E.test_subset or 10_000)
        return curves.line_and_curve(model, curve, sample, points=E.curve_points,
                                     weight_decay=link.plan.base.weight_decay, root=self.data_root,
                                     cache_dir=self.cache_dir, device=self.device)

    def bend_plane(self, link: Connection, curve: curves.Curve) -> tuple[curves.Plane, io.Surface]:
        """The plane through the curve's endpoints and bend, and the loss on it (Garipov et al. Fig. 1)."""
        plane = curves.curve_plane(curve)
        model = models.get(link.model_name, data.NUM_CLASSES[link.dataset])
        sample = Sample(link.dataset, self.profile.landscape.surface_subset)
        return plane, curves.plane_surface(plane, model, sample, points=min(21, self.profile.ensembles.curve_points),
                                           root=self.data_root, out_dir=self.out_dir, device=self.device,
                                           progress=self.progress)

    # ---- the explorer (notebook 10) -----------------------------------------------------------------------

    def explorer(self, runs: dict[str, TrainResult], captions: dict[str, str], line: io.Surface,
                 line_label: str, live_images: int = 200) -> explorer.Explorer:
        """An explorer of `runs`: surfaces the notebooks cached are read, others computed live on `live_images`."""
        live = Sample(self.profile.dataset, min(live_images, self.profile.landscape.surface_subset))

        def sample_of(view: explorer.View) -> Sample:
            return self.sample(test=explorer.dims(view) == 1)

        def compute(view: explorer.View, is_live: bool) -> io.Surface:
            return self.random_surface(runs[view.model], live if is_live else sample_of(view),
                                       dims=explorer.dims(view), points=view.points, seed=view.seed)

        def cached(view: explorer.View) -> bool:
            return complete(surface_path(runs[view.model], sample_of(view), dims=explorer.dims(view),
                                         points=view.points, seed=view.seed, precision=self.precision,
                                         out_dir=self.out_dir))

        return explorer.Explorer(captions=captions, line=line, line_label=line_label, compute=compute,
                                 cached=cached, live_images=live.train_subset)
