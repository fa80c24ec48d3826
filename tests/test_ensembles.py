"""Ensembles: schedules and snapshot placement, lrs set per iteration, BN recomputation, budgets, Table 1."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from lossviz.base import data, models
from lossviz.base.schedules import Schedule, fge_lr, snapshot_lr
from lossviz.compute import ensembles, train
from lossviz.compute.train import TrainConfig
from lossviz.course import profiles, tables


def recording_optimizer(lrs: list, params_after: list):
    """A make_optimizer replacement that records each step's lr and the weights after the step."""
    def make(config, params):
        params = list(params)

        class Recording(torch.optim.SGD):
            def step(self, closure=None):
                lrs.append(self.param_groups[0]["lr"])
                out = super().step(closure)
                params_after.append([p.detach().clone() for p in params])
                return out

        return Recording(params, lr=config.schedule.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return make


# ---- schedules against the formulas -------------------------------------------------------------------

def test_snapshot_lr_at_cycle_boundaries():
    total, cycles, lr0 = 100, 4, 0.2
    length = 25
    assert snapshot_lr(1, total, cycles, lr0) == pytest.approx(lr0)
    end = lr0 / 2 * (math.cos(math.pi * (length - 1) / length) + 1)
    assert snapshot_lr(length, total, cycles, lr0) == pytest.approx(end)
    assert end < 0.01 * lr0
    assert snapshot_lr(length + 1, total, cycles, lr0) == pytest.approx(lr0)  # restart
    assert snapshot_lr(13, total, cycles, lr0) == pytest.approx(lr0 / 2 * (math.cos(math.pi * 12 / 25) + 1))


def test_fge_lr_is_alpha1_at_cycle_boundaries_and_alpha2_mid_cycle():
    c, a1, a2 = 8, 0.05, 0.0005
    for k in range(3):
        assert fge_lr(k * c + c, c, a1, a2) == pytest.approx(a1)  # end of a cycle = start of the next
        assert fge_lr(k * c + c // 2, c, a1, a2) == pytest.approx(a2)
        assert fge_lr(k * c + 1, c, a1, a2) == pytest.approx((1 - 2 / c) * a1 + 2 / c * a2)
        assert fge_lr(k * c + 6, c, a1, a2) == pytest.approx((2 - 1.5) * a2 + (1.5 - 1) * a1)


@pytest.mark.parametrize("epochs,ipe,cycles", [(2, 8, 2), (3, 7, 4), (5, 3, 5), (1, 10, 3)])
def test_sse_snapshots_sit_at_cycle_ends(epochs, ipe, cycles):
    total, lr0 = epochs * ipe, 0.1
    iterations = [round(e * ipe) for e in ensembles.sse_snapshot_epochs(epochs, ipe, cycles)]
    assert iterations[-1] == total and len(iterations) == cycles
    for i in iterations[:-1]:  # the next iteration restarts at lr0; the snapshot one is the cycle's lowest
        assert snapshot_lr(i + 1, total, cycles, lr0) == pytest.approx(lr0)
        assert snapshot_lr(i, total, cycles, lr0) < snapshot_lr(i - 1, total, cycles, lr0)


@pytest.mark.parametrize("epochs,ipe,cycle_epochs", [(1, 8, 0.5), (2, 5, 0.8), (4, 10, 2.0), (3, 3, 1.0)])
def test_fge_snapshots_sit_where_lr_is_alpha2(epochs, ipe, cycle_epochs):
    a1, a2 = 0.05, 0.0005
    c = ensembles.fge_cycle_iterations(cycle_epochs, ipe)
    iterations = [round(e * ipe) for e in ensembles.fge_snapshot_epochs(epochs, ipe, cycle_epochs)]
    assert len(iterations) == len(range(c // 2, epochs * ipe + 1, c)) >= 1
    for i in iterations:
        lr = Schedule("fge", lr=a1, lr2=a2, cycle_epochs=cycle_epochs).at(i, epochs * ipe, ipe)
        assert lr == pytest.approx(min(fge_lr(j, c, a1, a2) for j in range(1, c + 1)))
        if c % 2 == 0:
            assert lr == pytest.approx(a2)


# ---- train.fit really sets them, and checkpoints land on the snapshots ---------------------------------

@pytest.mark.parametrize("kind", ["sse", "fge"])
def test_fit_sets_lr_every_iteration_and_snapshots_on_time(tiny_net, monkeypatch, kind):
    lrs, after = [], []
    monkeypatch.setattr(train, "make_optimizer", recording_optimizer(lrs, after))
    split = data.synthetic(40, seed=3)
    ipe, epochs = 5, 2  # 40 images in batches of 8
    if kind == "sse":
        schedule = Schedule("snapshot", lr=0.1, cycles=2)
        snapshots = ensembles.sse_snapshot_epochs(epochs, ipe, 2)
        expected = [snapshot_lr(i, epochs * ipe, 2, 0.1) for i in range(1, epochs * ipe + 1)]
    else:
        schedule = Schedule("fge", lr=0.05, lr2=0.001, cycle_epochs=0.8)
        snapshots = ensembles.fge_snapshot_epochs(epochs, ipe, 0.8)
        expected = [fge_lr(i, 4, 0.05, 0.001) for i in range(1, epochs * ipe + 1)]
    config = TrainConfig(model="resnet20", dataset="synthetic", epochs=epochs, batch_size=8, schedule=schedule,
                         augment=False, checkpoint_epochs=snapshots)
    model = tiny_net()
    checkpoints, _ = train.fit(model, split, split, config, progress=False)
    assert lrs == pytest.approx(expected)
    names = [k for k, _ in model.named_parameters()]
    for e in snapshots:
        weights = after[round(e * ipe) - 1]
        for name, w in zip(names, weights):
            assert torch.equal(checkpoints[e][name], w)


def test_init_epoch_must_name_a_checkpoint():
    source = TrainConfig(model="resnet20", dataset="synthetic", epochs=4, checkpoint_epochs=(3.0,))
    TrainConfig(model="resnet20", dataset="synthetic", init=source, init_epoch=3.0)
    with pytest.raises(ValueError, match="init_epoch=2.0"):
        TrainConfig(model="resnet20", dataset="synthetic", init=source, init_epoch=2.0)
    with pytest.raises(ValueError, match="init_epoch"):
        TrainConfig(model="resnet20", dataset="synthetic", init_epoch=3.0)


# ---- predictions, BN ---------------------------------------------------------------------------------

def test_ensemble_of_identical_members_equals_one_member(tiny_net):
    split = data.synthetic(64, seed=5)
    p = ensembles.probabilities(tiny_net(1), split)
    assert p.shape == (64, 10) and torch.allclose(p.sum(1), torch.ones(64))
    assert torch.allclose(ensembles.average([p, p, p]), p)
    single = ensembles.error(p, split.labels)
    assert ensembles.growing_errors([p, p, p], split.labels) == pytest.approx([single] * 3)


def test_growing_errors_match_a_direct_average():
    labels = torch.tensor([0, 1, 1])
    p1 = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    p2 = torch.tensor([[0.2, 0.8], [0.1, 0.9], [0.45, 0.55]])
    assert ensembles.growing_errors([p1, p2], labels) == pytest.approx([100 / 3, 0.0])


def test_ensemble_error_is_the_error_of_the_mean_probability_not_the_mean_error():
    """Hand-worked: one member sure and wrong (error 100%), two unsure and right (0%): the mean probability is
    wrong on every image, so the ensemble's error (100%) exceeds its members' mean (33%); order counts (first m)."""
    labels = torch.tensor([0, 0])
    wrong = torch.tensor([[0.0, 1.0], [0.05, 0.95]])
    unsure = torch.tensor([[0.6, 0.4], [0.6, 0.4]])
    assert [ensembles.error(p, labels) for p in (wrong, unsure, unsure)] == [100.0, 0.0, 0.0]
    assert ensembles.growing_errors([wrong, unsure, unsure], labels) == [100.0, 100.0, 100.0]
    assert ensembles.growing_errors([unsure, unsure, wrong], labels) == [0.0, 0.0, 100.0]  # (0.4, 0.6) at m = 3
    assert ensembles.growing_errors([unsure, wrong], labels) == [0.0, 100.0]


def test_growing_errors_are_the_arg_max_of_the_summed_probabilities():
    """Against a direct count: member k's probabilities are a softmax of seeded logits at its own temperature; the
    ensemble of the first m predicts, image by image, the class of largest summed probability."""
    gen = torch.Generator().manual_seed(9)
    n, classes, members = 300, 10, 5
    labels = torch.randint(classes, (n,), generator=gen)
    probs = [torch.softmax(torch.randn(n, classes, generator=gen) * scale, 1) for scale in (0.3, 1.0, 3.0, 0.5, 8.0)]
    p = np.stack([q.numpy() for q in probs])  # (members, n, classes)
    for m in range(1, members + 1):
        summed = p[:m].sum(0)
        wrong = sum(int(np.argmax(summed[i]) != int(labels[i])) for i in range(n))
        assert ensembles.growing_errors(probs, labels)[m - 1] == pytest.approx(100.0 * wrong / n, abs=1e-9)
    assert torch.allclose(ensembles.average(probs), torch.from_numpy(p.mean(0)))


# ---- budgets -----------------------------------------------------------------------------------------

@pytest.fixture
def small_plan() -> ensembles.Plan:
    base = TrainConfig(model="resnet20", dataset="synthetic", train_subset=64, test_subset=32, epochs=10,
                       batch_size=16, schedule=Schedule("step", 0.1))
    return ensembles.Plan(base, cycles=5, fge_cycle_epochs=0.5, fge_lr=(0.05, 0.001))


@pytest.mark.parametrize("method", ensembles.METHODS)
def test_budgets_add_up_and_reuse_smaller_budgets(small_plan, method):
    B = small_plan.budget
    for k in (1, 2, 3):
        plan_runs = ensembles.runs(method, tuple(range(k)), small_plan)
        assert ensembles.spent(plan_runs) == k * B
        smaller = ensembles.runs(method, tuple(range(k - 1)), small_plan) if k > 1 else []
        assert {r.config for r in smaller} <= {r.config for r in plan_runs}
    members = [m for r in ensembles.runs(method, (0,), small_plan) for m in r.members]
    assert len(members) == {"ind": 1, "sse": 5, "fge": 4}[method]  # FGE: 2 epochs, cycles of 2 iterations


def test_fge_starts_from_the_ind_run_at_80_percent(small_plan):
    ind = ensembles.runs("ind", (4,), small_plan)[0]
    pre, fge = ensembles.runs("fge", (4,), small_plan)
    assert pre.config == ind.config and pre.members == () and pre.epochs == 8
    assert fge.config.init == ind.config and fge.config.init_epoch == 8.0 and fge.config.epochs == 2
    assert fge.recompute_bn and not ind.recompute_bn
    assert ensembles.trained_epochs([pre, fge]) == 12  # the normal run goes on to B for Ind's sake


def test_bad_inputs(small_plan):
    with pytest.raises(ValueError, match="method='swa'.*ind, sse, fge"):
        ensembles.runs("swa", (0,), small_plan)
    with pytest.raises(ValueError, match="seeds"):
        ensembles.runs("ind", (0, 0), small_plan)
    with pytest.raises(ValueError, match="cycles=50"):
        ensembles.sse_snapshot_epochs(2, 4, 50)
    with pytest.raises(ValueError, match="cycle_epochs=0.1"):
        ensembles.fge_snapshot_epochs(2, 4, 0.1)
    with pytest.raises(ValueError, match="cycle_epochs=5"):
        ensembles.fge_snapshot_epochs(2, 4, 5)
    with pytest.raises(ValueError, match="fge_fraction"):
        ensembles.Plan(small_plan.base, fge_fraction=1.0)
    with pytest.raises(ValueError, match="probs"):
        ensembles.growing_errors([], torch.tensor([0]))


# ---- end to end through train.train and the cache, and Table 1 -----------------------------------------

def test_table_end_to_end(tiny_net, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "get", lambda name, num_classes=10: tiny_net(None, num_classes))  # for speed
    settings = profiles.Ensembles(models=("resnet20",), datasets=("synthetic",), budget_epochs=5, train_subset=64,
                                  test_subset=16, batch_size=16, lr=0.05, snapshot_cycles=2, fge_cycle_epochs=0.5,
                                  fge_lr=(0.02, 0.001), seeds=(0, 1), curve_epochs=1, curve_bends=1, curve_points=3,
                                  score_subset=96, augment=False)
    rows = ensembles.table(settings, cache_dir=tmp_path, progress=False, budgets=(1, 2, 3))
    assert len(rows) == 3 * 3
    cells = {(r.method, r.budget): r for r in rows}
    assert cells["ind", 1].seeds == 2 and cells["ind", 1].std is not None
    assert cells["fge", 2].seeds == 1 and cells["fge", 2].std is None
    assert cells["sse", 3].error is None  # two seeds cannot make 3B
    assert all(0 <= r.error <= 100 for r in rows if r.error is not None)
    plan = ensembles.plan(settings, "resnet20", "synthetic")
    result = ensembles.ensemble("fge", (0, 1), plan, cache_dir=tmp_path, progress=False)
    assert result.epochs == 10 and len(result.member_errors) == len(result.ensemble_errors) == 4  # 2 per FGE run
    assert result.error == pytest.approx(cells["fge", 2].error)
    # scored on score_subset test images (not the log's 16), every member's training loss measured
    assert result.test_images == 96 and all(r.test_images == 96 for r in rows if r.error is not None)
    assert len(result.member_train_losses) == 4 and all(0 < x < 10 for x in result.member_train_losses)
    assert cells["fge", 2].max_member_train_loss == max(result.member_train_losses)
    assert cells["sse", 3].max_member_train_loss is None
    d = result.disagreements
    assert len(d) == 4 and all(d[i][i] == 0 and d[i][j] == d[j][i] for i in range(4) for j in range(4))
    assert result.mean_disagreement == pytest.approx(sum(d[i][j] for i in range(4) for j in range(i)) / 6)
    # per-image outcomes: each member's and the ensemble's errors counted from them, disagreement bounds them
    assert result.member_correct.shape == (4, 96) and result.correct.shape == (96,)
    assert [100.0 * (~row).sum().item() / 96 for row in result.member_correct] == pytest.approx(result.member_errors)
    assert 100.0 * (~result.correct).sum().item() / 96 == pytest.approx(result.error)
    only_one = (result.member_correct[0] != result.member_correct[1]).sum().item()
    assert 100.0 * only_one / 96 <= d[0][1] + 1e-9  # one right and one wrong: their classes differ
    assert plan.base.augment is False and plan.score_subset == 96
    text = tables.format_table(rows)
    assert "ResNet-20" in text and "FGE" in text and "—" in text and "96 test images" in text


def test_disagreement_against_brute_counts():
    gen = torch.Generator().manual_seed(0)
    p, q = torch.rand(500, 10, generator=gen), torch.rand(500, 10, generator=gen)
    differ = sum(int(torch.argmax(p[i]) != torch.argmax(q[i])) for i in range(500))
    assert ensembles.disagreement(p, q) == pytest.approx(100.0 * differ / 500)
    assert ensembles.disagreement(p, p) == 0.0
    with pytest.raises(ValueError, match="p and q"):
        ensembles.disagreement(p, q[:10])


def test_distance_counts_parameters_only(tiny_net):
    net = tiny_net(0)
    a = {k: v.clone() for k, v in net.state_dict().items()}
    b = {k: v + 1.0 if v.is_floating_point() else v for k, v in a.items()}  # buffers move too
    names = [k for k, _ in net.named_parameters()]
    assert ensembles.distance(a, b, names) == pytest.approx(math.sqrt(sum(a[k].numel() for k in names)), rel=1e-6)
    assert ensembles.parameter_names(TrainConfig(model="resnet20", dataset="synthetic"))[0] == "conv1.weight"


# ---- the schedule of one budget unit (Huang et al. Fig. 2) ----------------------------------------------

def test_learning_rates_are_the_ones_fit_sets(tiny_net, monkeypatch):
    lrs, after = [], []
    monkeypatch.setattr(train, "make_optimizer", recording_optimizer(lrs, after))
    config = TrainConfig(model="resnet20", dataset="synthetic", train_subset=40, epochs=2, batch_size=8,
                         schedule=Schedule("snapshot", lr=0.1, cycles=3), augment=False)
    train.fit(tiny_net(), data.synthetic(40, seed=3), data.synthetic(8, seed=4), config, progress=False)
    assert ensembles.learning_rates(config) == pytest.approx(lrs)
    assert len(lrs) == 10


def test_schedule_trace_marks_the_members(small_plan):
    ipe, B = 4, small_plan.budget  # 64 images in batches of 16
    lrs, members = ensembles.schedule_trace("ind", small_plan, seed=3)
    assert len(lrs) == B * ipe and members == [B * ipe]
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(1e-4)  # the step schedule

    lrs, members = ensembles.schedule_trace("sse", small_plan, seed=3)
    assert len(lrs) == B * ipe and members == [8, 16, 24, 32, 40]  # 5 cycles of 8 iterations
    for m in members[:-1]:
        assert lrs[m] == pytest.approx(0.1)  # the restart right after each snapshot
        assert lrs[m - 1] == min(lrs[m - 8:m])  # each snapshot at the end of its cosine cycle

    lrs, members = ensembles.schedule_trace("fge", small_plan, seed=3)
    step, _ = ensembles.schedule_trace("ind", small_plan, seed=3)
    pre = small_plan.pretrain_epochs * ipe
    assert len(lrs) == B * ipe and lrs[:pre] == step[:pre]  # pre-training is the normal run's start
    assert len(members) == 4 and all(m > pre for m in members)
    assert [lrs[m - 1] for m in members] == pytest.approx([0.001] * 4)  # alpha2 at every FGE snapshot
    assert max(lrs[pre:]) == pytest.approx(0.05)  # and alpha1 between them


def test_the_augmented_setting_has_its_own_budget_and_steps(small_plan):
    """Notebook 08's second setting: augmentation in every run, FGE at its own (alpha1, alpha2), B = its own budget
    (FGE's pre-training 80% of it) where given, else the plan's; a budget with no room for both phases is refused."""
    plain = ensembles.Plan(small_plan.base.replace(augment=False), cycles=5, fge_cycle_epochs=0.5, fge_lr=(0.05, 0.001))
    same = plain.augmented((0.02, 0.001))
    assert same.base.augment and same.budget == small_plan.budget and same.fge_lr == (0.02, 0.001)
    longer = plain.augmented((0.02, 0.001), budget=25)
    assert longer.base.augment and longer.budget == 25 and (longer.pretrain_epochs, longer.fge_epochs) == (20, 5)
    assert longer.normal_run(1).epochs == 25 and longer.fge_run(1).init.epochs == 25
    assert not plain.base.augment and plain.budget == 10  # the plan itself unchanged
    with pytest.raises(ValueError, match="augmented budget=1 must be at least 2"):
        plain.augmented((0.02, 0.001), budget=1)


def test_an_augmented_runs_members_get_bn_statistics_from_augmented_batches(tiny_net, tmp_path, monkeypatch):
    """FGE's BN recompute passes over the batches the run trained on: augmented (seeded by the run) where it trained
    with augmentation, plain otherwise; the two settings are cached apart."""
    monkeypatch.setattr(models, "get", lambda name, num_classes=10: tiny_net(0, num_classes))
    seen = []
    plain_batches = data.batches

    def batches(split, batch_size, shuffle=False, augmented=False, seed=0, **kw):
        if not shuffle and seed == 3:  # a BN pass (training shuffles; evaluations take seed 0)
            seen.append(augmented)
        return plain_batches(split, batch_size, shuffle, augmented, seed, **kw)

    monkeypatch.setattr(data, "batches", batches)
    for augment in (False, True):
        base = TrainConfig(model="resnet20", dataset="synthetic", train_subset=32, test_subset=16, epochs=2,
                           batch_size=16, schedule=Schedule("step", 0.05), augment=augment, seed=3)
        plan = ensembles.Plan(base, cycles=2, fge_cycle_epochs=1.0, fge_lr=(0.02, 0.001), score_subset=16)
        run = ensembles.runs("fge", (3,), plan)[-1]
        seen.clear()
        ensembles.members(run, plan.score_subset, cache_dir=tmp_path, progress=False)
        assert seen == [augment] * len(run.members)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_members_are_scored_like_a_plain_forward_pass(tiny_net, tmp_path, monkeypatch, precision):
    """A member's training loss is the minimizer criterion — eval-mode cross-entropy on its own training images, in
    fp32 whatever the run's precision (BN recomputed first for FGE) — its probabilities the softmax on the scored
    test images at the run's precision: checked against direct fp32 forward passes."""
    from torch.optim.swa_utils import update_bn
    monkeypatch.setattr(models, "get", lambda name, num_classes=10: tiny_net(0, num_classes))
    base = TrainConfig(model="resnet20", dataset="synthetic", train_subset=48, test_subset=16, epochs=3,
                       batch_size=16, schedule=Schedule("step", 0.05), augment=False, precision=precision)
    plan = ensembles.Plan(base, cycles=2, fge_cycle_epochs=1.0, fge_lr=(0.02, 0.001), score_subset=40)
    train_split, _ = train.splits(base)
    test_split = data.load("synthetic", False, None, 40)
    for method in ("ind", "fge"):
        run = ensembles.runs(method, (0,), plan)[-1]
        found = ensembles.members(run, plan.score_subset, cache_dir=tmp_path, progress=False)
        states = ensembles.member_states(run, cache_dir=tmp_path, progress=False)
        assert len(found) == len(states) == len(run.members) >= 1
        for member, state in zip(found, states):
            net = tiny_net(0)
            net.load_state_dict(state)
            if run.recompute_bn:
                with torch.no_grad():
                    update_bn(list(data.batches(train_split, base.batch_size)), net)
            net.eval()
            with torch.no_grad():
                train_logits = net(data.normalize(train_split.images))
                probs = torch.softmax(net(data.normalize(test_split.images)), 1)
            fp32_loss = float(nn.functional.cross_entropy(train_logits, train_split.labels))
            assert member.train_loss == pytest.approx(fp32_loss, rel=2e-6)  # bf16 differs by ~1e-5 even here
            assert member.probs.shape == (40, 10)
            assert torch.allclose(member.probs, probs, atol=1e-5 if precision == "fp32" else 2e-2)
