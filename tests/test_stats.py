"""Noise and rank statistics: checked against scipy's independent implementation."""
import numpy as np
import pytest
from scipy import stats as scipy_stats

from lossviz.base import stats


def test_ranks_share_the_mean_rank_of_ties():
    assert stats.ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spearman_matches_scipy_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=12)
    y = x + rng.normal(size=12)
    y[3] = y[5]  # a tie
    expected = scipy_stats.spearmanr(x, y).statistic
    assert abs(stats.spearman(list(x), list(y)) - expected) < 1e-12
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert stats.spearman([1, 2, 3, 4], [9, 1, 0.5, -2]) == -1.0


@pytest.mark.parametrize("x, y, match", [([1.0], [2.0], "at least 2"), ([1, 2, 3], [1, 2], "equally long"),
                                         ([1, 2, float("nan")], [1, 2, 3], "finite"), ([1, 1, 1], [1, 2, 3], "different")])
def test_spearman_rejects_bad_input(x, y, match):
    with pytest.raises(ValueError, match=match):
        stats.spearman(x, y)
