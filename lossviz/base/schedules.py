"""Learning-rate schedules as pure functions of the 1-based iteration index i."""
from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("constant", "step", "cosine", "snapshot", "fge", "warmup_linear")
STEP_MILESTONES = (0.5, 0.75, 0.92)  # Li et al.'s reference code: lr x 0.1 at 50%, 75% and 92% of the epochs


def snapshot_lr(i: int, total: int, cycles: int, lr0: float) -> float:
    """Huang et al. 2017 eq. (2): lr0/2 * (cos(pi * mod(i-1, ceil(T/M)) / ceil(T/M)) + 1)."""
    if not 1 <= i <= total:
        raise ValueError(f"i={i} must lie in 1..total={total}")
    if cycles < 1:
        raise ValueError(f"cycles={cycles} must be >= 1")
    length = math.ceil(total / cycles)
    return lr0 / 2 * (math.cos(math.pi * ((i - 1) % length) / length) + 1)


def fge_lr(i: int, cycle: int, lr1: float, lr2: float) -> float:
    """Garipov et al. 2018 triangle: lr1 at a cycle's start, lr2 in its middle; t = (mod(i-1,c)+1)/c."""
    if i < 1 or cycle < 1:
        raise ValueError(f"i={i} and cycle={cycle} must be >= 1")
    t = ((i - 1) % cycle + 1) / cycle
    if t <= 0.5:
        return (1 - 2 * t) * lr1 + 2 * t * lr2
    return (2 - 2 * t) * lr2 + (2 * t - 1) * lr1


def step_lr(i: int, total: int, lr0: float, milestones: tuple[float, ...] = STEP_MILESTONES,
            factor: float = 0.1) -> float:
    """Li et al.'s step decay: lr0 times `factor` for each milestone fraction of training passed."""
    if not 1 <= i <= total:
        raise ValueError(f"i={i} must lie in 1..total={total}")
    passed = sum((i - 1) >= m * total for m in milestones)
    return lr0 * factor**passed


def cosine_lr(i: int, total: int, lr0: float, lr_min: float = 0.0) -> float:
    """Cosine annealing from lr0 at i=1 towards lr_min at i=total+1."""
    if not 1 <= i <= total:
        raise ValueError(f"i={i} must lie in 1..total={total}")
    return lr_min + (lr0 - lr_min) / 2 * (1 + math.cos(math.pi * (i - 1) / total))


def warmup_iterations(warmup: float, total: int) -> int:
    """The iterations of a warm-up lasting the fraction `warmup` of `total`: rounded to the nearest, 1..total."""
    return min(total, max(1, round(warmup * total)))


def warmup_linear_lr(i: int, total: int, lr0: float, warmup: float) -> float:
    """A linear warm-up over the first W = `warmup_iterations(warmup, total)` iterations, lr0 * i / W, then a linear
    decay from lr0 at i = W to zero at i = total + 1: lr0 * (total + 1 - i) / (total + 1 - W)."""
    if not 1 <= i <= total:
        raise ValueError(f"i={i} must lie in 1..total={total}")
    if not 0 < warmup < 1:
        raise ValueError(f"warmup={warmup} must be a fraction of training in (0, 1)")
    w = warmup_iterations(warmup, total)
    if i <= w:
        return lr0 * i / w
    return lr0 * (total + 1 - i) / (total + 1 - w)


def cycle_iterations(cycle_epochs: float, iters_per_epoch: int) -> int:
    """An FGE cycle of `cycle_epochs` epochs in iterations: rounded to the nearest, at least 1 (the one rounding)."""
    return max(1, round(cycle_epochs * iters_per_epoch))


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule by name: constant, step, cosine, snapshot (cycles), fge (cycle, lr2) or warmup_linear
    (its one milestone: the fraction of training the warm-up lasts)."""

    kind: str = "step"
    lr: float = 0.1
    cycles: int = 1  # snapshot: number of cycles M
    cycle_epochs: float = 2.0  # fge: cycle length c in epochs
    lr2: float = 0.0005  # fge: the learning rate in the middle of a cycle
    milestones: tuple[float, ...] = STEP_MILESTONES  # step: the fractions of training after which the lr drops 10x;
    # warmup_linear: one fraction, where its warm-up ends (a field of its own would change every run's cache key)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is not a schedule; valid choices: {', '.join(KINDS)}")
        if self.lr <= 0:
            raise ValueError(f"lr={self.lr} must be positive")
        object.__setattr__(self, "milestones", tuple(self.milestones))  # a list names the same schedule (and key)
        m = self.milestones
        if not all(0 < x < 1 for x in m) or any(a >= b for a, b in zip(m, m[1:])):
            raise ValueError(f"milestones={m} must be increasing fractions of training in (0, 1)")
        if self.kind == "warmup_linear" and len(m) != 1:
            raise ValueError(f"milestones={m}: kind 'warmup_linear' takes one, the fraction of training its warm-up "
                             "lasts, e.g. milestones=(0.05,)")
        if self.milestones != STEP_MILESTONES and self.kind not in ("step", "warmup_linear"):
            raise ValueError(f"milestones={self.milestones} apply to kinds 'step' and 'warmup_linear' only, not "
                             f"kind={self.kind!r}")

    def at(self, i: int, total: int, iters_per_epoch: int) -> float:
        """The learning rate at 1-based iteration i of `total`."""
        if self.kind == "constant":
            return self.lr
        if self.kind == "step":
            return step_lr(i, total, self.lr, self.milestones)
        if self.kind == "cosine":
            return cosine_lr(i, total, self.lr)
        if self.kind == "snapshot":
            return snapshot_lr(i, total, self.cycles, self.lr)
        if self.kind == "warmup_linear":
            return warmup_linear_lr(i, total, self.lr, self.milestones[0])
        return fge_lr(i, cycle_iterations(self.cycle_epochs, iters_per_epoch), self.lr, self.lr2)
