"""The paper profile on a GPU: a short end-to-end run, per-network training speed, surface throughput.

1. `lossviz.compute.train.train` on the paper profile's first run (full CIFAR-10), shortened to one epoch: the
   paper code path runs on the device, and its epoch time is measured.
2. For each paper network, `--iters` timed SGD steps at batch 128 in fp32 and in bf16 autocast (same
   model, data and step): seconds per epoch of 50,000 images and the projected time of the paper's run.
3. One surface point of ResNet-56 over `--surface-images` training images, fp32 vs bf16, projected to
   the paper's 51 x 51 grid over 50,000 images.
Prints a table and the ratios; writes the numbers as JSON to --json when given.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from lossviz.base import data, directions, models
from lossviz.compute import surface, train
from lossviz.course import profiles

PAPER_NETWORKS = {  # name: (epochs of the paper's run, who trains it)
    "vgg9": (300, "Li et al."), "resnet56": (300, "Li et al."), "resnet110": (300, "Li et al."),
    "wrn56_8": (300, "Li et al."), "vgg16": (200, "Garipov et al."), "preresnet164": (150, "Garipov et al."),
    "wrn28_10": (200, "Garipov et al."),
}


def sync(device: torch.device) -> None:
    """Wait for queued device work (timings)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_seconds(name: str, split: data.Split, device: torch.device, precision: str, iters: int,
                 warmup: int = 3) -> float:
    """Mean seconds of one SGD step (batch 128, augmented, channels_last) after warm-up."""
    torch.manual_seed(0)
    model = models.get(name).to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    generator = torch.Generator().manual_seed(0)
    total = 0.0
    for k in range(warmup + iters):
        idx = torch.randint(0, len(split), (128,), generator=generator)
        x = data.normalize(data.augment(split.images[idx], generator)).to(device, non_blocking=True)
        x = x.contiguous(memory_format=torch.channels_last)
        y = split.labels[idx].to(device)
        sync(device)
        start = time.perf_counter()
        with train.autocast(precision, device):
            logits = model(x)
        loss = nn.functional.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sync(device)
        if k >= warmup:
            total += time.perf_counter() - start
    return total / iters


def surface_seconds(model: nn.Module, split: data.Split, device: torch.device, precision: str,
                    images: int) -> tuple[float, float]:
    """Seconds per surface point of `model` over `images` training images (0.1 along a filter-normalized
    direction), and the loss there."""
    model = model.to(device).eval()
    batches = list(data.batches(data.first(split, images), 1000))
    theta = directions.weights(model)
    (delta,) = directions.random_directions(model, 0, count=1)
    point = {k: v + 0.1 * delta[k] if k in delta else v for k, v in theta.items()}
    evaluate = surface.evaluator(model.to(device), {"train": batches}, precision=precision)
    evaluate(point)  # warm-up
    sync(device)
    start = time.perf_counter()
    values = evaluate(point)
    sync(device)
    return time.perf_counter() - start, values["train_loss"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--networks", nargs="*", default=list(PAPER_NETWORKS))
    parser.add_argument("--surface-images", type=int, default=10_000)
    parser.add_argument("--end-to-end", type=int, default=50_000, help="training images of the one-epoch run")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    unknown = [n for n in args.networks if n not in PAPER_NETWORKS]
    if unknown:
        raise ValueError(f"networks={unknown} are not paper networks; valid choices: {', '.join(PAPER_NETWORKS)}")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}, torch {torch.__version__}")
    results: dict = {"device": name}

    P = profiles.PAPER
    config = P.first_run().replace(epochs=1, checkpoint_epochs=(), train_subset=args.end_to_end)
    start = time.perf_counter()
    run = train.train(config, device=device, progress=False)
    results["end_to_end"] = {"model": config.model, "images": args.end_to_end, "seconds": time.perf_counter() - start,
                             "test_error": run.test_error}
    print(f"1. paper profile, {config.model}, one epoch on {args.end_to_end} images: "
          f"{results['end_to_end']['seconds']:.1f} s (data, training, test), test error {run.test_error:.2f}%")

    split = data.load("cifar10", True)
    print(f"\n2. training, batch 128, {args.iters} timed steps each\n"
          f"{'network':<14}{'params':>10}{'fp32 s/epoch':>14}{'bf16 s/epoch':>14}{'bf16 speed-up':>15}"
          f"{'paper run (bf16)':>18}")
    steps_per_epoch = -(-50_000 // 128)
    results["training"] = {}
    for net in args.networks:
        fp32, bf16 = (step_seconds(net, split, device, p, args.iters) * steps_per_epoch for p in ("fp32", "bf16"))
        epochs, _ = PAPER_NETWORKS[net]
        results["training"][net] = {"fp32_epoch_s": fp32, "bf16_epoch_s": bf16, "epochs": epochs}
        print(f"{net:<14}{models.count_parameters(models.get(net)) / 1e6:>9.2f}M{fp32:>14.1f}{bf16:>14.1f}"
              f"{fp32 / bf16:>14.2f}x{bf16 * epochs / 3600:>14.1f} h ({epochs} ep.)")

    print(f"\n3. surface point, {args.surface_images} training images (ResNet-56 at initialization for the speed,"
          f" the one-epoch ResNet-20 of 1. for the bf16 loss difference)")
    results["surface"] = {}
    for precision in ("fp32", "bf16"):
        seconds, _ = surface_seconds(models.get("resnet56"), split, device, precision, args.surface_images)
        _, loss = surface_seconds(run.model(), split, device, precision, args.surface_images)
        grid = seconds * 50_000 / args.surface_images * 51 * 51
        results["surface"][precision] = {"point_s": seconds, "trained_loss": loss, "grid_51x51_50k_s": grid}
        print(f"{precision}: ResNet-56 {seconds:.3f} s per point ({args.surface_images / seconds:,.0f} images/s), "
              f"a 51x51 grid over 50,000 images: {grid / 60:.1f} min; trained ResNet-20 loss {loss:.5f}")
    s = results["surface"]
    print(f"bf16 / fp32 speed: {s['fp32']['point_s'] / s['bf16']['point_s']:.2f}x, "
          f"loss difference {abs(s['fp32']['trained_loss'] - s['bf16']['trained_loss']):.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
