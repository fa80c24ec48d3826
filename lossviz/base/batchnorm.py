"""BN recomputation: the one place it is written, a thin wrapper of `torch.optim.swa_utils.update_bn`."""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.optim.swa_utils import update_bn


def has_bn(model: nn.Module) -> bool:
    """True when `model` holds a batch-norm layer (whose statistics recomputation would change)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def recompute_bn(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> nn.Module:
    """Reset every BN layer's running statistics to their cumulative average over one pass of `batches`
    (SWA's `update_bn`: momentum None, train mode for the pass, the model's mode restored); returns `model`."""
    if has_bn(model):
        with torch.no_grad():
            update_bn(batches, model)
    return model
