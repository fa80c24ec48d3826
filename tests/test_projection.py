"""The projected time of a profile per notebook, from made-up unit costs, checked against sums written out by hand."""
import dataclasses
import json
from pathlib import Path

import pytest

from lossviz.course import profiles, projection
from lossviz.course.projection import UnitCosts

ROOT = Path(__file__).resolve().parents[1]


def costs_for(profile, epoch=1.0, images_per_s=1_000.0, hvp=0.5, **changes) -> UnitCosts:
    """The same made-up cost for every entry the profile needs, except those in `changes`' dicts."""
    need = projection.needs(profile)
    tables = {"epoch_seconds": {k: epoch for k in need["epoch_seconds"]},
              "surface_images_per_s": {k: images_per_s for k in need["surface_images_per_s"]},
              "hvp_seconds": {k: hvp for k in need["hvp_seconds"]}}
    for name, values in changes.items():
        tables[name].update(values)
    return UnitCosts(**tables, hvp_images=100, hvps_per_point=20.0, curve_epoch_factor=1.5)


def test_smoke_notebooks_00_03b_and_03c_by_hand():
    p = profiles.get("smoke")  # ResNet-20, 2 epochs of 256 images, 128 test images measured every 2nd epoch
    out = projection.project(p, costs_for(p, epoch=3.0, images_per_s=64.0))
    train = 2 * 256 / 50_000 * 3.0
    evaluated = (1 * 128 + 256) / 64.0  # one test-log measurement (epoch 2), then the minimizer check
    assert out["00"] == pytest.approx(train + evaluated)
    # 03b: smoke's deep pair is its depth pair, trained and plotted in 03 at seed 0; new are a second 3 x 3 plane of
    # each on 128 images, their rises (2 seeds x 3 points on 128 images) and their sharpness (40 products over 8
    # images at 0.5 s per 100 images)
    rises, sharpness = 2 * 2 * 3 * 128 / 64.0, 2 * 40 * 0.5 * 8 / 100
    assert out["03b"] == pytest.approx(2 * 9 * 128 / 64.0 + rises + sharpness)
    # 03c: the pair's seed-1 trainings: new are ResNet-20-NS's training and its 3 x 3 plane (ResNet-20's seed 1 is
    # the batch study's second training of batch 32 at weight decay 5e-4, trained in 01 and plotted in 02), a second
    # plane of both, and their rises and sharpness; the seed-0 trainings' come from 03b
    assert out["03c"] == pytest.approx(train + evaluated + 3 * 9 * 128 / 64.0 + rises + sharpness)
    assert set(out) == set(projection.NOTEBOOKS)
    # 02: the batch study's runs came with 01 (both seeds); new are the four 1D lines (5 points on 128 training and
    # 64 test images) and a 3 x 3 plane on 128 images for each of the eight trainings (4 cells x 2 seeds)
    assert out["02"] == pytest.approx(4 * 5 * 192 / 64.0 + 8 * 9 * 128 / 64.0)


def test_gpu_notebook_03_by_hand():
    """03 trains ResNet-20-NS (30 epochs) and ResNet-56 (40) at batch 512 (ResNet-20 came with 00) and plots the
    three depth networks' 41 x 41 planes on 5,000 images; test log every 5th epoch on 10,000 test images."""
    p = profiles.get("gpu")
    e = {"resnet20_noshort@512": 2.0, "resnet56@512": 5.0}
    s = {"resnet20": 400.0, "resnet20_noshort": 300.0, "resnet56": 100.0}
    out = projection.project(p, costs_for(p, epoch_seconds=e, surface_images_per_s=s))
    by_hand = (30 * 2.0 + (6 * 10_000 + 50_000) / 300.0 + 40 * 5.0 + (8 * 10_000 + 50_000) / 100.0
               + 41 * 41 * 5_000 * (1 / 400.0 + 1 / 300.0 + 1 / 100.0))
    assert out["03"] == pytest.approx(by_hand)


def test_gpu_hessian_maps_price_their_products_and_scale_with_the_images():
    p = profiles.get("gpu")
    base = costs_for(p, hvp=0.5)
    dearer = costs_for(p, hvp_seconds={"resnet56": 1.5, "resnet56_noshort": 0.5})
    gap = projection.project(p, dearer)["05"] - projection.project(p, base)["05"]
    # ResNet-56's map: 11 x 11 points x 20 products over 2,000 images (unit: 100); its sharpness (30 + 10 products)
    # is priced in 03b, which computes it first for the deep pair
    assert gap == pytest.approx(11 * 11 * 20 * (1.5 - 0.5) * 2_000 / 100)
    gap_03b = projection.project(p, dearer)["03b"] - projection.project(p, base)["03b"]
    assert gap_03b == pytest.approx(40 * (1.5 - 0.5) * 2_000 / 100)


def test_the_work_list_follows_the_profile_and_missing_costs_are_named():
    p = profiles.get("gpu")
    need = projection.needs(p)
    assert "vgg9@4096" in need["epoch_seconds"] and "wrn56_4_noshort@512" in need["epoch_seconds"]
    assert set(need["hvp_seconds"]) >= set(p.landscape.hessian_models)
    costs = costs_for(p)
    del costs.epoch_seconds["vgg9@4096"]
    with pytest.raises(ValueError, match="epoch_seconds has no entry 'vgg9@4096'"):
        projection.project(p, costs)
    doubled = projection.project(p, costs_for(p, epoch=2.0, images_per_s=500.0, hvp=1.0))
    assert sum(doubled.values()) == pytest.approx(2 * sum(projection.project(p, costs_for(p)).values()))


def test_the_docs_projection_is_the_function_applied_to_the_planning_costs():
    """docs/machines.md and the README give the gpu and paper profiles' projected times from the planning unit
    costs in bench/results, by the same function bench/gpu_check.py applies to what it measures."""
    planning = json.loads((ROOT / "bench" / "results" / "gpu_planning_costs.json").read_text())
    docs, readme = (ROOT / "docs" / "machines.md").read_text(), (ROOT / "README.md").read_text()
    gpu = projection.project(profiles.get("gpu"), UnitCosts(**planning["gpu"]))
    line = f"about {sum(gpu.values()) / 60:.0f} minutes (projection, not measured)"
    assert line in docs and line in readme
    assert " | ".join(f"{s / 60:.1f}" for s in gpu.values()) + " | " + line in docs  # the table per notebook
    paper = sum(projection.project(profiles.get("paper"), UnitCosts(**planning["paper"])).values())
    line = f"about {paper / 3600:.0f} hours (projection, not measured)"
    assert line in docs and line in readme


def test_notebook_08_prices_its_augmented_fge_setting_where_the_profile_names_one():
    """The second FGE setting adds its own normal run (B epochs with augmentation) and its FGE cycles to 08's time;
    without one, 08 trains nothing with augmentation at the smoke profile."""
    p = profiles.get("smoke")
    plain = dataclasses.replace(p, ensembles=dataclasses.replace(p.ensembles, augmented_fge_lr=None))
    def augmented(profile):
        return [i for i in projection.work(profile)["08"] if isinstance(i, projection.Training) and i.config.augment]
    budget = p.ensembles.augmented_budget
    assert budget is not None and budget != p.ensembles.budget_epochs  # the setting's own B is what is priced
    assert [(i.config.epochs, i.config.schedule.kind) for i in augmented(p)] == [
        (budget, "step"), (budget, "step"), (max(1, round(0.2 * budget)), "fge")]  # Ind, FGE's pre-training, cycles
    assert augmented(plain) == []
    costs = costs_for(p)
    assert projection.project(p, costs)["08"] > projection.project(plain, costs)["08"]
