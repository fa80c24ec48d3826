"""How the course names its runs and captions its figures."""
from __future__ import annotations

from lossviz.base import data, models
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


def caption(result: TrainResult, scored: tuple[float, int] | None = None) -> str:
    """The caption of a trained run with its test error and the images it is on (`plot.caption`): "ResNet-56-NS,
    test error 13.31% ± 0.34 on 10,000 images"; `scored` (error in percent, images) as `Course.test_error` gives
    it, else the last entry of the run's log."""
    error, images = scored or (result.test_error, data.size(result.config.dataset, False, result.config.test_subset))
    return plot.caption(models.display_name(result.config.model), error, images)


def method_caption(method: str, members: int) -> str:
    """How the course captions one budget unit of an ensembling method with its number of members: "normal run
    (step decay): 1 model", "Snapshot Ensemble: M = 3", "FGE: 4 snapshots"."""
    captions = {"ind": f"normal run (step decay): {members} model{'s' if members != 1 else ''}",
                "sse": f"Snapshot Ensemble: M = {members}", "fge": f"FGE: {members} snapshots"}
    if method not in captions:
        raise ValueError(f"method={method!r} is not known; valid choices: {', '.join(captions)}")
    return captions[method]
