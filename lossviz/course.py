"""The computations several notebooks share (the gallery redraws them): one call each, cached on disk."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lossviz import curves, data, ensembles, io, landscape, models
from lossviz.profiles import Profile
from lossviz.train import TrainConfig, TrainResult, train


def batch_label(batch_size: int, weight_decay: float) -> str:
    """The label of a batch-size study run: "b=128, wd=0"."""
    return f"b={batch_size}, wd={weight_decay:g}"


def batch_runs(P: Profile, root: str | Path | None = None, device: str | torch.device = "cpu"
               ) -> dict[tuple[int, float], TrainResult]:
    """The trained runs of the batch-size / weight-decay study: {(batch size, weight decay): run}."""
    return {key: train(config, root=root, device=device, progress=P.progress)
            for key, config in P.batch_runs().items()}


def interpolations(P: Profile, runs: dict[tuple[int, float], TrainResult], root: str | Path | None = None,
                   out_dir: str | Path | None = None, device: str | torch.device = "cpu") -> dict[float, io.Surface]:
    """{weight decay: the linear interpolation from the small-batch to the large-batch minimizer} (notebook 01)."""
    small, large = P.landscape.batch_small, P.landscape.batch_large
    return {wd: landscape.interpolation(runs[small, wd], runs[large, wd], P.landscape.sample(P.dataset),
                                        points=P.landscape.interpolation_points, precision=P.precision, root=root,
                                        out_dir=out_dir, device=device)
            for wd in P.landscape.weight_decays}


def model_runs(P: Profile, names: tuple[str, ...], root: str | Path | None = None,
               device: str | torch.device = "cpu") -> dict[str, TrainResult]:
    """One trained run per network name (Li et al. Fig. 5/6 settings)."""
    return {name: train(config, root=root, device=device, progress=P.progress)
            for name, config in P.model_runs(names).items()}


def model_planes(P: Profile, runs: dict[str, TrainResult], seed: int = 0, root: str | Path | None = None,
                 out_dir: str | Path | None = None, device: str | torch.device = "cpu") -> dict[str, io.Surface]:
    """The filter-normalized 2D surface around each run, on the profile's grid and training sample (notebooks
    02-04), at the profile's precision."""
    return {name: landscape.random_surface(run, P.landscape.sample(P.dataset, test=False), dims=2,
                                           points=P.landscape.points_2d, seed=seed, precision=P.precision, root=root,
                                           out_dir=out_dir, device=device)
            for name, run in runs.items()}


def lines_1d(P: Profile, runs: dict, norm: str = "filter", seed: int = 0, root: str | Path | None = None,
             out_dir: str | Path | None = None, device: str | torch.device = "cpu") -> dict[object, io.Surface]:
    """The 1D surface around each run along one random direction, train and test (notebook 02); without
    normalization the direction is short (span 0.02), as its raw length dwarfs the weights' scale."""
    return {key: landscape.random_surface(run, P.landscape.sample(P.dataset), dims=1, points=P.landscape.points_1d,
                                          span=0.02 if norm == "none" else 1.0, norm=norm, seed=seed,
                                          precision=P.precision, root=root, out_dir=out_dir, device=device)
            for key, run in runs.items()}


def path_planes(P: Profile, runs: dict[str, TrainResult], root: str | Path | None = None,
                out_dir: str | Path | None = None, device: str | torch.device = "cpu"
                ) -> dict[str, landscape.PathPlane]:
    """Each run's optimizer path on its PCA plane, with the loss there (notebook 06)."""
    return {label: landscape.pca_surface(run, P.landscape.sample(P.dataset, test=False), points=P.landscape.points_2d,
                                         precision=P.precision, root=root, out_dir=out_dir, device=device)
            for label, run in runs.items()}


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


def connection(P: Profile, seed: int = 0) -> Connection:
    """The two endpoints (normal runs of the first two seeds) and the curve configuration of notebook 08."""
    E = P.ensembles
    plan = ensembles.plan(E, E.models[0], E.datasets[0])
    ends = tuple(plan.normal_run(s) for s in E.seeds[:2])
    config = curves.CurveConfig(bends=E.curve_bends, epochs=E.curve_epochs, batch_size=E.batch_size, seed=seed)
    return Connection(plan, ends, config)


def connect(P: Profile, link: Connection, root: str | Path | None = None,
            device: str | torch.device = "cpu") -> curves.Curve:
    """The trained curve between the two endpoints (the endpoints are trained first when not cached)."""
    return curves.connect(link.ends[0], link.ends[1], link.config, root, device=device, progress=P.progress)


def bend_plane(P: Profile, link: Connection, curve: curves.Curve, root: str | Path | None = None,
               out_dir: str | Path | None = None, device: str | torch.device = "cpu"
               ) -> tuple[curves.Plane, io.Surface]:
    """The plane through the curve's endpoints and bend, and the loss on it (Garipov et al. Fig. 1)."""
    plane = curves.curve_plane(curve)
    model = models.get(link.model_name, data.NUM_CLASSES[link.dataset])
    sample = landscape.Sample(link.dataset, P.landscape.surface_subset)
    return plane, curves.plane_surface(plane, model, sample, points=min(21, P.ensembles.curve_points), root=root,
                                       out_dir=out_dir, device=device, progress=P.progress)
