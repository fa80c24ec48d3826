"""Noise and rank statistics: the rank correlation checked against a computation by hand."""
import numpy as np
import pytest

from lossviz.base import stats


def test_spearman_is_the_pearson_correlation_of_the_ranks_with_ties_at_their_mean_rank():
    x, y = [3.0, 1.0, 3.0, 2.0, 7.0], [0.5, 0.1, 0.9, 0.2, 0.3]
    ranks_x, ranks_y = [3.5, 1.0, 3.5, 2.0, 5.0], [4.0, 1.0, 5.0, 2.0, 3.0]  # by hand; the tie shares 3 and 4
    expected = np.corrcoef(ranks_x, ranks_y)[0, 1]
    assert abs(stats.spearman(x, y) - expected) < 1e-12
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert stats.spearman([1, 2, 3, 4], [9, 1, 0.5, -2]) == -1.0


@pytest.mark.parametrize("x, y, match", [([1.0], [2.0], "at least 2"), ([1, 2, 3], [1, 2], "equally long"),
                                         ([1, 2, float("nan")], [1, 2, 3], "finite"),
                                         ([1, 1, 1], [1, 2, 3], "different")])
def test_spearman_rejects_bad_input(x, y, match):
    with pytest.raises(ValueError, match=match):
        stats.spearman(x, y)


def test_median_se_from_the_quartiles_by_hand_and_a_diverged_value():
    # quartiles of 1, 2, 3, 4 as order statistics: 1 and 3; sigma = 2 / 1.349; se = sqrt(pi/2) * sigma / sqrt(4)
    assert stats.median_se([4.0, 1.0, 3.0, 2.0]) == pytest.approx(np.sqrt(np.pi / 2) * 2 / 1.349 / 2)
    finite = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert stats.median_se(finite[:-1] + [np.inf]) == stats.median_se(finite)  # one diverged value changes nothing
    assert stats.median_se(finite[:5] + [np.inf] * 3) == np.inf  # three of eight: the upper quartile diverged
    rng = np.random.default_rng(0)  # the median of 101 normal draws varies by about sqrt(pi/2) / sqrt(101)
    medians = [np.median(rng.normal(size=101)) for _ in range(2000)]
    assert stats.median_se(rng.normal(size=10_000)) * np.sqrt(10_000 / 101) == pytest.approx(np.std(medians), rel=0.1)
    with pytest.raises(ValueError, match="at least 2"):
        stats.median_se([1.0])
    with pytest.raises(ValueError, match="NaN"):
        stats.median_se([1.0, np.nan])
