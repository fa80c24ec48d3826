"""Ensembles at a training budget: independent runs (Ind), Snapshot Ensembles (SSE, Huang et al. 2017)
and Fast Geometric Ensembling (FGE, Garipov et al. 2018), built as `TrainConfig`s on top of `train.train`.

Budget: B = the epochs of one normal run. An ensemble at budget kB is k "units" with seeds s_1..s_k, each
spending B epochs: Ind = one normal run; SSE = one run of B epochs with M cosine cycles (Huang eq. (2)),
a snapshot at the end of each cycle; FGE = a normal run's checkpoint at (1 - fraction) B (the pre-training,
counted in the budget) plus `fraction` B epochs of the triangle schedule with cycle c, a snapshot in the
middle of each cycle (lr = alpha2). Reading 2B and 3B as 2 and 3 such units pooled is our choice; it
lets a larger budget reuse every cached run of a smaller one. Ind and FGE share the normal runs: every
normal run saves the FGE checkpoint, so both methods hit the same cache entry.

Ensemble prediction = mean of the members' softmax probabilities. Every member keeps its own BN running
statistics, except FGE snapshots, whose statistics are recomputed with a pass over the training data
(`Plan.fge_recompute_bn`; the reference fge.py keeps the running statistics instead). Members and ensembles
are scored on `Plan.score_subset` test images (None: the whole test set), independent of the small test
subset a run's per-epoch log evaluates; each member's training loss (eval mode, the minimizer check) is
measured on the run's own training images.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from lossviz.base import cache, data, devices, directions
from lossviz.base.batchnorm import augmented_tag, recompute_bn
from lossviz.base.directions import Weights
from lossviz.base.precision import autocast
from lossviz.base.schedules import Schedule, cycle_iterations
from lossviz.compute import train
from lossviz.compute.train import TrainConfig

METHODS = ("ind", "sse", "fge")
BUDGETS = (1, 2, 3)


class Settings(Protocol):
    """What `plan` and `table` read from a profile's ensemble settings (`lossviz.course.profiles.Ensembles`)."""

    @property
    def models(self) -> tuple[str, ...]: ...

    @property
    def datasets(self) -> tuple[str, ...]: ...

    @property
    def train_subset(self) -> int | None: ...

    @property
    def test_subset(self) -> int | None: ...

    @property
    def score_subset(self) -> int | None: ...

    @property
    def augment(self) -> bool: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def lr(self) -> float: ...

    @property
    def snapshot_cycles(self) -> int: ...

    @property
    def fge_cycle_epochs(self) -> float: ...

    @property
    def fge_lr(self) -> tuple[float, float]: ...

    @property
    def seeds(self) -> tuple[int, ...]: ...

    def budget(self, model: str) -> int:
        """B, the epochs of one normal run of `model`."""
        ...


def check_method(method: str) -> None:
    """Raise ValueError unless `method` is an ensembling method."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not known; valid choices: {', '.join(METHODS)}")


# ---- where the snapshots are -------------------------------------------------------------------------

def iters_per_epoch(config: TrainConfig) -> int:
    """Iterations per epoch of a run, as `train.fit` counts them."""
    return data.iterations_per_epoch(data.size(config.dataset, True, config.train_subset), config.batch_size)


def sse_snapshot_epochs(epochs: int, ipe: int, cycles: int) -> tuple[float, ...]:
    """SSE: snapshots after the last iteration of each cycle of ceil(T/M) iterations (Huang eq. (2)), in epochs."""
    total = epochs * ipe
    if not 1 <= cycles <= total:
        raise ValueError(f"cycles={cycles} must lie in 1..{total} (the iterations of {epochs} epochs)")
    length = math.ceil(total / cycles)
    ends = sorted({min(m * length, total) for m in range(1, cycles + 1)})
    return tuple(i / ipe for i in ends)


def fge_cycle_iterations(cycle_epochs: float, ipe: int) -> int:
    """FGE cycle length c in iterations (`schedules.cycle_iterations`), at least 2."""
    c = cycle_iterations(cycle_epochs, ipe)
    if c < 2:
        raise ValueError(f"cycle_epochs={cycle_epochs} gives {c} iteration per cycle at {ipe} per epoch; "
                         f"a cycle needs at least 2")
    return c


def fge_snapshot_epochs(epochs: int, ipe: int, cycle_epochs: float) -> tuple[float, ...]:
    """FGE: a snapshot in the middle of each cycle, where the triangle schedule reaches alpha2 (Garipov et al. FGE)."""
    c, total = fge_cycle_iterations(cycle_epochs, ipe), epochs * ipe
    mids = range(c // 2, total + 1, c)
    if not mids:
        raise ValueError(f"cycle_epochs={cycle_epochs} is too long for an FGE phase of {epochs} epochs: no "
                         f"cycle reaches its middle")
    return tuple(i / ipe for i in mids)


# ---- the runs of a (method, budget) ------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """The ensembles of one model on one dataset: `base` is a normal run of B epochs (Garipov et al. Table 1)."""

    base: TrainConfig
    cycles: int = 5  # SSE: M cycles per run of B epochs
    sse_lr: float | None = None  # SSE: lr0 of eq. (2); None = base.schedule.lr
    fge_cycle_epochs: float = 2.0  # FGE: cycle length c
    fge_lr: tuple[float, float] = (0.01, 0.0005)  # FGE: (alpha1, alpha2)
    fge_fraction: float = 0.2  # FGE: share of B in the FGE phase; the rest is pre-training
    fge_recompute_bn: bool = True
    score_subset: int | None = None  # test images members and ensembles are scored on; None = all

    def __post_init__(self) -> None:
        if self.score_subset is not None and self.score_subset < 1:
            raise ValueError(f"score_subset={self.score_subset} must be a positive number of images or None (all)")
        if self.cycles < 1:
            raise ValueError(f"cycles={self.cycles} must be >= 1")
        if not 0 < self.fge_fraction < 1:
            raise ValueError(f"fge_fraction={self.fge_fraction} must lie strictly between 0 and 1")
        if self.pretrain_epochs < 1:
            raise ValueError(f"fge_fraction={self.fge_fraction} leaves no pre-training epoch of B={self.budget}")
        if len(self.fge_lr) != 2 or min(self.fge_lr) <= 0:
            raise ValueError(f"fge_lr={self.fge_lr} must be two positive rates (alpha1, alpha2)")

    @property
    def budget(self) -> int:
        """B: the epochs of one normal run."""
        return self.base.epochs

    @property
    def fge_epochs(self) -> int:
        """Epochs of the FGE phase, round(fraction * B), at least 1."""
        return max(1, round(self.fge_fraction * self.budget))

    @property
    def pretrain_epochs(self) -> int:
        """Epoch of the normal run FGE starts from, B minus the FGE phase (160 of 200 in the paper)."""
        return self.budget - self.fge_epochs

    def normal_run(self, seed: int) -> TrainConfig:
        """An Ind member: a normal run of B epochs that also keeps FGE's starting checkpoint."""
        return self.base.replace(seed=seed, checkpoint_epochs=(float(self.pretrain_epochs),), init=None,
                                 init_epoch=None)

    def sse_run(self, seed: int) -> TrainConfig:
        """One SSE run: B epochs of the cyclic cosine schedule (Huang eq. (2)), snapshots at cycle ends."""
        lr = self.sse_lr if self.sse_lr is not None else self.base.schedule.lr
        snapshots = sse_snapshot_epochs(self.budget, iters_per_epoch(self.base), self.cycles)
        return self.base.replace(seed=seed, schedule=Schedule("snapshot", lr=lr, cycles=self.cycles),
                                 checkpoint_epochs=snapshots, init=None, init_epoch=None)

    def augmented(self, fge_lr: tuple[float, float], budget: int | None = None) -> Plan:
        """The same plan with augmentation in every run, FGE at `fge_lr` and B = `budget` epochs where given
        (notebook 08's second setting: augmented training needs more epochs to fit its images)."""
        if budget is not None and budget < 2:
            raise ValueError(f"augmented budget={budget} must be at least 2 epochs (pre-training and an FGE phase)")
        base = self.base.replace(augment=True, epochs=self.base.epochs if budget is None else budget)
        return dataclasses.replace(self, base=base, fge_lr=fge_lr)

    def fge_run(self, seed: int) -> TrainConfig:
        """The FGE phase: from the normal run's checkpoint, the triangle schedule, snapshots mid-cycle."""
        alpha1, alpha2 = self.fge_lr
        snapshots = fge_snapshot_epochs(self.fge_epochs, iters_per_epoch(self.base), self.fge_cycle_epochs)
        schedule = Schedule("fge", lr=alpha1, lr2=alpha2, cycle_epochs=self.fge_cycle_epochs)
        return self.base.replace(seed=seed, epochs=self.fge_epochs, schedule=schedule, checkpoint_epochs=snapshots,
                                 init=self.normal_run(seed), init_epoch=float(self.pretrain_epochs))


@dataclass(frozen=True)
class Run:
    """One training run of an ensemble: the epochs it adds to the budget and which weights join the ensemble."""

    config: TrainConfig
    epochs: float  # epochs counted in the budget
    members: tuple[float | None, ...]  # checkpoint epochs of the members; None = the final weights
    recompute_bn: bool = False


def runs(method: str, seeds: Sequence[int], plan: Plan) -> list[Run]:
    """The runs an ensemble of `method` at budget len(seeds) * B needs, one unit per seed."""
    check_method(method)
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={tuple(seeds)} must be one or more distinct seeds (one per budget B)")
    out: list[Run] = []
    for s in seeds:
        if method == "ind":
            out.append(Run(plan.normal_run(s), plan.budget, (None,)))
        elif method == "sse":
            config = plan.sse_run(s)
            out.append(Run(config, plan.budget, config.checkpoint_epochs))
        else:
            config = plan.fge_run(s)
            out.append(Run(plan.normal_run(s), plan.pretrain_epochs, ()))
            out.append(Run(config, plan.fge_epochs, config.checkpoint_epochs, plan.fge_recompute_bn))
    return out


def spent(plan_runs: Sequence[Run]) -> float:
    """Epochs an ensemble spends, the sum the budget kB counts (FGE's pre-training included)."""
    return float(sum(r.epochs for r in plan_runs))


def trained_epochs(plan_runs: Sequence[Run]) -> int:
    """Epochs trained from an empty cache: each distinct run in full (FGE's normal run goes on to B for Ind)."""
    return sum({r.config: r.config.epochs for r in plan_runs}.values())


def learning_rates(config: TrainConfig) -> list[float]:
    """The learning rate of each iteration 1..epochs * iters_per_epoch of a run, as `train.fit` sets it."""
    ipe = iters_per_epoch(config)
    total = config.epochs * ipe
    return [config.schedule.at(i, total, ipe) for i in range(1, total + 1)]


def schedule_trace(method: str, plan: Plan, seed: int = 0) -> tuple[list[float], list[int]]:
    """One budget unit of `method`: the lr of each of its B * iters_per_epoch iterations, and the (1-based)
    iterations after which a member's weights are taken (Huang et al. Fig. 2). FGE: the normal run's
    pre-training, then the FGE phase."""
    lrs: list[float] = []
    members: list[int] = []
    for run in runs(method, (seed,), plan):
        ipe = iters_per_epoch(run.config)
        n = round(run.epochs * ipe)
        offset = len(lrs)
        lrs += learning_rates(run.config)[:n]
        members += [offset + (n if e is None else round(e * ipe)) for e in run.members]
    return lrs, members


# ---- members, probabilities and errors ---------------------------------------------------------------

def probabilities(model: nn.Module, split: data.Split, batch_size: int | None = None,
                  device: str | torch.device = "cpu", precision: str = "fp32") -> torch.Tensor:
    """Softmax outputs p(y | x, theta) of `model` in eval mode, (N, classes) float32 on the CPU."""
    batch_size = batch_size or data.eval_batch_size(device)
    was_training = model.training
    model.eval()
    with torch.inference_mode(), autocast(precision, device):
        out = [torch.softmax(model(x).float(), 1).cpu() for x, _ in data.batches(split, batch_size, device=device)]
    model.train(was_training)
    return torch.cat(out)


def average(probs: Sequence[torch.Tensor]) -> torch.Tensor:
    """The ensemble's prediction: the mean of the members' softmax probabilities."""
    if len(probs) < 1:
        raise ValueError("probs must hold at least one member's probabilities")
    return torch.stack(list(probs)).mean(0)


def error(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Test error in percent of the arg-max class."""
    return 100.0 * (probs.argmax(1) != labels.to(probs.device)).double().mean().item()


def growing_errors(probs: Sequence[torch.Tensor], labels: torch.Tensor) -> list[float]:
    """Error of the ensemble of the first m members, m = 1..len(probs)."""
    if len(probs) < 1:
        raise ValueError("probs must hold at least one member's probabilities")
    total, out = torch.zeros_like(probs[0]), []
    for m, p in enumerate(probs, start=1):
        total = total + p
        out.append(error(total / m, labels))
    return out


def disagreement(p: torch.Tensor, q: torch.Tensor) -> float:
    """Percent of the images on which two members' arg-max classes differ (Garipov et al. Fig. 3's diversity)."""
    if p.shape != q.shape:
        raise ValueError(f"p and q must hold the same images and classes; got shapes {tuple(p.shape)} and "
                         f"{tuple(q.shape)}")
    return 100.0 * (p.argmax(1) != q.argmax(1)).double().mean().item()


def parameter_names(config: TrainConfig) -> list[str]:
    """The names of the trainable parameters of a run's network (BN statistics and other buffers left out)."""
    with torch.device("meta"):  # names only: nothing allocated or initialized
        return [k for k, _ in train.network(config, device="meta").named_parameters()]


def distance(theta1: Weights, theta2: Weights, names: Sequence[str]) -> float:
    """||theta2 - theta1|| over the entries `names` (the parameters; running statistics are not a position)."""
    return directions.norm(directions.between({k: theta1[k] for k in names}, {k: theta2[k] for k in names}))


@dataclass(frozen=True)
class Member:
    """One ensemble member: its test-set probabilities and its training loss and error (%), eval mode."""

    probs: torch.Tensor
    train_loss: float
    train_error: float


def score_split(config: TrainConfig, score_subset: int | None, root: str | Path | None = None) -> data.Split:
    """The test images members and ensembles are scored on: the first `score_subset` (None: all)."""
    return data.load(config.dataset, False, root, score_subset)


def member_states(run: Run, root: str | Path | None = None, cache_dir: str | Path | None = None,
                  device: str | torch.device = "cpu", progress: bool = True) -> list[Weights]:
    """The state dicts of a run's members, as trained (BN statistics as the run left them)."""
    result = train.train(run.config, root, cache_dir, device, progress)
    return [result.state if e is None else result.checkpoints[float(e)] for e in run.members]


def members(run: Run, score_subset: int | None = None, root: str | Path | None = None,
            cache_dir: str | Path | None = None, device: str | torch.device = "cpu",
            progress: bool = True) -> list[Member]:
    """Each member of a run (trained or loaded by `train.train`), scored on the test images (at the run's
    precision) and by `train.minimizer_loss` on its own training images, BN statistics recomputed first where
    the run says so, over the batches it trained on: augmented where it trained with augmentation (as Garipov et
    al.'s bn_update over their training loader; clean images' statistics misfit such a network) (cached)."""
    if not run.members:
        return []
    states = member_states(run, root, cache_dir, device, progress)
    train_split, _ = train.splits(run.config, root)
    test_split = score_split(run.config, score_subset, root)
    fingerprint = data.fingerprint(train_split, test_split)
    out = []
    for epoch, state in zip(run.members, states):
        def compute(state: Weights = state) -> Member:
            model = train.network(run.config, state, device)
            if run.recompute_bn:
                recompute_bn(model, data.batches(train_split, run.config.batch_size, augmented=run.config.augment,
                                                 seed=run.config.seed, device=device))
            loss, acc = train.minimizer_loss(model, train_split, device)
            probs = probabilities(model, test_split, device=device, precision=run.config.precision)
            return Member(probs, loss, 100.0 - acc)

        augmented_bn = augmented_tag(run.recompute_bn and run.config.augment)
        key = cache.key("member", run.config, epoch, run.recompute_bn, fingerprint, devices.key(device), *augmented_bn)
        out.append(cache.cached(f"member-{run.config.model}", key, compute, cache_dir))
    return out


@dataclass(frozen=True)
class EnsembleResult:
    """Test errors (%) of each member and of the growing ensemble of one method at one budget, the members'
    training losses (eval mode), their pairwise disagreement (%), the number of test images scored, and whether
    each member (`member_correct`, bool (members, images)) and the whole ensemble (`correct`, bool (images,))
    classify each of those images correctly: two results on the same images give the paired noise of their
    difference (`lossviz.base.stats.paired_counts`)."""

    method: str
    seeds: tuple[int, ...]
    epochs: float
    member_errors: tuple[float, ...]
    ensemble_errors: tuple[float, ...]
    member_train_losses: tuple[float, ...] = ()
    disagreements: tuple[tuple[float, ...], ...] = ()  # [i][j]: members i and j, percent of test images
    test_images: int = 0
    member_correct: torch.Tensor | None = field(default=None, compare=False, repr=False)
    correct: torch.Tensor | None = field(default=None, compare=False, repr=False)

    @property
    def error(self) -> float:
        """Test error of the whole ensemble."""
        return self.ensemble_errors[-1]

    @property
    def mean_disagreement(self) -> float:
        """Mean pairwise disagreement (%) of the members (0 for one member)."""
        pairs = [self.disagreements[i][j] for i in range(len(self.disagreements)) for j in range(i)]
        return statistics.mean(pairs) if pairs else 0.0


def ensemble(method: str, seeds: Sequence[int], plan: Plan, root: str | Path | None = None,
             cache_dir: str | Path | None = None, device: str | torch.device = "cpu",
             progress: bool = True) -> EnsembleResult:
    """Train (or load) the runs of `method` at budget len(seeds) * B and score members and ensemble."""
    plan_runs = runs(method, seeds, plan)
    found = [m for r in plan_runs for m in members(r, plan.score_subset, root, cache_dir, device, progress)]
    labels = score_split(plan.base, plan.score_subset, root).labels
    probs = [m.probs for m in found]
    table = tuple(tuple(disagreement(p, q) for q in probs) for p in probs)
    labels = labels.to(probs[0].device)
    together = sum(probs[1:], probs[0].clone()) / len(probs)  # summed in growing_errors' order: the same arg-max
    return EnsembleResult(method, tuple(seeds), spent(plan_runs), tuple(error(p, labels) for p in probs),
                          tuple(growing_errors(probs, labels)), tuple(m.train_loss for m in found), table,
                          len(labels), torch.stack([p.argmax(1) == labels for p in probs]),
                          together.argmax(1) == labels)


# ---- Garipov et al. Table 1 --------------------------------------------------------------------------

def plan(settings: Settings, model: str, dataset: str, precision: str = "fp32", **changes) -> Plan:
    """The plan a profile's `Ensembles` section gives for one model and dataset (Plan fields may be changed)."""
    base = TrainConfig(model=model, dataset=dataset, train_subset=settings.train_subset,
                       test_subset=settings.test_subset, epochs=settings.budget(model),
                       batch_size=settings.batch_size, schedule=Schedule("step", settings.lr),
                       augment=settings.augment, seed=settings.seeds[0], precision=precision)
    fields = dict(base=base, cycles=settings.snapshot_cycles, fge_cycle_epochs=settings.fge_cycle_epochs,
                  fge_lr=tuple(settings.fge_lr), score_subset=settings.score_subset)
    return Plan(**{**fields, **changes})


@dataclass(frozen=True)
class Row:
    """One cell of Table 1: test error (%) of a method at budget kB, mean and std over seeds at 1B."""

    model: str
    dataset: str
    method: str
    budget: int
    error: float | None  # None where there are fewer seeds than the budget needs
    std: float | None  # sample std over seeds (1B with two or more seeds), else None
    seeds: int  # ensembles averaged
    test_images: int = 0  # test images each ensemble was scored on
    max_member_train_loss: float | None = None  # the largest training loss of any member (a minimum: <= 0.10)


def table(settings: Settings, root: str | Path | None = None, cache_dir: str | Path | None = None,
          device: str | torch.device = "cpu", progress: bool = True, budgets: Sequence[int] = BUDGETS,
          methods: Sequence[str] = METHODS, precision: str = "fp32", **plan_changes) -> list[Row]:
    """Garipov et al. Table 1 for a profile: models x datasets x methods x budgets -> test error (%).

    1B: one ensemble per seed, mean and sample std over them; kB (k > 1): the first k seeds' units pooled."""
    for m in methods:
        check_method(m)
    if any(k < 1 for k in budgets):
        raise ValueError(f"budgets={tuple(budgets)} must be positive multiples of B")
    seeds, rows = tuple(settings.seeds), []
    for dataset in settings.datasets:
        for model in settings.models:
            p = plan(settings, model, dataset, precision, **plan_changes)
            for method in methods:
                for k in budgets:
                    units = [(s,) for s in seeds] if k == 1 else ([seeds[:k]] if len(seeds) >= k else [])
                    found = [ensemble(method, u, p, root, cache_dir, device, progress) for u in units]
                    errors = [e.error for e in found]
                    std = statistics.stdev(errors) if len(errors) > 1 else None
                    worst = max((x for e in found for x in e.member_train_losses), default=None)
                    rows.append(Row(model, dataset, method, k, statistics.mean(errors) if errors else None,
                                    std, len(errors), found[0].test_images if found else 0, worst))
    return rows
