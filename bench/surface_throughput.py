"""Loss-surface throughput: the Li et al. reference way vs lossviz, same model, data, grid and directions, one process.

One model (default ResNet-20, randomly initialized with BN statistics estimated on the data, or
`--checkpoint`), the first `--images` CIFAR-10 training images (synthetic if CIFAR-10 is not under
data/), a `--points` x `--points` grid on [-1, 1]^2 and two seeded filter-normalized directions
(ignore=biasbn), evaluated four ways:

(a) reference (tomgoldstein/loss-landscape): per point the weights are written in place,
    p.data = w + alpha dx + beta dy (net_plotter.set_weights), then evaluation.eval_loss: a
    DataLoader (batch 128, 2 workers) over a dataset of PIL images with ToTensor + Normalize,
    fp32, model.eval(), contiguous NCHW memory, loss.item() * batch size summed over batches.
(b) lossviz at the course's defaults: precision "auto" (bf16 autocast only where the CPU has AMX or
    AVX512-BF16, else fp32; the command line's default is fp32, `--precision auto` gives this) and the
    default evaluation batch size (`data.eval_batch_size`).
(c) lossviz fp32: `surface.scan` (data prepared once, channels_last) at the fastest of a few batch
    sizes (or `--batch-size`): how far the default batch size is from the best one.
(d) lossviz's fastest mode: the fastest of bf16 autocast and/or fuse_bn=True (at (c)'s batch size;
    bf16 + fuse_bn also at the others) whose loss on the probe is within 1e-2 (relative) of fp32.
    bf16 candidates are skipped (and the output says so) where the CPU has no native bf16: there it
    is emulated and an order of magnitude slower than fp32.
The probe that picks (c) and (d) is one evaluation of the grid's corner on the first 1,000 images
(or fewer) per candidate; it is not part of any way's time.

Prints images x points / s of each and the ratios to (a), the achieved GFLOP/s (forward FLOPs of one
image from FlopCounterMode, times images x points) against fp32 (and, where native, bf16) 2048x2048
matmul peaks measured in the same run (best of 3 before and 3 after), the largest differences of the (b) and (c)
grids from (a), the peak resident memory of each way (Linux: the process's VmHWM, reset before each
way; elsewhere the cumulative ru_maxrss; the DataLoader's worker processes not counted), and which
of the targets were met.

Cost: every way does images x points forward passes (ResNet-20: 0.08 GFLOP each, ResNet-56: 0.25).
The defaults (ResNet-20, 1,000 images, 5x5) take one to three minutes on two cores of either kind;
`--model resnet56 --images 5000` about 15 times as long. On a machine shared with other jobs, threads spinning at OpenMP barriers can slow every
way several-fold and unevenly: set OMP_NUM_THREADS (or `--threads`) explicitly, watch the load
average printed, and prefer `--threads 1` or OMP_WAIT_POLICY=PASSIVE there. The CPU seconds printed
next to the wall time show how much of the machine the process got.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import gc
import itertools
import math
import os
import resource
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lossviz import cli
from lossviz.base import cache, data, grids, models, precision
from lossviz.base import directions as dirs
from lossviz.compute import surface

BATCH_SIZES = (128, 250, 500, 1000)  # candidates of (b) and (c) unless --batch-size
FAST_MODES = (("bf16", True), ("bf16", False), ("fp32", True))  # (precision, fuse_bn) candidates of (c)
FAST_TOLERANCE = 1e-2  # largest relative loss difference allowed for (c)


# ---- measuring ------------------------------------------------------------------------------------------

class PeakMemory:
    """Peak resident memory (GiB) of this process while inside the block.

    On Linux the kernel's high-water mark is reset on entry (/proc/self/clear_refs, after returning
    freed heap to the system) and read from /proc/self/status on exit; elsewhere `gib` is the
    process's cumulative ru_maxrss and `exact` is False.
    """

    def __enter__(self) -> PeakMemory:
        gc.collect()
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        self.exact = False
        with contextlib.suppress(OSError):
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.exact = True
        return self

    def __exit__(self, *exc) -> None:
        self.gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
        if sys.platform == "darwin":
            self.gib /= 1024  # bytes there
        if self.exact:
            with open("/proc/self/status") as f:
                kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
            self.gib = kib / 2**20


def matmul_peak(dtype: torch.dtype, n: int = 2048, reps: int = 3) -> tuple[float, float]:
    """GFLOP/s of the best of `reps` n x n torch.mm in `dtype` (after one warm-up): per wall and per CPU second."""
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=gen).to(dtype) for _ in range(2))
    torch.mm(a, b)
    wall = cpu = math.inf
    for _ in range(reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return 2 * n**3 / wall / 1e9, 2 * n**3 / cpu / 1e9 * torch.get_num_threads()


def forward_flops(model: nn.Module) -> int:
    """FLOPs (2 per multiply-add) of one forward pass on one 3x32x32 image."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        copy.deepcopy(model).eval()(torch.zeros(1, 3, 32, 32))
    return counter.get_total_flops()


# ---- the problem ----------------------------------------------------------------------------------------

def load_split(images: int) -> tuple[data.Split, str]:
    """The first `images` CIFAR-10 training images, else as many synthetic ones."""
    try:
        return data.first(data.load_cifar("cifar10", True, download=False), images), "CIFAR-10 train"
    except FileNotFoundError:
        return data.synthetic(images), "synthetic (CIFAR-10 not found under data/)"


def load_state(path: str) -> dict[str, torch.Tensor]:
    """A state dict as the command line reads one (a state dict, or reference-style {"state_dict": ...}),
    or the final weights of a lossviz training cache entry."""
    try:
        loaded = cache.load(path)
    except ValueError:  # not a cache entry (no checksum header): what `python -m lossviz` accepts
        return cli.load_state(path)
    if isinstance(loaded, dict) and "value" in loaded:  # {"key": ..., "value": TrainResult}
        loaded = loaded["value"]
    return getattr(loaded, "state", loaded)


def make_model(name: str, split: data.Split, seed: int = 0, checkpoint: str | None = None) -> nn.Module:
    """The checkpoint's model, else a seeded fresh model with BN running statistics estimated on 500 images."""
    torch.manual_seed(seed)
    model = models.get(name, split.num_classes)
    if checkpoint:
        model.load_state_dict(load_state(checkpoint))
        return model.eval()
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for x, _ in data.batches(data.first(split, min(500, len(split))), 250):
            model(x)
    for m in bns:
        m.momentum = 0.1
    return model.eval()


@dataclass
class Result:
    """Loss and accuracy grids (len(ys), len(xs)), seconds, peak memory and how the way was set up."""

    loss: np.ndarray
    acc: np.ndarray
    seconds: float
    cpu: float  # CPU seconds of this process (all its threads; not the DataLoader workers)
    memory: float = math.nan
    setting: str = ""


# ---- (a) the reference way ------------------------------------------------------------------------------

class PILDataset(torch.utils.data.Dataset):
    """CIFAR images handed out as PIL images through ToTensor + Normalize, like torchvision's CIFAR10."""

    def __init__(self, split: data.Split):
        import torchvision.transforms as T

        self.images = split.images.permute(0, 2, 3, 1).contiguous().numpy()  # HWC uint8, as CIFAR10.data
        self.labels = split.labels.tolist()
        self.transform = T.Compose([T.ToTensor(), T.Normalize(data.CIFAR_MEAN, data.CIFAR_STD)])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def eval_loss(net: nn.Module, criterion: nn.Module, loader) -> tuple[float, float]:
    """evaluation.eval_loss of the reference code (cross-entropy branch, CPU)."""
    correct, total_loss, total = 0, 0.0, 0
    net.eval()
    with torch.no_grad():
        for inputs, targets in loader:
            batch_size = inputs.size(0)
            total += batch_size
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            total_loss += loss.item() * batch_size
            _, predicted = outputs.max(1)
            correct += predicted.eq(targets).sum().item()
    return total_loss / total, 100.0 * correct / total


def reference(model: nn.Module, split: data.Split, directions: list[dict], xs: np.ndarray, ys: np.ndarray) -> Result:
    """Way (a): the whole grid as plot_surface.crunch does it, in meshgrid order."""
    start, cpu = time.perf_counter(), time.process_time()
    net = copy.deepcopy(model).eval()  # contiguous NCHW, as the reference models are
    weights = [p.data.clone() for p in net.parameters()]  # net_plotter.get_weights
    dx, dy = ([d[name] for name, _ in net.named_parameters()] for d in directions)
    loader = torch.utils.data.DataLoader(PILDataset(split), batch_size=128, shuffle=False, num_workers=2)
    criterion = nn.CrossEntropyLoss()
    loss, acc = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
    for (j, beta), (i, alpha) in itertools.product(enumerate(ys), enumerate(xs)):
        for p, w, d0, d1 in zip(net.parameters(), weights, dx, dy):  # net_plotter.set_weights
            p.data = w + (d0 * float(alpha) + d1 * float(beta)).type(w.type())
        loss[j, i], acc[j, i] = eval_loss(net, criterion, loader)
    return Result(loss, acc, time.perf_counter() - start, time.process_time() - cpu,
                  setting="batch 128, NCHW, fp32, DataLoader (2 workers)")


# ---- (b), (c) lossviz -----------------------------------------------------------------------------------

def lossviz_way(model: nn.Module, split: data.Split, directions: list[dict], xs: np.ndarray, ys: np.ndarray,
                batch_size: int, precision: str, fuse_bn: bool) -> Result:
    """Ways (b) and (c): surface.scan over the grid, data batching and preparation included in the time."""
    start, cpu = time.perf_counter(), time.process_time()
    s = surface.scan(model, dirs.weights(model), directions, xs, ys, data={"train": data.batches(split, batch_size)},
                     precision=precision, fuse_bn=fuse_bn)
    setting = f"batch {batch_size}, {precision}" + (", fuse_bn" if fuse_bn else "")
    return Result(s.values["train_loss"], s.values["train_acc"], time.perf_counter() - start,
                  time.process_time() - cpu, setting=setting)


def probe(model: nn.Module, subset: data.Split, point: dict, batch_size: int, precision: str,
          fuse_bn: bool) -> tuple[float, float]:
    """(images/s, loss) of one evaluation of `point` on `subset` (a first call costs only ~1% more than later ones)."""
    batches = list(data.batches(subset, batch_size))
    ev = surface.evaluator(model, {"probe": batches}, precision=precision, fuse_bn=fuse_bn)
    start = time.perf_counter()
    loss = ev(point)["probe_loss"]
    return len(subset) / (time.perf_counter() - start), loss


def choose(model: nn.Module, subset: data.Split, point: dict, candidates: list[tuple[int, str, bool]],
           reference_loss: float | None = None) -> tuple[tuple[int, str, bool] | None, float, list[str]]:
    """The fastest candidate (batch size, precision, fuse_bn) on the probe within FAST_TOLERANCE of
    `reference_loss` (default: the first candidate's loss), its loss, and one line per candidate."""
    best, best_rate, best_loss, lines = None, 0.0, math.nan, []
    for batch_size, chosen, fuse_bn in candidates:
        rate, loss = probe(model, subset, point, batch_size, chosen, fuse_bn)
        if reference_loss is None:
            reference_loss = loss
        error = abs(loss - reference_loss) / abs(reference_loss)
        ok = error <= FAST_TOLERANCE
        lines.append(f"batch {batch_size:5d} {chosen} fuse_bn={fuse_bn!s:5}: {rate:7.1f} images/s, "
                     f"loss rel. diff {error:.1e}{'' if ok else ' (too large)'}")
        if ok and rate > best_rate:
            best, best_rate, best_loss = (batch_size, chosen, fuse_bn), rate, loss
    return best, best_loss, lines


def largest_difference(result: Result, ref: Result) -> tuple[float, float, float]:
    """Largest differences from (a): relative of the loss, and of the accuracy relative and in percentage points."""
    loss = float(np.max(np.abs(result.loss - ref.loss) / np.abs(ref.loss)))
    points = np.abs(result.acc - ref.acc)
    relative = float(np.max(points / np.where(ref.acc == 0, 100.0, np.abs(ref.acc))))
    return loss, relative, float(np.max(points))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--points", type=int, default=5, help="grid points per axis on [-1, 1]")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: as started)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch size of (c) and (d) (default: the fastest of 128/250/500/1000 on a probe)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and the directions")
    parser.add_argument("--checkpoint", default=None,
                        help="weights of --model (a state dict as `python -m lossviz` reads it, or a lossviz "
                             "training cache file); default: random initialization")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    split, source = load_split(args.images)
    model = make_model(args.model, split, args.seed, args.checkpoint)
    directions = dirs.random_directions(model, args.seed, 2)  # filter-normalized, ignore=biasbn, parameters
    xs = ys = grids.grid(-1.0, 1.0, args.points)
    evaluations = len(split) * len(xs) * len(ys)
    flops = forward_flops(model)
    weights = "from the checkpoint" if args.checkpoint else f"random (seed {args.seed}), BN statistics from the data"
    print(f"{args.model} ({flops / 1e9:.3f} GFLOP/image; weights {weights}), {source}: "
          f"{len(split)} images x {len(xs)}x{len(ys)} points; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), "
          f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    print(f"CPU: {precision.cpu_model()}; {precision.describe('auto', 'cpu')}", flush=True)
    busy = os.getloadavg()[0] > (os.cpu_count() or 1) - torch.get_num_threads() + 0.5  # others run
    if busy and torch.get_num_threads() > 1 and os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
        print("note: other processes hold CPUs; threads that spin at OpenMP barriers can then slow every way "
              "several-fold (try OMP_WAIT_POLICY=PASSIVE or --threads 1)", flush=True)
    native = precision.native_bf16("cpu")
    dtypes = {"fp32": torch.float32, **({"bf16": torch.bfloat16} if native else {})}
    peaks = {name: matmul_peak(dtype) for name, dtype in dtypes.items()}

    # The probe: one evaluation at the grid's corner, its tensors in channels_last as surface.scan holds them.
    sizes = [args.batch_size] if args.batch_size else [n for n in BATCH_SIZES if n <= len(split)] or [len(split)]
    subset = data.first(split, min(len(split), max(sizes)))
    corner = surface.at(dirs.weights(model), directions, float(xs[0]), float(ys[0]))
    corner = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in corner.items()}
    (c_size, _, _), fp32_loss, lines_c = choose(model, subset, corner, [(n, "fp32", False) for n in sizes])
    modes = [m for m in FAST_MODES if native or m[0] != "bf16"]
    fast = [(c_size, *mode) for mode in modes] + [(n, *modes[0]) for n in sizes if n != c_size]
    d_choice, _, lines_d = choose(model, subset, corner, fast, fp32_loss)
    skipped = [] if native else ["bf16 candidates skipped: this CPU has no native bf16 (emulated bf16 is ~10x slower)"]
    print(f"probe: {len(subset)} images at point ({xs[0]:g}, {ys[0]:g}), relative to fp32:\n  "
          + "\n  ".join(lines_c + lines_d + skipped), flush=True)

    default_size, default_precision = data.eval_batch_size("cpu"), precision.resolve("auto", "cpu")
    ways = {"a": lambda: reference(model, split, directions, xs, ys),
            "b": lambda: lossviz_way(model, split, directions, xs, ys, default_size, default_precision, False),
            "c": lambda: lossviz_way(model, split, directions, xs, ys, c_size, "fp32", False)}
    if d_choice is not None:
        ways["d"] = lambda: lossviz_way(model, split, directions, xs, ys, *d_choice)
    results = {}
    for key, way in ways.items():
        with PeakMemory() as memory:
            results[key] = way()
        results[key].memory = memory.gib
        print(f"({key}) done: {results[key].seconds:.1f} s [{results[key].setting}]", flush=True)
    for name, dtype in dtypes.items():  # the best of before and after, as the load comes and goes
        peaks[name] = tuple(map(max, peaks[name], matmul_peak(dtype)))
    report(results, peaks, flops, evaluations, len(split))


def report(results: dict[str, Result], peaks: dict[str, tuple[float, float]], flops: int, evaluations: int,
           images: int) -> None:
    """The table of the ways, the differences from (a) and the targets."""
    fp32, fp32_cpu = peaks["fp32"]
    bf16, bf16_cpu = peaks.get("bf16", (math.nan, math.nan))
    print(f"matmul peaks (2048x2048 torch.mm, best of 6): fp32 {fp32:.1f} GFLOP/s"
          + (f", bf16 {bf16:.1f} GFLOP/s" if "bf16" in peaks else ", bf16 not measured (not native)")
          + f" (per CPU-second x threads: fp32 {fp32_cpu:.1f}"
          + (f", bf16 {bf16_cpu:.1f})" if "bf16" in peaks else ")"))
    labels = {"a": "(a) reference", "b": "(b) lossviz default", "c": "(c) lossviz fp32 best", "d": "(d) lossviz fastest"}
    print(f"{'':22s} {'img x pts/s':>11s} {'wall s':>8s} {'CPU s':>8s} {'GFLOP/s':>8s} {'%fp32':>6s} {'%bf16':>6s} "
          f"{'/CPU-s':>7s} {'peak GiB':>8s}  setting")
    a = results["a"]
    for key, r in results.items():
        gflops = flops * evaluations / r.seconds / 1e9
        per_cpu = flops * evaluations / r.cpu / 1e9 * torch.get_num_threads()
        print(f"{labels[key]:22s} {evaluations / r.seconds:11.1f} {r.seconds:8.1f} {r.cpu:8.1f} {gflops:8.1f} "
              f"{100 * gflops / fp32:5.0f}% {100 * gflops / bf16:5.0f}% {per_cpu:7.1f} {r.memory:8.2f}  {r.setting}")
    print("GFLOP/s counts one forward pass per image and point; /CPU-s is per CPU-second of this process x threads")
    targets = []
    for key, speed, tolerance in (("b", 1.0, 1e-2), ("c", 1.5, 1e-4), ("d", 4.0, 1e-2)):
        if key not in results:
            targets.append(f"({key})/(a) >= {speed:g}: no mode of (d) stayed within {tolerance:g} on the probe")
            continue
        r = results[key]
        loss, acc, points = largest_difference(r, a)
        ratio = a.seconds / r.seconds
        print(f"({key})/(a) = {ratio:.2f}; largest difference from (a): loss {loss:.1e} relative; accuracy "
              f"{points:.2f} points = {points / 100:.1e} of the scale = {acc:.1e} relative "
              f"({round(points * images / 100)} of {images} images)")
        targets.append(f"({key})/(a) >= {speed:g}: {'met' if ratio >= speed else 'NOT met'} ({ratio:.2f}); "
                       f"differences <= {tolerance:g}: loss {'met' if loss <= tolerance else 'NOT met'} "
                       f"({loss:.1e}), accuracy {'met' if points / 100 <= tolerance else 'NOT met'} as a fraction "
                       f"({points / 100:.1e}), {'met' if acc <= tolerance else 'NOT met'} relative ({acc:.1e})")
    print(f"(b)/(c) = {results['c'].seconds / results['b'].seconds:.2f}: the default against fp32 at the best batch size")
    share = flops * evaluations / results["c"].seconds / 1e9 / fp32
    targets.append(f"(c) >= 70% of the fp32 matmul peak: {'met' if share >= 0.7 else 'NOT met'} ({100 * share:.0f}%)")
    memory = max(r.memory for r in results.values())
    targets.append(f"peak memory <= 2 GiB: {'met' if memory <= 2 else 'NOT met'} ({memory:.2f} GiB; "
                   f"{'VmHWM reset per way' if sys.platform.startswith('linux') else 'cumulative ru_maxrss'}, "
                   f"DataLoader workers of (a) not counted)")
    print("targets:\n  " + "\n  ".join(targets))
    print(f"load average now {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
