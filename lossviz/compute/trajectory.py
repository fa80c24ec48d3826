"""Optimization paths in two dimensions: PCA directions from checkpoints and projections (Li et al. 2018 sec. 7).

A path is a sequence of checkpoints theta_0 .. theta_n (named tensor dicts with the same keys) ending at the
final point theta_n. Directions are named tensor dicts over the path's floating-point tensors.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lossviz.base.directions import Weights

IGNORE = (None, "biasbn")  # "biasbn": tensors with dim <= 1 (biases, BN) take no part, as in the reference
Path = Sequence[Mapping[str, Tensor]]


@dataclass(frozen=True)
class PCA:
    """The two leading principal directions of a path, their explained-variance ratios, the path's coordinates."""

    directions: tuple[Weights, Weights]
    explained: tuple[float, float]
    coords: np.ndarray  # (len(path), 2): coordinates of theta_i - theta_n; the last row is (0, 0)


def _keys(path: Path, ignore: str | None) -> list[str]:
    """The keys that move: floating-point tensors, without dim <= 1 ones under ignore="biasbn"."""
    if ignore not in IGNORE:
        raise ValueError(f"ignore={ignore!r} is not known; valid choices: {', '.join(map(repr, IGNORE))}")
    if len(path) < 3:
        raise ValueError(f"path has {len(path)} checkpoints; PCA of a path needs at least 3")
    final = path[-1]
    for i, theta in enumerate(path):
        if set(theta) != set(final):
            raise ValueError(f"checkpoint {i} and the final one differ in keys {sorted(set(theta) ^ set(final))[:3]}; "
                             "all checkpoints need the same keys")
    return [k for k, t in final.items() if t.is_floating_point() and not (ignore == "biasbn" and t.dim() <= 1)]


def _diffs(path: Path, key: str) -> Tensor:
    """Rows theta_i[key] - theta_n[key], flattened, in float64."""
    final = path[-1][key].detach().double().reshape(-1)
    return torch.stack([theta[key].detach().double().reshape(-1) - final for theta in path])


def _directions(path: Path, keys: list[str], u: Tensor) -> list[Weights]:
    """Columns of M^T u as named tensors shaped like the final checkpoint."""
    final = path[-1]
    out: list[Weights] = [{} for _ in range(u.shape[1])]
    for k in final:
        if not final[k].is_floating_point():
            continue
        device = final[k].device
        cols = _diffs(path, k).T @ u.to(device) if k in keys else torch.zeros(final[k].numel(), u.shape[1],
                                                                               dtype=u.dtype, device=device)
        for j, d in enumerate(out):
            d[k] = cols[:, j].reshape(final[k].shape).to(final[k].dtype)
    return out


def _dot(a: Mapping[str, Tensor], b: Mapping[str, Tensor], keys: list[str]) -> float:
    """<a, b> summed over `keys`, in float64."""
    return float(sum((a[k].double() * b[k].double()).sum() for k in keys))


def pca(path: Path, ignore: str | None = "biasbn", center: bool = True) -> PCA:
    """Leading principal directions of M = [theta_i - theta_n] (Li et al. sec. 7) via the small Gram matrix M M^T.

    `center=True` subtracts the mean row first, as the reference's sklearn PCA does (the paper's text does not).
    Ratios are eigenvalues over the trace of the (centered) Gram matrix; each direction's sign makes theta_0's
    coordinate >= 0. Coordinates are dot products of theta_i - theta_n with the orthonormal directions.
    """
    keys = _keys(path, ignore)
    m = len(path)
    gram = torch.zeros(m, m, dtype=torch.float64)
    for k in keys:
        d = _diffs(path, k)
        gram += (d @ d.T).cpu()
    h = torch.eye(m, dtype=torch.float64) - (1.0 / m if center else 0.0)
    gram = h @ gram @ h
    lam, u = torch.linalg.eigh(gram)
    lam, u = lam.flip(0)[:2].clamp_min(0), u.flip(1)[:, :2]
    if not lam[1] > 1e-12 * lam[0]:
        raise ValueError("path spans fewer than two dimensions (all checkpoints on a line); PCA needs two")
    delta, eta = _directions(path, keys, h @ u / lam.sqrt())
    coords = project(path, (delta, eta), keys)
    signs = np.where(coords[0] < 0, -1.0, 1.0)
    first, second = ({k: t * s for k, t in d.items()} for d, s in zip((delta, eta), signs))
    total = float(gram.diagonal().sum())
    return PCA((first, second), (float(lam[0]) / total, float(lam[1]) / total), coords * signs)


def project(path: Path, directions: tuple[Mapping[str, Tensor], Mapping[str, Tensor]],
            keys: Sequence[str] | None = None) -> np.ndarray:
    """Least-squares coordinates (alpha_i, beta_i) of theta_i - theta_n in the span of two directions, (n+1, 2)."""
    delta, eta = directions
    keys = list(keys) if keys is not None else [k for k in delta if delta[k].is_floating_point()]
    if set(delta) != set(eta) or not set(keys) <= set(path[-1]):
        raise ValueError("the two directions must have the same keys, all of them keys of the checkpoints")
    gram = np.array([[_dot(delta, delta, keys), _dot(delta, eta, keys)],
                     [_dot(eta, delta, keys), _dot(eta, eta, keys)]])
    final = path[-1]
    rhs = np.array([[_dot({k: theta[k].double() - final[k].double() for k in keys}, d, keys) for d in directions]
                    for theta in path])
    return np.linalg.solve(gram, rhs.T).T


def random_path_projection(path: Path, seed: int = 0, ignore: str | None = "biasbn") -> np.ndarray:
    """The path's coordinates along two random unit directions: near zero, since random vectors in high
    dimension are almost orthogonal to the path (Li et al. sec. 7, why PCA directions are needed)."""
    keys = _keys(path, ignore)
    gen = torch.Generator().manual_seed(seed)
    directions = []
    for _ in range(2):
        d = {k: torch.randn(path[-1][k].shape, generator=gen, dtype=torch.float64).to(path[-1][k].device)
             for k in keys}
        norm = _dot(d, d, keys) ** 0.5
        directions.append({k: t / norm for k, t in d.items()})
    return project(path, (directions[0], directions[1]), keys)


def step_lengths(path: Path, ignore: str | None = "biasbn") -> np.ndarray:
    """||theta_{i+1} - theta_i|| for each step of the path, over the tensors `pca` uses (n steps, n+1 checkpoints)."""
    keys = _keys(path, ignore)
    return np.array([_dot(d, d, keys) ** 0.5 for d in
                     ({k: b[k].double() - a[k].double() for k in keys} for a, b in zip(path[:-1], path[1:]))])


def random_walk_explained(steps: Sequence[float] | np.ndarray, components: int = 2) -> tuple[float, ...]:
    """The explained-variance ratios `pca` finds, in high dimension, for a random walk whose steps have these lengths
    and independent isotropic directions: its Gram matrix tends to K_ij = sum of squared steps up to min(i, j),
    centered as `pca` centers. With equal steps the ratios tend to 6/(pi k)^2: about 61% and 15% for the first two
    components (Antognini & Sohl-Dickstein 2018), so a large ratio alone is no sign that a path is structured."""
    s2 = np.asarray(steps, dtype=np.float64) ** 2
    if s2.ndim != 1 or len(s2) < components or not np.isfinite(s2).all() or not s2.sum() > 0:
        raise ValueError(f"steps must be at least {components} finite lengths, not all zero; got {len(s2)}")
    reach = np.concatenate([[0.0], np.cumsum(s2)])  # sum of squared steps up to checkpoint i
    gram = np.minimum.outer(reach, reach)
    h = np.eye(len(reach)) - 1.0 / len(reach)
    lam = np.clip(np.linalg.eigvalsh(h @ gram @ h)[::-1], 0.0, None)
    return tuple(float(v) for v in lam[:components] / lam.sum())
