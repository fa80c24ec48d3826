"""The notebooks' shared recipes: labels, the connection of notebook 08, and the runs they reuse."""
from lossviz import course, profiles


def test_batch_label():
    assert course.batch_label(128, 0.0) == "b=128, wd=0"
    assert course.batch_label(8192, 5e-4) == "b=8192, wd=0.0005"


def test_connection_joins_two_normal_runs_of_one_budget():
    for P in map(profiles.get, profiles.NAMES):
        link = course.connection(P, seed=3)
        first, second = link.ends
        assert (first.seed, second.seed) == P.ensembles.seeds[:2]
        assert first.replace(seed=second.seed) == second  # the same run but for the seed
        assert first.epochs == P.ensembles.budget_epochs and link.config.seed == 3
        assert link.model_name == P.ensembles.models[0] and link.dataset == P.ensembles.datasets[0]


def test_model_and_batch_runs_are_shared_between_studies():
    """The small-batch, weight-decay run of the batch study is the depth study's run of the same network."""
    for P in map(profiles.get, ("smoke", "quick")):
        land = P.landscape
        batch = P.batch_runs()[land.batch_small, land.weight_decays[-1]]
        assert P.model_runs((land.batch_model,))[land.batch_model] == batch
