"""The gpu profile's unit costs on this machine, and its projected time per notebook, in about 8 minutes of a GPU.

1. training (`train.fit`, the course's loop): seconds per 50,000-image epoch of ResNet-20 and ResNet-56 at batch 128
   and 512 in fp32 with TF32 and in bf16 autocast, and of every (network, batch) the gpu profile trains, in its
   precision; 10,240 images (--tiny: 8) for three epochs (--tiny: one), the second timed (the first holds cuDNN's
   autotuning, the test log follows the last);
2. surfaces (`surface.evaluator`): images/s of one ResNet-56 point at evaluation batch 128, 1,000 and 2,048, BN folded
   into the convolutions or not, and of every network the profile evaluates at the device's evaluation batch;
3. Hessian (`hessian.operator`, the course's "cached" products): seconds of one Hessian-vector product over 2,000
   images and the peak memory, per network the profile needs ("reverse" products where "cached" runs out of memory);
4. accuracy: the gpu profile's first run (ResNet-20, full schedule shape) shortened to --accuracy-epochs: test
   error and the minimizer criterion's training loss (eval mode, unaugmented);
5. the gpu profile's projected time per notebook from these unit costs (`lossviz.course.projection.project`).

Prints a table per part and writes every number as JSON (--json, atomically). `--device cpu --tiny` runs it all on
a CPU in a minute or two with a few images per measurement (numbers meaningless, structure the same).
Real CIFAR-10 when it is under --data-root, synthetic images otherwise.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import time
from pathlib import Path

import torch

from lossviz.base import data, devices, files, models
from lossviz.base.precision import tf32
from lossviz.compute import hessian, surface, train
from lossviz.course import profiles, projection

FULL = projection.FULL_EPOCH


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    images: int  # training images of a timed run
    timed_epochs: int  # epochs of a timed run: the second is timed (the first holds cuDNN's autotuning), or the one
    accuracy_images: int | None  # training images of the accuracy run (None: all)
    accuracy_test_images: int | None  # test images it is scored on (None: all)
    accuracy_epochs: int
    surface_images: int
    sweep_batches: tuple[int, ...]
    hvp_images: int
    hvp_repeats: int


FULL_SIZES = Sizes(images=10_240, timed_epochs=3, accuracy_images=None, accuracy_test_images=None,
                   accuracy_epochs=10, surface_images=10_000, sweep_batches=(128, 1_000, 2_048), hvp_images=2_000,
                   hvp_repeats=3)
TINY_SIZES = Sizes(images=8, timed_epochs=1, accuracy_images=128, accuracy_test_images=128, accuracy_epochs=1,
                   surface_images=16, sweep_batches=(4, 8, 16), hvp_images=8, hvp_repeats=1)


def splits(root: Path | None, tiny: bool) -> tuple[data.Split, data.Split, str]:
    """CIFAR-10's training and test splits, or synthetic ones where it is not under `root`."""
    try:
        return (data.load_cifar("cifar10", True, root, download=False),
                data.load_cifar("cifar10", False, root, download=False), "cifar10")
    except (FileNotFoundError, ValueError, RuntimeError, OSError):
        n = 2_000 if tiny else 20_000
        return data.synthetic(n), data.synthetic(n // 4, seed=1), "synthetic"


def epoch_seconds(config: train.TrainConfig, train_split: data.Split, test_split: data.Split, sizes: Sizes,
                  device: torch.device) -> float:
    """Seconds per 50,000-image epoch of `config`'s network, batch and precision: the second epoch (or the only one)
    of `train.fit` over `sizes.images` images (the test log after the last), scaled."""
    images, epochs = sizes.images, sizes.timed_epochs
    config = config.replace(epochs=epochs, checkpoint_epochs=(), train_subset=images, test_subset=min(images, 1_000))
    torch.manual_seed(0)
    model = train.network(config)
    _, log = train.fit(model, data.first(train_split, images), data.first(test_split, min(images, 1_000)), config,
                       device, progress=False, test_every=epochs)
    return log[min(1, epochs - 1)]["seconds"] * FULL / images


def images_per_s(model: torch.nn.Module, split: data.Split, batch_size: int, device: torch.device,
                 fuse_bn: bool = False, precision: str = "fp32") -> float:
    """Training images per second of one surface point of `model` (its weights plus small noise) at `batch_size`."""
    model = model.to(device).eval()
    batches = list(data.batches(split, batch_size, device=device))
    evaluate = surface.evaluator(model, {"train": batches}, precision=precision, fuse_bn=fuse_bn)
    theta = {k: v.detach() for k, v in model.named_parameters()}
    point = {k: v + 0.01 * torch.randn_like(v) for k, v in theta.items()}
    evaluate(point)  # warm-up (cuDNN's autotuning)
    devices.synchronize(device)
    start = time.perf_counter()
    evaluate(point)
    devices.synchronize(device)
    return len(split) / (time.perf_counter() - start)


def hvp_cost(model: torch.nn.Module, split: data.Split, repeats: int, device: torch.device
             ) -> tuple[float, str, float | None]:
    """(seconds of one Hessian-vector product over `split`, the method, peak device memory in GiB or None on a CPU):
    the course's "cached" products, "reverse" where those run out of memory."""
    model = model.to(device).eval()
    batches = list(data.batches(split, data.eval_batch_size(device), device=device))
    for method in ("cached", "reverse"):
        op = None
        try:
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
            op = hessian.operator(model, batches, method=method)
            v = torch.randn(op.dim, generator=torch.Generator().manual_seed(0)).to(device, op.dtype)
            op(v)  # warm-up (builds the cached graphs)
            devices.synchronize(device)
            start = time.perf_counter()
            for _ in range(repeats):
                op(v)
            devices.synchronize(device)
            seconds = (time.perf_counter() - start) / repeats
            peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
            return seconds, method, peak
        except torch.cuda.OutOfMemoryError:
            op = None  # its cached graphs go before the next method starts
            gc.collect()
            torch.cuda.empty_cache()
    raise RuntimeError("both Hessian-vector product methods ran out of memory")


def print_table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    """One part's table."""
    print(f"\n{title}")
    widths = [max(len(str(h)), *(len(_cell(r[k])) for r in rows)) for k, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(_cell(c).rjust(w) for c, w in zip(r, widths)))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA > MPS > CPU), cpu, cuda, cuda:N")
    parser.add_argument("--tiny", action="store_true", help="a few images per measurement: the whole script in minutes "
                                                            "on a CPU")
    parser.add_argument("--data-root", type=Path, default=None, help="default: $LOSSVIZ_DATA or data/")
    parser.add_argument("--json", type=Path, default=Path("bench/results/gpu_check.json"))
    args = parser.parse_args(argv)
    device = devices.resolve(args.device)
    devices.prepare(device)
    sizes = TINY_SIZES if args.tiny else FULL_SIZES
    profile = profiles.get("gpu", device)  # its settings; the check of its device kind is the Course's
    need = projection.needs(profile)
    train_split, test_split, dataset = splits(args.data_root, args.tiny)
    started = time.perf_counter()
    print(f"device {device} = {devices.name_of(device)}; torch {torch.__version__}; data {dataset}; "
          f"{'tiny' if args.tiny else 'full'} sizes")
    result: dict = {"device": str(device), "device_name": devices.name_of(device), "torch": torch.__version__,
                    "dataset": dataset, "tiny": args.tiny, "sizes": dataclasses.asdict(sizes)}

    # 1. training
    land = profile.landscape
    rows = []
    for net in ("resnet20", "resnet56"):
        for batch in (128, 512):
            for precision in ("fp32", "bf16"):
                config = land.run(net, "cifar10", 0, precision, batch_size=batch, epochs=3)
                with tf32(precision == "fp32"):
                    seconds = epoch_seconds(config, train_split, test_split, sizes, device)
                rows.append({"network": net, "batch": batch, "precision": "tf32" if precision == "fp32" else precision,
                             "epoch_s": seconds})
    print_table("1. training: seconds per 50,000-image epoch (train.fit)", ("network", "batch", "precision", "s/epoch"),
                [(r["network"], r["batch"], r["precision"], r["epoch_s"]) for r in rows])
    epochs: dict[str, float] = {}
    for key in need["epoch_seconds"]:
        net, batch = key.split("@")
        config = land.run(net, "cifar10", 0, profile.precision, batch_size=int(batch), epochs=3)
        with tf32(True):
            epochs[key] = epoch_seconds(config, train_split, test_split, sizes, device)
    print_table(f"   every (network, batch) of the gpu profile, {profile.precision} (TF32 on CUDA)",
                ("network@batch", "s/epoch"), list(epochs.items()))
    result["training"] = rows

    # 2. surfaces
    sample = data.first(train_split, sizes.surface_images)
    sweep = [{"batch": b, "fuse_bn": fold, "images_per_s": images_per_s(models.get("resnet56"), sample, b, device, fold)}
             for b in sizes.sweep_batches for fold in (False, True)]
    print_table(f"2. surfaces: ResNet-56, one point over {len(sample):,} images (surface.evaluator), images/s",
                ("batch", "BN folded", "images/s"), [(r["batch"], r["fuse_bn"], r["images_per_s"]) for r in sweep])
    speeds = {net: images_per_s(models.get(net), sample, data.eval_batch_size(device), device)
              for net in need["surface_images_per_s"]}
    print_table(f"   every network of the gpu profile at batch {data.eval_batch_size(device)}, fp32",
                ("network", "images/s"), list(speeds.items()))
    result["surface_sweep"] = sweep

    # 3. Hessian-vector products
    hvp_split = data.first(train_split, sizes.hvp_images)
    hvps = {}
    for net in need["hvp_seconds"]:
        seconds, method, peak = hvp_cost(models.get(net), hvp_split, sizes.hvp_repeats, device)
        hvps[net] = {"seconds": seconds, "method": method, "peak_gib": peak}
    print_table(f"3. Hessian-vector products over {len(hvp_split):,} images (hessian.operator)",
                ("network", "s/product", "method", "peak GiB"),
                [(n, h["seconds"], h["method"], h["peak_gib"]) for n, h in hvps.items()])
    result["hessian"] = hvps

    # 4. a short accuracy run of the gpu profile's first network
    config = profile.first_run().replace(epochs=sizes.accuracy_epochs, checkpoint_epochs=(),
                                         train_subset=sizes.accuracy_images)
    own = train_split if sizes.accuracy_images is None else data.first(train_split, sizes.accuracy_images)
    scored = test_split if sizes.accuracy_test_images is None else data.first(test_split, sizes.accuracy_test_images)
    torch.manual_seed(config.seed)
    model = train.network(config)
    start = time.perf_counter()
    with tf32(True):
        _, log = train.fit(model, own, scored, config, device, progress=False, test_every=config.epochs)
    seconds = time.perf_counter() - start
    loss, acc = train.minimizer_loss(model, own, device)
    result["accuracy"] = {"network": config.model, "epochs": config.epochs, "batch": config.batch_size,
                          "train_images": len(own), "test_images": len(scored), "seconds": seconds, "test_error": 100.0 - log[-1]["test_acc_pct"],
                          "train_loss_eval": loss, "train_acc_eval": acc, "minimizer_loss": profile.minimizer_loss}
    a = result["accuracy"]
    print(f"\n4. accuracy: {a['network']} {a['epochs']} epochs at batch {a['batch']} on {a['train_images']:,} images in "
          f"{seconds:.1f} s: test error {a['test_error']:.2f}%, training loss (eval mode, unaugmented) "
          f"{loss:.4f} against the profile's criterion {profile.minimizer_loss:.2f}")

    # 5. the projection
    costs = projection.UnitCosts(epoch_seconds=epochs, surface_images_per_s=speeds,
                                 hvp_seconds={n: h["seconds"] for n, h in hvps.items()}, hvp_images=len(hvp_split))
    per_notebook = projection.project(profile, costs)
    total = sum(per_notebook.values())
    result["unit_costs"] = dataclasses.asdict(costs)
    result["projection"] = {"per_notebook_s": per_notebook, "total_s": total}
    print_table("5. the gpu profile from an empty cache, projected from these unit costs (lossviz.course.projection)",
                ("notebook", "minutes"), [(k, v / 60) for k, v in per_notebook.items()] + [("total", total / 60)])
    result["seconds"] = time.perf_counter() - started
    files.write_bytes(args.json, (json.dumps(result, indent=1) + "\n").encode())
    print(f"\n{result['seconds']:.0f} s in all; wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
