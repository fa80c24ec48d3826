"""Noise levels that decide whether a difference is a finding."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.stats


def binomial_se(error_pct: float, n: int) -> float:
    """Standard error (percentage points) of a test error of `error_pct` % measured on n images: sqrt(p(1-p)/n)."""
    if n < 1:
        raise ValueError(f"n={n} must be a positive number of images")
    if not 0 <= error_pct <= 100:
        raise ValueError(f"error_pct={error_pct} must be a percentage in [0, 100]")
    p = error_pct / 100.0
    return 100.0 * math.sqrt(p * (1 - p) / n)


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation of two equally long sequences (scipy's, ties at their mean rank): the Pearson
    correlation of their ranks (1: the same order, -1: the reverse)."""
    x, y = [float(v) for v in x], [float(v) for v in y]
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"x and y must be equally long, with at least 2 values; got {len(x)} and {len(y)}")
    if not all(math.isfinite(v) for v in x + y):
        raise ValueError("x and y must be finite numbers")
    if len(set(x)) < 2 or len(set(y)) < 2:
        raise ValueError("x and y must each hold at least two different values for a rank correlation")
    return float(scipy.stats.spearmanr(x, y).statistic)


def difference_se(error1_pct: float, error2_pct: float, n1: int, n2: int | None = None) -> float:
    """Standard error (percentage points) of the difference of two test errors measured on independent image sets
    (n1 and n2 images): sqrt(se1^2 + se2^2). On the same images this overstates the noise when the two networks err
    on the same images (see `paired_difference_se`)."""
    return math.hypot(binomial_se(error1_pct, n1), binomial_se(error2_pct, n2 if n2 is not None else n1))


def paired_difference_se(only_first_wrong: int, only_second_wrong: int, n: int) -> float:
    """Standard error (percentage points) of error1 - error2 measured on the same n images, from the images only the
    first network gets wrong (b) and only the second gets wrong (c): d_i in {-1, 0, 1}, mean (b - c)/n,
    variance (b + c)/n - ((b - c)/n)^2, standard error sqrt(variance / n)."""
    if n < 1 or min(only_first_wrong, only_second_wrong) < 0 or only_first_wrong + only_second_wrong > n:
        raise ValueError(f"need 0 <= only_first_wrong ({only_first_wrong}) + only_second_wrong "
                         f"({only_second_wrong}) <= n ({n}), n >= 1")
    b, c = only_first_wrong / n, only_second_wrong / n
    return 100.0 * math.sqrt(max(b + c - (b - c) ** 2, 0.0) / n)


def spread_se(values: list[float]) -> float:
    """Standard error of the mean of repeated measurements (seeds, trainings): sample std / sqrt(k)."""
    if len(values) < 2:
        raise ValueError(f"values must hold at least 2 measurements for a spread; got {len(values)}")
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1) / len(values))


def spearman_critical(n: int, alpha: float = 0.05) -> float:
    """The two-sided critical value of Spearman's rho for n pairs at level `alpha`, by the normal approximation
    z / sqrt(n - 1) (rho has variance 1/(n - 1) under independence): 0.653 at n = 10 against the exact 0.648 of the
    tables, so it errs on the side of "within noise"."""
    if n < 4:
        raise ValueError(f"n={n} pairs are too few for a critical value of a rank correlation (n >= 4)")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie in (0, 1)")
    return float(scipy.stats.norm.ppf(1 - alpha / 2)) / math.sqrt(n - 1)


def paired_counts(right1: Sequence[bool], right2: Sequence[bool]) -> tuple[int, int]:
    """(images only the first gets wrong, images only the second gets wrong) of two per-image outcomes on the same
    images (True: classified correctly): the counts `paired_difference_se` needs."""
    if len(right1) != len(right2) or not len(right1):
        raise ValueError(f"the outcomes must cover the same images; got {len(right1)} and {len(right2)}")
    only_first = sum(1 for a, b in zip(right1, right2) if not a and b)
    only_second = sum(1 for a, b in zip(right1, right2) if a and not b)
    return only_first, only_second



def median_se(values: Sequence[float] | np.ndarray) -> float:
    """Standard error of the median of k measurements: sqrt(pi/2) * sigma / sqrt(k), sigma estimated as the
    interquartile range / 1.349 (a normal's; quartiles are order statistics, numpy's "inverted_cdf"), so a diverged
    value (inf) does not carry it away; inf when a quarter or more of the values are +inf."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) < 2 or np.isnan(v).any() or (v == -np.inf).any():
        raise ValueError(f"values must be at least 2 numbers, none NaN or -inf; got {v.tolist()[:5]}")
    q1, q3 = np.quantile(v, [0.25, 0.75], method="inverted_cdf")
    if not np.isfinite(q3):
        return math.inf
    return math.sqrt(math.pi / 2) * float(q3 - q1) / 1.349 / math.sqrt(len(v))
