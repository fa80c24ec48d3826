"""The Course the notebooks call: its profile, folders, device and the runs and samples its recipes use."""
import dataclasses
from pathlib import Path

import pytest

from lossviz.compute import train
from lossviz.course import profiles
from lossviz.course.recipes import Course


def test_connection_joins_two_normal_runs_of_one_budget():
    for name in profiles.NAMES:
        P = profiles.get(name)
        link = Course(P, data_root=Path("data"), out_dir=Path("out")).connection(seed=3)  # gpu: no CPU via from_profile
        first, second = link.ends
        assert (first.seed, second.seed) == P.ensembles.seeds[:2]
        assert first.replace(seed=second.seed) == second  # the same run but for the seed
        assert first.epochs == P.ensembles.budget_epochs and link.config.seed == 3
        assert link.model_name == P.ensembles.models[0] and link.dataset == P.ensembles.datasets[0]
        configs = link.configs()  # Bezier and polygonal chain: the same settings but for the family
        assert sorted(configs) == ["bezier", "polychain"] and configs["bezier"] == link.config
        assert dataclasses.replace(configs["polychain"], kind="bezier") == link.config
        assert link.config.augment == P.ensembles.augment == first.augment and link.config.lr == P.ensembles.curve_lr


def test_the_ensemble_runs_use_the_course_precision_and_the_whole_training_subset(tmp_path):
    course = Course.from_profile("quick", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    E = course.profile.ensembles
    plan = course.plan()
    assert plan.base.precision == course.precision and course.connection().config.precision == course.precision
    sample = course.path_sample()  # barriers on the images the members minimize
    assert (sample.train_subset, sample.test_subset) == (E.train_subset, E.path_test_subset)
    assert plan.score_subset is None  # ensembles on the whole test set
    with pytest.raises(ValueError, match="seeds"):
        course.minima_plane(seeds=(0, 1))
    with pytest.raises(ValueError, match="states"):
        course.segments([{}])


def test_model_and_batch_runs_are_shared_between_studies():
    """The small-batch, weight-decay run of the batch study is the depth study's run of the same network, but for the
    checkpoints: the batch study saves every epoch (notebook 06's paths), the depth and width runs save none."""
    for P in map(profiles.get, ("smoke",)):  # quick trains its batch study at other batch sizes and epochs
        land = P.landscape
        batch = P.batch_runs()[land.batch_small, land.weight_decays[-1]]
        model = P.model_runs((land.batch_model,))[land.batch_model]
        assert model == batch.replace(checkpoint_epochs=()) and len(batch.checkpoint_epochs) == land.batch_epochs + 1


def test_course_from_profile_resolves_precision_and_folders(tmp_path):
    course = Course.from_profile("quick", data_root=tmp_path / "d", out_dir=tmp_path / "o")
    assert course.precision in ("fp32", "bf16") and course.profile.name == "quick"
    assert (course.data_root, course.out_dir, course.device) == (tmp_path / "d", tmp_path / "o", "cpu")
    assert course.sample(test=False).test_subset == 0 and course.sample().test_subset == 128
    with pytest.raises(ValueError, match="profile='huge'"):
        Course.from_profile("huge")


def test_course_runs_measure_the_test_set_every_test_every_epochs(tmp_path):
    course = Course.from_profile("smoke", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    assert profiles.get("quick").test_every == 10 and course.profile.test_every == 2
    run = course.first_run()
    measured = [e["epoch"] for e in run.log if "test_acc_pct" in e]
    assert measured == sorted(train.measured_epochs(run.config.epochs, 2)) and measured[-1] == run.config.epochs
    assert len(measured) < len(run.log)


def test_batch_trainings_train_every_cell_once_per_batch_seed(monkeypatch):
    """{seed: {cell: run}} for each of `batch_seeds`, the profile's seed being `batch_runs` / `flip_runs`."""
    course = Course.from_profile("smoke")
    monkeypatch.setattr(Course, "train", lambda self, config: config)  # the configs the course would train
    P = course.profile
    cells = course.batch_trainings()
    assert list(cells) == list(P.landscape.batch_seeds) == [0, 1]
    assert cells[P.seed] == course.batch_runs() and cells[1] == P.batch_runs(seed=1)
    flip = course.batch_trainings(flip=True)
    assert flip[P.seed] == course.flip_runs() and flip[1] == P.flip_runs(seed=1) and len(flip[1]) == 2
    assert all(c.seed == 1 and not c.checkpoint_epochs for c in [*cells[1].values(), *flip[1].values()])


def test_budget_ensembles_pool_seeds_as_table1_does(monkeypatch):
    course = Course.from_profile("smoke")
    course = dataclasses.replace(course, profile=dataclasses.replace(
        course.profile, ensembles=dataclasses.replace(course.profile.ensembles, seeds=(4, 5))))
    assert course.budgets() == (1, 2) and Course.from_profile("quick").budgets() == (1, 2, 3)
    asked = []
    monkeypatch.setattr(Course, "ensemble", lambda self, method, seeds, plan=None: asked.append((method, seeds)) or
                        (method, seeds))
    units = course.budget_ensembles((1, 2, 3))
    assert units["sse", 1] == [("sse", (4,)), ("sse", (5,))] and units["fge", 2] == [("fge", (4, 5))]
    assert units["ind", 3] == [] and len(asked) == 3 * 3  # 3B needs three seeds: nothing trained for it
    assert course.path_test_images == 128 and Course.from_profile("quick").path_test_images == 2_000


def test_loss_curves_join_a_units_runs_and_mark_its_members(monkeypatch):
    course = Course.from_profile("smoke")
    plan = course.plan()
    logs = {}

    def fake_train(self, config):
        epochs = range(1, config.epochs + 1)
        logs[config] = [{"epoch": e, "train_loss": 1.0 / e + (0.5 if config.init is not None else 0)} for e in epochs]
        return train.TrainResult(config, {}, {}, logs[config])

    monkeypatch.setattr(Course, "train", fake_train)
    curves, marks = course.loss_curves(("ind", "sse", "fge"), seed=0)
    B, pre = plan.budget, plan.pretrain_epochs
    assert list(curves) == ["normal run (step decay): 1 model", "Snapshot Ensemble: M = 3", "FGE: 4 snapshots"]
    assert curves["normal run (step decay): 1 model"] == (list(range(1, B + 1)), [1.0 / e for e in range(1, B + 1)])
    assert marks["normal run (step decay): 1 model"] == [B]
    assert marks["Snapshot Ensemble: M = 3"] == list(plan.sse_run(0).checkpoint_epochs)
    epochs, losses = curves["FGE: 4 snapshots"]  # the normal run up to the start, then the FGE phase after it
    assert epochs == [*range(1, pre + 1), *(pre + e for e in range(1, plan.fge_epochs + 1))]
    assert losses[pre:] == [1.0 / e + 0.5 for e in range(1, plan.fge_epochs + 1)]
    assert marks["FGE: 4 snapshots"] == [pre + e for e in plan.fge_run(0).checkpoint_epochs]


def test_the_gpu_profile_is_refused_on_a_cpu_and_states_its_own_criterion(tmp_path):
    with pytest.raises(ValueError, match="profile='gpu' runs on cuda only, not on device cpu"):
        Course.from_profile("gpu", "cpu", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    course = Course(profiles.get("gpu"), data_root=tmp_path, out_dir=tmp_path / "out")
    assert course.minimizer_loss == profiles.GPU.minimizer_loss != Course.from_profile(
        "quick", "cpu", out_dir=tmp_path / "out").minimizer_loss


def test_networks_are_scored_on_the_profiles_score_subset(tmp_path, capsys):
    """Notebooks 01-05 score each trained network on `landscape.score_subset` test images (quick: all 10,000), not
    on the per-epoch log's subset: the minimizer table's error is the share of wrong outcomes on those images."""
    assert profiles.get("quick").landscape.score_subset is None and profiles.get("quick").landscape.test_subset == 2_000
    course = Course.from_profile("smoke", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    run = course.first_run()
    right = course.outcomes(run)
    assert len(right) == course.profile.landscape.score_subset != run.config.test_subset  # not the log's images
    row = course.minimizers({"first": run})["first"]
    assert (row.test_error, row.test_images) == (pytest.approx(100.0 * (1 - right.float().mean().item())), len(right))
    assert course.test_error(run) == (pytest.approx(row.test_error), row.test_images)
    shown = f"test error {row.test_error:.2f}% ± {row.test_se:.2f} on {len(right):,} images"
    assert course.caption(run).endswith(shown)
    assert f"on {len(right):,}" in capsys.readouterr().out
    with pytest.raises(ValueError, match="images=0"):
        dataclasses.replace(course.profile.landscape, score_subset=0)


def test_paths_and_planes_of_augmented_runs_recompute_bn_over_augmented_batches(tmp_path, monkeypatch):
    """Where the ensemble runs train with augmentation (gpu, paper), every path and plane between them asks for BN
    statistics over augmented batches (`curves.bn_batches`); where they do not (smoke, quick), none does."""
    from lossviz.compute import curves
    seen = []
    monkeypatch.setattr(curves, "along", lambda *a, **k: seen.append(("along", k["bn_augmented"])) or {})
    monkeypatch.setattr(curves, "plane_surface", lambda *a, **k: seen.append(("plane", k["bn_augmented"])))
    for augment in (False, True):
        course = Course.from_profile("smoke", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
        course = dataclasses.replace(course, profile=dataclasses.replace(
            course.profile, ensembles=dataclasses.replace(course.profile.ensembles, augment=augment)))
        course.on_plane_images({})
        course._plane_surface(None)
        assert seen[-2:] == [("along", augment), ("plane", augment)]
