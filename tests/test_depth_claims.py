"""The claims of notebooks 03-05 on hand-made runs: effects, noises and verdicts worked by hand."""
import math

import numpy as np
import pytest

from lossviz.compute import gradient_scale
from lossviz.course import depth_claims as dc
from lossviz.course import findings
from lossviz.course.tables import Minimizer


def right(wrong: list[int]) -> list[bool]:
    """Per-image outcomes (True: correct) from 0/1 marks of the images a network gets wrong."""
    return [not w for w in wrong]


def by_key(claims):
    return {c.key: c for c in claims}


def deep_pair(names) -> tuple[dict, dict, dict]:
    """(summaries, rises, sharp) of one training per network, all alike: claims_03c's arguments."""
    return ({n: [{"rise": 1.0, "local_minima": 1}] for n in names}, {n: [[1.0, 1.5, 2.0]] for n in names},
            {n: [{"trace": 10.0, "trace_se": 1.0}] for n in names})


def test_names_depths_widths_and_twins():
    assert dc.shape_of("resnet56_noshort") == (56, 1, False)
    assert dc.shape_of("wrn20_2") == (20, 2, True)
    with pytest.raises(ValueError, match="name='vgg9'"):
        dc.shape_of("vgg9")
    names = ["resnet56", "b32_wd0", "resnet20_noshort", "resnet56_noshort", "resnet20", "wrn20_2", "wrn20_2_noshort"]
    assert dc.shortcut_pairs(names) == [("resnet20", "resnet20_noshort"), ("resnet56", "resnet56_noshort")]
    assert dc.width_pair(names) == ("resnet20", "wrn20_2")  # depth 56 has one width here
    assert dc.width_pair(["resnet20", "wrn20_2", "wrn20_2_noshort"], shortcuts=False) is None
    assert dc.width_pair(["wrn56_8_noshort", "wrn56_1_noshort", "wrn56_2_noshort"], shortcuts=False) == (
        "wrn56_1_noshort", "wrn56_8_noshort")


def test_a_paired_gap_worked_by_hand():
    # 10 images: the -NS network gets 6 wrong, its twin 2 (both among the 6): b = 4 only -NS, c = 0
    # effect 60 - 20 = 40 points; variance 0.4 - 0.4^2 = 0.24; se sqrt(0.24 / 10) = 0.15492 -> 15.49 points
    outcomes = {"resnet20_noshort": right([1] * 6 + [0] * 4), "resnet20": right([1] * 2 + [0] * 8)}
    c = dc.paired_gap("k", "claim", "paper", outcomes, "resnet20_noshort", "resnet20")
    assert c.effect == pytest.approx(40.0)
    assert c.noise == pytest.approx(15.492, abs=1e-3)
    assert c.verdict == "reproduced"  # 40 > 2 * 15.49
    assert "ResNet-20-NS 60.00% vs ResNet-20 20.00% on 10 images" in c.measured
    # unpaired, the same difference would carry sqrt(0.24/10 + 0.16/10) = 0.2 -> 20 points: within noise
    assert findings.verdict(40.0, findings.stats.difference_se(60.0, 20.0, 10)) == "within noise"


def test_the_difference_of_two_gaps_and_its_per_image_noise():
    # 8 images; wrong: deep -NS on 1,2,3 (and 5,6,7), deep none, shallow -NS on 1 (and 5), shallow none:
    # d = [0,1,1,0] twice, mean 0.5, variance 0.5 - 0.25 = 0.25, se sqrt(0.25 / 8) = 0.17678 -> 17.68 points
    outcomes = {"resnet20": right([0] * 8), "resnet20_noshort": right([1, 0, 0, 0] * 2),
                "resnet56": right([0] * 8), "resnet56_noshort": right([1, 1, 1, 0] * 2)}
    assert dc.contrast_se(outcomes, ("resnet56_noshort", "resnet56"), ("resnet20_noshort", "resnet20")) == (
        pytest.approx(17.678, abs=1e-3))
    claims = by_key(dc.claims_03b(outcomes))
    assert set(claims) == {"deep_shortcuts_error", "shortcuts_matter_more_with_depth"}  # sharpness: notebook 03c
    assert claims["deep_shortcuts_error"].effect == pytest.approx(75.0)
    more = claims["shortcuts_matter_more_with_depth"]
    assert more.effect == pytest.approx(75.0 - 25.0) and more.noise == pytest.approx(17.678, abs=1e-3)
    assert more.verdict == "reproduced"  # 50 > 35.36
    assert "13.31%" in more.paper and "8.18%" in more.paper
    # half the images: se sqrt(0.25 / 4) = 0.25 -> 25 points, and 50 is not beyond 2 x 25
    half = {n: o[:4] for n, o in outcomes.items()}
    half_claims = by_key(dc.claims_03b(half))
    assert half_claims["shortcuts_matter_more_with_depth"].verdict == "within noise"


def test_one_depth_cannot_say_whether_depth_matters():
    outcomes = {"resnet20": right([0, 1, 0, 0]), "resnet20_noshort": right([1, 1, 0, 0])}
    claims = by_key(dc.claims_03b(outcomes))
    assert claims["shortcuts_matter_more_with_depth"].verdict == "not measured"
    assert claims["deep_shortcuts_error"].effect == pytest.approx(25.0)
    with pytest.raises(ValueError, match="twin without shortcuts"):
        dc.claims_03b({"resnet20": right([0])})


def test_the_deep_pairs_sharpness_and_chaos_over_its_planes():
    summaries, rises, sharp = deep_pair(("resnet56", "resnet56_noshort"))
    claims = by_key(dc.claims_03c(summaries, rises, sharp))
    assert set(claims) == {"sharper_without_shortcuts", "trace_without_shortcuts", "chaotic_without_shortcuts"}
    assert claims["chaotic_without_shortcuts"].verdict == "not measured"
    second = {n: [{**s[0], "local_minima": 9}] for n, s in summaries.items()}  # a second plane of each training
    chaotic = by_key(dc.claims_03c(summaries, rises, sharp, second))["chaotic_without_shortcuts"]
    first = {n: int(s[0]["local_minima"]) for n, s in summaries.items()}
    assert (f"ResNet-56-NS: {first['resnet56_noshort']}, 9; ResNet-56: {first['resnet56']}, 9; 2 planes each"
            in chaotic.reason)
    with pytest.raises(ValueError, match="twin without shortcuts"):
        dc.claims_03c(*deep_pair(("resnet56",)))


def test_the_growth_fit_and_its_standard_error_by_hand():
    # log ratios [0, 1, 0, 1] (and a classifier the fit leaves out): x = [-1.5, -0.5, 0.5, 1.5], slope 1.0 / 5 = 0.2,
    # residuals [-0.2, 0.6, -0.6, 0.2], se sqrt(0.8 / 2 / 5) = 0.28284; growth towards the input exp(-0.2)
    ratios = [math.exp(v) for v in (0, 1, 0, 1)] + [5.0]
    log_growth, se = dc.growth_fit(ratios)
    assert log_growth == pytest.approx(-0.2) and se == pytest.approx(math.sqrt(0.08))
    assert math.exp(log_growth) == pytest.approx(gradient_scale.growth_per_layer(ratios))
    exact = [1.2 ** -i for i in range(10)]
    assert dc.growth_fit(exact) == pytest.approx((math.log(1.2), 0.0), abs=1e-12)


def test_the_gradient_claim_compares_the_deepest_twins():
    rng = np.random.default_rng(0)

    def layers(growth):
        return {f"l{i}": growth ** -i * math.exp(rng.normal(0, 0.05)) for i in range(20)}
    ratios = {"resnet20": layers(1.09), "resnet20_noshort": layers(1.19), "resnet56": layers(1.06),
              "resnet56_noshort": layers(1.18)}
    c = dc.gradient_growth(ratios)
    assert "ResNet-56-NS" in c.measured and c.verdict == "reproduced"
    assert c.effect == pytest.approx(math.log(1.18 / 1.06), abs=0.02) and 0 < c.noise < 0.01
    assert dc.gradient_growth({"resnet20": layers(1.0)}).verdict == "not measured"
    flat = dc.gradient_growth({"resnet20": layers(1.2), "resnet20_noshort": layers(1.0)})
    assert flat.verdict == "contradicted"


def test_claims_of_notebook_03_and_04_at_a_smoke_like_profile():
    outcomes = {"resnet20": right([1, 0, 0, 0] * 25), "resnet20_noshort": right([1, 1, 0, 0] * 25),
                "wrn20_2": right([1, 0, 0, 0] * 25)}
    summaries = {n: {"rise": 2.0, "local_minima": 1} for n in outcomes}
    ratios = {n: {f"l{i}": 1.1 ** -i for i in range(6)} for n in ("resnet20", "resnet20_noshort")}
    c03 = by_key(dc.claims_03({k: outcomes[k] for k in ("resnet20", "resnet20_noshort")}, ratios, summaries))
    # 25 of 100 images wrong only for -NS: effect 25, se sqrt((0.25 - 0.0625) / 100) = 0.0433 -> 4.33 points
    assert c03["shortcuts_error"].effect == pytest.approx(25.0)
    assert c03["shortcuts_error"].noise == pytest.approx(4.330, abs=1e-3)
    assert c03["shortcuts_error"].verdict == "reproduced"
    assert c03["gradient_growth"].verdict == "within noise"  # the same exact growth: effect 0, noise 0
    assert c03["rough_without_shortcuts"].verdict == "not measured"
    assert "ResNet-20: rise 2.00, local minima 1" in c03["rough_without_shortcuts"].reason
    c04 = by_key(dc.claims_04(outcomes, {n: [[2.0, 2.5]] for n in outcomes}))
    assert c04["width_lowers_error"].effect == 0.0 and c04["width_lowers_error"].verdict == "within noise"
    assert c04["width_rescues_noshort"].verdict == "not measured"
    assert c04["width_flattens"].verdict == "not measured"
    assert "5.89%" in c04["width_lowers_error"].paper and "3.93%" in c04["width_lowers_error"].paper


def test_width_rescues_the_network_without_shortcuts():
    outcomes = {"resnet20": right([0] * 40), "wrn20_2": right([0] * 40),
                "resnet20_noshort": right([1] * 20 + [0] * 20), "wrn20_2_noshort": right([1] * 10 + [0] * 30)}
    rescue = by_key(dc.claims_04(outcomes, {n: [[2.0, 2.5]] for n in outcomes}))["width_rescues_noshort"]
    # 10 of 40 only the narrow one: effect 25, se sqrt((0.25 - 0.0625) / 40) = 0.06847 -> 6.85 points
    assert rescue.effect == pytest.approx(25.0) and rescue.noise == pytest.approx(6.847, abs=1e-3)
    assert rescue.verdict == "reproduced" and "13.31%" in rescue.paper and "lower with k" in rescue.paper


def test_flatness_falls_back_to_the_pair_without_shortcuts():
    """Where the profile trains one width with shortcuts (quick), the flatness claim compares the pair without."""
    outcomes = {n: right([0] * 40) for n in ("resnet20", "resnet20_noshort", "wrn20_2_noshort")}
    rises = {"resnet20": [[3.0, 3.2]], "resnet20_noshort": [[2.0, 2.4]], "wrn20_2_noshort": [[0.5, 0.6]]}
    claims = by_key(dc.claims_04(outcomes, rises))
    flat = claims["width_flattens"]
    assert flat.verdict == "not measured"  # one training each: the spread between trainings decides
    assert "ResNet-20-NS" in flat.reason and "WRN-20-2-NS" in flat.reason and "ResNet-20 " not in flat.reason
    assert claims["width_lowers_error"].verdict == "not measured"


def row(name, train_loss, test_error):
    return Minimizer(name, train_loss, test_error, 1.0, 2000, 30, 600, None)


def test_claims_of_notebook_05():
    def eig_map(center, rim):
        lo = np.full((3, 3), -rim * 10.0)
        lo[1, 1] = -center * 10.0
        return {"min_eig": lo, "max_eig": np.full((3, 3), 10.0)}
    maps = {"resnet20": eig_map(0.005, 0.3), "resnet20_noshort": eig_map(0.008, 0.5)}
    names = ["b32", "b256", "resnet56", "resnet56_noshort", "resnet20"]
    rows = {n: row(n, loss, err) for n, loss, err in zip(names, [0.01, 0.02, 0.03, 0.04, 0.05],
                                                        [45.0, 48.0, 50.0, 60.0, 47.0])}
    sharp = {n: {"lambda_max": lam, "trace": tr, "trace_se": se} for n, lam, tr, se in zip(
        names, [5, 4, 3, 2, 1], [20, 100, 552.5, 594.4, 300], [2, 10, 41.6, 44.8, 40])}
    rises = dict(zip(names, [1.0, 2.0, 3.0, 5.0, 1.5]))  # the same order as the test errors: rho = +1
    claims = by_key(dc.claims_05(maps, sharp, rises, rows))
    convex = claims["convex_at_minimizer"]
    assert convex.effect == pytest.approx(0.1 - 0.008) and convex.noise == pytest.approx(1e-4)
    assert convex.verdict == "reproduced"
    assert claims["less_convex_without_shortcuts"].verdict == "not measured"
    assert "median ratio 0.500" in claims["less_convex_without_shortcuts"].reason
    rise = claims["rise_tracks_error"]
    assert rise.effect == pytest.approx(1.0) and rise.margin == 1.0 and rise.verdict == "reproduced"
    # lambda_max falls as the training loss rises: rho = -1, beyond the critical value the other way
    assert claims["lambda_max_tracks_train_loss"].verdict == "contradicted"
    trace = claims["sharper_without_shortcuts"]
    # 594.4 - 552.5 = 41.9 against hypot(44.8, 41.6) = 61.14: within noise
    assert trace.effect == pytest.approx(41.9) and trace.noise == pytest.approx(61.136, abs=1e-3)
    assert trace.verdict == "within noise"
    sharp_center = {"resnet20": eig_map(0.5, 0.5)}
    assert by_key(dc.claims_05(sharp_center, sharp, rises, rows))["convex_at_minimizer"].verdict == "contradicted"


def test_the_claims_record_as_the_notebook_tests_check():
    outcomes = {"resnet20": right([0, 1] * 50), "resnet20_noshort": right([1, 1] * 50)}
    found = findings.numbers(dc.claims_03b(outcomes) + dc.claims_03c(*deep_pair(outcomes)))
    assert found["finding_deep_shortcuts_error"] == findings.verdict(
        found["finding_deep_shortcuts_error_effect"], found["finding_deep_shortcuts_error_noise"],
        found["finding_deep_shortcuts_error_margin"])
    assert found["finding_chaotic_without_shortcuts"] == "not measured"
    assert found["finding_sharper_without_shortcuts"] == "not measured"  # one training each
    assert dc.image_count(outcomes) == 100
    with pytest.raises(ValueError, match="different numbers"):
        dc.image_count({"a": [True], "b": [True, False]})


def test_sharpness_over_two_trainings_is_a_finding_by_their_spread():
    # -NS: rises per direction seed in two trainings, means 5.0 and 7.0 -> 6.0, se |7 - 5| / 2 = 1.0
    # ResNet-56: means 2.0 and 2.4 -> 2.2, se 0.2; effect 3.8, noise hypot(1.0, 0.2) = 1.0198: reproduced
    rises = {"resnet56_noshort": [[4.0, 6.0], [6.5, 7.5]], "resnet56": [[1.5, 2.5], [2.2, 2.6]]}
    c = dc.rise_claim("k", "sharper", "Fig. 5", rises, "resnet56_noshort", "resnet56")
    assert c.effect == pytest.approx(3.8) and c.noise == pytest.approx(math.hypot(1.0, 0.2))
    assert c.verdict == "reproduced"
    assert "rise at 0.5 over 2 direction seeds: ResNet-56-NS 6.00 ± 1.00 vs ResNet-56 2.20 ± 0.20" in c.measured
    assert "(spread over 2 trainings each; ± the standard error of the mean over trainings)" in c.measured
    # one training each: the spread over directions is shown (-NS: [4, 6] -> 5.00 ± 1.00), without a verdict
    one = dc.rise_claim("k", "sharper", "Fig. 5", {n: r[:1] for n, r in rises.items()}, "resnet56_noshort",
                        "resnet56")
    assert one.verdict == "not measured"
    assert "ResNet-56-NS 5.00 ± 1.00 vs ResNet-56 2.00 ± 0.50" in one.reason and "one training each" in one.reason
    # a diverged direction: no rise to average
    inf = {**rises, "resnet56": [[1.0, math.inf], [2.0, 2.0]]}
    assert "diverged" in dc.rise_claim("k", "c", "p", inf, "resnet56_noshort", "resnet56").reason
    with pytest.raises(ValueError, match="at least 2 direction seeds"):
        dc.rise_claim("k", "c", "p", {**rises, "resnet56": [[1.0], [2.0]]}, "resnet56_noshort", "resnet56")
    # the trace over two trainings: -NS 90 and 110 (se 10), ResNet-56 100 and 100 (se 0): effect 0, within noise
    sharp = {"resnet56_noshort": [{"trace": 90.0, "trace_se": 3.0}, {"trace": 110.0, "trace_se": 3.0}],
             "resnet56": [{"trace": 100.0, "trace_se": 2.0}, {"trace": 100.0, "trace_se": 2.0}]}
    t = dc.trace_claim("t", "sharper", "Fig. 7", sharp, "resnet56_noshort", "resnet56")
    assert (t.effect, t.noise, t.verdict) == (pytest.approx(0.0), pytest.approx(10.0), "within noise")


def test_trainings_group_by_network_and_minima_have_no_verdict():
    grouped = dc.trainings_of({"resnet56": 1, "resnet56_noshort": 2, "resnet56_seed1": 3, "resnet56_noshort_seed1": 4})
    assert grouped == {"resnet56": [1, 3], "resnet56_noshort": [2, 4]}
    summaries = {"resnet56_noshort": [{"local_minima": 7}, {"local_minima": 4}],
                 "resnet56": [{"local_minima": 1}, {"local_minima": 0}]}
    c = dc.minima_claim("m", "chaotic", "Fig. 5", summaries, "resnet56_noshort", "resnet56")
    assert c.verdict == "not measured"
    assert "local minima on each 2D plane (ResNet-56-NS: 7, 4; ResNet-56: 1, 0; 2 planes each)" in c.reason
