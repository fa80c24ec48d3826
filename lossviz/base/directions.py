"""Points and directions in weight space as named tensor dicts, and Li et al. 2018 direction normalization.

A point theta and a direction delta are `dict[str, Tensor]` keyed like `named_parameters()`
(kind="params") or `state_dict()` (kind="states": parameters and buffers, BN running statistics
included), on the model's device and dtype. Integer tensors (BN `num_batches_tracked`) always get a
zero direction and are never moved.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import torch
from torch import nn

Weights = dict[str, torch.Tensor]  # a point in weight space (or a direction): named tensors, keyed like state_dict()

KINDS = ("params", "states")
NORMS = ("filter", "layer", "weight", "none")
IGNORES = ("biasbn", "none")
_EPS = 1e-10  # as in the reference net_plotter.normalize_direction


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    """Raise ValueError naming parameter `name` unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; valid choices: {', '.join(choices)}")


def weights(model: nn.Module, kind: str = "params") -> Weights:
    """A detached copy of the model's point in weight space: parameters, or the whole state dict."""
    check_choice("kind", kind, KINDS)
    named = model.named_parameters() if kind == "params" else model.state_dict().items()
    return {name: t.detach().clone() for name, t in named}


def _theta(model_or_theta: nn.Module | Mapping[str, torch.Tensor], kind: str) -> Mapping[str, torch.Tensor]:
    """The point of a model (`kind` decides which tensors), or the given dict itself."""
    check_choice("kind", kind, KINDS)
    if isinstance(model_or_theta, nn.Module):
        return weights(model_or_theta, kind)
    return model_or_theta


# ---- tensor-dict arithmetic, the only place it lives -------------------------------------------------

def check_keys(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], what: str = "direction") -> None:
    """Raise ValueError unless `a` and `b` have the same keys in the same order and the same shapes."""
    if list(a) != list(b):
        missing, extra = [k for k in a if k not in b], [k for k in b if k not in a]
        raise ValueError(f"{what} keys do not match the weights: missing {missing[:5]}, unexpected {extra[:5]}"
                         + ("" if missing or extra else " (same names, different order)"))
    for k in a:
        if a[k].shape != b[k].shape:
            raise ValueError(f"{what} entry {k!r} has shape {tuple(b[k].shape)}, the weights {tuple(a[k].shape)}")


def add(theta: Mapping[str, torch.Tensor], delta: Mapping[str, torch.Tensor], alpha: float = 1.0) -> Weights:
    """theta + alpha * delta (integer tensors of theta are kept as they are)."""
    check_keys(theta, delta)
    return {k: torch.add(t, delta[k].to(t.dtype), alpha=alpha) if t.is_floating_point() else t
            for k, t in theta.items()}


def scale(delta: Mapping[str, torch.Tensor], alpha: float) -> Weights:
    """alpha * delta."""
    return {k: d * alpha if d.is_floating_point() else d for k, d in delta.items()}


def between(theta1: Mapping[str, torch.Tensor], theta2: Mapping[str, torch.Tensor]) -> Weights:
    """The direction theta2 - theta1 from one model to another (zero for integer tensors)."""
    check_keys(theta1, theta2, "theta2")
    return {k: (theta2[k] - t).to(t.dtype) if t.is_floating_point() else torch.zeros_like(t)
            for k, t in theta1.items()}


def flatten(delta: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """All floating entries concatenated into one float64 vector (on the entries' device; on the CPU for Apple MPS,
    which has no float64)."""
    return torch.cat([d.detach().reshape(-1).to("cpu" if d.device.type == "mps" else d.device, torch.float64)
                      for d in delta.values() if d.is_floating_point()])


def dot(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> float:
    """Inner product of two directions, flattened (float64)."""
    check_keys(a, b)
    return float(flatten(a) @ flatten(b))


def norm(delta: Mapping[str, torch.Tensor]) -> float:
    """Euclidean norm of a direction, flattened (float64)."""
    return float(flatten(delta).norm())


def layer_weights(state: Mapping[str, torch.Tensor]) -> Weights:
    """The weights of a state's conv and linear layers (named *weight, more than one dimension): no BN, no biases."""
    return {k: v for k, v in state.items() if k.endswith("weight") and v.dim() > 1}


def weight_norm(state: Mapping[str, torch.Tensor]) -> float:
    """||theta|| of a state's conv and linear weights (Li et al. Fig. 2's weight scale), float64."""
    return norm(layer_weights(state))


def cosine(delta: Mapping[str, torch.Tensor], eta: Mapping[str, torch.Tensor]) -> float:
    """Cosine similarity <delta, eta> / (||delta|| ||eta||) of two directions."""
    denominator = norm(delta) * norm(eta)
    if denominator == 0:
        raise ValueError("cosine is undefined for a zero direction (delta or eta is all zeros)")
    return dot(delta, eta) / denominator


def orthogonalize(eta: Mapping[str, torch.Tensor], delta: Mapping[str, torch.Tensor]) -> Weights:
    """Gram-Schmidt: eta minus its projection on delta, so that cosine(delta, result) = 0."""
    squared = norm(delta) ** 2
    if squared == 0:
        raise ValueError("cannot orthogonalize against a zero direction delta")
    return add(eta, delta, -dot(eta, delta) / squared)


# ---- normalization and random directions -------------------------------------------------------------

def normalize(d: torch.Tensor, theta: torch.Tensor, norm: str = "filter") -> torch.Tensor:
    """Scale one direction tensor by the weights it perturbs (Li et al. 2018, Sec. 4).

    filter: each filter d_i (a slice along dim 0: a conv output filter, a linear row) gets norm ||theta_i||;
    a 0-D or 1-D tensor counts as one filter. layer: d gets norm ||theta||. weight: d * theta elementwise.
    none: d unchanged.
    """
    check_choice("norm", norm, NORMS)
    d, t = d.float(), theta.float()
    if norm == "filter" and d.dim() >= 2:
        rows, trows = d.reshape(len(d), -1), t.reshape(len(t), -1)
        factor = trows.norm(dim=1) / (rows.norm(dim=1) + _EPS)
        return (rows * factor[:, None]).reshape(d.shape)
    if norm in ("filter", "layer"):
        return d * (t.norm() / (d.norm() + _EPS))
    if norm == "weight":
        return d * t
    return d


def random_directions(model_or_theta: nn.Module | Mapping[str, torch.Tensor], seed: int, count: int = 2,
                      norm: str = "filter", ignore: str = "biasbn", kind: str = "params") -> list[Weights]:
    """`count` seeded Gaussian directions, normalized like the weights (drawn one after another).

    Weights with dim <= 1 (biases, BN weight/bias; BN running statistics for kind="states") are zero
    for ignore="biasbn", the paper's setting. For ignore="none" they are random too and normalized
    like the rest, each 1-D tensor as one filter. (The reference code instead copies theta into them,
    d = theta; direction files made that way load as they are.) The draws happen on the CPU in float32
    for every floating tensor whatever `ignore` is, so a seed gives the same direction on any device.
    """
    check_choice("norm", norm, NORMS)
    check_choice("ignore", ignore, IGNORES)
    theta = _theta(model_or_theta, kind)
    if count < 1:
        raise ValueError(f"count={count} must be >= 1")
    generator = torch.Generator().manual_seed(seed)
    result = []
    for _ in range(count):
        delta = {}
        for k, t in theta.items():
            if not t.is_floating_point():
                delta[k] = torch.zeros_like(t)
                continue
            d = torch.randn(t.shape, generator=generator, dtype=torch.float32)
            if t.dim() <= 1 and ignore == "biasbn":
                d = torch.zeros_like(d)
            else:
                d = normalize(d, t.detach().cpu(), norm)
            delta[k] = d.to(device=t.device, dtype=t.dtype)
        result.append(delta)
    return result


def fingerprint(tensors: Mapping[str, torch.Tensor] | Sequence[torch.Tensor]) -> str:
    """A sha256 hex digest of names (positions for a sequence), shapes, dtypes and values (device-independent);
    the one tensor fingerprint of the package (weights, directions, data)."""
    named = tensors.items() if isinstance(tensors, Mapping) else ((str(i), t) for i, t in enumerate(tensors))
    digest = hashlib.sha256()
    for k, t in named:
        digest.update(f"{k}:{tuple(t.shape)}:{t.dtype};".encode())
        digest.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
