"""Does bf16 autocast train as well as fp32? The same ResNet-20 run in both precisions, side by side.

Trains the quick profile's first network (real CIFAR-10 if present, else synthetic) once in fp32 and
once with bf16 autocast, for each of a few seeds, and prints test accuracy, the difference and the
wall-time ratio. Results go to the normal training cache, so a rerun only prints.
"""
from __future__ import annotations

import argparse
import statistics
import time

from lossviz.compute import train
from lossviz.course import profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=None, help="default: the quick profile's")
    args = parser.parse_args()
    base = profiles.get("quick").first_run()
    if args.epochs:
        base = base.replace(epochs=args.epochs)
    try:
        train.splits(base.replace(dataset="cifar10"))
    except FileNotFoundError:
        base = base.replace(dataset="synthetic")
    print(f"{base.model} on {base.dataset}, {base.train_subset} training images, {base.epochs} epochs, "
          f"batch {base.batch_size}")
    acc = {"fp32": [], "bf16": []}
    seconds = {"fp32": 0.0, "bf16": 0.0}
    for seed in args.seeds:
        for precision in ("fp32", "bf16"):
            start = time.perf_counter()
            result = train.train(base.replace(seed=seed, precision=precision), progress=False)
            seconds[precision] += time.perf_counter() - start
            acc[precision].append(result.log[-1]["test_acc"])
            print(f"seed {seed} {precision}: test accuracy {100 * acc[precision][-1]:.2f}%, "
                  f"train loss {result.log[-1]['train_loss']:.4f}", flush=True)
    diffs = [100 * (b - a) for a, b in zip(acc["fp32"], acc["bf16"])]
    spread = [100 * abs(a - b) for a, b in zip(acc["fp32"], acc["fp32"][1:])]
    print(f"mean test accuracy: fp32 {100 * statistics.mean(acc['fp32']):.2f}%, "
          f"bf16 {100 * statistics.mean(acc['bf16']):.2f}%; bf16 - fp32 per seed: "
          + ", ".join(f"{d:+.2f}" for d in diffs) + " points")
    if spread:
        print(f"seed-to-seed spread of fp32: {', '.join(f'{s:.2f}' for s in spread)} points")
    print(f"wall time (training, cache misses only): fp32 {seconds['fp32']:.0f} s, bf16 {seconds['bf16']:.0f} s")


if __name__ == "__main__":
    main()
