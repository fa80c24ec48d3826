"""Maps of the Hessian's extreme eigenvalues over a plane of weight space (Li et al. 2018 Fig. 7): at each point
theta + alpha delta + beta eta, lambda_min and lambda_max of the training-loss Hessian by Lanczos
(`lossviz.compute.hessian`), in memory (`eigen_map`) or into a resumable surface file (`eigen_map_file`)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch.nn.functional as F
from torch import Tensor, nn

from lossviz.base import cache, io
from lossviz.base.directions import Weights
from lossviz.base.grids import Coordinates
from lossviz.compute import hessian, surface
from lossviz.compute.hessian import Batch, Loss

# the arrays of an eigenvalue-map file (reference: min/max_eig), with the cost of each point
EIGEN_NAMES = ("min_eig", "max_eig", "converged", "hvps", "seconds")


@dataclass(frozen=True)
class Lanczos:
    """How each point's extreme eigenvalues are found (`hessian.extremes`): the parameters the Hessian is taken
    over, the relative Ritz residual that stops, the most HVPs, the start vector's seed, the floor below which a
    small end is not refined, the HVP method, and whether a point starts from its neighbour's Ritz vectors."""

    params: str = "all"
    tol: float = 1e-2
    max_steps: int = 100
    seed: int = 0
    floor: float = 1e-2
    method: str = "cached"
    warm: bool = False

    def __post_init__(self) -> None:
        if self.params not in hessian.PARAMS:
            raise ValueError(f"params={self.params!r} is not known; valid choices: {', '.join(hessian.PARAMS)}")
        if self.method not in hessian.METHODS:
            raise ValueError(f"method={self.method!r} is not known; valid choices: {', '.join(hessian.METHODS)}")
        hessian.check_tolerances(self.tol, self.max_steps, self.floor)


@dataclass(frozen=True)
class EigenMap:
    """lambda_min/lambda_max at theta + xs[i] delta + ys[j] eta, as arrays z[j, i] of shape (len(ys), len(xs)):
    row j is ys[j], column i is xs[i], as `np.meshgrid(xs, ys)`, `lossviz.base.io.Surface` and the reference files."""

    xs: np.ndarray
    ys: np.ndarray
    lambda_min: np.ndarray
    lambda_max: np.ndarray
    converged: np.ndarray
    hvps: int

    @property
    def ratio(self) -> np.ndarray:
        """|lambda_min / lambda_max| at each grid point (Li et al. Fig. 7)."""
        return np.asarray(hessian.ratio(self.lambda_min, self.lambda_max))


def eigen_map(model: nn.Module, batches: Iterable[Batch], theta: Mapping[str, Tensor], delta: Mapping[str, Tensor],
              eta: Mapping[str, Tensor], xs: Coordinates, ys: Coordinates, lanczos: Lanczos = Lanczos(),
              loss: Loss = F.cross_entropy) -> EigenMap:
    """lambda_min, lambda_max at theta + alpha delta + beta eta for alpha in xs, beta in ys (Li et al. Fig. 7).

    Each point is one `extremes` run on a fresh `operator` (cold starts: `lanczos.warm` is for files); the default
    floor resolves the ratio to ~tol relative where it is above 1e-2 and to ~1e-4 absolute below (convex regions,
    where lambda_min ~ 0).
    """
    if set(delta) != set(eta) or not set(delta) <= set(theta):
        raise ValueError("delta and eta must have the same keys, all of them keys of theta")
    data = list(batches)
    shape = (len(ys), len(xs))  # z[j, i], as np.meshgrid(xs, ys)
    lo, hi, ok = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool)
    hvps = 0
    for j, b in enumerate(ys):
        for i, a in enumerate(xs):
            point = {**theta, **{k: theta[k] + a * delta[k] + b * eta[k] for k in delta}}
            op = hessian.operator(model, data, point, lanczos.params, loss, lanczos.method)
            e = hessian.extremes(op, lanczos.tol, lanczos.max_steps, lanczos.seed, lanczos.floor)
            lo[j, i], hi[j, i], ok[j, i] = e.lambda_min, e.lambda_max, e.converged
            hvps += e.hvps
    return EigenMap(np.asarray(xs, float), np.asarray(ys, float), lo, hi, ok, hvps)


def eigen_request(model: nn.Module, theta: Mapping[str, Tensor], directions: Sequence[Mapping[str, Tensor]],
                  xs: Coordinates, ys: Coordinates | None, data: Mapping[str, str],
                  lanczos: Lanczos = Lanczos(), loss: str = "cross_entropy",
                  context: Mapping[str, Any] | None = None) -> surface.Request:
    """The `surface.Request` of an eigenvalue-map file: the Lanczos settings are its method."""
    method = {k: v for k, v in cache.plain(lanczos).items() if k != "__type__"}
    return surface.request(model, theta, directions, xs, ys, EIGEN_NAMES,
                           {"quantity": "hessian_extremes", "loss": loss, **method}, data, context)


def point_values(model: nn.Module, batches: Callable[[], list[Batch]], lanczos: Lanczos,
                 loss: Loss = F.cross_entropy) -> Callable[[Weights], dict[str, float]]:
    """point -> {"min_eig", "max_eig", "converged" (1.0 where Lanczos met tol), "hvps", "seconds"} over the
    batches `batches()` returns (read at the first point); with `lanczos.warm` each point starts from the previous
    point's end Ritz vectors (`hessian.warm_start`), which changes the result within tol and makes it depend on
    the order the points are computed in."""
    data: list[Batch] = []
    previous: list[Tensor] = []

    def values(point: Weights) -> dict[str, float]:
        if not data:
            device = next(iter(point.values())).device
            data.extend((x.to(device), y.to(device)) for x, y in batches())
            if not data:
                raise ValueError("batches is empty; pass at least one (x, y) batch")
        start = time.perf_counter()
        op = hessian.operator(model, data, point, lanczos.params, loss, lanczos.method)
        warm = hessian.warm_start(previous[0], lanczos.seed) if previous else None
        e = hessian.extremes(op, lanczos.tol, lanczos.max_steps, lanczos.seed, lanczos.floor, start=warm)
        if lanczos.warm and e.vectors is not None:
            previous[:] = [e.vectors]
        return {"min_eig": e.lambda_min, "max_eig": e.lambda_max, "converged": float(e.converged),
                "hvps": float(e.hvps), "seconds": time.perf_counter() - start}

    return values


def eigen_map_file(out: str | os.PathLike, model: nn.Module, theta: Mapping[str, Tensor],
                   directions: Sequence[Mapping[str, Tensor]], xs: Coordinates, ys: Coordinates | None,
                   batches: Iterable[Batch], lanczos: Lanczos = Lanczos(), *, loss: Loss = F.cross_entropy,
                   context: Mapping[str, Any] | None = None, saving: surface.Saving = surface.Saving(),
                   dir_file: str = "", on_start: Callable[[], None] | None = None,
                   log: Callable[[str], None] | None = print) -> io.Surface:
    """`eigen_map` into a resumable surface file `out` (`surface.compute_file`): arrays `min_eig`, `max_eig` (Li et
    al. Fig. 7, the reference's names), `converged`, and each point's cost, `hvps` and `seconds` (wall time,
    operator set-up included). A file made with other Lanczos settings, parameters or data is refused."""
    data = list(batches)
    wanted = eigen_request(model, theta, directions, xs, ys, {"train": surface.fingerprint(data)}, lanczos,
                           getattr(loss, "__name__", type(loss).__name__), context)
    return surface.compute_file(out, wanted, theta, directions,
                                lambda: point_values(model, lambda: data, lanczos, loss),
                                saving=saving, dir_file=dir_file, on_start=on_start, log=log)
