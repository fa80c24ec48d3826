"""A profile's time per notebook projected from measured unit costs: the work each notebook makes (trainings, surface
points, Hessian-vector products), derived from the profile, priced at seconds per epoch, images per second and
seconds per product. Work an earlier notebook did is cached and costs nothing again (an empty cache at the start).

What is priced, per item (every image count derived from the profile):
- a training run: epochs x (its training images / 50,000) x seconds per epoch of (network, batch size), plus its
  test-log evaluations (one every `test_every` epochs and the last) and its minimizer check (`train.minimizer_loss`,
  its training images once), both at the network's surface throughput;
- a curve (Garipov et al.): its epochs at `curve_epoch_factor` times the endpoints' epoch (a point of the curve is
  sampled and its weights assembled each step);
- a surface: points x images at the network's surface throughput, twice the training images where BN statistics are
  recomputed at every point (one pass in train mode, then the evaluation);
- a Hessian map or a sharpness measurement: Hessian-vector products x seconds of one product over `hvp_images`,
  scaled linearly to the images it is taken over.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

from lossviz.base import data
from lossviz.compute import curves, ensembles
from lossviz.compute.landscapes import Sharpness
from lossviz.compute.train import TrainConfig
from lossviz.course.profiles import Profile

NOTEBOOKS = ("00", "01", "02", "03", "03b", "03c", "04", "05", "06", "07", "08", "09", "10")
FULL_EPOCH = 50_000  # the images a unit cost's epoch holds (CIFAR-10's training set)


@dataclass(frozen=True)
class UnitCosts:
    """Measured costs on one device: {"network@batch": seconds per epoch of 50,000 training images},
    {network: images per second at one surface point, at the device's evaluation batch} and {network: seconds of one
    Hessian-vector product over `hvp_images` images}."""

    epoch_seconds: dict[str, float]
    surface_images_per_s: dict[str, float]
    hvp_seconds: dict[str, float]
    hvp_images: int
    hvps_per_point: float = 20.0  # a Hessian map's point (warm Lanczos, tol 1e-2): 15 measured in the quick run
    curve_epoch_factor: float = 1.5  # a curve's epoch against its endpoints' (a planning figure)

    def epoch(self, model: str, batch_size: int) -> float:
        """Seconds per 50,000-image epoch of `model` at `batch_size`."""
        return _look_up(self.epoch_seconds, f"{model}@{batch_size}", "epoch_seconds")

    def images_per_s(self, model: str) -> float:
        """Images per second of `model` at one surface point."""
        return _look_up(self.surface_images_per_s, model, "surface_images_per_s")

    def hvp(self, model: str, images: int) -> float:
        """Seconds of one Hessian-vector product of `model` over `images` images."""
        return _look_up(self.hvp_seconds, model, "hvp_seconds") * images / self.hvp_images


def _look_up(table: dict[str, float], key: str, name: str) -> float:
    if key not in table:
        raise ValueError(f"{name} has no entry {key!r}; measured: {', '.join(sorted(table)) or 'none'}")
    return table[key]


@dataclass(frozen=True)
class Training:
    """A training run (its key leaves out the checkpoints: a run with and without them is one cache entry's work),
    or, where `curve` names a curve kind, a curve trained at `config`'s network, epochs, batch size and images."""

    config: TrainConfig
    test_every: int = 1
    curve: str = ""

    @property
    def key(self) -> tuple:
        return ("train", self.curve, self.config.replace(checkpoint_epochs=()))

    def seconds(self, costs: UnitCosts) -> float:
        c = self.config
        images = data.size(c.dataset, True, c.train_subset)
        train = c.epochs * images / FULL_EPOCH * costs.epoch(c.model, c.batch_size)
        if self.curve:
            return train * costs.curve_epoch_factor
        tests = math.ceil(c.epochs / self.test_every) + (c.epochs % self.test_every != 0)
        evaluated = tests * data.size(c.dataset, False, c.test_subset) + images  # test log, then minimizer check
        return train + evaluated / costs.images_per_s(c.model)


@dataclass(frozen=True)
class Surface:
    """Points of a surface (a plane, a line, a path) of one network, each over `images` images, BN statistics
    recomputed on `recompute_images` training images at every point (0: not recomputed)."""

    model: str
    what: str  # what tells this surface from another of the same network (its cache identity)
    points: int
    images: int
    recompute_images: int = 0

    @property
    def key(self) -> tuple:
        return ("surface", self.model, self.what, self.points, self.images, self.recompute_images)

    def seconds(self, costs: UnitCosts) -> float:
        return self.points * (self.images + self.recompute_images) / costs.images_per_s(self.model)


@dataclass(frozen=True)
class Products:
    """Hessian-vector products of one network over `images` images: a map's points x products per point (`products`
    None), or a fixed number of them (a sharpness measurement)."""

    model: str
    what: str
    points: int
    images: int
    products: float | None = None

    @property
    def key(self) -> tuple:
        return ("hvp", self.model, self.what, self.points, self.images, self.products)

    def seconds(self, costs: UnitCosts) -> float:
        count = self.points * (costs.hvps_per_point if self.products is None else self.products)
        return count * costs.hvp(self.model, self.images)


Item = Training | Surface | Products
SHARPNESS_PRODUCTS = sum(f.default for f in dataclasses.fields(Sharpness)  # type: ignore[misc]
                         if f.name in ("max_steps", "samples"))  # Lanczos' most, then Hutchinson's vectors


def _name(config: TrainConfig) -> str:
    return str(config.replace(checkpoint_epochs=()))


def work(profile: Profile) -> dict[str, list[Item]]:
    """{notebook: the items its recipes compute}, in the order the notebooks run, derived from `profile` as the
    `Course` derives them (an item may repeat in later notebooks: `project` prices it once)."""
    land, E = profile.landscape, profile.ensembles
    sample = land.surface_subset + land.surface_tests()  # `Landscape.sample`: training and test images
    batch, flip = profile.batch_runs(), profile.flip_runs()
    again = {f"{k} seed {s}": c for s in land.batch_seeds if s != profile.seed  # the batch study's other trainings
               for k, c in {**profile.batch_runs(s), **profile.flip_runs(s)}.items()}
    depth, width, hess = (profile.model_runs(names) for names in
                          (land.depth_models, land.width_models, land.hessian_models))
    deep = {f"{n} seed {s}": c for s in land.deep_seeds for n, c in profile.model_runs(land.deep_models, s).items()}
    first_deep = {k: c for k, c in deep.items() if c.seed == land.deep_seeds[0]}  # 03b's; 03c trains them all
    every = {**{f"b{k}": c for k, c in batch.items()},
             **profile.model_runs(tuple(dict.fromkeys(land.depth_networks() + land.width_models)))}
    plan = ensembles.plan(E, E.models[0], E.datasets[0], profile.precision)
    net, seeds = plan.base.model, E.seeds
    path_train = data.size(E.datasets[0], True, E.train_subset)  # `Course.path_sample`
    path_images = path_train + data.size(E.datasets[0], False, E.path_test_subset)
    curve = plan.normal_run(seeds[0]).replace(epochs=E.curve_epochs, checkpoint_epochs=())
    curve_runs: list[Item] = [Training(curve, profile.test_every, kind) for kind in curves.KINDS]

    def trainings(configs) -> list[Item]:
        return [Training(c, profile.test_every) for c in configs]

    def planes(configs: dict, what: str = "plane") -> list[Item]:
        return [Surface(c.model, f"{what} {_name(c)}", land.points_2d ** 2, land.surface_subset)
                for c in configs.values()]

    def rises(configs: dict) -> list[Item]:  # `Course.seed_rises`: a 3-point line per direction seed
        return [Surface(c.model, f"rises {_name(c)}", 3 * land.sharpness_seeds, land.surface_subset)
                for c in configs.values()]

    def sharpness(configs: dict) -> list[Item]:  # `Course.sharpness`: lambda_max and the trace
        return [Products(c.model, f"sharpness {_name(c)}", 1, land.hessian_subset, SHARPNESS_PRODUCTS)
                for c in configs.values()]

    def plane(what: str) -> Item:  # Garipov et al.'s planes: BN recomputed at every point
        return Surface(net, what, E.plane_points ** 2, E.plane_subset, E.plane_subset)

    def members(method: str, seed: int, unit: ensembles.Plan = plan) -> list[Item]:  # one budget unit, scored
        runs = ensembles.runs(method, (seed,), unit)
        scored = Surface(unit.base.model, f"score {method} {seed} {_name(unit.base)}",
                         sum(len(r.members) for r in runs), data.size(unit.base.dataset, False, E.score_subset))
        return [*trainings(r.config for r in runs), scored]

    table = [ensembles.plan(E, m, d, profile.precision) for d in E.datasets for m in E.models]  # Table 1's cells

    return {
        "00": trainings([profile.first_run()]),
        "01": trainings([*batch.values(), *flip.values(), *again.values()])
        + [Surface(land.batch_model, f"interpolation wd={wd}", land.interpolation_points, sample)
           for wd in sorted({wd for _, wd in {**batch, **flip}})],
        "02": trainings(batch.values()) + [Surface(c.model, f"line {_name(c)}", land.points_1d, sample)
                                           for c in batch.values()] + planes(batch)
        + planes({k: c for k, c in again.items() if c.weight_decay in land.weight_decays}),
        "03": trainings(depth.values()) + planes(depth),
        "03b": trainings(first_deep.values()) + planes(first_deep) + planes(first_deep, "second plane")
        + rises(first_deep) + sharpness(first_deep),
        "03c": trainings(deep.values()) + planes(deep) + planes(deep, "second plane") + rises(deep) + sharpness(deep),
        "04": trainings(width.values()) + planes(width) + rises(width),
        "05": trainings(hess.values())
        + [Products(c.model, "map", land.hessian_points ** 2, land.map_images()) for c in hess.values()]
        + [Surface(c.model, "hessian plane", land.hessian_points ** 2, land.map_images()) for c in hess.values()]
        + trainings(every.values()) + sharpness(every) + planes(every),
        "06": trainings(batch.values()) + planes(batch, "pca plane"),
        "07": members("ind", seeds[0]) + members("sse", seeds[0])
        + [Surface(net, "sse segments", (E.snapshot_cycles - 1) * E.curve_points, path_images, path_train),
           plane("snapshot plane")],
        "08": [t for s in seeds[:3] for t in members("ind", s)] + curve_runs
        + [Surface(net, "line and curves", (1 + len(curves.KINDS)) * E.curve_points, path_images, path_train),
           plane("minima plane"), plane("bend plane")] + members("fge", seeds[0])
        + ([t for m in ("ind", "fge")
            for t in members(m, seeds[0], plan.augmented(E.augmented_fge_lr, E.augmented_budget))]
           if E.augmented_fge_lr else []),
        "09": [t for unit in table for m in ensembles.METHODS for s in seeds for t in members(m, s, unit)],
        "10": planes(every) + curve_runs[:1] + [
            plane("bend plane"), Surface(net, "curve on plane images", E.curve_points, 2 * E.plane_subset,
                                         E.plane_subset)],
    }


def project(profile: Profile, costs: UnitCosts) -> dict[str, float]:
    """{notebook: projected seconds} of `profile` from an empty cache: each item of `work` priced by `costs` the
    first time a notebook needs it, free afterwards (cached)."""
    done: set = set()
    seconds = {}
    for notebook, items in work(profile).items():
        total = 0.0
        for item in items:
            if item.key not in done:
                done.add(item.key)
                total += item.seconds(costs)
        seconds[notebook] = total
    return seconds


def needs(profile: Profile) -> dict[str, list[str]]:
    """What `project` looks up for `profile`: {"epoch_seconds": ["network@batch", ...], "surface_images_per_s":
    [network, ...], "hvp_seconds": [network, ...]}, each once (the unit costs a benchmark must measure)."""
    found: dict[str, dict[str, None]] = {"epoch_seconds": {}, "surface_images_per_s": {}, "hvp_seconds": {}}
    for items in work(profile).values():
        for item in items:
            for name, key in _keys(item):
                found[name][key] = None
    return {name: list(keys) for name, keys in found.items()}


def _keys(item: Item) -> Iterator[tuple[str, str]]:
    if isinstance(item, Training):
        yield "epoch_seconds", f"{item.config.model}@{item.config.batch_size}"
        if not item.curve:
            yield "surface_images_per_s", item.config.model
    elif isinstance(item, Surface):
        yield "surface_images_per_s", item.model
    else:
        yield "hvp_seconds", item.model
