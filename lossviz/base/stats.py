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
