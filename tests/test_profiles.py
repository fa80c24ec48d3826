"""Profiles: lookup, bad names, paper settings."""
import dataclasses

import pytest

from lossviz.base import models, schedules
from lossviz.compute import train
from lossviz.course import profiles


def test_lookup_and_unknown():
    assert profiles.get("quick").name == "quick"
    with pytest.raises(ValueError, match="profile='fast'.*smoke, quick, gpu, paper"):
        profiles.get("fast")


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        profiles.QUICK.seed = 3


def test_paper_profile_holds_the_papers_settings():
    land = profiles.PAPER.landscape
    assert land.epochs == 300 and (land.batch_small, land.batch_large) == (128, 8192)
    assert land.weight_decays == (0.0, 5e-4) and land.lr == 0.1 and land.points_2d == 51
    assert profiles.PAPER.ensembles.models == ("vgg16", "preresnet164", "wrn28_10")


def test_paper_ensembles_follow_garipov_et_al(tmp_path):
    """One free bend (the paper's phi_theta; the reference's --num_bends=3 counts the two end points) and
    per-network budgets: VGG-16 200, PreResNet-164 150, WRN-28-10 200 epochs, for the normal runs the plan makes."""
    from lossviz.compute import ensembles
    E = profiles.PAPER.ensembles
    assert E.curve_bends == 1 and E.seeds == (0, 1, 2)
    assert {m: E.budget(m) for m in E.models} == {"vgg16": 200, "preresnet164": 150, "wrn28_10": 200}
    assert {m: ensembles.plan(E, m, "cifar10").base.epochs for m in E.models} == {
        "vgg16": 200, "preresnet164": 150, "wrn28_10": 200}
    from lossviz.course.recipes import Course
    course = Course.from_profile("paper", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    link = course.connection()
    assert link.config.bends == 1 and link.ends[0].epochs == 200  # the first model, VGG-16


def test_every_model_named_in_a_profile_exists():
    for name in profiles.NAMES:
        p = profiles.get(name)
        for model in (p.first_model, *p.landscape.depth_models, *p.landscape.deep_models, *p.landscape.width_models,
                      *p.ensembles.models):
            assert model in models.names()
        assert p.first_run().model == p.first_model


def test_runs_of_the_same_network_share_one_cache_entry():
    from lossviz.base import cache
    p = profiles.get("quick")
    land = p.landscape
    assert cache.key(p.first_run()) == cache.key(p.model_runs((land.batch_model,))[land.batch_model])
    assert len({cache.key(c) for c in p.batch_runs().values()}) == 4
    smoke = profiles.get("smoke")  # where batch size and epochs agree, the runs differ only in their checkpoints:
    batch_run = smoke.batch_runs()[(smoke.landscape.batch_small, 5e-4)]  # the batch study's feed notebook 06's PCA,
    model_run = smoke.model_runs(("resnet20",))["resnet20"]  # the depth and width runs keep none
    assert batch_run.checkpoint_epochs and not model_run.checkpoint_epochs
    assert cache.key(dataclasses.replace(batch_run, checkpoint_epochs=())) == cache.key(model_run)
    assert cache.key(batch_run) != cache.key(model_run)


def test_slower_networks_get_the_epochs_they_need():
    land = profiles.QUICK.landscape
    runs = profiles.get("quick").model_runs(land.depth_models)
    assert runs["resnet20"].epochs == land.epochs == land.epochs_of("wrn20_2")
    assert runs["resnet20_noshort"].epochs == land.epochs_of("resnet20_noshort") > land.epochs
    assert runs["resnet56"].epochs == land.epochs_of("resnet56") > land.epochs
    assert all(epochs > land.epochs for _, epochs in land.epochs_by_model)
    assert profiles.get("quick").batch_runs()[(land.batch_small, 0.0)].epochs == land.batch_epochs


def test_resnet56_noshort_gets_a_long_warm_up_and_the_others_li_et_als_step_decay():
    """Notebook 03b: ResNet-56-NS trains 80 epochs at lr 0.05 with a warm-up over the first 30% and a linear decay
    to zero (its first layers' gradients are hundreds of times their weights at the start, and Li et al.'s lr 0.1
    with step drops left one of two seeds without a minimizer); every other run keeps Li et al.'s step decay, so
    its cache key is unchanged."""
    p = profiles.get("quick")
    land = p.landscape
    plain = p.model_runs(land.deep_models)["resnet56_noshort"]
    assert (plain.epochs, plain.schedule.kind, plain.schedule.lr, plain.schedule.milestones) == (
        80, "warmup_linear", 0.05, (0.3,))
    at, steps = plain.schedule.at, plain.epochs * 20  # 2,560 images at batch 128
    assert at(1, steps, 20) < at(480, steps, 20) == 0.05 > at(481, steps, 20)
    others = p.model_runs(tuple(dict.fromkeys(land.depth_models + land.width_models + ("resnet56",))))
    assert all((c.schedule.kind, c.schedule.milestones) == ("step", schedules.STEP_MILESTONES)
               for c in others.values())
    assert set(land.deep_models) == {"resnet56", "resnet56_noshort"} == set(profiles.PAPER.landscape.deep_models)
    assert land.depth_networks() == ("resnet20", "resnet20_noshort", "resnet56", "resnet56_noshort")
    assert profiles.SMOKE.landscape.depth_networks() == profiles.SMOKE.landscape.depth_models  # each network once


def test_a_networks_own_schedule_is_checked_and_takes_its_warm_up_from_its_milestones():
    land = dataclasses.replace(profiles.QUICK.landscape, schedule_by_model=(("resnet20", "warmup_linear"),),
                               milestones_by_model=())
    run = land.run("resnet20", "cifar10", 0, "fp32")
    assert (run.schedule.kind, run.schedule.milestones) == ("warmup_linear", (land.warmup,))
    assert land.run("resnet56", "cifar10", 0, "fp32").schedule.kind == land.schedule == "step"
    with pytest.raises(ValueError, match="schedule_by_model\\['resnet20'\\]='cosine'; valid choices: step, "
                                         "warmup_linear"):
        dataclasses.replace(land, schedule_by_model=(("resnet20", "cosine"),))


def test_learning_rate_scales_with_the_square_root_of_the_batch():
    land = profiles.QUICK.landscape
    assert land.lr_for(land.lr_batch) == land.lr
    assert abs(land.lr_for(4 * land.lr_batch) - 2 * land.lr) < 1e-12
    runs = profiles.get("quick").batch_runs()
    assert {b: c.schedule.lr for (b, _), c in runs.items()} == {b: land.lr_for(b) for b, _ in runs}


def test_the_paper_profile_trains_both_batch_sizes_at_the_papers_learning_rate():
    """Li et al. train VGG-9 at learning rate 0.1 at batch 128 and at 8,192 (vgg9_sgd_lr=0.1_bs=8192 in the
    reference code); the quick profile scales it by the square root of the batch instead."""
    runs = profiles.get("paper").batch_runs()
    assert {c.batch_size for c in runs.values()} == {128, 8192}
    assert {c.schedule.lr for c in runs.values()} == {0.1}
    quick = profiles.get("quick").batch_runs()
    assert len({c.schedule.lr for c in quick.values()}) == 2


def test_an_unknown_learning_rate_scaling_is_refused():
    with pytest.raises(ValueError, match="lr_scaling='linear'; valid choices: sqrt, none"):
        dataclasses.replace(profiles.QUICK.landscape, lr_scaling="linear")


def test_quick_landscape_is_sized_for_minimizers_and_fair_comparisons():
    """Issue 11's design: a small subset without augmentation (fitted to a minimizer), batch sizes 8x apart
    trained for the same epochs, >= 2,000 test images, 21 x 21 grids, sharpness on >= 100 images, 5 x 5 Hessian
    maps (on >= 50) of the paper's pair, ResNet-56 with and without shortcuts (issue 27), and two widths with and
    without shortcuts."""
    p = profiles.get("quick")
    land = p.landscape
    assert not land.augment and land.train_subset <= 5_000 and land.test_subset >= 2_000
    assert land.batch_large >= 8 * land.batch_small
    runs = p.batch_runs()
    assert len({c.epochs for c in runs.values()}) == 1 and len({c.train_subset for c in runs.values()}) == 1
    assert land.points_2d >= 21 and land.hessian_points >= 5 and land.hessian_subset >= 100
    assert 50 <= land.map_images() <= land.hessian_subset
    assert land.hessian_models == ("resnet56", "resnet56_noshort")  # Li et al. Fig. 7
    assert profiles.PAPER.landscape.hessian_models == ("resnet56", "resnet56_noshort")
    assert {"resnet20", "resnet20_noshort", "resnet56"} <= set(land.depth_models)  # 56-NS: notebook 03b
    assert {"resnet56", "resnet56_noshort"} == set(land.deep_models)
    widths = {models.display_name(m).replace("-NS", "") for m in land.width_models}
    assert len(widths) >= 2 and sum(m.endswith("_noshort") for m in land.width_models) >= 2
    assert all(not c.augment for c in p.model_runs(land.depth_models + land.deep_models + land.width_models).values())


def test_quick_ensembles_are_sized_for_converged_members():
    """Issue-sized settings of notebooks 07-09: three seeds, scoring on the whole test set, FGE cycles of at least
    100 iterations with several snapshots, SSE cycles of several epochs, every member trained without augmentation."""
    from lossviz.compute import ensembles
    E = profiles.QUICK.ensembles
    plan = ensembles.plan(E, E.models[0], E.datasets[0], "bf16")
    ipe = ensembles.iters_per_epoch(plan.base)
    assert len(E.seeds) >= 3 and E.score_subset is None and plan.score_subset is None
    assert not E.augment and not plan.base.augment and plan.base.precision == "bf16"
    assert ensembles.fge_cycle_iterations(E.fge_cycle_epochs, ipe) >= 100
    assert len(plan.fge_run(0).checkpoint_epochs) >= 4
    assert E.budget_epochs / E.snapshot_cycles >= 5  # epochs per SSE cycle
    assert plan.pretrain_epochs > 0.75 * plan.budget  # FGE starts after the second lr decay
    alpha1, alpha2 = E.fge_lr
    assert alpha1 / alpha2 == pytest.approx(profiles.PAPER.ensembles.fge_lr[0] / profiles.PAPER.ensembles.fge_lr[1])


def test_surface_tests_default_to_half_the_training_sample_and_reject_zero():
    """Without `surface_test_subset` a 1D surface takes half as many test images as training images; quick sets
    its own (128, as many as its training sample); no test images at all is refused in one line."""
    land = dataclasses.replace(profiles.QUICK.landscape, surface_test_subset=None)
    assert land.surface_tests() == land.surface_subset // 2
    quick = profiles.QUICK.landscape
    assert quick.sample("cifar10").test_subset == quick.surface_tests() == 128
    assert quick.sample("cifar10", test=False).test_subset == 0
    with pytest.raises(ValueError, match="surface_test_subset=0 must be a positive number of images"):
        dataclasses.replace(land, surface_test_subset=0)


def test_a_second_training_of_the_batch_study_saves_no_checkpoints_and_must_include_the_profiles_seed():
    """quick and smoke train each batch-study cell (and smoke the flip attempt's) at seeds 0 and 1: the first saves
    every epoch (notebook 06), the second the same run at another seed without checkpoints; batch_seeds without the
    profile's seed, or with a seed twice, is refused in one line."""
    quick, smoke = profiles.get("quick"), profiles.get("smoke")
    assert quick.landscape.batch_seeds == smoke.landscape.batch_seeds == (0, 1) and smoke.flip_runs()
    for runs in (quick.batch_runs, quick.flip_runs, smoke.batch_runs, smoke.flip_runs):
        first, second = runs(), runs(seed=1)
        assert first.keys() == second.keys() and first == runs(seed=quick.seed)
        for key in first:
            assert second[key] == first[key].replace(seed=1, checkpoint_epochs=())
    assert all(c.checkpoint_epochs for c in quick.batch_runs().values())
    with pytest.raises(ValueError, match=r"batch_seeds=\(1,\) must hold the profile's seed 0"):
        dataclasses.replace(quick, landscape=dataclasses.replace(quick.landscape, batch_seeds=(1,)))
    with pytest.raises(ValueError, match=r"batch_seeds=\(0, 0\) must name one or more distinct seeds"):
        dataclasses.replace(quick.landscape, batch_seeds=(0, 0))


def test_quick_trains_a_weight_decay_that_can_flip_and_tabulates_the_papers_untrained():
    """quick trains weight decay 0 and 5e-3 (Li et al.'s 5e-4 shrinks its weights too little, `train.decay_shrink`:
    0.66 and 0.87 against 0.014 and 0.22) and makes no second attempt; notebook 01's shrink table gets the paper's
    5e-4 at quick's steps as untrained runs. Smoke trains the paper's pair and its flip attempt: none untrained."""
    quick, smoke = profiles.get("quick"), profiles.get("smoke")
    assert quick.landscape.weight_decays == (0.0, 5e-3) and quick.flip_runs() == {}
    untrained = quick.untrained_decay_runs()
    assert sorted(untrained) == [(32, 5e-4), (256, 5e-4)]
    for (b, wd), c in untrained.items():
        assert c == quick.batch_runs()[b, 5e-3].replace(weight_decay=wd, checkpoint_epochs=())
    shrink = {b: train.decay_shrink(c) for (b, _), c in untrained.items()}
    strong = {b: train.decay_shrink(quick.batch_runs()[b, 5e-3]) for b in (32, 256)}
    assert round(shrink[32], 2) == 0.66 and round(shrink[256], 2) == 0.87
    assert round(strong[32], 3) == 0.014 and round(strong[256], 2) == 0.22
    assert smoke.landscape.weight_decays == profiles.LI_WEIGHT_DECAYS and smoke.untrained_decay_runs() == {}
    assert profiles.get("gpu").untrained_decay_runs() == {}


def test_map_images_default_to_the_hessian_subset_and_reject_zero():
    """Without `map_subset` a map takes the Hessian's images; a map of no images is refused in one line."""
    land = dataclasses.replace(profiles.QUICK.landscape, map_subset=None)
    assert land.map_images() == land.hessian_subset
    with pytest.raises(ValueError, match="map_subset=0 must be a positive number of images"):
        dataclasses.replace(land, map_subset=0)


def test_a_profile_rejects_a_bad_test_every():
    with pytest.raises(ValueError, match="test_every=0"):
        dataclasses.replace(profiles.QUICK, test_every=0)


def test_gpu_profile_follows_the_issues_planning_estimate():
    """Full CIFAR-10 with augmentation; batch 512 at 0.1 * sqrt(512 / 128) = 0.2 with a 5% warm-up and linear decay
    to zero; ResNet-20 30 epochs, ResNet-56 40, -56-NS 60, WRN-56-2/-4 40; VGG-9 at 128 vs 4,096; 41 x 41 planes on
    5,000 images; 11 x 11 Hessian maps of ResNet-56 and -56-NS on 2,000; ensembles of ResNet-20 with B = 40."""
    p = profiles.get("gpu")
    land, E = p.landscape, p.ensembles
    first = p.first_run()
    assert first.train_subset is None and first.augment and first.batch_size == 512 and first.epochs == 30
    assert first.schedule == schedules.Schedule("warmup_linear", 0.2, milestones=(0.05,))
    assert abs(first.schedule.lr - 0.1 * (512 / 128) ** 0.5) < 1e-12
    iters = 30 * 98  # 50,000 images at batch 512: 98 iterations an epoch
    assert first.schedule.at(round(0.05 * iters), iters, 98) == first.schedule.lr > first.schedule.at(iters, iters, 98)
    runs = p.model_runs(land.depth_networks() + land.width_models)
    assert {m: c.epochs for m, c in runs.items()} == {
        "resnet20": 30, "resnet20_noshort": 30, "resnet56": 40, "resnet56_noshort": 60, "wrn56_2": 40,
        "wrn56_2_noshort": 40, "wrn56_4": 40, "wrn56_4_noshort": 40}
    assert runs["resnet56_noshort"].schedule.lr == 0.1  # the risky network at the small batch's rate
    batch = p.batch_runs()
    assert sorted(batch) == [(128, 0.0), (128, 5e-4), (4096, 0.0), (4096, 5e-4)]
    assert {c.model for c in batch.values()} == {"vgg9"} and len({c.epochs for c in batch.values()}) == 1
    assert batch[128, 0.0].schedule.lr == 0.1 and abs(batch[4096, 0.0].schedule.lr - 0.1 * 32 ** 0.5) < 1e-12
    assert (land.points_2d, land.surface_subset) == (41, 5_000)
    assert (land.hessian_points, land.hessian_subset) == (11, 2_000)
    assert land.hessian_models == ("resnet56", "resnet56_noshort")
    assert E.models == ("resnet20",) and E.budget_epochs == 40 and E.seeds == (0, 1, 2) and E.curve_epochs == 20
    assert E.augment and E.train_subset is None
    assert p.minimizer_loss > profiles.QUICK.minimizer_loss == profiles.MINIMIZER_LOSS == 0.10


def test_a_bad_schedule_criterion_or_device_kind_is_refused():
    with pytest.raises(ValueError, match="schedule='cosine'; valid choices: step, warmup_linear"):
        dataclasses.replace(profiles.GPU.landscape, schedule="cosine")
    with pytest.raises(ValueError, match="minimizer_loss=0"):
        dataclasses.replace(profiles.GPU, minimizer_loss=0)
    with pytest.raises(ValueError, match="device_kinds=.*cpu, cuda, mps"):
        dataclasses.replace(profiles.GPU, device_kinds=("tpu",))


def test_the_gpu_profile_refuses_a_cpu_in_one_line_naming_it():
    from lossviz.base import devices
    with pytest.raises(ValueError, match=r"profile='gpu' runs on cuda only, not on device cpu \(.+\); there use "
                                         r"profile='quick'") as error:
        profiles.check_device("gpu", "cpu")
    assert "\n" not in str(error.value) and devices.name_of("cpu") in str(error.value)
    with pytest.raises(ValueError, match="profile='gpu' runs on cuda only"):
        profiles.device_line("gpu", "cpu")  # the runner's first line, before any notebook runs
    for name in ("smoke", "quick", "paper"):
        profiles.check_device(name, "cpu")
    profiles.check_device("gpu", "cuda")  # a kind only: no GPU needed to check it
