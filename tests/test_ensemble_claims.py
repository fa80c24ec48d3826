"""The claims of notebooks 07-09 on hand-made ensembles: effects signed in the papers' direction, paired noise from
per-image outcomes checked against a direct computation, verdicts of worked cases, Table 1's majority direction."""
import math

import numpy as np
import pytest
import torch

from lossviz.compute.curves import PathResult
from lossviz.compute.ensembles import EnsembleResult
from lossviz.course import ensemble_claims as ec
from lossviz.course.recipes import Segment


def result(method: str, members: list[list[bool]], together: list[bool] | None = None, losses=None,
           seeds=(0,)) -> EnsembleResult:
    """An ensemble whose members are right on the images marked True (and the whole ensemble on `together`)."""
    right = torch.tensor(members)
    whole = torch.tensor(together if together is not None else members[-1])
    n = right.shape[1]
    errors = tuple(100.0 * (~r).sum().item() / n for r in right)
    growing = errors[:-1] + (100.0 * (~whole).sum().item() / n,)
    return EnsembleResult(method, tuple(seeds), 1.0, errors, growing,
                          tuple(losses if losses is not None else [0.01] * len(members)), (), n, right, whole)


def pattern(n: int, right: range | list) -> list[bool]:
    wanted = set(right)
    return [i in wanted for i in range(n)]


def paired_se(first: list[bool], second: list[bool]) -> float:
    """The standard error of error1 - error2 from the per-image differences directly (population variance / n)."""
    d = np.array([int(not a) - int(not b) for a, b in zip(first, second)], dtype=float)
    return 100.0 * d.std() / math.sqrt(d.size)


@pytest.mark.parametrize("n, expected", [(100, "within noise"), (10_000, "reproduced")])
def test_an_ensemble_against_a_normal_run_is_paired_on_the_same_images(n, expected):
    # the normal run is right on the first 60% of the images; the ensemble on 55% of those and 10% of the rest
    single_right = pattern(n, range(int(0.60 * n)))
    sse_right = pattern(n, [*range(int(0.55 * n)), *range(int(0.60 * n), int(0.70 * n))])
    claim = ec.beats_normal_run("k", "sse", result("sse", [sse_right], sse_right), result("ind", [single_right]), "p")
    assert claim.effect == pytest.approx(40.0 - 35.0)
    assert claim.noise == pytest.approx(paired_se(single_right, sse_right))
    assert claim.noise == pytest.approx(100 * math.sqrt((0.15 - 0.05 ** 2) / n))  # b = 10%, c = 5%
    assert claim.verdict == expected and "normal run 40.00% vs SSE 35.00%" in claim.measured
    worse = ec.beats_normal_run("k", "sse", result("sse", [single_right]), result("ind", [sse_right]), "p")
    assert worse.effect == pytest.approx(-5.0)
    assert worse.verdict == ("contradicted" if n == 10_000 else "within noise")


def test_an_ensemble_is_compared_with_its_best_member():
    n = 1_000
    members = [pattern(n, range(500)), pattern(n, range(100, 650)), pattern(n, range(300, 800))]  # 50%, 45%, 50% wrong
    together = pattern(n, range(50, 700))  # 35% wrong
    claim = ec.beats_members("k", "fge", result("fge", members, together), "p")
    assert claim.effect == pytest.approx(45.0 - 35.0)
    assert claim.noise == pytest.approx(paired_se(members[1], together))
    assert "best member (2)" in claim.measured and claim.verdict == "reproduced"


def test_a_result_without_per_image_outcomes_is_refused():
    bare = EnsembleResult("ind", (0,), 1.0, (40.0,), (40.0,), (0.01,), (), 100)
    with pytest.raises(ValueError, match="per-image outcomes"):
        ec.beats_normal_run("k", "sse", bare, bare, "p")


def test_minima_are_a_threshold_on_the_largest_training_loss():
    ok = ec.minima("k", "c", "p", {"snapshot 1": 0.013, "snapshot 2": 0.002})
    assert ok.effect == pytest.approx(0.10 - 0.013) and ok.noise == 0 and ok.verdict == "reproduced"
    out = ec.minima("k", "c", "p", {"seed 0": 0.002, "seed 1": 0.6433, "seed 2": 0.0019})
    assert out.effect == pytest.approx(0.10 - 0.6433) and out.verdict == "contradicted" and "seed 1" in out.measured
    with pytest.raises(ValueError, match="losses"):
        ec.minima("k", "c", "p", {})
    gpu = ec.minima("k", "c", "p", {"seed 0": 0.15}, criterion=0.2)  # the gpu profile's own criterion
    assert gpu.effect == pytest.approx(0.2 - 0.15) and gpu.verdict == "reproduced" and "against 0.20" in gpu.measured


def path(train_loss, test_error) -> PathResult:
    k = len(train_loss)
    return PathResult(tuple(np.linspace(0, 1, k)), tuple(train_loss), (0.0,) * k, (1.0,) * k, tuple(test_error),
                      (0.0,) * k)


def test_claims_07_verdicts():
    n = 1_000
    members = [pattern(n, range(530)), pattern(n, range(100, 645)), pattern(n, range(200, 740))]
    sse = result("sse", members, pattern(n, range(20, 600)), losses=[0.013, 0.002, 0.001])
    single = result("ind", [pattern(n, range(543))])
    segments = [Segment(1, path([0.013, 0.028, 0.002], [46, 47, 45]), 18.7),
                Segment(2, path([0.002, 0.002, 0.001], [45, 45, 46]), 7.9)]
    claims = {c.key: c for c in ec.claims_07(sse, single, segments)}
    assert set(claims) == {"sse_beats_normal_run", "sse_beats_its_snapshots", "snapshots_are_minima",
                           "snapshots_in_separate_basins"}
    assert claims["sse_beats_normal_run"].effect == pytest.approx(45.7 - 42.0)
    assert claims["sse_beats_its_snapshots"].effect == pytest.approx(45.5 - 42.0)
    assert claims["snapshots_are_minima"].verdict == "reproduced"
    basins = claims["snapshots_in_separate_basins"]  # the segment 1-2 rises 0.015: far below the minimum criterion
    assert basins.effect == pytest.approx(0.015 - 0.10) and basins.verdict == "contradicted"
    assert "snapshots 1-2" in basins.measured
    assert "in 6 of 6 cells" in claims["sse_beats_normal_run"].paper


def test_claims_08_verdicts():
    paths = {"line": path([0.002, 2.513, 0.002], [44.8, 79.3, 46.3]),
             "bezier": path([0.002, 0.365, 0.002], [44.8, 53.0, 46.3]),
             "polychain": path([0.002, 0.152, 0.002], [44.8, 48.45, 46.3])}
    n = 500
    fge = result("fge", [pattern(n, range(270)), pattern(n, range(20, 285))], pattern(n, range(10, 285)),
                 losses=[0.002, 0.001])
    single = result("ind", [pattern(n, range(272))])
    claims = {c.key: c for c in ec.claims_08(paths, fge, single, 2_000)}
    wall = claims["curve_avoids_the_wall"]  # the best curve, the polygonal chain, against the line
    se = math.hypot(100 * math.sqrt(0.793 * 0.207 / 2000), 100 * math.sqrt(0.4845 * 0.5155 / 2000))
    assert wall.effect == pytest.approx(79.3 - 48.45) and wall.noise == pytest.approx(se)
    assert wall.verdict == "reproduced" and "polychain" in wall.measured
    gone = claims["curve_removes_the_barrier"]  # the lowest barrier, 0.150, is above the criterion
    assert gone.effect == pytest.approx(0.10 - 0.150) and gone.verdict == "contradicted"
    assert claims["fge_beats_normal_run"].effect == pytest.approx(45.6 - 45.0)
    assert claims["fge_beats_its_snapshots"].effect == pytest.approx(46.0 - 45.0)
    assert claims["fge_snapshots_are_minima"].verdict == "reproduced"
    with pytest.raises(ValueError, match="line"):
        ec.claims_08({"bezier": paths["bezier"]}, fge, single, 2_000)


def test_claims_08_add_the_augmented_setting_under_their_own_keys():
    """The second FGE setting (augmentation, the paper's step sizes) gets the same three claims, keyed `_augmented`
    and named by its setting; its snapshots here leave the minimum (0.6 > 0.10): contradicted."""
    paths = {"line": path([0.002, 2.5, 0.002], [44.8, 79.3, 46.3]), "bezier": path([0.002, 0.05, 0.002],
                                                                                  [44.8, 50.0, 46.3])}
    n = 500
    fge = result("fge", [pattern(n, range(270)), pattern(n, range(20, 285))], pattern(n, range(10, 285)))
    single = result("ind", [pattern(n, range(272))])
    moved = result("fge", [pattern(n, range(260)), pattern(n, range(30, 290))], pattern(n, range(300)),
                   losses=[0.02, 0.6])
    claims = {c.key: c for c in ec.claims_08(paths, fge, single, 2_000, augmented=(moved, single))}
    assert {"fge_beats_normal_run_augmented", "fge_beats_its_snapshots_augmented",
            "fge_snapshots_are_minima_augmented", "fge_beats_normal_run"} <= set(claims)
    assert claims["fge_beats_normal_run_augmented"].effect == pytest.approx(45.6 - 40.0)
    assert claims["fge_snapshots_are_minima_augmented"].verdict == "contradicted"
    each = "normal run 0.010, snapshot 1 0.020, snapshot 2 0.600"
    assert each in claims["fge_snapshots_are_minima_augmented"].measured
    assert claims["fge_snapshots_are_minima"].verdict == "reproduced"
    setting = "(with augmentation, at Garipov et al.'s step sizes)"
    assert claims["fge_beats_normal_run_augmented"].claim.endswith(setting)
    assert len(ec.claims_08(paths, fge, single, 2_000)) == 5


def test_the_papers_direction_is_the_majority_of_table1s_cells():
    assert ec.paper_direction("sse", "ind", 1) == ("sse", "ind")
    assert ec.paper_direction("sse", "ind", 2) == ("ind", "sse")  # Ind below SSE in 4 of 6 cells at 2B
    assert ec.paper_direction("ind", "fge", 3) == ("fge", "ind")  # FGE below Ind in 4 of 6 cells at 3B
    assert ec.paper_direction("fge", "sse", 3) == ("fge", "sse")


def units_of(errors: dict[tuple[str, int], list[float]], n: int = 2_000) -> dict:
    """Ensembles with the given errors (first images wrong), one per seed at 1B, one pooled at kB."""
    units = {}
    for (method, k), values in errors.items():
        seeds = [(s,) for s in range(len(values))] if k == 1 else [tuple(range(k))]
        units[method, k] = [result(method, [pattern(n, range(round(n * e / 100), n))], seeds=s,
                                   losses=[0.6 if method == "fge" and s == (1,) else 0.002])
                            for e, s in zip(values, seeds)]
    return units


def test_claims_09_at_1b_use_the_spread_of_the_per_seed_differences():
    ind, sse, fge = [45.70, 47.30, 46.30], [44.35, 43.80, 43.90], [45.05, 44.40, 44.80]
    units = units_of({("ind", 1): ind, ("sse", 1): sse, ("fge", 1): fge, ("ind", 2): [42.55], ("sse", 2): [40.50],
                      ("fge", 2): [42.10]})
    claims = {c.key: c for c in ec.claims_09(units)}
    assert list(claims) == ["sse_beats_ind_1B", "fge_beats_ind_1B", "fge_beats_sse_1B", "ind_beats_sse_2B",
                            "fge_beats_ind_2B", "fge_beats_sse_2B", "fge_members_are_minima"]
    d = np.array(ind) - np.array(sse)
    one = claims["sse_beats_ind_1B"]
    assert one.effect == pytest.approx(d.mean()) and one.noise == pytest.approx(d.std(ddof=1) / math.sqrt(3))
    assert one.verdict == "reproduced" and "means over 3 seeds" in one.measured
    order = claims["fge_beats_sse_1B"]  # FGE errs more than SSE at every seed here: the paper's order reversed
    assert order.effect == pytest.approx(np.mean(np.array(sse) - np.array(fge))) and order.verdict == "contradicted"
    # 2B: one ensemble each, paired on the images (the first ones wrong: b = 0, c = the gap)
    two = claims["ind_beats_sse_2B"]
    assert two.effect == pytest.approx(40.50 - 42.55) and "one ensemble each" in two.measured
    assert two.noise == pytest.approx(100 * math.sqrt((0.0205 - 0.0205 ** 2) / 2000))
    assert two.verdict == "contradicted"
    assert claims["fge_members_are_minima"].verdict == "contradicted"  # seed 1 left the minimum
    assert "seed 1" in claims["fge_members_are_minima"].measured


def test_claims_09_without_the_seeds_a_budget_needs_are_not_measured():
    units = units_of({("ind", 1): [45.0, 46.0], ("sse", 1): [44.0, 44.5], ("fge", 1): [44.0, 45.0]})
    units.update({(m, 3): [] for m in ("ind", "sse", "fge")})
    claims = {c.key: c for c in ec.claims_09(units)}
    assert claims["fge_beats_ind_3B"].verdict == "not measured" and "3B" in claims["fge_beats_ind_3B"].reason
