"""The recipes the notebooks call: one `Course` (a profile, its folders and device) whose methods compute each
figure's data once, cached on disk (runs) or in resumable HDF5 files (surfaces); the functions below it take
everything as arguments, for use outside the course."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lossviz.base import cache, data, directions, folders, io, models, papers, stats
from lossviz.base.data import Sample
from lossviz.compute import curves, ensembles, gradient_scale, hessian, surface, trajectory
from lossviz.compute.train import TrainConfig, TrainResult, final_train_loss, initial_model, train
from lossviz.compute.train import splits as train_splits
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
                  span: tuple[float, float] = (-0.5, 1.5), kind: str = "states", bn: str = "eval",
                  precision: str = "fp32", root: str | Path | None = None, out_dir: str | Path | None = None,
                  device: str | torch.device = "cpu", progress: bool = False) -> io.Surface:
    """Loss and accuracy at (1 - alpha) theta1 + alpha theta2 (Goodfellow et al. 2015; Li et al. Fig. 2/3).

    bn="eval" uses the interpolated BN running statistics (undefined where a variance turns negative);
    bn="recompute" recomputes them on `sample`'s training images at every alpha, so every point is defined."""
    if first.config.model != second.config.model:
        raise ValueError(f"first and second must share a model; got {first.config.model} and {second.config.model}")
    alphas = np.linspace(span[0], span[1], points)
    spec = {"second": second.config, "alphas": alphas.tolist(), "kind": kind, "precision": precision,
            "sample": sample, **({"bn": bn} if bn != "eval" else {})}
    out = _path("interpolation", first, spec, out_dir)
    model = first.model(device)
    theta1 = directions.weights(model, kind)
    theta2 = directions.weights(second.model(device), kind)
    batches = sample.batches(root) if not complete(out) else {}
    return surface.compute_file(out, model, theta1, [directions.between(theta1, theta2)], alphas,
                                data=_lazy(batches, sample, root), bn=bn, precision=precision,
                                request={"sample": repr(sample)}, progress=progress, log=None)


def eigen_surface(result: TrainResult, sample: Sample, *, points: int = 5, span: float = 1.0, norm: str = "filter",
                  ignore: str = "biasbn", seed: int = 0, params: str = "all", tol: float = 1e-2,
                  max_steps: int = 100, floor: float = 1e-2, warm: bool = False, root: str | Path | None = None,
                  out_dir: str | Path | None = None, device: str | torch.device = "cpu",
                  progress: bool = False) -> io.Surface:
    """min_eig/max_eig of the training-loss Hessian on the plane of `random_surface` with the same seed, points,
    span, norm and ignore (Li et al. Fig. 7), into a resumable file; the Hessian is over `sample`'s training images.
    """
    xs = np.linspace(-span, span, points)
    spec = {"xs": xs.tolist(), "norm": norm, "ignore": ignore, "seed": seed, "params": params, "tol": tol,
            "max_steps": max_steps, "floor": floor, "sample": sample, **({"warm": True} if warm else {})}
    out = _path("eigen", result, spec, out_dir)
    model = result.model(device)
    theta = directions.weights(model)
    dirs = directions.random_directions(model, seed, count=2, norm=norm, ignore=ignore)
    batches = sample.batches(root)["train"] if not complete(out) else []
    return hessian.eigen_map_file(out, model, theta, dirs, xs, xs, batches, params=params, tol=tol,
                                  max_steps=max_steps, seed=0, floor=floor, warm=warm, request={"sample": repr(sample)},
                                  progress=progress, log=None)


def sharpness(result: TrainResult, sample: Sample, *, tol: float = 1e-2, max_steps: int = 30, samples: int = 10,
              seed: int = 0, root: str | Path | None = None, device: str | torch.device = "cpu",
              cache_dir: str | Path | None = None) -> dict[str, float]:
    """lambda_max (Lanczos, to `tol`) and the Hutchinson trace (with its standard error) of the training-loss
    Hessian at the run's final weights, over `sample`'s training images, and the HVPs spent; cached like the runs.
    (lambda_min needs many more products at a minimizer, where it is near 0: the eigenvalue maps give it.)"""
    def compute() -> dict[str, float]:
        op = hessian.operator(result.model(device), sample.batches(root)["train"])
        top = hessian.top_k(op, k=1, tol=tol, max_steps=max_steps, seed=seed)
        tr = hessian.trace(op, samples=samples, seed=seed)
        return {"lambda_max": top.values[0], "trace": tr.value, "trace_se": tr.std_error,
                "hvps": top.hvps + tr.hvps, "test_error": result.test_error}

    spec = {"tol": tol, "max_steps": max_steps, "samples": samples, "seed": seed, "sample": sample}
    return cache.cached("sharpness", cache.key("sharpness_top", result.config, spec), compute, cache_dir)


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


def summary(s: io.Surface, key: str = "train_loss", radius: float = 0.5) -> dict[str, float]:
    """Numbers that describe a surface: the loss at the center and at the rim (mean over the border), its
    local minima, and `rise`, a robust sharpness: the median over the points at distance `radius` from the
    center (within half a grid step) of the loss minus the loss at the center.

    On filter-normalized axes, radius 0.5 moves every filter by half its norm; the median, unlike the border
    mean, is not carried away by one diverging point."""
    z = np.asarray(s[key], dtype=np.float64)
    xs = np.asarray(s.xcoordinates, dtype=np.float64)
    if radius <= 0:
        raise ValueError(f"radius={radius} must be positive")
    if z.ndim == 1:
        center = z[len(z) // 2]
        rim = float(np.mean([z[0], z[-1]]))
        minima = int(np.sum((z[1:-1] < z[:-2]) & (z[1:-1] < z[2:])))
        distance = np.abs(xs - xs[len(xs) // 2])
        step = float(np.min(np.diff(xs)))
    else:
        ys = np.asarray(s.ycoordinates, dtype=np.float64)
        center = z[z.shape[0] // 2, z.shape[1] // 2]
        rim = float(np.mean(np.concatenate([z[0], z[-1], z[1:-1, 0], z[1:-1, -1]])))
        inner = z[1:-1, 1:-1]
        neighbours = [z[1 + dy:z.shape[0] - 1 + dy, 1 + dx:z.shape[1] - 1 + dx]
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
        minima = int(np.sum(np.all([inner < n for n in neighbours], axis=0)))
        gx, gy = np.meshgrid(xs - xs[len(xs) // 2], ys - ys[len(ys) // 2])
        distance = np.hypot(gx, gy)
        step = float(min(np.min(np.diff(xs)), np.min(np.diff(ys))))
    ring = np.abs(distance - radius) <= step / 2 + 1e-9
    if not ring.any():
        raise ValueError(f"radius={radius} lies outside the grid (largest distance {distance.max():.3g})")
    values = z[ring]  # a diverged (NaN/inf) point counts as the highest
    rise = float(np.median(np.where(np.isfinite(values), values, np.inf))) - float(center)
    return {"center": float(center), "rim": rim, "local_minima": minima, "rise": rise}


def difference(a: io.Surface, b: io.Surface, key: str = "train_loss", below: float = 10.0) -> dict[str, float]:
    """How far two computations of one grid differ (e.g. bf16 against fp32) where the loss is below `below`
    (the plotted range): the largest absolute and relative differences and the median relative one."""
    za, zb = np.asarray(a[key], dtype=np.float64), np.asarray(b[key], dtype=np.float64)
    if za.shape != zb.shape:
        raise ValueError(f"the surfaces have different grids: {za.shape} and {zb.shape}")
    shown = np.isfinite(za) & np.isfinite(zb) & (zb < below)
    if not shown.any():
        raise ValueError(f"no point has a finite {key} below {below} on both surfaces")
    gap = np.abs(za - zb)[shown]
    rel = gap / np.maximum(np.abs(zb[shown]), 1e-12)
    return {"max_abs": float(gap.max()), "max_rel": float(rel.max()), "median_rel": float(np.median(rel)),
            "points": int(shown.sum())}


def peak_between(line: io.Surface, lo: float = 0.0, hi: float = 1.0, key: str = "train_loss") -> float:
    """The highest defined loss of a 1D line for lo <= alpha <= hi (between two minimizers: the barrier's top)."""
    a = np.asarray(line.xcoordinates, dtype=np.float64)
    z = np.asarray(line[key], dtype=np.float64)[(a >= lo) & (a <= hi)]
    if not np.isfinite(z).any():
        raise ValueError(f"the line has no defined {key} for alpha in [{lo}, {hi}]")
    return float(np.nanmax(np.where(np.isfinite(z), z, np.nan)))


def run_name(key: str | tuple[int, float]) -> str:
    """The name a run is recorded under: a network name as it is, a batch-study key (128, 5e-4) as "b128_wd0.0005"."""
    if isinstance(key, tuple):
        batch, wd = key
        return f"b{batch}_wd{wd:g}"
    return key


@dataclass(frozen=True)
class Minimizer:
    """How far a run got: its training loss (eval mode, its own images), test error with its binomial standard
    error, the SGD steps it took, and the paper's test error for the same figure (None where there is none)."""

    name: str
    train_loss: float
    test_error: float
    test_se: float
    test_images: int
    epochs: int
    steps: int
    paper: float | None
    seconds: float = 0.0  # the training's wall time, as logged when it ran


def minimizer_table(rows: dict[str, Minimizer], threshold: float = 0.10) -> str:
    """The runs as a table: network, epochs, steps, training loss (and whether it is below `threshold`), test error
    +- its standard error, and the paper's test error."""
    lines = [f"{'run':<18}{'epochs':>7}{'steps':>7}{'train s':>9}   train loss            test error (ours +- SE)"
             f"     paper"]
    for r in rows.values():
        mark = "minimizer" if r.train_loss <= threshold else "NOT below"
        paper = f"{r.paper:.2f}%" if r.paper is not None else "-"
        lines.append(f"{r.name:<18}{r.epochs:>7}{r.steps:>7}{r.seconds:>9.0f}   {r.train_loss:7.4f} {mark:<9}"
                     f"  {r.test_error:6.2f}% +- {r.test_se:4.2f} on {r.test_images:,}   {paper}")
    return "\n".join(lines)


def minimizer_numbers(rows: dict[str, Minimizer]) -> dict[str, float]:
    """The numbers a notebook records of its runs: `train_loss_<name>` and `test_error_<name>`."""
    return {**{f"train_loss_{n}": round(r.train_loss, 4) for n, r in rows.items()},
            **{f"test_error_{n}": round(r.test_error, 2) for n, r in rows.items()}}


def sharpness_correlations(sharp: dict[str, dict[str, float]], rises: dict[str, float],
                           rows: dict[str, Minimizer]) -> dict[str, float]:
    """Spearman's rank correlation across the runs of each sharpness measure (`lambda_max` and `trace` of
    `Course.sharpness`, the filter-normalized `rise`) with the final training loss and with the test error,
    printed and keyed `spearman_<measure>_<train_loss|test_error>`."""
    names = list(sharp)
    measures = {"lambda_max": [sharp[n]["lambda_max"] for n in names], "trace": [sharp[n]["trace"] for n in names],
                "rise": [rises[n] for n in names]}
    against = {"train_loss": [rows[n].train_loss for n in names], "test_error": [rows[n].test_error for n in names]}
    result = {f"spearman_{m}_{a}": round(stats.spearman(x, y), 3) for m, x in measures.items()
              for a, y in against.items()}
    for m in measures:
        print(f"{m:<11} rank correlation over {len(names)} runs with the training loss "
              f"{result[f'spearman_{m}_train_loss']:+.2f}, with the test error {result[f'spearman_{m}_test_error']:+.2f}")
    return result


def gradient_summary(ratios: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """{network: first-layer ratio, median ratio, growth per layer} of `Course.init_gradient_ratios`, printed as a
    table (record them with the keys `grad_<number>_<network>`)."""
    rows = {}
    for name, layers in ratios.items():
        values = list(layers.values())
        rows[name] = {"first": values[0], "median": float(np.median(values)),
                      "growth": gradient_scale.growth_per_layer(values)}
        print(f"{models.display_name(name):<14} first layer {values[0]:9.3g}   median {rows[name]['median']:7.3g}"
              f"   growth per layer towards the input {rows[name]['growth']:.3f}x")
    return rows


def batch_label(batch_size: int, weight_decay: float) -> str:
    """The label of a batch-size study run: "b=128, wd=0"."""
    return f"b={batch_size}, wd={weight_decay:g}"


@dataclass(frozen=True)
class Connection:
    """What notebook 08 connects: two normal runs of one budget and the curve settings (Bezier; the polygonal
    chain shares them, `configs`)."""

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

    def configs(self) -> dict[str, curves.CurveConfig]:
        """{kind: curve settings} for each curve family (Bezier, polygonal chain), the same settings otherwise."""
        return {kind: dataclasses.replace(self.config, kind=kind) for kind in curves.KINDS}


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
        """One trained run (cached; its log measures the test subset every `profile.test_every` epochs)."""
        return train(config, root=self.data_root, cache_dir=self.cache_dir, device=self.device,
                     progress=self.progress, test_every=self.profile.test_every)

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

    def minimizers(self, runs: dict, paper: dict | None = None) -> dict[str, Minimizer]:
        """{run name: `Minimizer`} of each run, printed as a table (record them with `minimizer_numbers`);
        `paper` maps a run's key to the paper's test error (%) of the same figure."""
        losses = self.train_losses(runs)
        rows = {}
        for key, run in runs.items():
            n = len(train_splits(run.config, self.data_root)[1])
            steps = run.config.epochs * data.iterations_per_epoch(
                data.size(run.config.dataset, True, run.config.train_subset), run.config.batch_size)
            rows[run_name(key)] = Minimizer(run_name(key), losses[key], run.test_error,
                                            stats.binomial_se(run.test_error, n), n, run.config.epochs, steps,
                                            (paper or {}).get(key), sum(e.get("seconds", 0.0) for e in run.log))
        print(minimizer_table(rows))
        return rows

    def landscape_runs(self) -> dict[str, TrainResult]:
        """Every network of notebooks 01-04 once, by run name: the batch study, then the depth (03, 03b) and width
        networks (a run whose configuration already appeared is left out)."""
        land = self.profile.landscape
        found: dict[str, TrainResult] = {}
        names = tuple(dict.fromkeys(land.depth_networks() + land.width_models))
        candidates = {**{run_name(k): r for k, r in self.batch_runs().items()}, **self.model_runs(names)}
        for name, run in candidates.items():
            if all(other.config != run.config for other in found.values()):
                found[name] = run
        return found

    def paper_errors(self, runs: dict) -> dict:
        """Li et al.'s test error (%) for each run key where the paper prints one: a batch-study key (batch,
        weight decay) maps to VGG-9 at batch 128 (the small batch) or 8192 (the large), a network name to the
        paper's error of that network (None elsewhere)."""
        land = self.profile.landscape

        def one(key):
            if isinstance(key, tuple):
                batch, wd = key
                paper_wd = "0" if wd == 0 else f"{wd:.0e}".replace("e-04", "e-4")
                return papers.li2018_error("vgg9", f"wd={paper_wd} bs={128 if batch == land.batch_small else 8192}")
            return papers.li2018_error(key)
        return {key: one(key) for key in runs}

    def train_losses(self, runs: dict) -> dict:
        """{key: the run's final training loss, eval mode, on its own training images} (cached): the minimizer
        criterion of the course (<= 0.10)."""
        def one(run: TrainResult) -> float:
            return cache.cached("train-loss", cache.key("final_train_loss", run.config),
                                lambda: final_train_loss(run, root=self.data_root, device=self.device), self.cache_dir)
        return {key: one(run) for key, run in runs.items()}

    def init_gradient_ratios(self, names: tuple[str, ...], batch_size: int | None = None
                             ) -> dict[str, dict[str, float]]:
        """{network: `gradient_scale.layer_ratios`} at the initialization its depth/width run starts from (the same
        seed), on the first `batch_size` (default: the run's batch size) of its training images."""
        ratios = {}
        for name, config in self.profile.model_runs(names).items():
            split = train_splits(config, self.data_root)[0]
            images, labels = next(iter(data.batches(split, batch_size or config.batch_size)))
            ratios[name] = gradient_scale.layer_ratios(initial_model(config), images, labels)
        return ratios

    # ---- surfaces (Li et al.) -------------------------------------------------------------------------

    def random_surface(self, run: TrainResult, sample: Sample, **options) -> io.Surface:
        """`random_surface` at this course's precision, folders and device (options: dims, points, seed, ...)."""
        options = {"precision": self.precision, **options}
        return random_surface(run, sample, root=self.data_root, out_dir=self.out_dir, device=self.device, **options)

    def interpolations(self, runs: dict[tuple[int, float], TrainResult], bn: str = "eval") -> dict[float, io.Surface]:
        """{weight decay: the linear interpolation from the small-batch to the large-batch minimizer} (notebook 01);
        bn="recompute" recomputes the BN statistics at every alpha."""
        land = self.profile.landscape
        return {wd: interpolation(runs[land.batch_small, wd], runs[land.batch_large, wd], self.sample(), bn=bn,
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

    def eigen_maps(self, runs: dict[str, TrainResult], seed: int = 0, max_steps: int = 60
                   ) -> tuple[dict[str, io.Surface], dict[str, io.Surface]]:
        """({name: min_eig/max_eig map}, {name: the loss on the same plane}) on the Hessian sample (Fig. 7)."""
        land, sample = self.profile.landscape, self.hessian_sample()
        maps = {name: eigen_surface(run, sample, points=land.hessian_points, seed=seed, tol=1e-2,
                                    max_steps=max_steps, warm=True, root=self.data_root, out_dir=self.out_dir,
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
        """The ensemble plan of the profile's first model and dataset, at the course's precision."""
        E = self.profile.ensembles
        return ensembles.plan(E, E.models[0], E.datasets[0], self.precision, **changes)

    def ensemble(self, method: str, seeds: tuple[int, ...], plan: ensembles.Plan | None = None
                 ) -> ensembles.EnsembleResult:
        """Train (or load) the runs of `method` and score members and ensemble on the plan's test images."""
        return ensembles.ensemble(method, seeds, plan or self.plan(), self.data_root, self.cache_dir,
                                  device=self.device, progress=self.progress)

    def table(self, budgets: tuple[int, ...] = ensembles.BUDGETS) -> list[ensembles.Row]:
        """Garipov et al. Table 1 at this profile."""
        return ensembles.table(self.profile.ensembles, self.data_root, self.cache_dir, device=self.device,
                               progress=self.progress, budgets=budgets, precision=self.precision)

    def member_states(self, method: str, seed: int, plan: ensembles.Plan | None = None) -> list[directions.Weights]:
        """The state dicts of the members of one budget unit of `method` (in the order the ensemble adds them)."""
        return [state for run in ensembles.runs(method, (seed,), plan or self.plan())
                for state in ensembles.member_states(run, self.data_root, self.cache_dir, self.device, self.progress)]

    def fge_start(self, seed: int, plan: ensembles.Plan | None = None) -> directions.Weights:
        """The normal run's checkpoint FGE starts from (after (1 - fge_fraction) B epochs)."""
        plan = plan or self.plan()
        return self.train(plan.normal_run(seed)).checkpoints[float(plan.pretrain_epochs)]

    def path_sample(self) -> Sample:
        """The images paths are evaluated on: the ensemble runs' whole training subset (the set the members
        minimize) and the profile's path test images."""
        E = self.profile.ensembles
        train_images = E.train_subset or data.SIZES[E.datasets[0]][0]
        return Sample(E.datasets[0], train_images, E.path_test_subset or data.SIZES[E.datasets[0]][1])

    def _model(self) -> torch.nn.Module:
        E = self.profile.ensembles
        return models.get(E.models[0], data.NUM_CLASSES[E.datasets[0]])

    def segments(self, states: list[directions.Weights]) -> dict[str, curves.PathResult]:
        """{"1-2": ..., "2-3": ...}: cross-entropy and error along the straight segment between consecutive states
        (BN recomputed at every point; wd/2 ||theta||^2 alongside), on `path_sample` (cached)."""
        if len(states) < 2:
            raise ValueError(f"states must hold at least two networks to join; got {len(states)}")
        model, E = self._model(), self.profile.ensembles
        names = [k for k, _ in model.named_parameters()]
        lines = {f"{k}-{k + 1}": curves.straight(states[k - 1], states[k], names) for k in range(1, len(states))}
        return curves.along(model, lines, self.path_sample(), points=E.curve_points,
                            weight_decay=self.plan().base.weight_decay, precision=self.precision,
                            root=self.data_root, cache_dir=self.cache_dir, device=self.device)

    def _plane_surface(self, plane: curves.Plane) -> io.Surface:
        E = self.profile.ensembles
        return curves.plane_surface(plane, self._model(), Sample(E.datasets[0], E.plane_subset),
                                    points=E.plane_points, precision=self.precision, root=self.data_root,
                                    out_dir=self.out_dir, device=self.device, progress=self.progress)

    def snapshot_plane(self, run: TrainResult, epochs: tuple[float, ...]) -> tuple[curves.Plane, io.Surface]:
        """The plane through three checkpoints of `run` and the loss on it (BN recomputed at every point)."""
        return self.state_plane([run.checkpoints[e] for e in epochs])

    def state_plane(self, states: list[directions.Weights]) -> tuple[curves.Plane, io.Surface]:
        """The plane through three networks (state dicts) and the cross-entropy on it (Garipov et al. Fig. 1)."""
        plane = curves.plane_through(self._model(), states)
        return plane, self._plane_surface(plane)

    def minima_plane(self, seeds: tuple[int, ...] | None = None) -> tuple[curves.Plane, io.Surface]:
        """The plane through three independently trained minima, normal runs of the first three seeds
        (Garipov et al. Fig. 1, left)."""
        seeds = seeds if seeds is not None else self.profile.ensembles.seeds[:3]
        if len(seeds) != 3:
            raise ValueError(f"seeds={seeds} must name three runs; the profile has seeds {self.profile.ensembles.seeds}")
        plan = self.plan()
        return self.state_plane([self.train(plan.normal_run(s)).state for s in seeds])

    def connection(self, seed: int = 0) -> Connection:
        """The two endpoints (normal runs of the first two seeds) and the curve configuration of notebook 08."""
        E = self.profile.ensembles
        plan = self.plan()
        ends = tuple(plan.normal_run(s) for s in E.seeds[:2])
        config = curves.CurveConfig(bends=E.curve_bends, epochs=E.curve_epochs, batch_size=E.batch_size,
                                    lr=E.curve_lr, weight_decay=plan.base.weight_decay, augment=E.augment,
                                    seed=seed, precision=self.precision)
        return Connection(plan, ends, config)

    def connect(self, link: Connection, kind: str = "bezier") -> curves.Curve:
        """The trained curve of `kind` between the two endpoints (the endpoints are trained first when not cached)."""
        curves.check_kind(kind)
        return curves.connect(link.ends[0], link.ends[1], link.configs()[kind], self.data_root, self.cache_dir,
                              device=self.device, progress=self.progress)

    def line_and_curves(self, link: Connection, trained: dict[str, curves.Curve]) -> dict[str, curves.PathResult]:
        """Plain cross-entropy and error along the line and each curve, with the weight-decay term alongside, on
        `path_sample` (BN recomputed at every point; cached)."""
        return curves.line_and_curves(self._model(), trained, self.path_sample(),
                                      points=self.profile.ensembles.curve_points,
                                      weight_decay=link.plan.base.weight_decay, precision=self.precision,
                                      root=self.data_root, cache_dir=self.cache_dir, device=self.device)

    def on_plane_images(self, paths: dict[str, curves.Curve]) -> dict[str, curves.PathResult]:
        """Cross-entropy along each path on the images the planes are evaluated on (`plane_subset` training
        images), so that a path drawn on a plane carries heights measured like the plane's (cached)."""
        E = self.profile.ensembles
        sample = Sample(E.datasets[0], E.plane_subset, E.plane_subset)
        return curves.along(self._model(), paths, sample, points=E.curve_points, precision=self.precision,
                            root=self.data_root, cache_dir=self.cache_dir, device=self.device)

    def bend_plane(self, link: Connection, curve: curves.Curve) -> tuple[curves.Plane, io.Surface]:
        """The plane through the curve's endpoints and bend, and the loss on it (Garipov et al. Fig. 1, middle)."""
        plane = curves.curve_plane(curve)
        return plane, self._plane_surface(plane)

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
