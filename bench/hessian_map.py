"""Benchmark: an eigenvalue-map row with cold Lanczos starts against warm starts from the neighbouring point.

Both sides compute the same points of notebook 05's plane (the quick profile's first Hessian network, trained
and cached by the course; trained here if the cache lacks it): `--points` values of alpha in [-1, 1] at beta = 0,
over the profile's Hessian images, tol 1e-2, floor 1e-2, in one process. Prints per point the HVPs, wall and
CPU seconds of each way, the totals and their ratio, and the largest relative difference of the eigenvalues.
On a shared machine CPU time is the steadier measure.

Run from the repository root:
    .venv/bin/python bench/hessian_map.py [--points 5] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from lossviz.base import directions
from lossviz.compute import hessian
from lossviz.course.recipes import Course


def main() -> None:
    """Time a row of map points cold and warm and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5, help="points along alpha in [-1, 1]")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    course = Course.from_profile("quick")
    name = course.profile.landscape.hessian_models[0]
    run = course.model_runs((name,))[name]
    model = run.model()
    theta = directions.weights(model)
    delta, _ = directions.random_directions(model, 0, count=2)
    batches = course.hessian_sample().batches(course.data_root)["train"]
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {args.threads} torch threads; {name}, "
          f"{sum(len(y) for _, y in batches)} images, {args.points} points along alpha at beta = 0")
    results: dict[str, list] = {"cold": [], "warm": []}
    for way in results:
        previous = None
        for a in np.linspace(-1, 1, args.points):
            point = {**theta, **{k: theta[k] + a * delta[k] for k in delta}}
            wall, cpu = time.perf_counter(), time.process_time()
            op = hessian.operator(model, batches, point)
            start = hessian.warm_start(previous.vectors) if way == "warm" and previous is not None else None
            e = hessian.extremes(op, tol=1e-2, max_steps=100, floor=1e-2, start=start)
            results[way].append((a, e, time.perf_counter() - wall, time.process_time() - cpu))
            previous = e
    print(f"{'alpha':>6s} | {'cold HVPs':>9s} {'wall':>6s} {'CPU':>6s} | {'warm HVPs':>9s} {'wall':>6s} {'CPU':>6s} | "
          f"{'lambda_min':>10s} {'lambda_max':>10s}")
    for (a, c, cw, cc), (_, w, ww, wc) in zip(results["cold"], results["warm"]):
        print(f"{a:6.2f} | {c.hvps:9d} {cw:6.1f} {cc:6.1f} | {w.hvps:9d} {ww:6.1f} {wc:6.1f} | "
              f"{c.lambda_min:10.3f} {c.lambda_max:10.2f}")
    total = {way: [sum(r[1].hvps for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)]
             for way, rows in results.items()}
    n = args.points
    for way, (hvps, wall, cpu) in total.items():
        print(f"{way}: {hvps / n:.1f} HVPs, {wall / n:.1f} s wall, {cpu / n:.1f} s CPU per point")
    print(f"warm / cold: HVPs {total['warm'][0] / total['cold'][0]:.2f}, wall {total['warm'][1] / total['cold'][1]:.2f}, "
          f"CPU {total['warm'][2] / total['cold'][2]:.2f}")
    gaps = [max(abs(w.lambda_min - c.lambda_min) / max(abs(c.lambda_min), 1e-2 * c.lambda_max),
                abs(w.lambda_max / c.lambda_max - 1)) for (_, c, _, _), (_, w, _, _) in zip(results["cold"], results["warm"])]
    print(f"largest relative difference of the eigenvalues (lambda_min relative to max(|lambda_min|, 0.01 "
          f"lambda_max), the stopping rule's scale): {max(gaps):.2%}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
