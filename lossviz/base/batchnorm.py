"""BN recomputation, the one place it is written: the running statistics re-estimated at a point of weight space as
a cumulative average over one train-mode pass (momentum None, as `torch.optim.swa_utils.update_bn`)."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping

import torch
from torch import nn
from torch.func import functional_call

from lossviz.base.directions import Weights

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def layers(model: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    """The model's BN layers that keep running statistics, by name."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats}


def has_bn(model: nn.Module) -> bool:
    """True when `model` holds a BN layer with running statistics (whose recomputation would change them)."""
    return bool(layers(model))


def reset(point: Mapping[str, torch.Tensor], names: Iterable[str]) -> Weights:
    """A copy of `point` whose BN layers `names` hold fresh statistics: mean 0, variance 1, no batch counted."""
    fresh = dict(point)
    for name in names:
        for stat in STATISTICS:
            key = f"{name}.{stat}"
            fresh[key] = torch.ones_like(point[key]) if stat == "running_var" else torch.zeros_like(point[key])
    return fresh


@contextlib.contextmanager
def cumulative(bns: Mapping[str, nn.modules.batchnorm._BatchNorm]) -> Iterator[None]:
    """BN layers in train mode with momentum None (each batch's statistics averaged in), restored afterwards."""
    saved = [(m, m.training, m.momentum) for m in bns.values()]
    for m in bns.values():
        m.momentum = None
        m.train()
    try:
        yield
    finally:
        for m, training, momentum in saved:
            m.train(training)
            m.momentum = momentum


def recompute_point(model: nn.Module, point: Mapping[str, torch.Tensor],
                    run: Callable[[Weights], None]) -> Weights:
    """`point` (parameters and buffers of `model`) with its BN statistics recomputed: reset, then `run(point)`
    passes the data through the model in train-mode BN, which writes each batch into the point's statistics."""
    bns = layers(model)
    fresh = reset(point, bns)
    with cumulative(bns):
        run(fresh)
    return fresh


def recompute_bn(model: nn.Module, batches: Batches) -> nn.Module:
    """Reset every BN layer's running statistics of `model` to their cumulative average over one pass of `batches`
    (the model's flags restored; no gradients); returns `model`."""
    if not has_bn(model):
        return model
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def run(point: Weights) -> None:
        with torch.no_grad():
            for x, _ in batches:
                functional_call(model, point, (x,))

    model.load_state_dict(recompute_point(model, state, run))
    return model


def augmented_tag(augmented: bool) -> tuple[str, ...]:
    """What a cache key adds for BN statistics recomputed over augmented batches (nothing otherwise, so keys of
    runs without augmentation stay as they were): FGE members, paths and planes share it."""
    return ("BN over augmented batches",) if augmented else ()
