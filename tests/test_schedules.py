"""Schedules against the papers' formulas at chosen iterations."""
import math

import pytest

from lossviz.base import schedules
from lossviz.base.schedules import Schedule


def test_snapshot_lr_matches_huang_eq2():
    total, cycles, lr0 = 100, 4, 0.2  # cycle length ceil(100/4) = 25
    assert schedules.snapshot_lr(1, total, cycles, lr0) == lr0
    assert schedules.snapshot_lr(26, total, cycles, lr0) == lr0  # restart at each cycle start
    i = 13
    want = lr0 / 2 * (math.cos(math.pi * 12 / 25) + 1)
    assert abs(schedules.snapshot_lr(i, total, cycles, lr0) - want) < 1e-15
    assert schedules.snapshot_lr(25, total, cycles, lr0) < 0.01 * lr0  # near zero at a cycle's end


def test_snapshot_lr_uneven_cycles_use_ceil():
    # T=10, M=3: ceil(10/3) = 4, so cycle starts at i = 1, 5, 9
    starts = [i for i in range(1, 11) if schedules.snapshot_lr(i, 10, 3, 1.0) == 1.0]
    assert starts == [1, 5, 9]


def test_fge_lr_triangle():
    lr1, lr2, c = 0.05, 0.0005, 10
    assert abs(schedules.fge_lr(10, c, lr1, lr2) - lr1) < 1e-15
    assert abs(schedules.fge_lr(5, c, lr1, lr2) - lr2) < 1e-15  # t = 1/2: the minimum
    assert abs(schedules.fge_lr(1, c, lr1, lr2) - (0.8 * lr1 + 0.2 * lr2)) < 1e-15  # t = 0.1
    assert abs(schedules.fge_lr(8, c, lr1, lr2) - (0.4 * lr2 + 0.6 * lr1)) < 1e-15  # t = 0.8
    assert schedules.fge_lr(11, c, lr1, lr2) == schedules.fge_lr(1, c, lr1, lr2)  # periodic


def test_step_decay_at_li_milestones():
    total = 100
    assert schedules.step_lr(50, total, 0.1) == 0.1
    assert abs(schedules.step_lr(51, total, 0.1) - 0.01) < 1e-15
    assert abs(schedules.step_lr(76, total, 0.1) - 0.001) < 1e-15
    assert abs(schedules.step_lr(93, total, 0.1) - 0.0001) < 1e-15


def test_step_decay_at_chosen_milestones():
    total = 150  # ResNet-56-NS in the quick profile: one drop, after 80% of training
    s = Schedule("step", 0.1, milestones=(0.8,))
    assert s.at(120, total, 1) == 0.1
    assert abs(s.at(121, total, 1) - 0.01) < 1e-15 and abs(s.at(150, total, 1) - 0.01) < 1e-15
    assert Schedule("step", 0.1).at(51, 100, 1) == schedules.step_lr(51, 100, 0.1)  # the default: Li et al.'s
    assert Schedule("step", 0.1, milestones=[0.5, 0.75, 0.92]) == Schedule("step", 0.1)  # a list is the same schedule


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="step", milestones=(0.8, 0.5)), "milestones=.*increasing"),
    (dict(kind="step", milestones=(0.5, 0.5)), "milestones=.*increasing"),
    (dict(kind="step", milestones=(0.0, 0.5)), "milestones=.*increasing"),
    (dict(kind="step", milestones=(0.5, 1.0)), "milestones=.*increasing"),
    (dict(kind="cosine", milestones=(0.8,)), "milestones=.*kinds 'step' and 'warmup_linear' only.*kind='cosine'"),
    (dict(kind="warmup_linear"), "milestones=.*takes one"),
])
def test_bad_milestones_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)


def test_cosine_endpoints():
    assert schedules.cosine_lr(1, 10, 0.1) == 0.1
    assert abs(schedules.cosine_lr(6, 10, 0.1) - 0.05) < 1e-15


def test_schedule_dispatch_and_bad_input():
    assert Schedule("snapshot", 0.2, cycles=4).at(26, 100, 10) == 0.2
    assert abs(Schedule("fge", 0.05, cycle_epochs=1, lr2=0.0005).at(5, 100, 10) - 0.0005) < 1e-15
    with pytest.raises(ValueError, match="kind='linear'.*valid choices"):
        Schedule("linear")
    with pytest.raises(ValueError, match="i=0"):
        schedules.snapshot_lr(0, 10, 2, 0.1)


def test_warmup_linear_against_its_formula():
    """10 iterations, a 20% warm-up: W = 2; lr0/2, lr0, then lr0 * (11 - i) / 9 down to lr0/9 at i = 10."""
    s = Schedule("warmup_linear", 0.3, milestones=(0.2,))
    got = [s.at(i, 10, 5) for i in range(1, 11)]
    want = [0.15, 0.3] + [0.3 * (11 - i) / 9 for i in range(3, 11)]
    assert got == pytest.approx(want, abs=1e-15)
    assert max(got) == 0.3 and got.index(0.3) == 1  # the peak at the warm-up's end
    assert all(a > b for a, b in zip(got[1:], got[2:]))  # then strictly down
    long = [schedules.warmup_linear_lr(i, 1000, 1.0, 0.05) for i in range(1, 1001)]
    assert long[49] == 1.0 and long[0] == pytest.approx(1 / 50) and long[-1] == pytest.approx(1 / 951)
    steps = [b - a for a, b in zip(long[50:], long[51:])]
    assert steps == pytest.approx([-1 / 951] * len(steps))  # a straight line to zero at i = total + 1
    assert schedules.warmup_iterations(0.01, 20) == 1  # at least one warm-up iteration
    with pytest.raises(ValueError, match="i=11"):
        s.at(11, 10, 5)
