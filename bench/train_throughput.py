"""Training throughput of ResNet-20: the Li et al. reference way vs lossviz, same data, one process.

(a) reference: a dataset of PIL images with RandomCrop/RandomHorizontalFlip/ToTensor/Normalize,
    DataLoader(batch 128, 2 workers, shuffle), fp32, contiguous (NCHW) memory.
(b) lossviz: uint8 tensors in memory, batched tensor augmentation, channels_last, fp32.
(c) lossviz with bf16 autocast, only where the CPU computes bf16 natively (AMX or AVX512-BF16): elsewhere
    bf16 is emulated and an order of magnitude slower, and the output says it was skipped.
(d) the quick profile's way: the precision "auto" picks here, without augmentation (the quick profile fits
    2,560 images to a minimizer without it).
(e) (d) with the model compiled by torch.compile (inductor on the CPU); the compile time is printed apart
    and not counted in images/s.
The quick profile trains as (d) on this machine.
Prints images/s of each and the ratios, and the peak memory of a ResNet-56 training step at batch 128.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import torch
from torch import nn

from lossviz.base import data, models
from lossviz.base import precision as precisions
from lossviz.base.schedules import Schedule
from lossviz.compute import train
from lossviz.compute.train import TrainConfig


class PILDataset(torch.utils.data.Dataset):
    """CIFAR images as PIL images with torchvision transforms, as the reference's dataloader does."""

    def __init__(self, split: data.Split):
        import torchvision.transforms as T
        from PIL import Image
        self.images = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in split.images]
        self.labels = split.labels.tolist()
        self.transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                                    T.Normalize(data.CIFAR_MEAN, data.CIFAR_STD)])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), self.labels[i]


def step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, precision: str) -> None:
    """One SGD step."""
    with precisions.autocast(precision, "cpu"):
        logits = model(x)
    loss = nn.functional.cross_entropy(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def reference(split: data.Split, iters: int, warmup: int) -> float:
    """Images/s of the reference way."""
    torch.manual_seed(0)
    model = models.get("resnet20").train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    loader = torch.utils.data.DataLoader(PILDataset(split), batch_size=128, shuffle=True, num_workers=2)
    count, start = 0, 0.0
    for k, (x, y) in enumerate(loader):
        if k == warmup:
            start, count = time.perf_counter(), 0
        if k == warmup + iters:
            break
        step(model, optimizer, x, y, "fp32")
        count += len(y)
    return count / (time.perf_counter() - start)


def lossviz_way(split: data.Split, iters: int, warmup: int, precision: str, augmented: bool = True,
                compiled: bool = False) -> tuple[float, float]:
    """Images/s of lossviz's training loop (the same steps as train.fit), and the seconds of the warm-up steps
    (with `compiled`, the compilation happens there)."""
    torch.manual_seed(0)
    model = models.get("resnet20").to(memory_format=torch.channels_last).train()
    config = TrainConfig(model="resnet20", dataset="synthetic", schedule=Schedule("constant", 0.1))
    optimizer = train.make_optimizer(config, model.parameters())
    net = torch.compile(model) if compiled else model
    count, start, began = 0, 0.0, time.perf_counter()
    warm_seconds = 0.0
    batches = data.batches(split, 128, shuffle=True, augmented=augmented, seed=0)
    for k, (x, y) in enumerate(batches):
        if k == warmup:
            warm_seconds = time.perf_counter() - began
            start, count = time.perf_counter(), 0
        if k == warmup + iters:
            break
        step(net, optimizer, x, y, precision)
        count += len(y)
    return count / (time.perf_counter() - start), warm_seconds


def peak_memory_resnet56() -> float:
    """Peak resident memory (GiB) of a fresh process training ResNet-56 at batch 128 for a few steps."""
    code = (
        "import resource, torch; from lossviz.base import models, data; from lossviz.compute import train;"
        "from lossviz.base.schedules import Schedule; from lossviz.compute.train import TrainConfig;"
        "m = models.get('resnet56').to(memory_format=torch.channels_last).train();"
        "c = TrainConfig(model='resnet56', dataset='synthetic', schedule=Schedule('constant', 0.1));"
        "o = train.make_optimizer(c, m.parameters());"
        "s = data.synthetic(512);"
        "[(o.zero_grad(), torch.nn.functional.cross_entropy(m(x), y).backward(), o.step()) for x, y in data.batches(s, 128, augmented=True)];"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip (e), torch.compile")
    args = parser.parse_args()
    try:
        split, source = data.first(data.load_cifar("cifar10", True, download=False), args.images), "CIFAR-10"
    except FileNotFoundError:
        split, source = data.synthetic(args.images), "synthetic (CIFAR-10 not found)"
    print(f"data: {source}, {len(split)} images; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"CPU: {precisions.cpu_model()}; {precisions.describe('auto', 'cpu')}", flush=True)
    a = reference(split, args.iters, args.warmup)
    b, _ = lossviz_way(split, args.iters, args.warmup, "fp32")
    print(f"(a) reference (PIL + DataLoader, fp32): {a:8.1f} images/s")
    print(f"(b) lossviz fp32:                       {b:8.1f} images/s   (b)/(a) = {b / a:.2f}")
    if precisions.native_bf16("cpu"):
        c, _ = lossviz_way(split, args.iters, args.warmup, "bf16")
        print(f"(c) lossviz bf16 autocast:              {c:8.1f} images/s   (c)/(a) = {c / a:.2f}   (c)/(b) = {c / b:.2f}")
    else:
        print("(c) lossviz bf16 autocast: skipped, this CPU has no native bf16 (AMX or AVX512-BF16)")
    quick = precisions.resolve("auto", "cpu")
    d, _ = lossviz_way(split, args.iters, args.warmup, quick, augmented=False)
    print(f"(d) quick profile ({quick}, no augmentation): {d:8.1f} images/s   (d)/(a) = {d / a:.2f}")
    if args.compile:
        e, compile_seconds = lossviz_way(split, args.iters, args.warmup, quick, augmented=False, compiled=True)
        print(f"(e) (d) + torch.compile:                {e:8.1f} images/s   (e)/(a) = {e / a:.2f}   (e)/(d) = {e / d:.2f}"
              f"   (compiling and {args.warmup} warm-up steps: {compile_seconds:.0f} s)")
    print(f"the quick profile trains as (d) here: {quick}, no augmentation, not compiled")
    print(f"peak memory, ResNet-56 training at batch 128: {peak_memory_resnet56():.2f} GiB")


if __name__ == "__main__":
    main()
