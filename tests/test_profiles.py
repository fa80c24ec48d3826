"""Profiles: lookup, bad names, paper settings."""
import dataclasses

import pytest

from lossviz.base import models
from lossviz.course import profiles


def test_lookup_and_unknown():
    assert profiles.get("quick").name == "quick"
    with pytest.raises(ValueError, match="profile='fast'.*smoke, quick, paper"):
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
    from lossviz.course import recipes
    course = recipes.Course.from_profile("paper", out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    link = course.connection()
    assert link.config.bends == 1 and link.ends[0].epochs == 200  # the first model, VGG-16


def test_every_model_named_in_a_profile_exists():
    for name in profiles.NAMES:
        p = profiles.get(name)
        for model in (p.first_model, *p.landscape.depth_models, *p.landscape.width_models, *p.ensembles.models):
            assert model in models.names()
        assert p.first_run().model == p.first_model


def test_runs_of_the_same_network_share_one_cache_entry():
    from lossviz.base import cache
    p = profiles.get("quick")
    land = p.landscape
    batch_run = p.batch_runs()[(land.batch_small, 5e-4)]
    assert cache.key(p.first_run()) == cache.key(batch_run) == cache.key(p.model_runs((land.batch_model,))[land.batch_model])
    assert len({cache.key(c) for c in p.batch_runs().values()}) == 4
