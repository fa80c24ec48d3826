"""Noise levels that decide whether a difference is a finding."""
from __future__ import annotations

import math

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
