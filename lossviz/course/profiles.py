"""Run profiles: every size the notebooks use, for smoke tests, a CPU course run, one GPU and the papers."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from lossviz.base import devices
from lossviz.base import precision as precisions
from lossviz.base.data import Sample
from lossviz.base.schedules import STEP_MILESTONES, Schedule
from lossviz.compute.train import TrainConfig, check_images, check_test_every

NAMES = ("smoke", "quick", "gpu", "paper")
MINIMIZER_LOSS = 0.10  # smoke, quick, paper: a minimizer has a training loss (eval mode, its own images) at most this
LI_WEIGHT_DECAYS = (0.0, 5e-4)  # Li et al.'s batch-size study (VGG-9, Fig. 2-4): without and with weight decay


LR_SCALINGS = ("sqrt", "none")  # how a Landscape's learning rate follows the batch size
SCHEDULES = ("step", "warmup_linear")  # a Landscape's schedule: Li et al.'s step decay, or warm-up then linear


@dataclass(frozen=True)
class Landscape:
    """Li et al. 2018 settings: training runs and plotting grids (notebooks 01-06)."""

    epochs: int  # every run of notebooks 03-05
    train_subset: int | None
    test_subset: int | None
    augment: bool  # random crops and flips; False lets a small subset be fitted to a minimizer
    batch_model: str  # the network of the batch-size / weight-decay study (Li et al.: VGG-9)
    batch_small: int
    batch_large: int
    batch_epochs: int  # epochs of each batch-study run, the same for both batch sizes (as Li et al.)
    weight_decays: tuple[float, ...]
    lr: float  # at batch size `lr_batch`; other batch sizes scale it as `lr_scaling` says, see `lr_for`
    surface_subset: int  # training images each surface point is evaluated on
    points_1d: int  # grid points on [-1, 1] for 1D plots
    points_2d: int  # grid points per axis on [-1, 1] for 2D plots
    interpolation_points: int  # points on [-0.5, 1.5] for linear interpolation
    depth_models: tuple[str, ...]
    width_models: tuple[str, ...]
    hessian_subset: int  # training images the Hessian is taken over at a minimizer (sharpness, spectrum)
    hessian_points: int  # grid points per axis of the eigenvalue map
    hessian_models: tuple[str, ...]  # the networks of the eigenvalue maps (Li et al. Fig. 7: ResNet-56 and -56-NS)
    model_batch: int = 128  # batch size of the depth and width runs
    lr_batch: int = 128  # the batch size `lr` is meant for
    epochs_by_model: tuple[tuple[str, int], ...] = ()  # (network, epochs) where a network needs more than `epochs`
    lr_by_model: tuple[tuple[str, float], ...] = ()  # (network, lr at `model_batch`) where `lr` does not fit it
    milestones_by_model: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (network, milestones) where the
    # schedule's own do not fit it: step drops (Li et al.'s 0.5, 0.75, 0.92), or warmup_linear's warm-up fraction
    schedule_by_model: tuple[tuple[str, str], ...] = ()  # (network, one of SCHEDULES) where `schedule` does not fit it
    deep_models: tuple[str, ...] = ()  # notebooks 03b and 03c: the deepest pair, with and without shortcuts
    lr_scaling: str = "sqrt"  # how `lr_for` scales `lr` with the batch size: one of LR_SCALINGS
    schedule: str = "step"  # every run's schedule, one of SCHEDULES: "step" (Li et al., milestones above) or
    # "warmup_linear" (a linear warm-up over the fraction `warmup` of training, then linear decay to zero)
    warmup: float = 0.05
    # test images every network of notebooks 01-05 is scored on after training (its test error, the findings' noise);
    # None = all of them. `test_subset` is the per-epoch log's only.
    score_subset: int | None = None
    # the rise along this many random filter-normalized directions (seeds 0, 1, ...; `Course.seed_rises`): its spread
    # over directions, beside the one plane's ring
    sharpness_seeds: int = 6
    # notebook 03c: the deep pair is trained once per seed (their spread: the noise of its sharpness contrast); 03b
    # plots the first seed's training
    deep_seeds: tuple[int, ...] = (0,)
    # notebooks 01-02: each batch-study cell (and the flip attempt's) trained once per seed, the first at every epoch
    # saved; with two or more, the spread between trainings is the noise of the weight norms, rises and test errors
    batch_seeds: tuple[int, ...] = (0,)
    # notebook 01: the batch pair trained again at this weight decay (no checkpoints), a second attempt at Li et al.'s
    # flip of the weights' scale, where `weight_decays` shrink the weights too little; None: not trained
    flip_weight_decay: float | None = None
    # training images of each eigenvalue-map point (a map costs hessian_points² Lanczos runs); None: hessian_subset
    map_subset: int | None = None
    # test images of each point of a 1D surface or an interpolation (2D planes take none); None: half of surface_subset
    surface_test_subset: int | None = None

    def __post_init__(self) -> None:
        check_images(self.score_subset)
        if self.surface_test_subset is not None and self.surface_test_subset < 1:
            raise ValueError(f"surface_test_subset={self.surface_test_subset} must be a positive number of images, "
                             "or None (half of surface_subset)")
        if self.flip_weight_decay is not None and (self.flip_weight_decay <= 0
                                                   or self.flip_weight_decay in self.weight_decays):
            raise ValueError(f"flip_weight_decay={self.flip_weight_decay} must be positive and not one of "
                             f"weight_decays {self.weight_decays}, or None (no second attempt)")
        if self.map_subset is not None and self.map_subset < 1:
            raise ValueError(f"map_subset={self.map_subset} must be a positive number of images, or None "
                             "(hessian_subset)")
        if self.sharpness_seeds < 2:
            raise ValueError(f"sharpness_seeds={self.sharpness_seeds} must be at least 2 (a spread needs two)")
        for name in ("deep_seeds", "batch_seeds"):
            seeds = getattr(self, name)
            if not seeds or len(set(seeds)) != len(seeds):
                raise ValueError(f"{name}={seeds} must name one or more distinct seeds")
        if self.lr_scaling not in LR_SCALINGS:
            raise ValueError(f"lr_scaling={self.lr_scaling!r}; valid choices: {', '.join(LR_SCALINGS)}")
        for model, kind in ((None, self.schedule), *self.schedule_by_model):
            if kind not in SCHEDULES:
                where = "schedule" if model is None else f"schedule_by_model[{model!r}]"
                raise ValueError(f"{where}={kind!r}; valid choices: {', '.join(SCHEDULES)}")

    def surface_tests(self) -> int:
        """The test images each point of a 1D surface or an interpolation is evaluated on."""
        return self.surface_subset // 2 if self.surface_test_subset is None else self.surface_test_subset

    def map_images(self) -> int:
        """The training images each point of an eigenvalue map is computed over."""
        return self.hessian_subset if self.map_subset is None else self.map_subset

    def depth_networks(self) -> tuple[str, ...]:
        """The networks of notebooks 03 and 03b, each once."""
        return tuple(dict.fromkeys(self.depth_models + self.deep_models))

    def epochs_of(self, model: str) -> int:
        """The epochs of a depth or width run of `model`: `epochs`, or more where the network needs them to fit
        its images (networks without shortcuts train more slowly, Li et al. Sec. 5)."""
        return dict(self.epochs_by_model).get(model, self.epochs)

    def lr_for(self, batch_size: int) -> float:
        """The learning rate of a batch size. "sqrt": `lr` scaled by sqrt(batch_size / lr_batch) (Krizhevsky 2014;
        Hoffer et al. 2017), which keeps a large batch stable without giving it the small batch's gradient noise
        (lr / batch), as the linear rule of Goyal et al. 2017 would. "none": `lr` at every batch size, as Li et al.
        trained VGG-9 (0.1 at batch 128 and 8,192, the reference checkpoints' names say)."""
        if self.lr_scaling == "none":
            return self.lr
        return self.lr * math.sqrt(batch_size / self.lr_batch)

    def run(self, model: str, dataset: str, seed: int, precision: str, batch_size: int | None = None,
            weight_decay: float = 5e-4, every_epoch: bool = False, epochs: int | None = None) -> TrainConfig:
        """One Li et al. training run: SGD, momentum 0.9, the network's schedule (step decay, or warm-up and linear
        decay), lr by `lr_for`; every epoch saved if asked."""
        batch_size = batch_size or self.model_batch
        epochs = epochs or self.epochs_of(model)
        lr = (dict(self.lr_by_model).get(model) if batch_size == self.model_batch else None) or self.lr_for(batch_size)
        kind = dict(self.schedule_by_model).get(model, self.schedule)
        milestones = dict(self.milestones_by_model).get(model, (self.warmup,) if kind == "warmup_linear"
                                                        else STEP_MILESTONES)
        return TrainConfig(model=model, dataset=dataset, train_subset=self.train_subset, test_subset=self.test_subset,
                           epochs=epochs, batch_size=batch_size, weight_decay=weight_decay, augment=self.augment,
                           schedule=Schedule(kind, lr, milestones=milestones),
                           seed=seed, precision=precision,
                           checkpoint_epochs=tuple(float(e) for e in range(epochs + 1)) if every_epoch else ())

    def sample(self, dataset: str, test: bool = True, batch_size: int = 128) -> Sample:
        """The images each surface point is evaluated on, in batches of `batch_size`."""
        return Sample(dataset, self.surface_subset, self.surface_tests() if test else 0, batch_size)


@dataclass(frozen=True)
class Ensembles:
    """Huang et al. 2017 and Garipov et al. 2018 settings (notebooks 07-09)."""

    models: tuple[str, ...]
    datasets: tuple[str, ...]
    budget_epochs: int  # B: the epochs of one normal run
    train_subset: int | None
    test_subset: int | None  # test images of the per-epoch training log only
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
    score_subset: int | None = None  # test images members and ensembles are scored on; None = all
    augment: bool = True  # random crops and flips in every run and curve of notebooks 07-09
    curve_lr: float = 0.015  # lr0 of the curve schedule (Garipov et al.'s VGG-16; 0.03 for their ResNets)
    path_test_subset: int | None = None  # test images the line and curves are evaluated on; None = all
    plane_subset: int = 500  # training images each point of a plane is evaluated on
    plane_points: int = 11  # grid points per axis of a plane
    # notebook 08: FGE once more, its normal run and its cycles trained with augmentation (random crops and flips),
    # at these (alpha1, alpha2), Garipov et al.'s ResNet step sizes; None: not run
    augmented_fge_lr: tuple[float, float] | None = None
    augmented_budget: int | None = None  # B of that setting (its normal run's epochs); None: `budget_epochs`

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
    # the log of a run that `Course.train` trains measures the test subset after every `test_every`-th epoch and
    # the last (not part of the run's cache key: the weights are the same; one measurement costs ~12% of a quick
    # epoch of ResNet-56-NS)
    test_every: int = 1
    # the profile's minimizer criterion: a run is called a minimizer of its training images when its training loss
    # there (eval mode, unaugmented: `train.minimizer_loss`) is at most this
    minimizer_loss: float = MINIMIZER_LOSS
    device_kinds: tuple[str, ...] = devices.KINDS  # the device kinds the profile is meant to run on

    def __post_init__(self) -> None:
        check_test_every(self.test_every)
        if self.seed not in self.landscape.batch_seeds:
            raise ValueError(f"batch_seeds={self.landscape.batch_seeds} must hold the profile's seed {self.seed} (its "
                             "trainings save every epoch for notebook 06)")
        if not self.minimizer_loss > 0:
            raise ValueError(f"minimizer_loss={self.minimizer_loss} must be a positive training loss")
        unknown = [k for k in self.device_kinds if k not in devices.KINDS]
        if unknown or not self.device_kinds:
            raise ValueError(f"device_kinds={self.device_kinds}: name one or more of {', '.join(devices.KINDS)}")

    def batch_runs(self, seed: int | None = None) -> dict[tuple[int, float], TrainConfig]:
        """Li et al. Fig. 2-4: {(batch size, weight decay): run}, small and large batch; at the profile's seed every
        epoch saved (notebook 06's paths), at another `seed` (a second training of each cell) none."""
        seed = self.seed if seed is None else seed
        return {key: c for wd in self.landscape.weight_decays
                for key, c in self._batch_pair(wd, seed, every_epoch=seed == self.seed).items()}

    def _batch_pair(self, weight_decay: float, seed: int, every_epoch: bool = False
                    ) -> dict[tuple[int, float], TrainConfig]:
        """{(batch size, weight decay): run} of the batch study's small and large batch at one weight decay."""
        land = self.landscape
        return {(b, weight_decay): land.run(land.batch_model, self.dataset, seed, self.precision, b, weight_decay,
                                            every_epoch=every_epoch, epochs=land.batch_epochs)
                for b in (land.batch_small, land.batch_large)}

    def flip_runs(self, seed: int | None = None) -> dict[tuple[int, float], TrainConfig]:
        """Notebook 01's second attempt at the flip: {(batch size, `flip_weight_decay`): run}, small and large batch,
        trained as the batch study's runs (no checkpoints), at the profile's seed or `seed`; empty where the profile
        makes no attempt."""
        wd = self.landscape.flip_weight_decay
        return {} if wd is None else self._batch_pair(wd, self.seed if seed is None else seed)

    def model_runs(self, names: tuple[str, ...], seed: int | None = None) -> dict[str, TrainConfig]:
        """Li et al. Fig. 5/6: one run per network, batch `model_batch`, weight decay 5e-4, at the profile's seed or
        `seed`. No checkpoints: nothing reads them (the PCA paths of notebook 06 are the batch study's)."""
        seed = self.seed if seed is None else seed
        return {name: self.landscape.run(name, self.dataset, seed, self.precision) for name in names}

    def untrained_decay_runs(self) -> dict[tuple[int, float], TrainConfig]:
        """Notebook 01's shrink table: {(batch size, weight decay): run} of the batch pair at each of Li et al.'s
        weight decays that this profile trains neither in the study nor in the flip attempt, as it would train it
        (never trained: what weight decay alone would do at this profile's steps)."""
        trained = {*self.landscape.weight_decays, self.landscape.flip_weight_decay}
        return {key: c for wd in LI_WEIGHT_DECAYS if wd not in trained
                for key, c in self._batch_pair(wd, self.seed).items()}

    def first_run(self) -> TrainConfig:
        """Notebook 00's first training run."""
        return self.model_runs((self.first_model,))[self.first_model]


SMOKE = Profile(
    name="smoke", dataset="synthetic", seed=0, progress=False, precision="fp32", test_every=2,
    first_model="resnet20",
    landscape=Landscape(epochs=2, train_subset=256, test_subset=128, score_subset=256, augment=False,
                        batch_model="resnet20", batch_small=32, batch_large=128, batch_epochs=2,
                        weight_decays=LI_WEIGHT_DECAYS, lr=0.1,
                        surface_subset=128, points_1d=5, points_2d=3, interpolation_points=5,
                        depth_models=("resnet20", "resnet20_noshort"),
                        width_models=("resnet20", "wrn20_2"), hessian_subset=8, hessian_points=3,
                        hessian_models=("resnet20", "resnet20_noshort"), model_batch=32,
                        deep_models=("resnet20", "resnet20_noshort"), sharpness_seeds=2, deep_seeds=(0, 1),
                        batch_seeds=(0, 1), flip_weight_decay=5e-3),
    ensembles=Ensembles(models=("resnet20",), datasets=("synthetic",), budget_epochs=2, train_subset=256,
                        test_subset=128, batch_size=32, lr=0.1, snapshot_cycles=3, fge_cycle_epochs=0.25,
                        fge_lr=(0.01, 0.0005), seeds=(0, 1, 2), curve_epochs=1, curve_bends=1, curve_points=3,
                        score_subset=None, augment=False, path_test_subset=128, plane_subset=128, plane_points=3,
                        augmented_fge_lr=(0.05, 0.0005), augmented_budget=3),
)

QUICK = Profile(
    name="quick", dataset="cifar10", seed=0, progress=True, precision="auto", test_every=10,
    first_model="resnet20",
    # 2,560 training images without augmentation: every network fits them to a training loss below 0.1 in
    # 30-40 epochs on two CPU cores (notebook 01 prints the curves); the per-epoch log on 2,000 test images every
    # 10th epoch, the trained networks scored on all 10,000 (seconds each)
    landscape=Landscape(epochs=30, train_subset=2_560, test_subset=2_000, augment=False, batch_model="resnet20",
                        # weight decay 0 and 5e-3, ten times Li et al.'s 5e-4: 5e-4 shrinks the small batch's
                        # weights to 0.66 over its 3,200 steps, the large batch's to 0.87 over 400
                        # (`train.decay_shrink`; Li et al.'s batch 128: e^-31), too little to flip their norms (the
                        # quick run trained it up to issue 27: the flip contradicted at two trainings, the small
                        # batch's norms 40.9 and 41.3 against 38.6 and 38.3; docs/findings.md); 5e-3 shrinks them to
                        # 0.014 and 0.22. The paper's 5e-4 stays in notebook 01's shrink table, not trained
                        batch_small=32, batch_large=256, batch_epochs=40, weight_decays=(0.0, 5e-3), lr=0.1,
                        # each surface point on 128 training images, the same ones at every point, so a surface
                        # is smooth in its coordinates (256 until issue 27's time target: planes cost in
                        # proportion); 1D test curves and interpolations also on 128 test images
                        surface_subset=128, surface_test_subset=128, points_1d=21, points_2d=21,
                        interpolation_points=21,
                        # ResNet-56-NS has its own notebook (03b, `deep_models`): its first layers' gradients are
                        # hundreds of times their weights at the start (notebook 03), so full-size first steps
                        # inflate them (its first layer to ~45-100x its norm) and they thaw only as weight decay
                        # shrinks them: Li et al.'s lr 0.1 with drops needed 150 epochs at seed 0 and left seed 1 far
                        # from a minimizer. A warm-up over 30% of 80 epochs to lr 0.05, then a linear decay to zero,
                        # fits the images at seeds 0 and 1 (60 epochs: 0.08-0.14; docs/training-resnet56-ns.md)
                        depth_models=("resnet20", "resnet20_noshort", "resnet56"),
                        # WRN-20-2 with shortcuts left out for the 90-minute target (issue 27: about 3.5 minutes):
                        # width changes the shortcut networks least (Li et al. Fig. 6's top row); the rescue of the
                        # networks without shortcuts is the contrast kept
                        width_models=("resnet20", "resnet20_noshort", "wrn20_2_noshort"),
                        # the paper's contrast, ResNet-56 and -56-NS (Fig. 7): one of their Hessian-vector products
                        # costs ~3.5x a ResNet-20's on a CPU, so the maps take 50 training images (~1 s per product,
                        # 5x5 maps of both ~10 minutes); sharpness and the spectrum 100
                        hessian_subset=100, hessian_points=5, hessian_models=("resnet56", "resnet56_noshort"),
                        map_subset=50,
                        # a second training of each batch-study cell (about 6 minutes): the spread between the two
                        # is the noise of the weight norms' flip, the rises and the test errors
                        batch_seeds=(0, 1),
                        epochs_by_model=(("resnet20_noshort", 60), ("resnet56", 60), ("wrn20_2_noshort", 60),
                                         ("resnet56_noshort", 80)),
                        schedule_by_model=(("resnet56_noshort", "warmup_linear"),),
                        milestones_by_model=(("resnet56_noshort", (0.3,)),), lr_by_model=(("resnet56_noshort", 0.05),),
                        # the deep pair trained twice (notebook 03c: the second training, about 16 minutes on two
                        # cores): the spread between the trainings is the noise of the sharpness contrast
                        deep_models=("resnet56", "resnet56_noshort"), deep_seeds=(0, 1)),
    # Converged members on a CPU: no augmentation, 2,560 images, batch 64 (40 iterations per epoch at the
    # throughput of batch 128), B = 60 epochs = 2,400 iterations, so that FGE's last 20% (480 iterations)
    # holds cycles of over 100 iterations; SSE cycles of 20 epochs (a 15-epoch cosine cycle from scratch ends at
    # training loss 0.14, a 20-epoch one at 0.013); FGE cycles of 3 epochs (120 iterations) with alpha1/alpha2 = 20
    # as the paper's values, at alpha1 = 0.3: from a minimum at training loss 0.002 the snapshots hardly move at
    # the paper's alpha1 = 0.01-0.05 (3% of test images disagree, the ensemble no better than its best member),
    # and at 0.5 they are no longer minima (training loss 0.9-1.4); 0.3 is at the edge: in 4 of 6 FGE runs (3 seeds,
    # two trainings) two or three of the four snapshots left the minimum (training loss 0.23-1.15), while 0.2 and
    # 0.15 kept them in but gained only 0.04-0.06 points over the best snapshot (notebook 08); curves at the
    # paper's ResNet rate; scored on all 10,000 test images.
    ensembles=Ensembles(models=("resnet20",), datasets=("cifar10",), budget_epochs=60, train_subset=2_560,
                        test_subset=500, batch_size=64, lr=0.1, snapshot_cycles=3, fge_cycle_epochs=3,
                        fge_lr=(0.3, 0.015), seeds=(0, 1, 2), curve_epochs=30, curve_bends=1, curve_points=11,
                        score_subset=None, augment=False, curve_lr=0.03, path_test_subset=2_000, plane_subset=500,
                        plane_points=11,
                        # notebook 08's second setting: FGE at Garipov et al.'s ResNet rates with augmentation in
                        # the normal run and the cycles. Augmented, B = 60 left the normal run at training loss
                        # 0.38 (eval mode, clean images) and its snapshots at 0.36-0.43, no minima; B = 150 fits
                        # the images (0.010 at the end, 0.012 at epoch 120 where FGE starts; 321 s of training on a
                        # Zen 5 EPYC, 2 threads): about 6.5 minutes for the setting's normal run and FGE cycles
                        augmented_fge_lr=(0.05, 0.0005), augmented_budget=150),
)

# One H100-class GPU, about an hour from an empty cache (a projection, not measured: bench/gpu_check.py measures the
# unit costs, `lossviz.course.projection` turns them into this profile's time per notebook). Full CIFAR-10 with
# augmentation and the papers' networks, trained at batch 512 with the square-root rule from 0.1 at 128 (0.2), a
# 5% linear warm-up and linear decay to zero, which reaches a network's accuracy in few epochs (ResNet-20 30, about
# 91%; ResNet-56 40, about 92.5-93%; planning figures, not measured). ResNet-56-NS is the risk (quick: it stalls
# after an early drop): it trains 60 epochs at 0.1. VGG-9's batch study compares 128 with 4,096 at the same 60
# epochs: 8,192 would leave 366 steps in all (6 an epoch), too few for a short budget. Ensembles on ResNet-20
# (B = 40, three seeds) at batch 512 and lr 0.2 as the landscape runs (at 128 they would be the largest cost), SSE
# 4 cycles of 10 epochs, FGE cycles of 2 epochs (196 steps) at Garipov et al.'s ResNet rates (0.05, 0.0005);
# curves 20 epochs; 2D planes 41 x 41 on 5,000 training images; Hessian maps of ResNet-56 and -56-NS, 11 x 11 on
# 2,000 images. On full augmented data a network does not fit its images as the quick profile's do: a minimizer
# here is a training loss (eval mode, unaugmented) at most 0.20 (a planning figure: bench/gpu_check.py's accuracy
# run prints the loss ResNet-20 ends at).
GPU = Profile(
    name="gpu", dataset="cifar10", seed=0, progress=True, precision="fp32", test_every=5,
    first_model="resnet20", minimizer_loss=0.20, device_kinds=("cuda",),
    # precision fp32 (TF32 convolutions, cuDNN's default): at batch 128 on an H200 bf16 autocast slowed ResNets by
    # 3-28% (docs/run-history.md); bench/gpu_check.py compares the two at batch 512
    landscape=Landscape(epochs=30, train_subset=None, test_subset=None, augment=True, batch_model="vgg9",
                        batch_small=128, batch_large=4_096, batch_epochs=60, weight_decays=LI_WEIGHT_DECAYS, lr=0.1,
                        surface_subset=5_000, points_1d=41, points_2d=41, interpolation_points=41,
                        depth_models=("resnet20", "resnet20_noshort", "resnet56"),
                        width_models=("resnet56", "resnet56_noshort", "wrn56_2", "wrn56_2_noshort", "wrn56_4",
                                      "wrn56_4_noshort"),
                        hessian_subset=2_000, hessian_points=11, hessian_models=("resnet56", "resnet56_noshort"),
                        model_batch=512, lr_batch=128, schedule="warmup_linear", warmup=0.05,
                        epochs_by_model=(("resnet56", 40), ("resnet56_noshort", 60), ("wrn56_2", 40),
                                         ("wrn56_2_noshort", 40), ("wrn56_4", 40), ("wrn56_4_noshort", 40)),
                        lr_by_model=(("resnet56_noshort", 0.1),), deep_models=("resnet56", "resnet56_noshort")),
    ensembles=Ensembles(models=("resnet20",), datasets=("cifar10",), budget_epochs=40, train_subset=None,
                        test_subset=None, batch_size=512, lr=0.2, snapshot_cycles=4, fge_cycle_epochs=2,
                        fge_lr=(0.05, 0.0005), seeds=(0, 1, 2), curve_epochs=20, curve_bends=1, curve_points=21,
                        score_subset=None, augment=True, curve_lr=0.03, path_test_subset=None, plane_subset=5_000,
                        plane_points=21),
)

PAPER = Profile(
    name="paper", dataset="cifar10", seed=0, progress=True, precision="fp32",
    first_model="resnet20",
    landscape=Landscape(epochs=300, train_subset=None, test_subset=None, augment=True, batch_model="vgg9",
                        batch_small=128, batch_large=8192, batch_epochs=300,
                        weight_decays=LI_WEIGHT_DECAYS, lr=0.1, surface_subset=50_000, points_1d=51, points_2d=51,
                        interpolation_points=51,
                        depth_models=("resnet20", "resnet20_noshort", "resnet56", "resnet56_noshort",
                                      "resnet110", "resnet110_noshort"),
                        width_models=("wrn56_1", "wrn56_2", "wrn56_4", "wrn56_8",
                                      "wrn56_1_noshort", "wrn56_2_noshort", "wrn56_4_noshort", "wrn56_8_noshort"),
                        hessian_subset=50_000, hessian_points=51, hessian_models=("resnet56", "resnet56_noshort"),
                        lr_scaling="none", deep_models=("resnet56", "resnet56_noshort")),
    ensembles=Ensembles(models=("vgg16", "preresnet164", "wrn28_10"), datasets=("cifar10", "cifar100"),
                        budget_epochs=200, train_subset=None, test_subset=None, batch_size=128, lr=0.05,
                        snapshot_cycles=5, fge_cycle_epochs=2, fge_lr=(0.01, 0.0005), seeds=(0, 1, 2),
                        curve_epochs=600, curve_bends=1, curve_points=61,
                        budget_by_model=(("preresnet164", 150),), score_subset=None, augment=True,
                        path_test_subset=None, plane_subset=50_000, plane_points=21),  # Garipov: VGG-16, WRN 200
)


PROFILES = {p.name: p for p in (SMOKE, QUICK, GPU, PAPER)}


def get(name: str, device: str | torch.device = "cpu") -> Profile:
    """The profile called `name` (smoke, quick, gpu or paper), its precision "auto" resolved for `device`."""
    if name not in PROFILES:
        raise ValueError(f"profile={name!r} is not known; valid choices: {', '.join(NAMES)}")
    profile = PROFILES[name]
    return dataclasses.replace(profile, precision=precisions.resolve(profile.precision, device))


def check_device(name: str, device: str | torch.device) -> None:
    """A ValueError, in one line naming the device, where profile `name` is not meant for `device`'s kind (gpu on a
    CPU would take days where quick takes 90 minutes)."""
    kinds = get(name).device_kinds
    if torch.device(device).type not in kinds:
        fits = [p for p in NAMES if torch.device(device).type in PROFILES[p].device_kinds and p != "smoke"]
        raise ValueError(f"profile={name!r} runs on {' or '.join(kinds)} only, not on device {device} "
                         f"({devices.name_of(device)}); there use profile={fits[0]!r}, or a {kinds[0]} device")


def precision_line(name: str, device: str | torch.device = "cpu") -> str:
    """Which precision profile `name` runs in on `device`, and why (printed by the runner)."""
    get(name, device)  # unknown profile: ValueError
    return precisions.describe(PROFILES[name].precision, device)


def device_line(name: str, asked: str | torch.device = "auto") -> str:
    """Which device and precision profile `name` runs on when `asked` ("auto", "cpu", "cuda", "mps", ...), and
    why: the runner's first line."""
    device = devices.resolve(asked)
    check_device(name, device)
    why = (" (auto: CUDA > MPS > CPU; available: " + ", ".join(devices.available()) + ")"
           if str(asked) == "auto" else " (as asked)")
    return f"device {device} = {devices.name_of(device)}{why}; {precision_line(name, device)}"

