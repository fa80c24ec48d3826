"""The course's text tables and names: minimizer checks, rank correlations, Table 1 as the paper prints it."""
import numpy as np
import pytest

from lossviz.course import names, tables


def test_minimizer_table_marks_the_runs_below_the_threshold():
    rows = {"a": tables.Minimizer("a", 0.02, 40.0, 1.1, 2000, 30, 600, 8.18),
            "b32_wd0": tables.Minimizer("b32_wd0", 0.5, 50.0, 1.1, 2000, 40, 3200, None)}
    table = tables.minimizer_table(rows)
    assert "minimizer" in table.splitlines()[1] and "NOT below" in table.splitlines()[2] and "8.18%" in table
    assert tables.minimizer_numbers(rows) == {"train_loss_a": 0.02, "test_error_a": 40.0,
                                               "train_loss_b32_wd0": 0.5, "test_error_b32_wd0": 50.0}
    assert names.run_name((256, 5e-4)) == "b256_wd0.0005" and names.run_name("resnet56") == "resnet56"
    long = "resnet56_noshort_seed1"  # a name longer than the run column: the columns still line up
    wide = tables.minimizer_table({**rows, long: tables.Minimizer(long, 0.01, 60.0, 1.1, 2000, 80, 1600, 13.31)})
    lines = wide.splitlines()
    assert lines[0].index("epochs") + len("epochs") == lines[1].index("30") + 2 == lines[2].index("40") + 2 == (
        lines[3].index(" 80 ") + 3)
    assert lines[3].startswith(long + " ")


def test_sharpness_correlations_rank_each_measure_against_loss_and_error(capsys):
    rows = {n: tables.Minimizer(n, loss, err, 1.0, 2000, 10, 100, None)
            for n, loss, err in (("a", 0.01, 40.0), ("b", 0.02, 30.0), ("c", 0.03, 50.0))}
    sharp = {"a": {"lambda_max": 1.0, "trace": 9.0}, "b": {"lambda_max": 2.0, "trace": 8.0},
             "c": {"lambda_max": 3.0, "trace": 7.0}}
    result = tables.sharpness_correlations(sharp, {"a": 5.0, "b": 4.0, "c": 6.0}, rows)
    assert result["spearman_lambda_max_train_loss"] == 1.0 and result["spearman_trace_train_loss"] == -1.0
    assert result["spearman_lambda_max_test_error"] == 0.5 and result["spearman_rise_test_error"] == 1.0
    assert len(result) == 6 and "rank correlation over 3 runs" in capsys.readouterr().out


def test_batch_label():
    assert names.batch_label(128, 0.0) == "b=128, wd=0"
    assert names.batch_label(8192, 5e-4) == "b=8192, wd=0.0005"


def test_the_papers_table1_as_printed():
    text = tables.format_paper_table()
    assert "PreResNet-164 (150)" in text and "4.54±0.05" in text and "Garipov" in text
    with pytest.raises(ValueError, match="dataset='svhn'"):
        tables.format_paper_table(("svhn",))




# ---- notebooks 07-09 ------------------------------------------------------------------------------------

def _ensemble(method, errors, together, losses, n=200, disagreements=(), seeds=(0,)):
    from lossviz.compute.ensembles import EnsembleResult
    return EnsembleResult(method, seeds, 1.0, tuple(errors), tuple(together), tuple(losses), disagreements, n)


def _path(train_loss, test_error):
    from lossviz.compute.curves import PathResult
    k = len(train_loss)
    return PathResult(tuple(x / (k - 1) for x in range(k)), tuple(train_loss), (0.0,) * k, tuple(x + 1 for x in
                      train_loss), tuple(test_error), tuple(0.01 * x for x in range(k)))


def _small_plan():
    from lossviz.base.schedules import Schedule
    from lossviz.compute import ensembles
    from lossviz.compute.train import TrainConfig
    base = TrainConfig(model="resnet20", dataset="synthetic", train_subset=64, test_subset=32, epochs=10,
                       batch_size=16, schedule=Schedule("step", 0.1))
    return ensembles.Plan(base, cycles=5, fge_cycle_epochs=0.5, fge_lr=(0.05, 0.001))


def test_members_table_prints_each_member_the_disagreements_and_the_noise():
    from lossviz.base import stats
    d = ((0.0, 20.0, 30.0), (20.0, 0.0, 10.0), (30.0, 10.0, 0.0))
    sse = _ensemble("sse", [47.0, 45.5, 46.0], [47.0, 44.0, 42.0], [0.013, 0.002, 0.001], disagreements=d)
    single = _ensemble("ind", [45.7], [45.7], [0.002])
    lines = tables.members_table(sse, single, from_start=[1.5, 6.25, 9.0], between_minima=60.6).splitlines()
    assert f"{stats.binomial_se(45.7, 200):.2f} points" in lines[0] and "200 test images" in lines[0]
    assert lines[2] == ("member 2: distance from the start   6.25, train loss 0.002, test error 45.50% alone; "
                        "ensemble of members 1..2: 44.00%")
    assert "disagree on 20.0%, 10.0% of the test images (mean over all pairs 20.0%)" in lines[4]
    assert "60.6 apart" in lines[5] and lines[6].endswith("test error 45.70%")
    with pytest.raises(ValueError, match="from_start"):
        tables.members_table(sse, single, from_start=[1.0])


def test_segment_table_and_snapshot_numbers():
    from lossviz.course.recipes import Segment
    d = ((0.0, 35.8, 30.0), (35.8, 0.0, 9.9), (30.0, 9.9, 0.0))
    sse = _ensemble("sse", [46.85, 45.46, 45.98], [46.85, 44.24, 44.35], [0.013, 0.002, 0.001], 10_000, d)
    single = _ensemble("ind", [45.7], [45.7], [0.002], 10_000)
    segments = [Segment(1, _path([0.013, 0.028, 0.002], [46, 48, 45]), 18.66),
                Segment(2, _path([0.002, 0.001, 0.001], [45, 45, 46]), 7.86)]
    text = tables.segment_table(segments, sse).splitlines()
    assert "members 1-2" in text[0] and "disagreement 35.8%" in text[0] and text[0].endswith("barrier 0.015")
    assert text[1].endswith("barrier 0.000") and "9.9%" in text[1]
    numbers = tables.snapshot_numbers(sse, single, segments, np.array([[0.5, 0.0009], [1.198, 0.2]]))
    assert numbers == dict(single_run_error=45.7, sse_ensemble_error=44.35, sse_snapshot_errors=[46.85, 45.46, 45.98],
                           sse_growing_errors=[46.85, 44.24, 44.35], member_train_losses=[0.013, 0.002, 0.001, 0.002],
                           sse_line_barriers_ce=[0.015, 0.0], sse_distances=[18.66, 7.86],
                           sse_mean_disagreement_pct=25.23, ensemble_test_images=10_000, binomial_se=0.5,
                           plane_min_train_loss=0.0009, plane_max_train_loss=1.198)


def test_barrier_table_and_connectivity_numbers():
    from lossviz.compute import curves
    from lossviz.course.recipes import Travel
    paths = {"line": _path([0.002, 2.5, 0.003], [44.8, 79.3, 46.3]),
             "bezier": _path([0.002, 0.365, 0.003], [44.8, 53.0, 46.3])}
    lines = tables.barrier_table(paths, 2_000).splitlines()
    assert "on 2,000 test images" in lines[0]
    objective = curves.barriers(paths["line"])["train_objective"]
    assert lines[1].split()[:4] == ["line", "2.497", "2.497", f"{objective:.3f}"]
    assert lines[2].endswith("44.8% 46.3% / 53.0%")
    fge = _ensemble("fge", [46.1, 46.65], [46.1, 45.64], [0.002, 0.001], 10_000)
    minima = {s: _ensemble("ind", [e], [e], [0.002], 10_000, seeds=(s,)) for s, e in ((0, 45.7), (1, 47.31))}
    numbers = tables.connectivity_numbers(paths, fge, minima, Travel((1.829, 6.384), 60.63), 0, 2_000)
    assert numbers["curve_barrier_ce"] == 0.362 and numbers["line_barrier_ce"] == 2.497
    assert numbers["curve_max_test_error"] == 53.0 and "bezier_barrier_ce" not in numbers
    assert numbers["single_run_error"] == 45.7 and numbers["endpoint_errors"] == [45.7, 47.31]
    assert numbers["member_train_losses"] == [0.002, 0.002, 0.002, 0.001] and numbers["path_test_images"] == 2_000
    assert numbers["fge_distances_from_start"] == [1.829, 6.384] and numbers["minima_distance"] == 60.63


def test_the_tables_of_notebook_09():
    from lossviz.base import stats
    from lossviz.compute.ensembles import Row
    rows = [Row("resnet20", "cifar10", m, k, e, s, 3 if k == 1 else 1, 10_000, loss)
            for m, k, e, s, loss in (("ind", 1, 46.43, 0.82, 0.0022), ("ind", 2, 42.55, None, 0.0022),
                                     ("sse", 1, 44.01, 0.39, 0.0296), ("sse", 2, 40.49, None, 0.0296),
                                     ("fge", 1, 44.75, 0.52, 1.1463), ("fge", 2, None, None, None))]
    assert tables.table_noise(rows) == (f"binomial standard error on 10,000 test images: "
                                        f"{stats.binomial_se(40.49, 10_000):.2f} to "
                                        f"{stats.binomial_se(46.43, 10_000):.2f} points at these errors")
    budgets, errors, stds = tables.budget_series(rows)
    assert budgets == [1, 2] and errors == {"Ind": [46.43, 42.55], "SSE": [44.01, 40.49], "FGE": [44.75, None]}
    assert stds["Ind"] == [0.82, None]
    numbers = tables.comparison_numbers(rows)
    assert numbers["fge_1B_resnet20_cifar10"] == 44.75 and "fge_2B_resnet20_cifar10" not in numbers
    assert numbers["sse_1B_std"] == 0.39 and numbers["max_member_loss_fge_1B"] == 1.1463
    assert (numbers["seeds"], numbers["ensemble_test_images"], numbers["binomial_se"]) == (3, 10_000, 0.5)
    with pytest.raises(ValueError, match="one network"):
        tables.budget_series(rows + [Row("vgg9", "cifar10", "ind", 1, 30.0, None, 1)])
    units = {("ind", 1): [_ensemble("ind", [45.7], [45.7], [0.0022], seeds=(0,)),
                          _ensemble("ind", [47.3], [47.3], [0.0019], seeds=(1,))],
             ("fge", 1): [_ensemble("fge", [46, 46], [46, 45], [0.002, 0.0015], seeds=(0,)),
                          _ensemble("fge", [46, 46], [46, 45], [0.3, 0.6433], seeds=(1,))]}
    assert tables.member_losses(units).splitlines() == [
        "ind: largest member training loss, seeds (0, 1): 0.0022, 0.0019",
        "fge: largest member training loss, seeds (0, 1): 0.0020, 0.6433"]
    orderings = tables.paper_orderings().splitlines()
    assert "WRN-28-10: Ind < FGE < SSE" in orderings[5] and orderings[5].startswith("cifar10 3B")
    assert orderings[6] == "1B: SSE beats Ind in 6 of 6 cells, FGE beats Ind in 6, Ind beats FGE in 0 (none)"


def test_the_plans_of_notebooks_07_to_09():
    from lossviz.compute import ensembles
    plan = _small_plan()
    sse = tables.snapshot_plan(plan, 0).splitlines()
    assert sse[1] == "B = 10 epochs; SSE: M = 5 cycles of 2 epochs, alpha_0 = 0.1"
    assert sse[2] == "snapshots after epochs " + ", ".join(f"{e:g}" for e in plan.sse_run(0).checkpoint_epochs)
    assert "64 training images, batch 16" in sse[0] and "4 iterations per epoch" in sse[0]
    _, members = ensembles.schedule_trace("fge", plan, 0)
    assert tables.fge_plan(plan, 0).endswith(f"{len(members)} snapshots at iterations {members}")
    assert "pre-training 8 epochs, then 2 epochs of cycles of c = 2 iterations" in tables.fge_plan(plan, 0)
    lines = tables.budget_plan(plan, (0, 1), (1, 2)).splitlines()
    assert lines[:3] == ["ind: 1 member(s) for 10 epochs", "sse: 5 member(s) for 10 epochs",
                         "fge: 4 member(s) for 10 epochs"]
    assert lines[3].endswith("seeds (0, 1); 44 epochs of training per network and dataset")  # 2 x (10 + 10 + 2)


def test_method_captions():
    assert names.method_caption("ind", 1) == "normal run (step decay): 1 model"
    assert names.method_caption("sse", 3) == "Snapshot Ensemble: M = 3" and names.method_caption("fge", 4) == \
        "FGE: 4 snapshots"
    with pytest.raises(ValueError, match="method='swa'"):
        names.method_caption("swa", 1)
def test_shape_table_gives_each_surface_its_summary():
    import numpy as np

    from lossviz.base import io
    x = np.linspace(-1, 1, 5)
    # rim: the 16 border values sum to 2 * 7.5 + 2 * 3.5 = 22, mean 1.375; the ring at 0.5 (within half a step, 0.25)
    # holds the 4 points at distance 0.5 (loss 0.25) and the 4 at 0.71 (loss 0.5): median 0.375
    z = x[None, :] ** 2 + x[:, None] ** 2
    table = tables.shape_table({"bowl": io.Surface(x, x, {"train_loss": z}, np.ones((5, 5), bool))})
    lines = table.splitlines()
    assert lines[0] == "train_loss on each plane" and "rise at 0.5" in lines[1]
    assert lines[2].split() == ["bowl", "0.000", "1.38", "0.38", "1"]
    with pytest.raises(ValueError, match="at least one"):
        tables.shape_table({})


def test_a_runs_caption_names_its_test_error_and_the_test_images_it_is_on():
    from types import SimpleNamespace

    from lossviz.compute.train import TrainConfig
    run = SimpleNamespace(config=TrainConfig(model="resnet56_noshort", test_subset=2000), test_error=65.5)
    # sqrt(0.655 * 0.345 / 2000) = 1.063 percentage points
    assert names.caption(run) == "ResNet-56-NS, test error 65.50% ± 1.06 on 2,000 images"
    everything = SimpleNamespace(config=TrainConfig(model="resnet20"), test_error=8.0)
    assert names.caption(everything).endswith("on 10,000 images")
    seed1 = SimpleNamespace(config=TrainConfig(model="resnet56", test_subset=2000, seed=1), test_error=50.0)
    assert names.caption(seed1, first_seed=0).startswith("ResNet-56 (seed 1), test error 50.00%")
    assert names.caption(seed1, first_seed=1).startswith("ResNet-56, test error")


def test_a_networks_trainings_are_keyed_and_labelled_by_seed():
    assert names.training_key("resnet56_noshort", 0, first=0) == "resnet56_noshort"
    assert names.training_key("resnet56_noshort", 1, first=0) == "resnet56_noshort_seed1"
    assert names.network_of("resnet56_noshort_seed1") == names.network_of("resnet56_noshort") == "resnet56_noshort"
    assert names.training_label("resnet56_noshort_seed1") == "ResNet-56-NS (seed 1)"
    assert names.training_label("resnet56") == "ResNet-56"


def test_batch_trainings_by_seed_become_one_dict_by_run_name_or_label():
    per_seed = {0: {(32, 0.0): "a", (256, 5e-4): "b"}, 1: {(32, 0.0): "c", (256, 5e-4): "d"}}
    assert names.by_training(per_seed, first=0) == {(32, 0.0): "a", (256, 5e-4): "b", "b32_wd0_seed1": "c",
                                                    "b256_wd0.0005_seed1": "d"}
    assert names.labelled(per_seed, first=0) == {"b=32, wd=0": "a", "b=256, wd=0.0005": "b",
                                                 "b=32, wd=0 (seed 1)": "c", "b=256, wd=0.0005 (seed 1)": "d"}
    assert names.network_of("b32_wd0_seed1") == names.run_name((32, 0.0))


def test_sharpness_table_gives_every_measure_of_each_run():
    keys = ("resnet56", "resnet56_seed1")
    summaries = {k: {"rise": r, "local_minima": m} for k, r, m in zip(keys, (1.234, 2.0), (0, 3))}
    rises = {"resnet56": [1.0, 2.0, 3.0], "resnet56_seed1": [2.0, 2.0, 2.0]}  # mean 2, sd 1; mean 2, sd 0
    sharp = {k: {"lambda_max": 81.94, "trace": 1234.4, "trace_se": 56.6} for k in keys}
    text = tables.sharpness_table({k: names.training_label(k) for k in keys}, summaries, rises, sharp)
    lines = text.splitlines()
    assert "mean ± sd" in lines[0] and "rise (3 directions)" in lines[1]
    assert "λmax" in lines[1] and "tr H (± SE)" in lines[1]
    assert lines[2].split() == ["ResNet-56", "1.23", "2.00", "±", "1.00", "0", "81.9", "1234", "±", "57"]
    assert lines[3].split()[:7] == ["ResNet-56", "(seed", "1)", "2.00", "2.00", "±", "0.00"]
    with pytest.raises(ValueError, match="labels"):
        tables.sharpness_table({}, summaries, rises, sharp)
    assert "λmax" not in tables.sharpness_table({"resnet56": "ResNet-56"}, summaries, rises)
    numbers = tables.sharpness_numbers(summaries, rises, sharp)
    assert numbers["sharpness_seeds"] == 3 and numbers["rise_seeds_resnet56"] == 2.0
    assert numbers["rise_seeds_sd_resnet56"] == 1.0 and numbers["rise_seeds_sd_resnet56_seed1"] == 0.0
    assert (numbers["sharpness_resnet56"], numbers["minima_resnet56_seed1"]) == (1.234, 3)
    assert (numbers["lambda_max_resnet56"], numbers["trace_resnet56"]) == (81.94, 1234.4)
    assert "trace_resnet56" not in tables.sharpness_numbers(summaries, rises)
    with pytest.raises(ValueError, match="same number of direction seeds"):
        tables.sharpness_numbers(summaries, {**rises, "resnet56": [1.0, 2.0]})
    second = {k: {"rise": r, "local_minima": m} for k, r, m in zip(keys, (3.456, 1.0), (5, 2))}  # another plane
    two = tables.sharpness_table({k: names.training_label(k) for k in keys}, summaries, rises, sharp, second)
    assert "rise (planes 1/2)" in two.splitlines()[1] and "minima (planes 1/2)" in two.splitlines()[1]
    # four trainings of the deep pair with both planes: narrow enough for a slide's printed line (layout.py)
    four = {k: names.training_label(k) for k in ("resnet56", "resnet56_noshort", "resnet56_seed1",
                                                    "resnet56_noshort_seed1")}
    like = [{k: values["resnet56"] for k in four} for values in (summaries, rises, sharp, second)]
    wide = tables.sharpness_table(four, *like)
    assert max(len(line) for line in wide.splitlines()) <= 104
    assert two.splitlines()[2].split()[:8] == ["ResNet-56", "1.23", "/", "3.46", "2.00", "±", "1.00", "0"]
    assert two.splitlines()[2].split()[8:10] == ["/", "5"]
    both = tables.sharpness_numbers(summaries, rises, sharp, second)
    assert (both["sharpness_plane2_resnet56"], both["minima_plane2_resnet56_seed1"]) == (3.456, 2)
    assert both["sharpness_resnet56"] == 1.234 and "sharpness_plane2_resnet56" not in numbers
