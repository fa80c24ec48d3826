"""Noise levels that decide whether a difference is a finding."""
from __future__ import annotations

import math


def binomial_se(error_pct: float, n: int) -> float:
    """Standard error (percentage points) of a test error of `error_pct` % measured on n images: sqrt(p(1-p)/n)."""
    if n < 1:
        raise ValueError(f"n={n} must be a positive number of images")
    if not 0 <= error_pct <= 100:
        raise ValueError(f"error_pct={error_pct} must be a percentage in [0, 100]")
    p = error_pct / 100.0
    return 100.0 * math.sqrt(p * (1 - p) / n)


def ranks(values: list[float]) -> list[float]:
    """The rank of each value, 1 for the smallest; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            result[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation of two equally long sequences: the Pearson correlation of their ranks
    (1: the same order, -1: the reverse)."""
    x, y = [float(v) for v in x], [float(v) for v in y]
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"x and y must be equally long, with at least 2 values; got {len(x)} and {len(y)}")
    if not all(math.isfinite(v) for v in x + y):
        raise ValueError("x and y must be finite numbers")
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx, syy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        raise ValueError("x and y must each hold at least two different values for a rank correlation")
    return sxy / math.sqrt(sxx * syy)
