"""Training with the test log measured after every epoch vs after every fifth (the quick profile's
`test_every`): the same run (network, images, precision, seed) trained both ways in one process, alternating,
so both sides see the same machine state. Prints seconds per epoch of each way, their ratio, and whether the
final weights are identical (they must be: the test log only reads the network).
"""
from __future__ import annotations

import argparse
import time

import torch

from lossviz.base import data
from lossviz.base import precision as precisions
from lossviz.compute import train
from lossviz.course import profiles


def timed_fit(config: train.TrainConfig, splits: tuple[data.Split, data.Split], test_every: int) -> tuple[float, dict]:
    """Seconds of one `train.fit` of `config` from its initial network, and the final weights."""
    model = train.initial_model(config)
    start = time.perf_counter()
    train.fit(model, *splits, config, progress=False, test_every=test_every)
    return time.perf_counter() - start, model.state_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet56_noshort")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2, help="alternating pairs of runs; the best of each way counts")
    args = parser.parse_args()
    quick = profiles.get("quick")
    land = quick.landscape
    try:
        data.load_cifar("cifar10", True, download=False)
        dataset = "cifar10"
    except FileNotFoundError:
        dataset = "synthetic"
    config = land.run(args.model, dataset, quick.seed, quick.precision, epochs=args.epochs)
    splits = train.splits(config)
    print(f"{config.model} on {len(splits[0])} {dataset} training images, test log on {len(splits[1])}, batch "
          f"{config.batch_size}, {config.precision}, {args.epochs} epochs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; CPU: {precisions.cpu_model()}", flush=True)
    every, sparse, weights = [], [], []
    for _ in range(args.repeats):
        for test_every, times in ((1, every), (quick.test_every, sparse)):
            seconds, state = timed_fit(config, splits, test_every)
            times.append(seconds / args.epochs)
            weights.append(state)
    same = all(torch.equal(weights[0][k], w[k]) for w in weights[1:] for k in weights[0])
    a, b = min(every), min(sparse)
    print(f"test log after every epoch:        {a:6.2f} s per epoch")
    print(f"test log after every {quick.test_every}th epoch:   {b:6.2f} s per epoch   ratio {a / b:.3f}")
    print(f"final weights identical in all {len(weights)} runs: {same}")


if __name__ == "__main__":
    main()
