"""Hessian spectra of the mean loss: exact Hessian-vector products and the Krylov methods that use them.

Operators (`operator`, `of_function`, `from_matrix`, `shifted`) turn a point theta into v -> H v on flat
vectors; the algorithms (`extremes`, `top_k`, `trace`, `density`) only call that map.
Li et al. 2018 sec. 6 (lambda_min, lambda_max and |lambda_min / lambda_max|); Ghorbani et al. 2019 (density).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import eigh_tridiagonal
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp

from lossviz.base.directions import Weights
from lossviz.base.precision import exact

PARAMS = ("all", "matrices")  # "matrices": the reference's tensors with dim > 1 (no biases, no BN)
METHODS = ("cached", "reverse", "forward")  # see `operator`
WHICH = ("largest", "smallest", "magnitude")
Batch = tuple[Tensor, Tensor]
Loss = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Operator:
    """A symmetric map v -> H v on flat vectors of length `dim`; `names`/`shapes` split a vector into tensors."""

    matvec: Callable[[Tensor], Tensor]
    dim: int
    dtype: torch.dtype
    device: torch.device
    names: tuple[str, ...] = ()
    shapes: tuple[torch.Size, ...] = ()

    def __call__(self, v: Tensor) -> Tensor:
        return self.matvec(v.to(self.device, self.dtype))

    def unflatten(self, v: Tensor) -> Weights:
        """Split a flat vector into tensors keyed like the parameters."""
        parts = v.split([math.prod(s) for s in self.shapes])
        return {name: t.view(s) for name, t, s in zip(self.names, parts, self.shapes)}


@dataclass(frozen=True)
class Extremes:
    """Smallest and largest Hessian eigenvalue (Li et al. sec. 6) and the HVPs spent."""

    lambda_min: float
    lambda_max: float
    hvps: int
    converged: bool
    vectors: Tensor | None = field(default=None, compare=False, repr=False)  # Ritz vectors (2, dim): min, max end

    @property
    def ratio(self) -> float:
        """|lambda_min / lambda_max|, the paper's measure of non-convexity."""
        return float(ratio(self.lambda_min, self.lambda_max))


@dataclass(frozen=True)
class TopK:
    """The k extreme eigenvalues (ordered from the extreme inward) and the HVPs spent."""

    values: tuple[float, ...]
    hvps: int
    converged: bool


@dataclass(frozen=True)
class Trace:
    """Hutchinson estimate of tr H, its standard error and the HVPs spent."""

    value: float
    std_error: float
    hvps: int


@dataclass(frozen=True)
class Density:
    """SLQ spectral density on `grid`, with the quadrature `nodes`/`weights` of each run (rows; 0-padded)."""

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    hvps: int


def ratio(lambda_min: float | np.ndarray, lambda_max: float | np.ndarray) -> float | np.ndarray:
    """|lambda_min / lambda_max| (Li et al. sec. 6): near 0 where the surface is convex."""
    return np.abs(np.asarray(lambda_min, dtype=float) / np.asarray(lambda_max, dtype=float))


# ----------------------------------------------------------------------------------------------- operators


def select(model: nn.Module, params: str = "all") -> list[str]:
    """Names of the parameters the Hessian is taken over: all, or only tensors with dim > 1."""
    if params not in PARAMS:
        raise ValueError(f"params={params!r} is not known; valid choices: {', '.join(PARAMS)}")
    return [name for name, p in model.named_parameters() if params == "all" or p.dim() > 1]


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Evaluate in eval mode (BN running statistics), then restore every module's own flag."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _reverse_hvp(f: Callable[[Weights], Tensor], theta: Weights, v: Weights) -> list[Tensor]:
    """H v by double backward: d/dtheta <grad f(theta), v>."""
    leaves = {k: t.detach().requires_grad_() for k, t in theta.items()}
    xs = list(leaves.values())
    g = torch.autograd.grad(f(leaves), xs, create_graph=True, allow_unused=True, materialize_grads=True)
    terms = [(gi * v[k]).sum() for gi, k in zip(g, leaves)]
    dot = terms[0]
    for term in terms[1:]:  # in order, as a plain sum
        dot = dot + term
    if not dot.requires_grad:  # the loss is at most linear in theta
        return [torch.zeros_like(x) for x in xs]
    return list(torch.autograd.grad(dot, xs, allow_unused=True, materialize_grads=True))


def _cached_hvp(f: Callable[[Weights], Tensor], theta: Weights) -> Callable[[Weights], list[Tensor]]:
    """v -> H v by the second backward through a gradient graph built once (create_graph) and kept."""
    leaves = {k: t.detach().requires_grad_() for k, t in theta.items()}
    xs = list(leaves.values())
    g = torch.autograd.grad(f(leaves), xs, create_graph=True, allow_unused=True, materialize_grads=True)
    if not any(gi.requires_grad for gi in g):  # the loss is at most linear in theta
        return lambda v: [torch.zeros_like(x) for x in xs]
    outs, grads = zip(*[(gi, k) for gi, k in zip(g, leaves) if gi.requires_grad])
    return lambda v: list(torch.autograd.grad(outs, xs, [v[k] for k in grads], retain_graph=True,
                                              allow_unused=True, materialize_grads=True))


def _forward_hvp(f: Callable[[Weights], Tensor], theta: Weights, v: Weights) -> list[Tensor]:
    """H v as the directional derivative of grad f along v (forward-over-reverse)."""
    return list(jvp(grad(f), (theta,), (v,))[1].values())


def operator(model: nn.Module, batches: Iterable[Batch], theta: Mapping[str, Tensor] | None = None,
             params: str = "all", loss: Loss = F.cross_entropy, method: str = "cached") -> Operator:
    """v -> H v, H the Hessian of the mean loss over `batches` at `theta`, in eval mode; the model is untouched.

    `theta` may hold any parameters and buffers (missing ones are the model's); only the `params` selection
    moves, the rest is held fixed. Batch b counts with weight n_b / N, so H is the Hessian of the loss over
    all N examples whatever the batch size. (The reference, hess_vec_prod.py, sums the per-batch Hessians of
    batch-mean losses, which scales every eigenvalue by the number of batches.)
    Products run in full fp32 (TF32 off on CUDA: `lossviz.base.precision.exact`), so eigenvalues do not depend on a
    GPU's TF32 setting. `method`: "cached" builds each batch's gradient graph once and per product only
    back-propagates through it (fastest: ~1.3-1.5x "reverse" on CPU, bench/hessian.py; but it holds ~3.5 MB per
    CIFAR image for ResNet-20); "reverse" recomputes forward and double backward per product (least memory);
    "forward" is torch.func jvp of grad (forward-over-reverse). Which of "reverse" and "forward" is faster depends
    on the machine (one 2-core CPU measured 1.59 vs 1.40 s per product, another the opposite order):
    bench/hessian.py times all three side by side.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not known; valid choices: {', '.join(METHODS)}")
    names = select(model, params)
    if not names:
        raise ValueError(f"params={params!r} selects no parameters of this model; valid choices: {', '.join(PARAMS)}")
    base = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    theta = dict(theta or {})
    unknown = sorted(set(theta) - set(base))
    if unknown:
        raise ValueError(f"theta has keys {unknown[:3]} that are neither parameters nor buffers of the model")
    point = {k: t.detach() for k, t in {**base, **theta}.items()}
    moving = {k: point[k] for k in names}
    fixed = {k: t for k, t in point.items() if k not in moving}
    first = moving[names[0]]
    data = [(x.to(first.device), y.to(first.device)) for x, y in batches]
    if not data:
        raise ValueError("batches is empty; pass at least one (x, y) batch")
    total = sum(len(y) for _, y in data)
    shapes = tuple(t.shape for t in moving.values())
    dim = sum(t.numel() for t in moving.values())
    split = Operator(lambda v: v, dim, first.dtype, first.device, tuple(names), shapes)

    def batch_loss(p: Weights, x: Tensor, y: Tensor) -> Tensor:
        return loss(functional_call(model, {**fixed, **p}, (x,)), y)

    def loss_of(x: Tensor, y: Tensor) -> Callable[[Weights], Tensor]:
        return lambda p: batch_loss(p, x, y)

    with _eval_mode(model), exact():  # the "cached" method runs forward and backward here; no TF32
        products = [(len(y) / total, _product(method, loss_of(x, y), moving)) for x, y in data]

    def matvec(v: Tensor) -> Tensor:
        parts = split.unflatten(v)
        out = torch.zeros_like(v)
        with _eval_mode(model), exact():
            for weight, product in products:
                out.add_(torch.cat([h.reshape(-1) for h in product(parts)]), alpha=weight)
        return out

    return Operator(matvec, dim, first.dtype, first.device, tuple(names), shapes)


def _product(method: str, f: Callable[[Weights], Tensor], theta: Weights) -> Callable[[Weights], list[Tensor]]:
    """The per-batch map v -> H_b v of one method (the "cached" graph is built here, once)."""
    if method == "cached":
        return _cached_hvp(f, theta)
    hvp = _reverse_hvp if method == "reverse" else _forward_hvp
    return lambda v: hvp(f, theta, v)


def of_function(f: Callable[[Tensor], Tensor], x: Tensor) -> Operator:
    """v -> (d^2 f / dx^2)(x) v for a scalar function of a flat vector (forward-over-reverse)."""
    x = x.detach()
    return Operator(lambda v: jvp(grad(f), (x,), (v,))[1], x.numel(), x.dtype, x.device)


def from_matrix(a: Tensor) -> Operator:
    """v -> A v for a dense symmetric matrix (small problems and tests)."""
    if a.dim() != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"a has shape {tuple(a.shape)}; it must be a square matrix")
    return Operator(lambda v: a @ v, a.shape[0], a.dtype, a.device)


def shifted(op: Operator, shift: float) -> Operator:
    """v -> (H - shift I) v: eigenvalues move by -shift (the reference's second eigsh run for lambda_min)."""
    return Operator(lambda v: op(v) - shift * v, op.dim, op.dtype, op.device, op.names, op.shapes)


# ---------------------------------------------------------------------------------------------- algorithms


def _check(**values: float) -> None:
    """ValueError unless every given value is positive."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name}={value} must be positive")


def _vector(op: Operator, seed: int, kind: str = "gaussian") -> Tensor:
    """A seeded Gaussian or Rademacher vector on the operator's device."""
    gen = torch.Generator().manual_seed(seed)
    if kind == "rademacher":
        z = torch.randint(0, 2, (op.dim,), generator=gen, dtype=torch.float64) * 2 - 1
    else:
        z = torch.randn(op.dim, generator=gen, dtype=torch.float64)
    return z.to(op.device, op.dtype)


def _ritz(alpha: Sequence[float], beta: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ritz values, first components of their vectors and residuals |beta_m s_mi| of T_m (Golub & Van Loan 10.1)."""
    d, e = np.asarray(alpha, dtype=float), np.asarray(beta[:-1], dtype=float)
    theta, s = eigh_tridiagonal(d, e) if len(d) > 1 else (d.copy(), np.ones((1, 1)))
    return theta, s[0], np.abs(beta[-1] * s[-1])


def _lanczos(op: Operator, v: Tensor, steps: int,
             done: Callable[[list[float], list[float]], bool] | None = None) -> tuple[list[float], list[float]]:
    """Lanczos with full reorthogonalization from v; T_m has diagonal alpha and off-diagonal beta[:-1].

    Stops after `steps` HVPs, at an invariant subspace, or when `done(alpha, beta)`; len(alpha) HVPs were spent.
    Keeps all Lanczos vectors: steps x dim numbers.
    """
    alpha, beta, _ = _lanczos_basis(op, v, steps, done)
    return alpha, beta


def _lanczos_basis(op: Operator, v: Tensor, steps: int,
                   done: Callable[[list[float], list[float]], bool] | None = None
                   ) -> tuple[list[float], list[float], Tensor]:
    """`_lanczos`, also returning its orthonormal basis Q (len(alpha) x dim): Ritz vectors are Q^T s."""
    m = min(steps, op.dim)
    q_all = torch.zeros(m, op.dim, dtype=op.dtype, device=op.device)
    q = v / v.norm()
    alpha: list[float] = []
    beta: list[float] = []
    for j in range(m):
        q_all[j] = q
        w = op(q)
        alpha.append(float(q @ w))
        basis = q_all[: j + 1]
        for _ in range(2):  # "twice is enough" (Parlett): classical Gram-Schmidt against all previous vectors
            w = w - basis.T @ (basis @ w)
        beta.append(float(w.norm()))
        scale = max(abs(a) for a in alpha) + beta[-1]
        if beta[-1] <= 100 * torch.finfo(op.dtype).eps * scale or (done is not None and done(alpha, beta)):
            break
        q = w / beta[-1]
    return alpha, beta, q_all[: len(alpha)]


def _order(theta: np.ndarray, which: str) -> np.ndarray:
    """Indices of Ritz values from the `which` end inward."""
    key = {"largest": -theta, "smallest": theta, "magnitude": -np.abs(theta)}[which]
    return np.argsort(key, kind="stable")


def _converged(alpha: list[float], beta: list[float], picks: Callable[[np.ndarray], np.ndarray], tol: float,
               floor: float) -> bool:
    """Whether each picked Ritz value theta_i has residual <= tol * max(|theta_i|, floor * max_j |theta_j|)."""
    theta, _, res = _ritz(alpha, beta)
    idx = picks(theta)
    return bool(np.all(res[idx] <= tol * np.maximum(np.abs(theta[idx]), floor * np.abs(theta).max())))


def check_tolerances(tol: float, max_steps: int, floor: float) -> None:
    """ValueError unless tol > 0, max_steps >= 1 and floor >= 0."""
    _check(tol=tol, max_steps=max_steps)
    if not floor >= 0:
        raise ValueError(f"floor={floor} must be >= 0")


def extremes(op: Operator, tol: float = 1e-3, max_steps: int = 300, seed: int = 0, floor: float = 0.0,
             start: Tensor | None = None) -> Extremes:
    """lambda_min and lambda_max from one Lanczos run, stopped when each end's Ritz residual |beta_m s_mi| is
    <= tol * max(|theta_i|, floor * max|theta|): an eigenvalue then lies that close (Golub & Van Loan 10.1).

    Krylov spaces are shift-invariant, so one run serves both ends; the reference runs eigsh twice. `floor`
    > 0 stops refining an end smaller than floor * lambda_max in magnitude (a lambda_min near 0 is slow).
    `start` (a warm start, e.g. `warm_start(previous.vectors)` of a neighbouring point) replaces the seeded
    random start vector; the result holds the Ritz vectors of both ends for the next point.
    """
    check_tolerances(tol, max_steps, floor)
    if start is not None and start.shape != (op.dim,):
        raise ValueError(f"start has shape {tuple(start.shape)}; the operator needs ({op.dim},)")
    picks = lambda theta: np.array([0, len(theta) - 1])  # noqa: E731 - Ritz values come sorted ascending
    v = _vector(op, seed) if start is None else start.to(op.device, op.dtype)
    alpha, beta, basis = _lanczos_basis(op, v, max_steps, lambda a, b: _converged(a, b, picks, tol, floor))
    theta, _, _ = _ritz(alpha, beta)
    d, e = np.asarray(alpha, dtype=float), np.asarray(beta[:-1], dtype=float)
    s = eigh_tridiagonal(d, e)[1] if len(d) > 1 else np.ones((1, 1))
    ends = torch.as_tensor(s[:, [0, -1]].T.copy(), dtype=basis.dtype, device=basis.device) @ basis
    done = _converged(alpha, beta, picks, tol, floor) or len(alpha) == op.dim
    return Extremes(float(theta[0]), float(theta[-1]), len(alpha), done, ends)


def warm_start(vectors: Tensor, seed: int = 0, noise: float = 0.1) -> Tensor:
    """A start vector for the next point of a map: the sum of the previous point's two end Ritz vectors (unit
    length each) plus `noise` times a unit random vector, so that the Krylov space still reaches the rest."""
    if vectors.dim() != 2 or vectors.shape[0] != 2:
        raise ValueError(f"vectors must be the (2, dim) Ritz vectors of Extremes; got shape {tuple(vectors.shape)}")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(vectors.shape[1], generator=gen, dtype=torch.float64).to(vectors.device, vectors.dtype)
    unit = vectors / vectors.norm(dim=1, keepdim=True)
    return unit[0] + unit[1] + noise * z / z.norm()


def top_k(op: Operator, k: int = 1, which: str = "largest", tol: float = 1e-3, max_steps: int = 300,
          seed: int = 0, floor: float = 0.0) -> TopK:
    """The k extreme eigenvalues by Lanczos (full reorthogonalization); stopping test as in `extremes`.

    A single start vector sees each distinct eigenvalue once: an exactly repeated eigenvalue appears once.
    """
    _check(k=k)
    check_tolerances(tol, max_steps, floor)
    if which not in WHICH:
        raise ValueError(f"which={which!r} is not known; valid choices: {', '.join(WHICH)}")
    if k > op.dim:
        raise ValueError(f"k={k} exceeds the dimension {op.dim}")
    picks = lambda theta: _order(theta, which)[:k]  # noqa: E731
    done = lambda a, b: len(a) >= k and _converged(a, b, picks, tol, floor)  # noqa: E731
    alpha, beta = _lanczos(op, _vector(op, seed), max(max_steps, k), done)
    theta, _, _ = _ritz(alpha, beta)
    ok = len(alpha) >= k and _converged(alpha, beta, picks, tol, floor) or len(alpha) == op.dim
    return TopK(tuple(float(t) for t in theta[picks(theta)]), len(alpha), ok)


def trace(op: Operator, samples: int = 100, seed: int = 0, tol: float | None = None) -> Trace:
    """Hutchinson: tr H = E[z^T H z] over Rademacher z (Avron & Toledo 2011), std_error = std / sqrt(m).

    With `tol`, stops once std_error <= tol * |estimate| (after at least 10 samples).
    """
    _check(samples=samples, **({} if tol is None else {"tol": tol}))
    values: list[float] = []
    for i in range(samples):
        z = _vector(op, seed + i, "rademacher")
        values.append(float(z @ op(z)))
        m = len(values)
        if tol is not None and m >= 10 and np.std(values, ddof=1) / math.sqrt(m) <= tol * abs(np.mean(values)):
            break
    m = len(values)
    std_error = float(np.std(values, ddof=1) / math.sqrt(m)) if m > 1 else float("inf")
    return Trace(float(np.mean(values)), std_error, m)


def density(op: Operator, runs: int = 10, steps: int = 80, sigma: float | None = None, points: int = 2000,
            seed: int = 0) -> Density:
    """Stochastic Lanczos quadrature (Ghorbani et al. 2019 eq. (8)): phi(t) = 1/runs sum_r sum_i w_ri g_sigma(t - t_ri).

    Each run starts from a Rademacher vector; nodes t_ri are the Ritz values of T_m and weights w_ri the squared
    first components of their eigenvectors. `sigma` defaults to 1% of the node range; the grid spans 5 sigma more.
    """
    _check(runs=runs, steps=steps, points=points, **({} if sigma is None else {"sigma": sigma}))
    m = min(steps, op.dim)
    nodes, weights = np.zeros((runs, m)), np.zeros((runs, m))
    hvps = 0
    for r in range(runs):
        alpha, beta = _lanczos(op, _vector(op, seed + r, "rademacher"), m)
        theta, first, _ = _ritz(alpha, beta)
        nodes[r, : len(theta)], weights[r, : len(theta)] = theta, first**2
        hvps += len(alpha)
    used = weights > 0
    lo, hi = nodes[used].min(), nodes[used].max()
    sigma = sigma if sigma is not None else 0.01 * (hi - lo) or 1e-3 * max(1.0, abs(hi))
    grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, points)
    bumps = np.exp(-0.5 * ((grid[:, None] - nodes[used][None, :]) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return Density(grid, bumps @ weights[used] / runs, nodes, weights, hvps)
