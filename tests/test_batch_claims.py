"""Claims of notebooks 01, 02 and 06 on hand-made runs: effects, noises and verdicts worked out by hand."""
import math

import numpy as np
import pytest
import torch

from lossviz.base import io
from lossviz.compute import shape, trajectory
from lossviz.compute.landscapes import PathPlane
from lossviz.course import batch_claims, findings

SMALL, LARGE, WD = 32, 256, 5e-4


def wrong_on(n: int, *ranges: tuple[int, int]) -> list[bool]:
    """Outcomes of n images, wrong on the given [start, stop) ranges."""
    right = np.ones(n, bool)
    for a, b in ranges:
        right[a:b] = False
    return right.tolist()


NAMES = {"small0": (SMALL, 0.0), "large0": (LARGE, 0.0), "small": (SMALL, WD), "large": (LARGE, WD)}


def by_key(**cells):
    """{(batch, wd): [value]}, one training per cell, from small0=, large0=, small=, large= (wd 0 and WD)."""
    return {NAMES[k]: [v] for k, v in cells.items()}


def trainings(**cells):
    """{(batch, wd): values}, one value per training, from small0=, large0=, small=, large=."""
    return {NAMES[k]: list(v) for k, v in cells.items()}


def bowl(curvature: float, points: int = 21, spike: float | None = None) -> io.Surface:
    x = np.linspace(-1, 1, points)
    z = curvature * (x[None, :] ** 2 + x[:, None] ** 2)
    if spike is not None:
        z = z * (1 + spike * (x[None, :] > 0))  # steeper on one half of the plane: a spread around the ring
    return io.Surface(x, x, {"train_loss": z}, np.ones((points, points), bool))


def test_large_batch_worse_paired_on_the_same_images():
    outcomes = by_key(small0=wrong_on(100, (0, 10)), large0=wrong_on(100, (0, 30)),  # 20 only the large gets wrong
                      small=wrong_on(100, (0, 10)), large=wrong_on(100, (5, 15)))  # 5 each way: no difference
    no_wd, wd = batch_claims.large_batch_worse(outcomes)
    assert (no_wd.key, wd.key) == ("large_batch_worse_wd0", "large_batch_worse_wd")
    assert no_wd.effect == pytest.approx(20.0)  # 30% - 10%
    assert no_wd.noise == pytest.approx(100 * math.sqrt((0.2 - 0.2 ** 2) / 100))  # b=20, c=0: 4 points
    assert no_wd.verdict == "reproduced" and "11.07% (batch 8192) vs 7.37% (batch 128)" in no_wd.paper
    assert wd.effect == pytest.approx(0.0) and wd.noise == pytest.approx(100 * math.sqrt(0.1 / 100))
    assert wd.verdict == "within noise" and "10.19%" in wd.paper and "6.00%" in wd.paper
    flipped = batch_claims.large_batch_worse(by_key(small0=wrong_on(100, (0, 30)), large0=wrong_on(100, (0, 10)),
                                                    small=wrong_on(100), large=wrong_on(100)))
    assert flipped[0].verdict == "contradicted" and flipped[0].effect == pytest.approx(-20.0)


def test_the_flip_attempt_gives_the_norms_and_shrink_and_compares_the_errors_paired():
    """The second attempt (weight decay 5e-3): the weights' scale is not measured, its reason says the norms, their
    difference and weight decay's shrink; the test errors are paired on the same images."""
    at = 5e-3
    norms, shrink = {(SMALL, at): [25.0], (LARGE, at): [31.5]}, {(SMALL, at): 0.015, (LARGE, at): 0.24}
    outcomes = {(SMALL, at): [wrong_on(100, (0, 10))], (LARGE, at): [wrong_on(100, (0, 30))]}
    scale, worse = batch_claims.flip_attempt(norms, shrink, outcomes)
    assert scale.key == "weight_scale_wd_strong" and scale.verdict == "not measured"
    assert "25.00 (batch 32) vs 31.50 (batch 256), -6.50" in scale.reason and "0.015 and 0.24" in scale.reason
    assert worse.key == "large_batch_worse_wd_strong" and worse.effect == pytest.approx(20.0)
    assert worse.verdict == "reproduced" and "not trained by Li et al." in worse.paper
    with pytest.raises(ValueError, match="two batch sizes at one positive weight decay"):
        batch_claims.flip_attempt({(SMALL, 0.0): [1.0], (LARGE, 0.0): [2.0]}, {(SMALL, 0.0): 1, (LARGE, 0.0): 1},
                                  {(SMALL, 0.0): [[True]], (LARGE, 0.0): [[True]]})
    claims = batch_claims.claims_01(by_key(small0=[True], large0=[True], small=[True], large=[True]),
                                    by_key(small0=5.0, large0=4.0, small=3.0, large=3.5),
                                    {"factor": [1.0, 2.0], "bn eval": [1.0, 2.0], "bn recomputed": [1.0, 1.0]},
                                    (norms, shrink, outcomes))
    assert [c.key for c in claims][-3:] == ["weight_scale_wd_strong", "large_batch_worse_wd_strong",
                                            "bn_scale_invariance"]


def test_paired_gap_needs_the_same_images():
    with pytest.raises(ValueError, match="same images"):
        batch_claims.paired_gap("k", "c", "p", ("a", [True] * 3), ("b", [True] * 4))


def test_weight_scale_is_not_measured_with_one_training_per_cell_and_says_the_norms():
    claims = batch_claims.weight_scale(by_key(small0=53.7, large0=43.4, small=41.1, large=38.7))
    assert [c.key for c in claims] == ["weight_scale_wd0", "weight_scale_wd"]
    assert all(c.verdict == "not measured" for c in claims)
    assert "53.70 (batch 32) vs 43.40 (batch 256), +10.30" in claims[0].reason and "+2.40" in claims[1].reason
    assert "smaller weights" in claims[1].claim and "larger weights" in claims[0].claim
    # the claim names the run's weight decay (quick's 5e-3 is not the paper's 5e-4, which the paper column gives)
    assert claims[0].claim.endswith("(without weight decay)") and claims[1].claim.endswith("(with weight decay 0.0005)")
    assert findings.numbers(claims) == {"finding_weight_scale_wd0": "not measured",
                                        "finding_weight_scale_wd": "not measured"}


def test_the_study_needs_two_batch_sizes_with_and_without_weight_decay():
    with pytest.raises(ValueError, match="two batch sizes"):
        batch_claims.weight_scale({(32, 0.0): [1.0], (256, 0.0): [2.0]})
    with pytest.raises(ValueError, match="two batch sizes"):
        batch_claims.weight_scale({(32, 1e-4): [1.0], (256, 1e-4): [2.0], (32, WD): [1.0], (256, WD): [2.0]})


def test_scale_invariance_against_a_tolerance():
    exact = {"factor": [0.5, 1.0, 2.0], "bn eval": [7.4, 0.005, 2662.0], "bn recomputed": [0.0062, 0.0062, 0.0062]}
    c = batch_claims.scale_invariance(exact)
    assert c.effect == pytest.approx(batch_claims.INVARIANCE_TOLERANCE) and c.noise == 0
    assert c.verdict == "reproduced" and "5.32e+05 times" in c.measured  # (2662 - 0.005) / 0.005
    drifting = {**exact, "bn recomputed": [0.0062, 0.0062, 0.0124]}  # doubled at c = 2: not invariant
    d = batch_claims.scale_invariance(drifting)
    assert d.effect == pytest.approx(batch_claims.INVARIANCE_TOLERANCE - 1.0) and d.verdict == "contradicted"
    with pytest.raises(ValueError, match="c = 1"):
        batch_claims.scale_invariance({"factor": [2.0, 4.0], "bn eval": [1, 2], "bn recomputed": [1, 2]})


def test_rise_noise_is_the_ring_median_and_its_spread():
    flat = bowl(1.0)
    rise, se = batch_claims.rise_noise(flat)
    assert rise == pytest.approx(shape.summary(flat)["rise"])
    values = shape.ring(flat)
    assert se == pytest.approx(math.sqrt(math.pi / 2) * (np.quantile(values, 0.75, method="inverted_cdf")
                                                         - np.quantile(values, 0.25, method="inverted_cdf"))
                               / 1.349 / math.sqrt(len(values)))
    lopsided_rise, lopsided_se = batch_claims.rise_noise(bowl(1.0, spike=3.0))
    assert lopsided_se > 10 * se  # steeper on one side: the rise depends on the direction


def test_large_batch_sharper_by_the_rise_and_its_ring_noise():
    planes = by_key(small0=bowl(1.0), large0=bowl(4.0), small=bowl(1.0, spike=3.0), large=bowl(1.2, spike=3.0))
    sharper, unclear = batch_claims.large_batch_sharper(planes)
    r_small, r_large = (shape.summary(p[0])["rise"] for p in (planes[SMALL, 0.0], planes[LARGE, 0.0]))
    assert sharper.effect == pytest.approx(r_large - r_small) and r_large == pytest.approx(4 * r_small)
    assert sharper.verdict == "reproduced" and sharper.key == "large_batch_sharper_wd0"
    assert unclear.effect > 0 and unclear.verdict == "within noise"  # 20% sharper, but lopsided rings
    diverged = bowl(1.0)
    diverged.values["train_loss"][np.abs(diverged.values["train_loss"] - 0.25) < 0.1] = np.inf
    assert batch_claims.large_batch_sharper({**planes, (LARGE, 0.0): [diverged]})[0].verdict == "not measured"


def test_large_batch_sharper_over_two_trainings_takes_their_spread_or_the_rings_noise():
    """Two planes per cell: the mean rise of each cell; its noise the spread between the two trainings (half their
    difference), or the planes' own ring noise over sqrt(2) where the two agree more closely than that."""
    rise = {c: shape.summary(bowl(c))["rise"] for c in (1.0, 1.5, 3.0, 5.0)}
    planes = trainings(small0=[bowl(1.0), bowl(1.5)], large0=[bowl(3.0), bowl(5.0)],
                       small=[bowl(1.0), bowl(1.0)], large=[bowl(1.0, spike=3.0), bowl(1.0, spike=3.0)])
    apart, together = batch_claims.large_batch_sharper(planes)
    spread_small, spread_large = (rise[1.5] - rise[1.0]) / 2, (rise[5.0] - rise[3.0]) / 2
    assert apart.effect == pytest.approx((rise[3.0] + rise[5.0]) / 2 - (rise[1.0] + rise[1.5]) / 2)
    assert apart.noise == pytest.approx(math.hypot(spread_small, spread_large))
    assert apart.verdict == "reproduced" and "(noise: 2 trainings)" in apart.measured
    # identical trainings have no spread: each cell keeps its planes' ring noise over sqrt(2)
    own = [batch_claims.rise_noise(p)[1] / math.sqrt(2) for p in (bowl(1.0), bowl(1.0, spike=3.0))]
    assert together.noise == pytest.approx(math.hypot(*own)) and together.noise > 0


def test_sharpness_tracks_error_by_rank_correlation():
    errors = [47.0, 49.0, 45.0, 48.0]
    same = batch_claims.sharpness_tracks_error([2.0, 6.0, 1.0, 5.0], errors)
    # four runs: even a perfect rank correlation is within noise (its exact two-sided p is 2/24 = 0.083); the
    # critical value 1.96 / sqrt(3) = 1.13 lies beyond any rho
    assert same.effect == pytest.approx(1.0) and same.verdict == "within noise"
    assert same.noise == pytest.approx(1.1316, abs=1e-3) and same.margin == 1.0
    one_swap = batch_claims.sharpness_tracks_error([2.0, 5.0, 1.0, 6.0], errors)
    assert one_swap.effect == pytest.approx(0.8) and one_swap.verdict == "within noise"
    tied = batch_claims.sharpness_tracks_error([1.0] * 4, errors)
    assert tied.verdict == "not measured"
    # eight trainings (two per cell), ranked alike: beyond the critical value 1.96 / sqrt(7) = 0.74
    eight = batch_claims.sharpness_tracks_error([1, 2, 3, 4, 5, 6, 7, 8], [10, 11, 12, 13, 14, 16, 15, 17])
    assert eight.effect == pytest.approx(1 - 6 * 2 / (8 * 63)) and eight.verdict == "reproduced"
    assert "over 8 runs" in eight.measured
    with pytest.raises(ValueError, match="one test error per rise"):
        batch_claims.sharpness_tracks_error([1.0, 2.0], [1.0])


def test_two_trainings_per_cell_measure_the_weights_scale_against_their_spread():
    """Norms of two trainings per cell: the gap of each pair, their mean against the standard error of that mean
    (half the difference of two gaps), signed as the paper's direction for each weight decay."""
    claims = batch_claims.weight_scale(trainings(small0=[53.7, 52.1], large0=[43.4, 44.0],  # gaps +10.3, +8.1
                                                 small=[41.1, 40.0], large=[38.7, 41.0]))  # gaps +2.4, -1.0
    larger, smaller = claims
    assert larger.effect == pytest.approx(9.2) and larger.noise == pytest.approx(1.1)
    assert larger.verdict == "reproduced" and "+10.30, +8.10" in larger.measured
    assert smaller.effect == pytest.approx(-0.7) and smaller.noise == pytest.approx(1.7)  # the paper: small < large
    assert smaller.verdict == "within noise" and "means of 2 trainings" in smaller.measured
    flipped = batch_claims.weight_scale(trainings(small0=[40.0, 41.0], large0=[50.0, 50.0], small=[1.0, 1.0],
                                                  large=[2.0, 2.1]))
    assert flipped[0].verdict == "contradicted" and flipped[1].verdict == "reproduced"
    with pytest.raises(ValueError, match="same number of trainings"):
        batch_claims.norm_gap("k", "c", "p", (32, [1.0, 2.0]), (256, [1.0]), 1)


def test_test_errors_over_two_trainings_add_the_spread_to_the_test_images_noise():
    """Two trainings per side on the same 100 images: gaps +20 and +10 points; the noise adds the standard error of
    their mean (5) and the root mean square of each pair's paired noise in quadrature."""
    worse = [wrong_on(100, (0, 30)), wrong_on(100, (0, 20))]
    better = [wrong_on(100, (0, 10)), wrong_on(100, (0, 10))]
    claim = batch_claims.trainings_gap("k", "c", "p", ("batch 256", worse), ("batch 32", better))
    paired = [100 * math.sqrt((0.2 - 0.2 ** 2) / 100), 100 * math.sqrt((0.1 - 0.1 ** 2) / 100)]  # 4 and 3 points
    images = math.sqrt((paired[0] ** 2 + paired[1] ** 2) / 2)
    assert claim.effect == pytest.approx(15.0) and claim.noise == pytest.approx(math.hypot(5.0, images))
    assert claim.verdict == "reproduced"
    assert claim.measured.startswith("batch 256 25.00% vs batch 32 10.00% (means of 2 trainings, each on 100 images)")
    one = batch_claims.trainings_gap("k", "c", "p", ("batch 256", worse[:1]), ("batch 32", better[:1]))
    assert one == batch_claims.paired_gap("k", "c", "p", ("batch 256", worse[0]), ("batch 32", better[0]))
    with pytest.raises(ValueError, match="same number of trainings"):
        batch_claims.trainings_gap("k", "c", "p", ("a", worse), ("b", better[:1]))


def test_by_cell_turns_seeds_of_runs_into_one_list_per_cell():
    per_seed = {0: {(32, 0.0): "a0", (256, 0.0): "b0"}, 1: {(32, 0.0): "a1", (256, 0.0): "b1"}}
    assert batch_claims.by_cell(per_seed, str.upper) == {(32, 0.0): ["A0", "A1"], (256, 0.0): ["B0", "B1"]}
    with pytest.raises(ValueError, match="same cells"):
        batch_claims.by_cell({0: {(32, 0.0): "a0", (256, 0.0): "b0"}, 1: {(32, 0.0): "a1"}}, str)


def test_weight_decay_helps_at_each_batch_size():
    outcomes = by_key(small0=wrong_on(200, (0, 60)), small=wrong_on(200, (0, 40)),  # 20 only without: 30% vs 20%
                      large0=wrong_on(200, (0, 50)), large=wrong_on(200, (10, 60)))  # 10 each way
    small, large = batch_claims.weight_decay_helps(outcomes)
    assert small.key == "weight_decay_helps_small_batch" and small.effect == pytest.approx(10.0)
    assert small.noise == pytest.approx(100 * math.sqrt((0.1 - 0.01) / 200)) and small.verdict == "reproduced"
    assert large.effect == pytest.approx(0.0) and large.verdict == "within noise"
    assert "7.37% without vs 6.00% with (batch 128)" in small.paper and "(batch 8192)" in large.paper
    assert small.measured.startswith("wd 0 30.00% vs wd 0.0005 20.00% on 200 images")


def test_claims_01_and_02_record_a_verdict_each():
    outcomes = by_key(small0=wrong_on(50, (0, 5)), large0=wrong_on(50, (0, 9)), small=wrong_on(50, (0, 4)),
                      large=wrong_on(50, (0, 8)))
    c01 = batch_claims.claims_01(outcomes, by_key(small0=5.0, large0=4.0, small=3.0, large=3.5),
                                 {"factor": [1.0, 2.0], "bn eval": [1.0, 9.0], "bn recomputed": [1.0, 1.0]})
    c02 = batch_claims.claims_02(by_key(small0=bowl(1.0), large0=bowl(3.0), small=bowl(0.5), large=bowl(2.0)),
                                 outcomes)
    for claims in (c01, c02):
        assert len({c.key for c in claims}) == len(claims) >= 5
        for key, value in findings.numbers(claims).items():
            assert not key.endswith(("_effect", "_noise", "_margin")) or math.isfinite(value)
    ranked = {c.key: c for c in c02}["sharpness_tracks_error"]
    assert ranked.effect == pytest.approx(1.0)  # rises 1, 3, 0.5, 2 and errors 10, 18, 8, 16% in the same order


def random_walk(steps, dim=20_000, seed=0, drift=0.0):
    """A path of checkpoints {"w": (dim,) tensor}: steps of the given lengths in independent random directions, plus
    a common direction with weight `drift` (drift 1: every step along the same line, plus the noise)."""
    gen = torch.Generator().manual_seed(seed)
    common = torch.randn(dim, generator=gen, dtype=torch.float64)
    common /= common.norm()
    path, w = [{"w": torch.zeros(dim, 1, dtype=torch.float64)}], torch.zeros(dim, dtype=torch.float64)
    for s in steps:
        g = torch.randn(dim, generator=gen, dtype=torch.float64)
        g = g / g.norm() + drift * common
        w = w + s * g / g.norm()
        path.append({"w": w.reshape(dim, 1).clone()})
    return path


def test_random_walk_explained_matches_the_limit_and_a_simulated_walk():
    r1, r2 = trajectory.random_walk_explained([1.0] * 2000)
    assert r1 == pytest.approx(6 / math.pi ** 2, rel=1e-3) and r2 == pytest.approx(6 / (2 * math.pi) ** 2, rel=1e-3)
    steps = [1.0 + 0.1 * i for i in range(20)] + [0.05] * 10  # growing, then nearly stopped (a learning-rate drop)
    path = random_walk(steps)
    assert trajectory.step_lengths(path) == pytest.approx(steps, rel=1e-9)
    found = trajectory.pca(path).explained
    assert sum(found) == pytest.approx(sum(trajectory.random_walk_explained(steps)), abs=0.02)
    with pytest.raises(ValueError, match="not all zero"):
        trajectory.random_walk_explained([0.0, 0.0, 0.0])


def path_plane(path) -> PathPlane:
    return PathPlane(None, trajectory.pca(path), tuple(range(len(path))))


def test_claims_06_tell_a_structured_path_from_a_random_walk():
    steps = [1.0] * 15
    walks = {f"walk {i}": random_walk(steps, seed=100 + i) for i in range(4)}  # not the projection's seed 0
    lines = {f"drift {i}": random_walk(steps, seed=200 + i, drift=2.0) for i in range(4)}

    def claims(paths):
        extents = {k: (float(abs(trajectory.random_path_projection(p)).max()),
                       float(abs(trajectory.pca(p).coords).max())) for k, p in paths.items()}
        return {c.key: c for c in batch_claims.claims_06({k: path_plane(p) for k, p in paths.items()}, paths, extents)}

    walk, line = claims(walks), claims(lines)
    assert walk["pca_captures_path"].verdict == "reproduced"  # about 76% of a random walk: "most" by itself
    # a random walk matches the limit up to a small bias of finite dimension (~0.002 in 20,000 dimensions: noise
    # lifts the top eigenvalues), far below the excess of a path with a direction
    assert abs(walk["pca_beyond_random_walk"].effect) < 0.005
    assert line["pca_beyond_random_walk"].verdict == "reproduced" and line["pca_beyond_random_walk"].effect > 0.1
    # in 20,000 dimensions a random unit direction sees ~1/sqrt(20,000) of the path: log10 ratio ~2 > 1
    assert walk["random_directions_miss_path"].verdict == "reproduced"
    assert 1.0 < walk["random_directions_miss_path"].effect + batch_claims.FEW < 3.0
    with pytest.raises(ValueError, match="at least two"):
        batch_claims.claims_06({"a": path_plane(walks["walk 0"])}, {"a": walks["walk 0"]}, {"a": (1.0, 2.0)})


def test_a_path_of_three_checkpoints_is_not_measured():
    paths = {f"p{i}": random_walk([1.0, 1.0], seed=300 + i) for i in range(2)}
    extents = {k: (0.01, 1.0) for k in paths}
    claims = {c.key: c for c in batch_claims.claims_06({k: path_plane(p) for k, p in paths.items()}, paths, extents)}
    assert claims["pca_captures_path"].verdict == claims["pca_beyond_random_walk"].verdict == "not measured"
    assert "3 checkpoints" in claims["pca_captures_path"].reason
    assert claims["random_directions_miss_path"].effect == pytest.approx(1.0)  # log10(100) - 1, no spread


def test_the_claims_table_keeps_its_columns():
    """No claim writes a | of its own (a norm as ||θ|| would split the markdown table's cells)."""
    claims = batch_claims.claims_01(by_key(small0=[True, False], large0=[False, False], small=[True, True],
                                           large=[True, False]), by_key(small0=5.0, large0=4.0, small=3.0, large=3.5),
                                    {"factor": [1.0, 2.0], "bn eval": [1.0, 9.0], "bn recomputed": [1.0, 1.0]})
    rows = findings.table(claims).splitlines()[2:]
    assert len(rows) == len(claims) and all(row.count("|") == 5 for row in rows)
