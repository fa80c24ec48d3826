"""BN folded into the convolution before it (eval mode): the same function with fewer passes over memory.

`plan` traces a model once and drops each foldable BN layer; `fold` merges that BN's statistics and affine
weights into its convolution's weight and bias at each point of weight space.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from lossviz.base.directions import Weights


def plan(shell: nn.Module) -> tuple[torch.fx.GraphModule, list[tuple[str, str, float]]]:
    """Trace `shell` and drop every BN whose only input is a Conv2d used by nothing else (eval mode).

    Returns the traced module and (conv, bn, eps) name pairs whose weights `fold` merges per point.
    """
    try:
        gm = torch.fx.symbolic_trace(shell)
    except Exception as error:  # fx raises many types for untraceable code
        raise ValueError(f"fuse_bn=True needs a model torch.fx can trace ({type(error).__name__}: {error}); "
                         f"use fuse_bn=False") from error
    modules = dict(gm.named_modules())
    pairs = []
    for node in list(gm.graph.nodes):
        bn = modules.get(node.target) if node.op == "call_module" else None
        if not (isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats and len(node.args) == 1 and not node.kwargs):
            continue
        source = node.args[0]
        conv = modules.get(source.target) if getattr(source, "op", None) == "call_module" else None
        if not isinstance(conv, nn.Conv2d) or len(source.users) != 1:
            continue
        if conv.bias is None:  # give the traced graph its own conv with a bias slot
            conv = copy.copy(conv)
            conv._parameters = {"weight": conv.weight,  # type: ignore[dict-item]
                                "bias": nn.Parameter(torch.empty(conv.out_channels))}
            parent, _, leaf = source.target.rpartition(".")
            setattr(gm.get_submodule(parent) if parent else gm, leaf, conv)
        node.replace_all_uses_with(source)
        gm.graph.erase_node(node)
        pairs.append((source.target, node.target, bn.eps))
    gm.graph.lint()
    gm.recompile()
    gm.delete_all_unused_submodules()
    return gm, pairs


def fold(point: Mapping[str, torch.Tensor], pairs: Sequence[tuple[str, str, float]]) -> Weights:
    """Merge each eval-mode BN into its conv: W' = W s, b' = (b - mu) s + beta, s = gamma / sqrt(var + eps)."""
    out = dict(point)
    for conv, bn, eps in pairs:
        w = point[f"{conv}.weight"]
        var, mean = point[f"{bn}.running_var"], point[f"{bn}.running_mean"]
        gamma = point.get(f"{bn}.weight", torch.ones_like(var))
        beta = point.get(f"{bn}.bias", torch.zeros_like(mean))
        bias = point.get(f"{conv}.bias", torch.zeros_like(mean))
        s = gamma * torch.rsqrt(var + eps)
        out[f"{conv}.weight"] = w * s.to(w.dtype).reshape(-1, *([1] * (w.dim() - 1)))
        out[f"{conv}.bias"] = ((bias - mean) * s + beta).to(w.dtype)
        for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            out.pop(f"{bn}.{key}", None)
    return out
