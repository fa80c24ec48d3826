"""How the course names its runs and captions its figures."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from lossviz.base import data, models
from lossviz.compute.train import TrainResult
from lossviz.views import plot

SEED_SUFFIX = "_seed"  # a second training's key: "resnet56_seed1"
K = TypeVar("K", str, tuple[int, float])
T = TypeVar("T")


def run_name(key: str | tuple[int, float]) -> str:
    """The name a run is recorded under: a network name as it is, a batch-study key (128, 5e-4) as "b128_wd0.0005"."""
    if isinstance(key, tuple):
        batch, wd = key
        return f"b{batch}_wd{wd:g}"
    return key


def training_key(network: str, seed: int, first: int) -> str:
    """The key of one training of a network trained with several seeds: the network's name for the profile's own
    seed `first` (so its cache, records and captions stay those of the one-training notebooks), else
    "<network>_seed<seed>"."""
    return network if seed == first else f"{network}{SEED_SUFFIX}{seed}"


def by_training(per_seed: Mapping[int, Mapping[K, T]], first: int) -> dict[K | str, T]:
    """{seed: {key: value}} as one dict: the seed `first`'s values under their keys, another seed's under
    `training_key(run_name(key), seed, first)` ("b32_wd0_seed1"): what `Course.minimizers` and the records take."""
    return {key if seed == first else training_key(run_name(key), seed, first): value
            for seed, values in per_seed.items() for key, value in values.items()}


def labelled(per_seed: Mapping[int, Mapping[tuple[int, float], T]], first: int) -> dict[str, T]:
    """{seed: {(batch size, weight decay): value}} as one dict keyed by `batch_label`, a seed other than `first`
    added: "b=32, wd=0", "b=32, wd=0 (seed 1)"."""
    return {batch_label(*key) + ("" if seed == first else f" (seed {seed})"): value
            for seed, values in per_seed.items() for key, value in values.items()}


def network_of(key: str) -> str:
    """The network of a `training_key`: "resnet56_seed1" -> "resnet56"."""
    return key.split(SEED_SUFFIX)[0]


def training_label(key: str) -> str:
    """A `training_key` as a reader names it: "resnet56_noshort_seed1" -> "ResNet-56-NS (seed 1)"."""
    network, _, seed = key.partition(SEED_SUFFIX)
    return models.display_name(network) + (f" (seed {seed})" if seed else "")


def batch_label(batch_size: int, weight_decay: float) -> str:
    """The label of a batch-size study run: "b=128, wd=0"."""
    return f"b={batch_size}, wd={weight_decay:g}"


def caption(result: TrainResult, scored: tuple[float, int] | None = None, first_seed: int | None = None) -> str:
    """The caption of a trained run with its test error and the images it is on (`plot.caption`): "ResNet-56-NS,
    test error 13.31% ± 0.34 on 10,000 images"; `scored` (error in percent, images) as `Course.test_error` gives
    it, else the last entry of the run's log. A run at another seed than `first_seed` says which: "ResNet-56 (seed
    1), test error ..."."""
    error, images = scored or (result.test_error, data.size(result.config.dataset, False, result.config.test_subset))
    name = models.display_name(result.config.model)
    if first_seed is not None and result.config.seed != first_seed:
        name += f" (seed {result.config.seed})"
    return plot.caption(name, error, images)


def method_caption(method: str, members: int) -> str:
    """How the course captions one budget unit of an ensembling method with its number of members: "normal run
    (step decay): 1 model", "Snapshot Ensemble: M = 3", "FGE: 4 snapshots"."""
    captions = {"ind": f"normal run (step decay): {members} model{'s' if members != 1 else ''}",
                "sse": f"Snapshot Ensemble: M = {members}", "fge": f"FGE: {members} snapshots"}
    if method not in captions:
        raise ValueError(f"method={method!r} is not known; valid choices: {', '.join(captions)}")
    return captions[method]
