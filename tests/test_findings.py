"""The course's one rule for verdicts and its noise formulas, on hand-worked cases."""
import math

import pytest

from lossviz.base import stats
from lossviz.course import findings


@pytest.mark.parametrize("effect, noise, expected", [(2.5, 1.0, "reproduced"), (2.0, 1.0, "within noise"),
                                                     (-2.01, 1.0, "contradicted"), (-1.0, 1.0, "within noise"),
                                                     (0.0, 0.0, "within noise"), (None, 1.0, "not measured"),
                                                     (math.nan, 1.0, "not measured"), (1e-9, 0.0, "reproduced")])
def test_the_rule(effect, noise, expected):
    assert findings.verdict(effect, noise) == expected


def test_the_rule_refuses_a_negative_noise():
    with pytest.raises(ValueError, match="noise=-1"):
        findings.verdict(1.0, -1.0)


def test_noise_of_a_test_error_and_of_a_difference_worked_by_hand():
    # p = 0.45 on 2,000 images: sqrt(0.45 * 0.55 / 2000) = 0.011124 -> 1.1124 points
    assert stats.binomial_se(45.0, 2000) == pytest.approx(1.1124, abs=1e-4)
    # two independent errors 45% and 48.8% on 2,000 images each: hypot(1.1124, 1.1177) = 1.5769
    assert stats.difference_se(45.0, 48.8, 2000) == pytest.approx(1.5769, abs=1e-4)
    # the same 2,000 images: 100 wrong only for the first, 176 only for the second:
    # mean (100 - 176)/2000 = -0.038; variance 276/2000 - 0.038^2 = 0.136556; se sqrt(0.136556/2000) = 0.008263
    assert stats.paired_difference_se(100, 176, 2000) == pytest.approx(0.8263, abs=1e-4)
    with pytest.raises(ValueError, match="n"):
        stats.paired_difference_se(1500, 600, 2000)


def test_spread_and_the_critical_value_of_a_rank_correlation():
    assert stats.spread_se([1.0, 2.0, 3.0]) == pytest.approx(1.0 / math.sqrt(3))  # std 1, three values
    assert stats.spearman_critical(10) == pytest.approx(1.95996 / 3, abs=1e-4)  # tables: 0.648 exact
    assert stats.spearman_critical(30) == pytest.approx(0.364, abs=0.001)  # tables: 0.362
    with pytest.raises(ValueError, match="n=3"):
        stats.spearman_critical(3)


def test_an_error_gap_claim_follows_the_rule_paired_or_not():
    unpaired = findings.error_gap("large_batch_worse", "large batches generalize worse", "VGG-9: 7.37 vs 11.07%",
                                  ("b=256", 48.8), ("b=32", 45.0), 2000)
    assert unpaired.effect == pytest.approx(3.8) and unpaired.noise == pytest.approx(1.5769, abs=1e-4)
    assert unpaired.verdict == "reproduced"  # 3.8 > 2 x 1.58
    smaller = findings.error_gap("k", "c", "p", ("b=256", 47.0), ("b=32", 45.0), 2000)
    assert smaller.verdict == "within noise"  # 2.0 < 2 x 1.57
    paired = findings.error_gap("k", "c", "p", ("b=256", 47.0), ("b=32", 45.0), 2000, paired=(176, 136))
    assert paired.noise == pytest.approx(stats.paired_difference_se(176, 136, 2000)) and paired.verdict == "reproduced"
    reverse = findings.error_gap("k", "c", "p", ("b=256", 40.0), ("b=32", 45.0), 2000)
    assert reverse.verdict == "contradicted"


def test_a_correlation_claim_compares_rho_with_its_critical_value():
    assert findings.correlation("k", "c", "p", 0.70, 10).verdict == "reproduced"
    assert findings.correlation("k", "c", "p", 0.60, 10).verdict == "within noise"
    assert findings.correlation("k", "c", "p", 0.70, 10, sign=-1).verdict == "contradicted"


def test_table_and_records():
    claims = [findings.comparison("wider_flatter", "wider nets are flatter", "Fig. 6", "rise 2.0 vs 4.1", 2.1, 0.5),
              findings.not_measured("curvature", "the Hessian map", "Fig. 7", "too costly at this profile")]
    text = findings.table(claims)
    assert text.splitlines()[0] == "| claim | paper | this run | verdict |"
    assert "| wider nets are flatter | Fig. 6 | rise 2.0 vs 4.1 | **reproduced** |" in text
    assert "too costly at this profile | **not measured** |" in text
    assert findings.numbers(claims) == {"finding_wider_flatter": "reproduced", "finding_wider_flatter_effect": 2.1,
                                        "finding_wider_flatter_noise": 0.5, "finding_wider_flatter_margin": 2.0,
                                        "finding_curvature": "not measured"}
    with pytest.raises(ValueError, match="distinct"):
        findings.table(claims + claims[:1])
    with pytest.raises(ValueError, match="give the reason"):
        findings.Claim("k", "c", "p", None)
    with pytest.raises(ValueError, match="key="):
        findings.Claim("not a name", "c", "p", 1.0)
