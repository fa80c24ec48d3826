"""Run profiles: every size the notebooks use, for smoke tests, a CPU course run and the papers."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from lossviz.base import precision as precisions
from lossviz.base.data import Sample
from lossviz.base.schedules import Schedule
from lossviz.compute.train import TrainConfig

NAMES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class Landscape:
    """Li et al. 2018 settings: training runs and plotting grids (notebooks 01-06)."""

    epochs: int
    train_subset: int | None
    test_subset: int | None
    batch_model: str  # the network of the batch-size / weight-decay study (Li et al.: VGG-9)
    batch_small: int
    batch_large: int
    weight_decays: tuple[float, ...]
    lr: float
    surface_subset: int  # training images each surface point is evaluated on (and half as many test images)
    points_1d: int  # grid points on [-1, 1] for 1D plots
    points_2d: int  # grid points per axis on [-1, 1] for 2D plots
    interpolation_points: int  # points on [-0.5, 1.5] for linear interpolation
    depth_models: tuple[str, ...]
    width_models: tuple[str, ...]
    hessian_subset: int
    hessian_points: int  # grid points per axis of the eigenvalue map

    def run(self, model: str, dataset: str, seed: int, precision: str, batch_size: int | None = None,
            weight_decay: float = 5e-4, every_epoch: bool = False) -> TrainConfig:
        """One Li et al. training run: SGD, momentum 0.9, step decay; checkpoints every epoch if asked."""
        return TrainConfig(model=model, dataset=dataset, train_subset=self.train_subset, test_subset=self.test_subset,
                           epochs=self.epochs, batch_size=batch_size or self.batch_small, weight_decay=weight_decay,
                           schedule=Schedule("step", self.lr), seed=seed, precision=precision,
                           checkpoint_epochs=tuple(float(e) for e in range(self.epochs + 1)) if every_epoch else ())

    def sample(self, dataset: str, test: bool = True) -> Sample:
        """The images each surface point is evaluated on."""
        return Sample(dataset, self.surface_subset, self.surface_subset // 2 if test else 0)


@dataclass(frozen=True)
class Ensembles:
    """Huang et al. 2017 and Garipov et al. 2018 settings (notebooks 07-09)."""

    models: tuple[str, ...]
    datasets: tuple[str, ...]
    budget_epochs: int  # B: the epochs of one normal run
    train_subset: int | None
    test_subset: int | None
    batch_size: int
    lr: float
    snapshot_cycles: int  # M
    fge_cycle_epochs: float  # c
    fge_lr: tuple[float, float]  # (alpha1, alpha2)
    seeds: tuple[int, ...]
    curve_epochs: int
    curve_bends: int  # free bends between the two end points (Garipov et al.'s phi_theta has one)
    curve_points: int  # t values evaluated along a curve
    budget_by_model: tuple[tuple[str, int], ...] = ()  # (model, B) where a network's budget differs

    def budget(self, model: str) -> int:
        """B, the epochs of one normal run of `model`."""
        return dict(self.budget_by_model).get(model, self.budget_epochs)


@dataclass(frozen=True)
class Profile:
    """All sizes of one profile."""

    name: str
    dataset: str
    seed: int
    progress: bool
    precision: str  # fp32, bf16, or auto (resolved by `get` for the device at hand)
    first_model: str  # notebook 00's first trained network
    landscape: Landscape
    ensembles: Ensembles

    def batch_runs(self) -> dict[tuple[int, float], TrainConfig]:
        """Li et al. Fig. 2-4: {(batch size, weight decay): run}, small and large batch, every epoch saved."""
        land = self.landscape
        return {(b, wd): land.run(land.batch_model, self.dataset, self.seed, self.precision, b, wd,
                                                   every_epoch=True)
                for wd in land.weight_decays for b in (land.batch_small, land.batch_large)}

    def model_runs(self, names: tuple[str, ...]) -> dict[str, TrainConfig]:
        """Li et al. Fig. 5/6: one run per network, small batch, weight decay 5e-4, every epoch saved.

        Saving every epoch makes these the same runs (one cache entry) as the batch study's
        small-batch, weight-decay run of the same network.
        """
        return {name: self.landscape.run(name, self.dataset, self.seed, self.precision, every_epoch=True)
                for name in names}

    def first_run(self) -> TrainConfig:
        """Notebook 00's first training run."""
        return self.model_runs((self.first_model,))[self.first_model]


SMOKE = Profile(
    name="smoke", dataset="synthetic", seed=0, progress=False, precision="fp32",
    first_model="resnet20",
    landscape=Landscape(epochs=2, train_subset=256, test_subset=128, batch_model="resnet20", batch_small=32, batch_large=128,
                        weight_decays=(0.0, 5e-4), lr=0.1, surface_subset=128, points_1d=5, points_2d=3,
                        interpolation_points=5, depth_models=("resnet20", "resnet20_noshort"),
                        width_models=("resnet20", "wrn20_2"), hessian_subset=8, hessian_points=3),
    ensembles=Ensembles(models=("resnet20",), datasets=("synthetic",), budget_epochs=2, train_subset=256,
                        test_subset=128, batch_size=32, lr=0.1, snapshot_cycles=3, fge_cycle_epochs=0.25,
                        fge_lr=(0.05, 0.0005), seeds=(0, 1), curve_epochs=1, curve_bends=1, curve_points=3),
)

QUICK = Profile(
    name="quick", dataset="cifar10", seed=0, progress=True, precision="auto",
    first_model="resnet20",
    landscape=Landscape(epochs=8, train_subset=4_000, test_subset=2_000, batch_model="resnet20", batch_small=128,
                        batch_large=1_000, weight_decays=(0.0, 5e-4), lr=0.1, surface_subset=500, points_1d=15,
                        points_2d=9, interpolation_points=21,
                        depth_models=("resnet20", "resnet20_noshort", "resnet56", "resnet56_noshort"),
                        width_models=("resnet20", "wrn20_2"),
                        hessian_subset=50, hessian_points=3),
    ensembles=Ensembles(models=("resnet20",), datasets=("cifar10",), budget_epochs=6, train_subset=4_000,
                        test_subset=2_000, batch_size=128, lr=0.1, snapshot_cycles=3, fge_cycle_epochs=0.25,
                        fge_lr=(0.05, 0.0005), seeds=(0, 1), curve_epochs=20, curve_bends=1, curve_points=11),
)

PAPER = Profile(
    name="paper", dataset="cifar10", seed=0, progress=True, precision="fp32",
    first_model="resnet20",
    landscape=Landscape(epochs=300, train_subset=None, test_subset=None, batch_model="vgg9", batch_small=128,
                        batch_large=8192,
                        weight_decays=(0.0, 5e-4), lr=0.1, surface_subset=50_000, points_1d=51, points_2d=51,
                        interpolation_points=51,
                        depth_models=("resnet20", "resnet20_noshort", "resnet56", "resnet56_noshort",
                                      "resnet110", "resnet110_noshort"),
                        width_models=("wrn56_1", "wrn56_2", "wrn56_4", "wrn56_8",
                                      "wrn56_1_noshort", "wrn56_2_noshort", "wrn56_4_noshort", "wrn56_8_noshort"),
                        hessian_subset=50_000, hessian_points=51),
    ensembles=Ensembles(models=("vgg16", "preresnet164", "wrn28_10"), datasets=("cifar10", "cifar100"),
                        budget_epochs=200, train_subset=None, test_subset=None, batch_size=128, lr=0.05,
                        snapshot_cycles=5, fge_cycle_epochs=2, fge_lr=(0.01, 0.0005), seeds=(0, 1, 2),
                        curve_epochs=600, curve_bends=1, curve_points=61,
                        budget_by_model=(("preresnet164", 150),)),  # Garipov et al.: VGG-16, WRN-28-10 200
)


def get(name: str, device: str | torch.device = "cpu") -> Profile:
    """The profile called `name` (smoke, quick or paper), its precision "auto" resolved for `device`."""
    profiles = {p.name: p for p in (SMOKE, QUICK, PAPER)}
    if name not in profiles:
        raise ValueError(f"profile={name!r} is not known; valid choices: {', '.join(NAMES)}")
    profile = profiles[name]
    return dataclasses.replace(profile, precision=precisions.resolve(profile.precision, device))


def precision_line(name: str, device: str | torch.device = "cpu") -> str:
    """Which precision profile `name` runs in on `device`, and why (printed by the runner)."""
    get(name, device)  # unknown profile: ValueError
    return precisions.describe({p.name: p for p in (SMOKE, QUICK, PAPER)}[name].precision, device)

