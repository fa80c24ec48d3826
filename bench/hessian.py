"""Benchmark: lossviz.compute.hessian.extremes against the Li et al. reference approach, on one ResNet-20 point.

Both sides see the same model, point (random init, or --train-steps SGD steps from it; BN statistics then
recomputed on the subset), images and parameters (tensors with dim > 1, as the reference). The reference
approach (loss-landscape hess_vec_prod.py, re-implemented here): scipy eigsh(k=1, tol=1e-2) on a LinearOperator
whose matvec converts numpy <-> torch and loops over a DataLoader (loss, grad with create_graph, grad . v,
backward), summing over batches; eigsh runs twice, for the largest-magnitude eigenvalue and then on
H - 0.51 lambda_max I for lambda_min. Its eigenvalues are divided by the number of batches, to compare with
lossviz's Hessian of the mean loss.

lossviz runs at the reference's nominal tolerance (1e-2) and at its own default (1e-3); timings include
building the operator. CPU time (this process) is printed next to wall time: on a shared machine it is the
steadier one. Ritz values lie inside the spectrum, so of two lambda_min estimates the lower is the better.

Run from the repository root:
    .venv/bin/python bench/hessian.py [--n 128] [--batch-size 64] [--train-steps 0] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import LinearOperator, eigsh
from torch.utils.data import DataLoader, TensorDataset

from lossviz.base import data, models
from lossviz.compute import hessian


def subset(n: int) -> data.Split:
    """The first n CIFAR-10 training images if the pickles are present, else synthetic ones."""
    if (data.default_root() / "cifar-10-batches-py" / "data_batch_1").exists():
        return data.load("cifar10", n=n)
    return data.synthetic(n)


def recalibrate(model: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    """Recompute BN running statistics on x (cumulative average), so eval mode is a sensible network."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        model.train()(x)
    return model.eval()


def brief_training(model: torch.nn.Module, batches: list, steps: int, lr: float = 0.05) -> torch.nn.Module:
    """`steps` SGD steps (momentum 0.9) cycling over the batches, in train mode: a point nearer a minimum."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for step in range(steps):
        x, y = batches[step % len(batches)]
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.zero_grad(set_to_none=True)
    return model


def reference_min_max(net: torch.nn.Module, loader: DataLoader) -> tuple[float, float, int]:
    """The reference's min_max_hessian_eigs: two eigsh runs over a numpy LinearOperator (sum over batches)."""
    params = [p for p in net.parameters() if p.dim() > 1]
    n = sum(p.numel() for p in params)
    count = 0

    def hvp(vec: np.ndarray) -> np.ndarray:
        nonlocal count
        count += 1
        parts = [torch.from_numpy(c).view(p.shape).float()
                 for c, p in zip(np.split(vec, np.cumsum([p.numel() for p in params])[:-1]), params)]
        net.eval()
        net.zero_grad()
        for x, y in loader:
            g = torch.autograd.grad(F.cross_entropy(net(x), y), params, create_graph=True)
            sum((gi * vi).sum() for gi, vi in zip(g, parts)).backward()
        return np.concatenate([p.grad.numpy().ravel() for p in params])

    lam_max = eigsh(LinearOperator((n, n), matvec=hvp), k=1, tol=1e-2)[0][0]
    shift = 0.51 * lam_max
    lam_min = eigsh(LinearOperator((n, n), matvec=lambda v: hvp(v) - shift * v), k=1, tol=1e-2)[0][0] + shift
    if lam_max <= 0 < lam_min:
        lam_max, lam_min = lam_min, lam_max
    net.zero_grad()
    return float(lam_min), float(lam_max), count


def per_hvp_seconds(op: hessian.Operator, repeats: int = 2) -> tuple[float, float]:
    """Best-of-`repeats` wall and CPU time of one Hessian-vector product, after one untimed warm-up product."""
    v = torch.randn(op.dim, generator=torch.Generator().manual_seed(0))
    op(v)
    times = [timed(op, v)[1:] for _ in range(repeats)]
    return min(t[0] for t in times), min(t[1] for t in times)


def timed(fn, *args, **kwargs):
    """fn(*args, **kwargs), its wall time and this process's CPU time (steadier on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def row(label: str, lam_min: float, lam_max: float, hvps: int, wall: float, cpu: float) -> str:
    """One line of the results table."""
    return f"{label:28s}{lam_min:12.5f}{lam_max:12.5f}{hvps:6d}{wall:10.1f}{cpu:10.1f}"


def main() -> None:
    """Time both approaches on the same point and print eigenvalues, HVP counts, wall and CPU times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=128, help="number of images")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (both sides)")
    parser.add_argument("--train-steps", type=int, default=0, help="SGD steps from random init before measuring")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 is steadier on a busy machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.threads} torch threads")

    split = subset(args.n)
    batches = list(data.batches(split, args.batch_size, channels_last=False))
    model = brief_training(models.get("resnet20"), batches, args.train_steps)
    model = recalibrate(model, torch.cat([x for x, _ in batches]))
    with torch.no_grad():
        loss = sum(F.cross_entropy(model(x), y).item() * len(y) for x, y in batches) / args.n
    print(f"data: {split.name}, first {args.n} images, {len(batches)} batches of {args.batch_size}; ResNet-20 "
          f"(seed 0) after {args.train_steps} SGD steps, BN statistics from these images, loss {loss:.3f}; "
          f"Hessian over dim > 1 tensors")

    for method in hessian.METHODS:  # also warms up the convolution kernels for both sides
        op, setup, _ = timed(hessian.operator, model, batches, params="matrices", method=method)
        wall, cpu = per_hvp_seconds(op)
        print(f"  one HVP, method={method!r:10s}{wall:6.2f} s wall, {cpu:6.2f} s CPU   (setup {setup:.2f} s)")

    def lossviz_extremes(tol: float) -> hessian.Extremes:
        return hessian.extremes(hessian.operator(model, batches, params="matrices"), tol=tol, seed=0)

    ours = {tol: timed(lossviz_extremes, tol) for tol in (1e-2, 1e-3)}
    x, y = torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=False)
    (ref_min, ref_max, ref_hvps), ref_wall, ref_cpu = timed(reference_min_max, model, loader)
    ref_min, ref_max = ref_min / len(loader), ref_max / len(loader)

    print(f"{'':28s}{'lambda_min':>12s}{'lambda_max':>12s}{'HVPs':>6s}{'wall (s)':>10s}{'CPU (s)':>10s}")
    print(row("reference, 2x eigsh, / B", ref_min, ref_max, ref_hvps, ref_wall, ref_cpu))
    for tol, (e, wall, cpu) in ours.items():
        print(row(f"lossviz Lanczos tol={tol:g}", e.lambda_min, e.lambda_max, e.hvps, wall, cpu))
    for tol, (e, wall, cpu) in ours.items():
        print(f"tol={tol:g}: |relative difference| lambda_min {abs(e.lambda_min / ref_min - 1):.3%}, "
              f"lambda_max {abs(e.lambda_max / ref_max - 1):.3%}; converged={e.converged}; speed-up "
              f"{ref_wall / wall:.1f}x wall, {ref_cpu / cpu:.1f}x CPU = {ref_hvps / e.hvps:.1f}x fewer HVPs "
              f"x {(ref_cpu / ref_hvps) / (cpu / e.hvps):.1f}x less CPU per HVP")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
