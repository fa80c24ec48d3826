"""The size of each layer's gradient relative to its weights: why deep networks without shortcuts train slowly."""
from __future__ import annotations

import copy

import torch
from torch import nn


def weight_layers(model: nn.Module) -> list[str]:
    """Names of the model's convolution kernels and linear weight matrices (parameters of 2 or more dimensions),
    in the order the model registers them (for the course's networks, input to output)."""
    return [name for name, p in model.named_parameters() if p.dim() > 1]


def layer_ratios(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """{layer name: ||dL/dW|| / ||W||} of each weight layer for the cross-entropy of one batch, in train mode
    (batch statistics in BN), fp32: the relative step plain SGD takes in that layer per unit learning rate.
    Works on a copy, so the model's gradients and BN statistics are left as they were."""
    if len(images) != len(labels) or len(labels) < 2:
        raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) must be one batch of >= 2 examples")
    model = copy.deepcopy(model).float().train()
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(images.float()), labels).backward()
    params = dict(model.named_parameters())
    return {name: (_grad(params[name]).norm() / params[name].norm()).item() for name in weight_layers(model)}


def _grad(p: torch.Tensor) -> torch.Tensor:
    """The gradient of a parameter (zero where the loss does not depend on it)."""
    return p.grad if p.grad is not None else torch.zeros_like(p)


def growth_per_layer(ratios: list[float] | tuple[float, ...]) -> float:
    """The factor by which the ratio grows per layer towards the input: exp(-slope) of a least-squares line through
    log(ratio) against the layer index, over every layer but the last (the classifier, which has its own scale)."""
    values = torch.tensor(ratios[:-1], dtype=torch.float64)
    if len(values) < 2 or not bool(torch.all(values > 0)):
        raise ValueError(f"ratios must hold at least 3 positive values; got {list(ratios)}")
    index = torch.arange(len(values), dtype=torch.float64)
    centered = index - index.mean()
    slope = (centered * (values.log() - values.log().mean())).sum() / (centered ** 2).sum()
    return float(torch.exp(-slope))
