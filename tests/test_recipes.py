"""Recipes: surfaces of trained runs, interpolation, scale invariance, summaries, the Course."""
import dataclasses

import numpy as np
import pytest
import torch

from lossviz.base import data, io
from lossviz.course import profiles, recipes
from lossviz.compute import surface, train
from lossviz.base.schedules import Schedule
from lossviz.compute.train import TrainConfig

CONFIG = TrainConfig(model="resnet20", dataset="synthetic", train_subset=128, test_subset=64, epochs=1,
                     batch_size=32, schedule=Schedule("constant", 0.05))
SAMPLE = data.Sample("synthetic", train_subset=64, test_subset=32, batch_size=32)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("cache")
    return [train.train(CONFIG.replace(seed=s), cache_dir=cache_dir, progress=False) for s in (0, 1)]


def test_random_surface_center_is_the_model_and_file_is_reused(runs, tmp_path, monkeypatch):
    s = recipes.random_surface(runs[0], SAMPLE, dims=2, points=3, out_dir=tmp_path)
    assert s.complete and s["train_loss"].shape == (3, 3)
    batches = SAMPLE.batches()["train"]
    loss, acc = surface.evaluate(runs[0].model(), None, batches)
    assert abs(s["train_loss"][1, 1] - loss) < 1e-5 and abs(s["train_acc"][1, 1] - acc) < 1e-4
    monkeypatch.setattr(surface, "evaluator", lambda *a, **k: pytest.fail("recomputed a finished file"))
    again = recipes.random_surface(runs[0], SAMPLE, dims=2, points=3, out_dir=tmp_path)
    assert np.array_equal(again["train_loss"], s["train_loss"])
    assert len(list(tmp_path.glob("*.h5"))) == 1


def test_other_settings_get_their_own_file(runs, tmp_path):
    recipes.random_surface(runs[0], SAMPLE, dims=1, points=3, out_dir=tmp_path)
    recipes.random_surface(runs[0], SAMPLE, dims=1, points=3, norm="none", span=0.01, out_dir=tmp_path)
    assert len(list(tmp_path.glob("*.h5"))) == 2


def test_interpolation_endpoints_are_the_two_models(runs, tmp_path):
    line = recipes.interpolation(runs[0], runs[1], SAMPLE, points=5, span=(0.0, 1.0), out_dir=tmp_path)
    batches = SAMPLE.batches()["test"]
    for index, run in ((0, runs[0]), (-1, runs[1])):
        loss, _ = surface.evaluate(run.model(), None, batches)
        assert abs(line["test_loss"][index] - loss) < 1e-5


def test_scale_invariance_under_recomputed_bn(runs):
    result = recipes.scale_invariance(runs[0], SAMPLE, factors=(0.5, 1.0, 3.0))
    recomputed = result["bn recomputed"]
    assert max(recomputed) - min(recomputed) < 1e-3 * max(recomputed)
    assert max(result["bn eval"]) - min(result["bn eval"]) > 10 * (max(recomputed) - min(recomputed))
    with pytest.raises(ValueError, match="factors"):
        recipes.scale_invariance(runs[0], SAMPLE, factors=(0.0,))


def test_summary_of_a_bowl_and_of_a_rough_surface():
    x = np.linspace(-1, 1, 9)
    bowl = io.Surface(x, x, {"train_loss": x[None, :] ** 2 + x[:, None] ** 2}, np.ones((9, 9), bool))
    s = recipes.summary(bowl)
    assert s["center"] == 0 and s["local_minima"] == 1 and s["rim"] > 1
    rough = np.cos(6 * np.pi * x)[None, :] + np.cos(6 * np.pi * x)[:, None]
    assert recipes.summary(io.Surface(x, x, {"train_loss": rough}, np.ones((9, 9), bool)))["local_minima"] > 1
    line = io.Surface(x, None, {"train_loss": np.abs(x)}, np.ones(9, bool))
    assert recipes.summary(line) == {"center": 0.0, "rim": 1.0, "local_minima": 1, "rise": 0.5}


def test_rise_is_the_median_on_the_ring_and_ignores_one_outlier():
    x = np.linspace(-1, 1, 21)
    z = x[None, :] ** 2 + x[:, None] ** 2
    gx, gy = np.meshgrid(x, x)
    ring = np.abs(np.hypot(gx, gy) - 0.5) <= 0.05 + 1e-9
    s = recipes.summary(io.Surface(x, x, {"train_loss": z}, np.ones((21, 21), bool)))
    assert s["rise"] == np.median(z[ring]) and 0.2 < s["rise"] < 0.3  # r^2 on a ring of radius ~0.5
    spiked = z.copy()
    spiked[0, 0] = spiked[np.argwhere(ring)[0][0], np.argwhere(ring)[0][1]] = 1e7  # a corner and one ring point
    t = recipes.summary(io.Surface(x, x, {"train_loss": spiked}, np.ones((21, 21), bool)))
    assert t["rim"] > 1e4 * s["rim"] and abs(t["rise"] - s["rise"]) < 0.02
    with pytest.raises(ValueError, match="radius"):
        recipes.summary(io.Surface(x, x, {"train_loss": z}, np.ones((21, 21), bool)), radius=3.0)


def test_bad_input():
    with pytest.raises(ValueError, match="dims"):
        recipes.random_surface(None, SAMPLE, dims=3)


def test_pca_surface_centers_on_the_final_weights(tmp_path):
    config = CONFIG.replace(checkpoint_epochs=(0.0, 0.5, 1.0), train_subset=64)
    run = train.train(config, cache_dir=tmp_path, progress=False)
    plane = recipes.pca_surface(run, SAMPLE, points=3, margin=0.5, out_dir=tmp_path)
    assert plane.epochs == (0.0, 0.5, 1.0) and plane.surface.complete and plane.surface["train_loss"].shape == (3, 3)
    x, y = plane.surface.xcoordinates, plane.surface.ycoordinates
    assert x[0] < plane.pca.coords[:, 0].min() and x[-1] > plane.pca.coords[:, 0].max()  # the path is inside
    assert y[0] < plane.pca.coords[:, 1].min() and y[-1] > plane.pca.coords[:, 1].max()
    model = run.model()
    theta = {k: v for k, v in run.checkpoints[1.0].items() if v.is_floating_point()}
    point = {k: v + x[2] * plane.pca.directions[0][k] + y[0] * plane.pca.directions[1][k] for k, v in theta.items()}
    loss, _ = surface.evaluate(model, point, SAMPLE.batches()["train"])
    assert abs(plane.surface["train_loss"][0, 2] - loss) < 1e-5 * max(1.0, loss)
    with pytest.raises(ValueError, match="checkpoints"):
        recipes.pca_surface(train.train(CONFIG, cache_dir=tmp_path, progress=False), SAMPLE)


def test_eigen_surface_center_and_sharpness_agree(runs, tmp_path):
    small = data.Sample("synthetic", train_subset=8, batch_size=4)
    m = recipes.eigen_surface(runs[0], small, points=3, tol=1e-2, max_steps=25, out_dir=tmp_path)
    assert m.complete and sorted(m.values) == ["converged", "hvps", "max_eig", "min_eig", "seconds"]
    s = recipes.sharpness(runs[0], small, tol=1e-2, max_steps=25, samples=3, cache_dir=tmp_path)
    assert abs(m["max_eig"][1, 1] - s["lambda_max"]) < 2e-2 * s["lambda_max"]  # same point, same Hessian
    assert s["lambda_max"] > 0 and s["test_error"] == runs[0].test_error


def test_interpolation_with_recomputed_bn_is_defined_where_interpolated_statistics_fail(runs, tmp_path):
    """Far outside [0, 1] interpolated BN variances turn negative (NaN loss); recomputed statistics are defined
    everywhere and at the end points equal a recomputation on the end point's own weights."""
    far = dict(points=5, span=(-6.0, 7.0), out_dir=tmp_path)
    plain = recipes.interpolation(runs[0], runs[1], SAMPLE, **far)
    fixed = recipes.interpolation(runs[0], runs[1], SAMPLE, bn="recompute", **far)
    assert np.isnan(plain["train_loss"]).any() and np.isfinite(fixed["train_loss"]).all()
    ends = recipes.interpolation(runs[0], runs[1], SAMPLE, bn="recompute", points=2, span=(0.0, 1.0), out_dir=tmp_path)
    batches = SAMPLE.batches()["train"]
    for index, run in ((0, runs[0]), (-1, runs[1])):
        loss, _ = surface.evaluate(run.model(), None, batches, bn="recompute")
        assert abs(ends["train_loss"][index] - loss) < 1e-4
    assert recipes.peak_between(ends) == max(ends["train_loss"])


def test_final_train_loss_is_the_eval_mode_loss_on_the_training_images(runs):
    model = runs[0].model()
    train_split, _ = train.splits(runs[0].config)
    expected, _ = surface.evaluate(model, None, data.batches(train_split, 50))
    assert abs(train.final_train_loss(runs[0]) - expected) < 1e-5
    with pytest.raises(ValueError, match="epoch=3"):
        train.final_train_loss(runs[0], epoch=3)


def test_minimizer_table_marks_the_runs_below_the_threshold():
    rows = {"a": recipes.Minimizer("a", 0.02, 40.0, 1.1, 2000, 30, 600, 8.18),
            "b32_wd0": recipes.Minimizer("b32_wd0", 0.5, 50.0, 1.1, 2000, 40, 3200, None)}
    table = recipes.minimizer_table(rows)
    assert "minimizer" in table.splitlines()[1] and "NOT below" in table.splitlines()[2] and "8.18%" in table
    assert recipes.minimizer_numbers(rows) == {"train_loss_a": 0.02, "test_error_a": 40.0,
                                               "train_loss_b32_wd0": 0.5, "test_error_b32_wd0": 50.0}
    assert recipes.run_name((256, 5e-4)) == "b256_wd0.0005" and recipes.run_name("resnet56") == "resnet56"


def test_difference_of_two_grids_counts_only_the_plotted_range():
    x = np.linspace(-1, 1, 5)
    ref = x[None, :] ** 2 + x[:, None] ** 2 + 0.5
    noisy = ref * 1.01
    noisy[0, 0] = 1e6  # outside the plotted range on one surface only: still compared (the reference is shown)
    ref[4, 4] = 50.0  # outside the plotted range of the reference: left out
    d = recipes.difference(io.Surface(x, x, {"train_loss": noisy}, np.ones((5, 5), bool)),
                           io.Surface(x, x, {"train_loss": ref}, np.ones((5, 5), bool)))
    assert d["points"] == 24 and abs(d["median_rel"] - 0.01) < 1e-9 and d["max_abs"] > 1e5
    with pytest.raises(ValueError, match="different grids"):
        recipes.difference(io.Surface(x, None, {"train_loss": x}, np.ones(5, bool)),
                           io.Surface(x, x, {"train_loss": ref}, np.ones((5, 5), bool)))


def test_batch_label():
    assert recipes.batch_label(128, 0.0) == "b=128, wd=0"
    assert recipes.batch_label(8192, 5e-4) == "b=8192, wd=0.0005"


def test_connection_joins_two_normal_runs_of_one_budget():
    for name in profiles.NAMES:
        P = profiles.get(name)
        link = recipes.Course.from_profile(name).connection(seed=3)
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
    course = recipes.Course.from_profile("quick", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
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
    """The small-batch, weight-decay run of the batch study is the depth study's run of the same network."""
    for P in map(profiles.get, ("smoke",)):  # quick trains its batch study at other batch sizes and epochs
        land = P.landscape
        batch = P.batch_runs()[land.batch_small, land.weight_decays[-1]]
        assert P.model_runs((land.batch_model,))[land.batch_model] == batch


def test_course_from_profile_resolves_precision_and_folders(tmp_path):
    course = recipes.Course.from_profile("quick", data_root=tmp_path / "d", out_dir=tmp_path / "o")
    assert course.precision in ("fp32", "bf16") and course.profile.name == "quick"
    assert (course.data_root, course.out_dir, course.device) == (tmp_path / "d", tmp_path / "o", "cpu")
    assert course.sample(test=False).test_subset == 0 and course.sample().test_subset == 128
    with pytest.raises(ValueError, match="profile='huge'"):
        recipes.Course.from_profile("huge")


def test_course_runs_measure_the_test_set_every_test_every_epochs(tmp_path):
    course = recipes.Course.from_profile("smoke", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    assert profiles.get("quick").test_every == 5 and course.profile.test_every == 2
    run = course.first_run()
    measured = [e["epoch"] for e in run.log if "test_acc_pct" in e]
    assert measured == sorted(train.measured_epochs(run.config.epochs, 2)) and measured[-1] == run.config.epochs
    assert len(measured) < len(run.log)


def test_sharpness_correlations_rank_each_measure_against_loss_and_error(capsys):
    rows = {n: recipes.Minimizer(n, loss, err, 1.0, 2000, 10, 100, None)
            for n, loss, err in (("a", 0.01, 40.0), ("b", 0.02, 30.0), ("c", 0.03, 50.0))}
    sharp = {"a": {"lambda_max": 1.0, "trace": 9.0}, "b": {"lambda_max": 2.0, "trace": 8.0},
             "c": {"lambda_max": 3.0, "trace": 7.0}}
    result = recipes.sharpness_correlations(sharp, {"a": 5.0, "b": 4.0, "c": 6.0}, rows)
    assert result["spearman_lambda_max_train_loss"] == 1.0 and result["spearman_trace_train_loss"] == -1.0
    assert result["spearman_lambda_max_test_error"] == 0.5 and result["spearman_rise_test_error"] == 1.0
    assert len(result) == 6 and "rank correlation over 3 runs" in capsys.readouterr().out
