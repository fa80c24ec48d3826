"""How the course names its runs and captions its figures."""
from __future__ import annotations

from lossviz.base import models
from lossviz.compute.train import TrainResult
from lossviz.views import plot


def run_name(key: str | tuple[int, float]) -> str:
    """The name a run is recorded under: a network name as it is, a batch-study key (128, 5e-4) as "b128_wd0.0005"."""
    if isinstance(key, tuple):
        batch, wd = key
        return f"b{batch}_wd{wd:g}"
    return key


def batch_label(batch_size: int, weight_decay: float) -> str:
    """The label of a batch-size study run: "b=128, wd=0"."""
    return f"b={batch_size}, wd={weight_decay:g}"


def caption(result: TrainResult) -> str:
    """The paper's caption of a trained run: "ResNet-56-NS, 13.31%"."""
    return plot.caption(models.display_name(result.config.model), result.test_error)
