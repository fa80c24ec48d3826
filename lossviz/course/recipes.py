"""The course the notebooks talk to: one `Course` (a profile, its folders and device) whose methods train, load and
compute each figure's data once, cached on disk (runs) or in resumable files (surfaces)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from lossviz.base import data, devices, directions, folders, io, papers, stats
from lossviz.base.data import Sample
from lossviz.compute import curves, ensembles, gradient_scale, hessian, landscapes, shape
from lossviz.compute.eigenmaps import Lanczos
from lossviz.compute.train import (
    TrainConfig,
    TrainResult,
    final_train_loss,
    initial_model,
    network,
    splits,
    test_outcomes,
    train,
)
from lossviz.course.names import batch_label, caption, method_caption, network_of, run_name, training_key
from lossviz.course.profiles import Profile, check_device, get
from lossviz.course.tables import Minimizer, minimizer_table
from lossviz.views import explorer


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
class Segment:
    """The straight segment between members `first` and `first + 1` (1-based) of one budget unit: cross-entropy and
    error along it (BN recomputed at every point) and the two members' distance in weight space."""

    first: int
    path: curves.PathResult
    distance: float

    @property
    def label(self) -> str:
        """"1-2": the members it joins."""
        return f"{self.first}-{self.first + 1}"

    @property
    def barrier(self) -> float:
        """The highest training cross-entropy on the segment minus the higher of its ends (`curves.barrier`)."""
        return curves.barrier(self.path.train_loss)


@dataclass(frozen=True)
class Travel:
    """How far FGE's snapshots are from the checkpoint they start at, and, for scale, the distance between the two
    independently trained minima notebook 08 connects (parameters only, as `ensembles.distance`)."""

    from_start: tuple[float, ...]
    between_minima: float


@dataclass(frozen=True)
class Course:
    """A profile, where its data, results and cache live, and the device: the recipes the notebooks call."""

    profile: Profile
    data_root: Path
    out_dir: Path
    cache_dir: Path | None = None  # None: $LOSSVIZ_CACHE or cache/ in the project
    device: str = "cpu"

    @classmethod
    def from_profile(cls, name: str, device: str | torch.device = "auto", data_root: str | Path | None = None,
                     out_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> Course:
        """The course at profile `name` on `device` ("auto": CUDA, else MPS, else the CPU; `devices.resolve`), its
        precision "auto" resolved for that device; None folders: the defaults."""
        resolved = devices.resolve(device)
        check_device(name, resolved)  # gpu on a CPU: a one-line error naming the device
        devices.prepare(resolved)
        profile = get(name, resolved)
        return cls(profile, Path(data_root) if data_root is not None else folders.data_root(),
                   Path(out_dir) if out_dir is not None else folders.output_dir(profile.name),
                   Path(cache_dir) if cache_dir is not None else None, str(resolved))

    @property
    def precision(self) -> str:
        """The profile's precision, resolved for the device (fp32 or bf16)."""
        return self.profile.precision

    @property
    def minimizer_loss(self) -> float:
        """The profile's minimizer criterion: a training loss (eval mode, its own images) at most this."""
        return self.profile.minimizer_loss

    @property
    def progress(self) -> bool:
        """Whether long steps show progress bars."""
        return self.profile.progress

    @property
    def batch_size(self) -> int:
        """The evaluation batch size of the course's device (128 on CPUs, 1,000 on CUDA: `devices.rules`)."""
        return data.eval_batch_size(self.device)

    def sample(self, test: bool = True) -> Sample:
        """The images each surface point is evaluated on (training, and test when `test`)."""
        return self.profile.landscape.sample(self.profile.dataset, test, self.batch_size)

    def hessian_sample(self) -> Sample:
        """The training images the Hessian is taken over at a minimizer (sharpness, spectrum)."""
        return Sample(self.profile.dataset, self.profile.landscape.hessian_subset, batch_size=self.batch_size)

    def map_sample(self) -> Sample:
        """The training images each point of an eigenvalue map is computed over."""
        return Sample(self.profile.dataset, self.profile.landscape.map_images(), batch_size=self.batch_size)

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

    def flip_runs(self) -> dict[tuple[int, float], TrainResult]:
        """Notebook 01's second attempt at the flip: the batch pair trained at `flip_weight_decay` (empty without)."""
        return {key: self.train(config) for key, config in self.profile.flip_runs().items()}

    def batch_trainings(self, flip: bool = False) -> dict[int, dict[tuple[int, float], TrainResult]]:
        """{seed: {(batch size, weight decay): run}}: the batch study's cells, or with `flip` the flip attempt's,
        once per `landscape.batch_seeds`, seed by seed (the profile's seed is `batch_runs` / `flip_runs`)."""
        runs = self.profile.flip_runs if flip else self.profile.batch_runs
        return {seed: {key: self.train(config) for key, config in runs(seed).items()}
                for seed in self.profile.landscape.batch_seeds}

    def model_runs(self, names: tuple[str, ...], seed: int | None = None) -> dict[str, TrainResult]:
        """One trained run per network name (Li et al. Fig. 5/6 settings), at the profile's seed or `seed`."""
        return {name: self.train(config) for name, config in self.profile.model_runs(names, seed).items()}

    def trainings(self, names: tuple[str, ...], seeds: tuple[int, ...]) -> dict[str, TrainResult]:
        """Each network trained once per seed, seed by seed, keyed by `names.training_key` ("resnet56" at the
        profile's seed, "resnet56_seed1" at seed 1): the trainings whose spread a claim's noise is."""
        return {training_key(name, seed, self.profile.seed): run for seed in seeds
                for name, run in self.model_runs(names, seed).items()}

    def minimizers(self, runs: dict, paper: dict | None = None) -> dict[str, Minimizer]:
        """{run name: `Minimizer`} of each run, printed as a table (record them with `minimizer_numbers`);
        `paper` maps a run's key to the paper's test error (%) of the same figure."""
        losses = self.train_losses(runs)
        rows = {}
        for key, run in runs.items():
            error, n = self.test_error(run)
            steps = run.config.epochs * data.iterations_per_epoch(
                data.size(run.config.dataset, True, run.config.train_subset), run.config.batch_size)
            rows[run_name(key)] = Minimizer(run_name(key), losses[key], error, stats.binomial_se(error, n), n,
                                            run.config.epochs, steps, (paper or {}).get(key),
                                            sum(e.get("seconds", 0.0) for e in run.log))
        print(minimizer_table(rows, self.minimizer_loss))
        return rows

    def outcomes(self, run: TrainResult) -> torch.Tensor:
        """Whether `run` classifies each test image it is scored on (`landscape.score_subset`) correctly (cached;
        `train.test_outcomes`): two runs on the same images give the paired noise of their difference
        (`lossviz.base.stats.paired_counts`)."""
        return test_outcomes(run, self.data_root, self.cache_dir, self.device, self.profile.landscape.score_subset)

    def caption(self, run: TrainResult) -> str:
        """`run`'s caption: its network and its test error on the images it is scored on (`names.caption`); a
        training at another seed than the profile's says which."""
        return caption(run, self.test_error(run), self.profile.seed)

    def test_error(self, run: TrainResult) -> tuple[float, int]:
        """`run`'s test error in percent on the images it is scored on, and how many they are."""
        right = self.outcomes(run)
        return 100.0 * (1.0 - right.float().mean().item()), right.numel()

    def landscape_runs(self) -> dict[str, TrainResult]:
        """Every network of notebooks 01-04 once, by run name: the batch study, then the depth (03, 03b) and width
        networks (a run whose configuration already appeared is left out)."""
        land = self.profile.landscape
        found: dict[str, TrainResult] = {}
        names = tuple(dict.fromkeys(land.depth_networks() + land.width_models))
        candidates = {**{run_name(k): r for k, r in self.batch_runs().items()}, **self.model_runs(names)}
        for name, run in candidates.items():  # the same training, with or without checkpoints, counts once
            if all(other.config.replace(checkpoint_epochs=()) != run.config.replace(checkpoint_epochs=())
                   for other in found.values()):
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
            return papers.li2018_error(network_of(key))  # a second training beside the paper's one number too
        return {key: one(key) for key in runs}

    def train_losses(self, runs: dict) -> dict:
        """{key: the run's final training loss, eval mode, unaugmented, on its own training images} (cached): what
        the profile's minimizer criterion (`minimizer_loss`) judges."""
        return {key: final_train_loss(run, root=self.data_root, cache_dir=self.cache_dir, device=self.device)
                for key, run in runs.items()}

    def init_gradient_ratios(self, names: tuple[str, ...], batch_size: int | None = None
                             ) -> dict[str, dict[str, float]]:
        """{network: `gradient_scale.layer_ratios`} at the initialization its depth/width run starts from (the same
        seed), on the first `batch_size` (default: the run's batch size) of its training images."""
        ratios = {}
        for name, config in self.profile.model_runs(names).items():
            split = splits(config, self.data_root)[0]
            images, labels = next(iter(data.batches(split, batch_size or config.batch_size)))
            ratios[name] = gradient_scale.layer_ratios(initial_model(config), images, labels)
        return ratios

    # ---- surfaces (Li et al.) -------------------------------------------------------------------------

    def plane_request(self, run: TrainResult, sample: Sample, **options) -> landscapes.RandomPlane:
        """The `RandomPlane` request of `run` at this course's precision and device (options: dims, points, ...)."""
        options = {"precision": self.precision, **options}
        return landscapes.RandomPlane(run.config, sample, device=self.device, **options)

    def random_surface(self, run: TrainResult, sample: Sample, **options) -> io.Surface:
        """`landscapes.random_surface` at this course's precision, folders and device (options: dims, points, ...)."""
        return landscapes.random_surface(self.plane_request(run, sample, **options), run, self.data_root,
                                         self.out_dir)

    def interpolations(self, runs: dict[tuple[int, float], TrainResult], bn: str = "eval") -> dict[float, io.Surface]:
        """{weight decay: the linear interpolation from the small-batch to the large-batch minimizer} for each weight
        decay of `runs` (notebook 01); bn="recompute" recomputes the BN statistics at every alpha."""
        land = self.profile.landscape
        lines = {}
        for wd in sorted({wd for _, wd in runs}):
            first, second = runs[land.batch_small, wd], runs[land.batch_large, wd]
            request = landscapes.Interpolation(first.config, second.config, self.sample(), land.interpolation_points,
                                               bn=bn, precision=self.precision, device=self.device)
            lines[wd] = landscapes.interpolation(request, first, second, self.data_root, self.out_dir)
        return lines

    def model_planes(self, runs: dict, seed: int = 0) -> dict:
        """The filter-normalized 2D surface around each run, on the profile's grid and training sample."""
        return {key: self.random_surface(run, self.sample(test=False), dims=2,
                                         points=self.profile.landscape.points_2d, seed=seed)
                for key, run in runs.items()}

    def seed_rises(self, runs: dict, radius: float = 0.5) -> dict[str, list[float]]:
        """The filter-normalized rise of each run along the profile's `sharpness_seeds` random directions, one per
        direction seed 0, 1, ...: the mean training loss at +-`radius` minus the loss at the run (`shape.summary` of a
        3-point line; its spread over seeds is how much the rise depends on the direction)."""
        seeds = self.profile.landscape.sharpness_seeds
        return {key: [shape.summary(self.random_surface(run, self.sample(test=False), dims=1, points=3, span=radius,
                                                        seed=s), radius=radius)["rise"] for s in range(seeds)]
                for key, run in runs.items()}

    def lines_1d(self, runs: dict, norm: str = "filter", seed: int = 0) -> dict:
        """The 1D surface around each run along one random direction, train and test (notebook 02); without
        normalization the direction is short (span 0.02), as its raw length dwarfs the weights' scale."""
        return {key: self.random_surface(run, self.sample(), dims=1, points=self.profile.landscape.points_1d,
                                         span=0.02 if norm == "none" else 1.0, norm=norm, seed=seed)
                for key, run in runs.items()}

    def path_planes(self, runs: dict[str, TrainResult]) -> dict[str, landscapes.PathPlane]:
        """Each run's optimizer path on its PCA plane, with the loss there (notebook 06)."""
        return {label: landscapes.pca_surface(
                    landscapes.PCAPlane(run.config, self.sample(test=False), self.profile.landscape.points_2d,
                                        precision=self.precision, device=self.device),
                    run, self.data_root, self.out_dir)
                for label, run in runs.items()}

    def scale_invariance(self, run: TrainResult, factors: tuple[float, ...] = (0.25, 1.0, 4.0)
                         ) -> dict[str, list[float]]:
        """`scale_invariance` on the course's sample."""
        return landscapes.scale_invariance(run, self.sample(), factors, root=self.data_root, device=self.device)

    # ---- Hessian (Li et al. sec. 6) ----------------------------------------------------------------------

    def eigen_maps(self, runs: dict[str, TrainResult], seed: int = 0, max_steps: int = 60
                   ) -> tuple[dict[str, io.Surface], dict[str, io.Surface]]:
        """({name: min_eig/max_eig map}, {name: the loss on the same plane}) on the map sample (Fig. 7)."""
        land, sample = self.profile.landscape, self.map_sample()
        lanczos = Lanczos(tol=1e-2, max_steps=max_steps, warm=True)
        maps = {name: landscapes.eigen_surface(
                    landscapes.EigenPlane(run.config, sample, land.hessian_points, seed=seed, lanczos=lanczos,
                                          device=self.device),
                    run, self.data_root, self.out_dir, self.progress)
                for name, run in runs.items()}
        # the loss on the same plane, in fp32 as the Hessian
        losses = {name: self.random_surface(run, sample, dims=2, points=land.hessian_points, seed=seed,
                                            precision="fp32")
                  for name, run in runs.items()}
        return maps, losses

    def hessian_operator(self, run: TrainResult) -> hessian.Operator:
        """The training-loss Hessian of `run` at its final weights, over the Hessian sample."""
        return hessian.operator(run.model(self.device), self.hessian_sample().batches(self.data_root)["train"])

    def sharpness(self, runs: dict[str, TrainResult]) -> dict[str, dict[str, float]]:
        """{label: lambda_min, lambda_max, trace (+- se) and test error} of each run (cached)."""
        return {label: landscapes.sharpness(landscapes.Sharpness(run.config, self.hessian_sample(), device=self.device),
                                            run, self.data_root, self.cache_dir)
                for label, run in runs.items()}

    # ---- ensembles and curves (Huang et al., Garipov et al.) ---------------------------------------------

    def plan(self, **changes) -> ensembles.Plan:
        """The ensemble plan of the profile's first model and dataset, at the course's precision."""
        E = self.profile.ensembles
        return ensembles.plan(E, E.models[0], E.datasets[0], self.precision, **changes)

    def augmented_plan(self) -> ensembles.Plan | None:
        """Notebook 08's second FGE setting: the plan with augmentation in every run, at the profile's
        `augmented_fge_lr` and `augmented_budget` (None where the profile has none)."""
        E = self.profile.ensembles
        return None if E.augmented_fge_lr is None else self.plan().augmented(E.augmented_fge_lr, E.augmented_budget)

    def training_seconds(self, method: str, seeds: tuple[int, ...], plan: ensembles.Plan | None = None) -> float:
        """The wall time the runs of an ensemble took to train, as their logs recorded it when they ran."""
        return sum(e.get("seconds", 0.0) for r in ensembles.runs(method, seeds, plan or self.plan())
                   for e in self.train(r.config).log)

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
        return Sample(E.datasets[0], train_images, E.path_test_subset or data.SIZES[E.datasets[0]][1], self.batch_size)

    def _model(self) -> torch.nn.Module:
        """A network of the ensemble runs (its weights are replaced wherever it is evaluated)."""
        return network(self.plan().base)

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
                            root=self.data_root, cache_dir=self.cache_dir, device=self.device,
                            bn_augmented=self._bn_augmented())

    def _bn_augmented(self) -> bool:
        """Whether paths and planes between the ensemble runs recompute BN over augmented batches: where the runs
        trained with augmentation (`curves.bn_batches`)."""
        return self.plan().base.augment

    def _plane_surface(self, plane: curves.Plane) -> io.Surface:
        E = self.profile.ensembles
        sample = Sample(E.datasets[0], E.plane_subset, batch_size=self.batch_size)
        return curves.plane_surface(plane, self._model(), sample,
                                    points=E.plane_points, precision=self.precision, root=self.data_root,
                                    out_dir=self.out_dir, device=self.device, progress=self.progress,
                                    bn_augmented=self._bn_augmented())

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
            raise ValueError(f"seeds={seeds} must name three runs; the profile has seeds "
                             f"{self.profile.ensembles.seeds}")
        plan = self.plan()
        return self.state_plane([self.train(plan.normal_run(s)).state for s in seeds])

    def connection(self, seed: int = 0) -> Connection:
        """The two endpoints (normal runs of the first two seeds) and the curve configuration of notebook 08."""
        E = self.profile.ensembles
        plan = self.plan()
        ends = (plan.normal_run(E.seeds[0]), plan.normal_run(E.seeds[1]))
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
                                      root=self.data_root, cache_dir=self.cache_dir, device=self.device,
                                      bn_augmented=link.plan.base.augment)

    def on_plane_images(self, paths: dict[str, curves.Curve]) -> dict[str, curves.PathResult]:
        """Cross-entropy along each path on the images the planes are evaluated on (`plane_subset` training
        images), so that a path drawn on a plane carries heights measured like the plane's (cached)."""
        E = self.profile.ensembles
        sample = Sample(E.datasets[0], E.plane_subset, E.plane_subset, self.batch_size)
        return curves.along(self._model(), paths, sample, points=E.curve_points, precision=self.precision,
                            root=self.data_root, cache_dir=self.cache_dir, device=self.device,
                            bn_augmented=self._bn_augmented())

    def bend_plane(self, link: Connection, curve: curves.Curve) -> tuple[curves.Plane, io.Surface]:
        """The plane through the curve's endpoints and bend, and the loss on it (Garipov et al. Fig. 1, middle)."""
        plane = curves.curve_plane(curve)
        return plane, self._plane_surface(plane)

    def budgets(self) -> tuple[int, ...]:
        """The budgets kB of notebook 09's table: 1B to 3B, as far as the profile has the k seeds kB needs."""
        return tuple(range(1, min(max(ensembles.BUDGETS), len(self.profile.ensembles.seeds)) + 1))

    def budget_ensembles(self, budgets: tuple[int, ...] | None = None
                         ) -> dict[tuple[str, int], list[ensembles.EnsembleResult]]:
        """{(method, k): ensembles} of Table 1 at this profile: at 1B one per seed, at kB the first k seeds' units
        pooled (as `ensembles.table`; nothing where the profile has fewer than k seeds)."""
        seeds = self.profile.ensembles.seeds
        return {(method, k): [self.ensemble(method, unit) for unit in
                              ([(s,) for s in seeds] if k == 1 else [seeds[:k]] if len(seeds) >= k else [])]
                for method in ensembles.METHODS for k in (budgets or self.budgets())}

    def normal_runs(self, seeds: tuple[int, ...]) -> dict[int, ensembles.EnsembleResult]:
        """{seed: the normal run of budget B with that seed, scored as a one-member ensemble}."""
        return {s: self.ensemble("ind", (s,)) for s in seeds}

    def member_segments(self, method: str, seed: int) -> list[Segment]:
        """The straight segments between consecutive members of one budget unit of `method` (`segments`), with the
        members' distances."""
        states = self.member_states(method, seed)
        names = ensembles.parameter_names(self.plan().base)
        paths = self.segments(states)
        return [Segment(k, paths[f"{k}-{k + 1}"], ensembles.distance(states[k - 1], states[k], names))
                for k in range(1, len(states))]

    def fge_travel(self, seed: int) -> Travel:
        """FGE's snapshots' distances from their starting checkpoint, and the distance between the two normal runs
        of `connection` (Garipov et al. Fig. 3's distances)."""
        names = ensembles.parameter_names(self.plan().base)
        start = self.fge_start(seed)
        ends = [self.train(config).state for config in self.connection(seed).ends]
        return Travel(tuple(ensembles.distance(start, s, names) for s in self.member_states("fge", seed)),
                      ensembles.distance(ends[0], ends[1], names))

    def loss_curves(self, methods: tuple[str, ...], seed: int
                    ) -> tuple[dict[str, tuple[list[float], list[float]]], dict[str, list[float]]]:
        """The training loss per epoch of one budget unit of each method, {caption: (epochs, losses)}, and the
        epochs its members are taken at, {caption: epochs} (Huang et al. Fig. 2)."""
        plan, curves_, marks = self.plan(), {}, {}
        for method in methods:
            epochs, losses, members, offset = [], [], [], 0.0
            for run in ensembles.runs(method, (seed,), plan):
                log = [e for e in self.train(run.config).log if e["epoch"] <= run.epochs]
                epochs += [offset + e["epoch"] for e in log]
                losses += [e["train_loss"] for e in log]
                members += [offset + (run.epochs if m is None else m) for m in run.members]
                offset += run.epochs
            caption = method_caption(method, len(members))
            curves_[caption], marks[caption] = (epochs, losses), members
        return curves_, marks

    @property
    def path_test_images(self) -> int:
        """The number of test images the line, curves and segments are evaluated on (`path_sample`)."""
        return data.size(self.profile.ensembles.datasets[0], False, self.path_sample().test_subset)

    # ---- the explorer (notebook 10) -----------------------------------------------------------------------

    def explorer(self, runs: dict[str, TrainResult], captions: dict[str, str], line: io.Surface,
                 line_label: str, live_images: int = 200) -> explorer.Explorer:
        """An explorer of `runs`: surfaces the notebooks cached are read, others computed live on `live_images`."""
        live = Sample(self.profile.dataset, min(live_images, self.profile.landscape.surface_subset),
                      batch_size=self.batch_size)

        def sample_of(view: explorer.View) -> Sample:
            return self.sample(test=explorer.dims(view) == 1)

        def compute(view: explorer.View, is_live: bool) -> io.Surface:
            return self.random_surface(runs[view.model], live if is_live else sample_of(view),
                                       dims=explorer.dims(view), points=view.points, seed=view.seed)

        def cached(view: explorer.View) -> bool:
            request = self.plane_request(runs[view.model], sample_of(view), dims=explorer.dims(view),
                                         points=view.points, seed=view.seed)
            return landscapes.complete(request.file(self.out_dir))

        return explorer.Explorer(captions=captions, line=line, line_label=line_label, compute=compute,
                                 cached=cached, live_images=live.train_subset)
