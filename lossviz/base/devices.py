"""The device a run uses: "auto" resolved once (CUDA > MPS > CPU), and what each kind of device needs.

Everything below the command line, the runner and the `Course` takes a resolved `torch.device`; the rules of its
kind (`rules`) say which memory layout, evaluation batch size and accumulation dtype are right there: Apple's MPS
has no float64 and runs convolutions in channels_last slowly, CUDA wants large batches.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

KINDS = ("cpu", "cuda", "mps")


@dataclass(frozen=True)
class Rules:
    """What is right on one kind of device: the memory format of image batches, the evaluation batch size, the dtype
    sums over many batches are accumulated in."""

    memory_format: torch.memory_format
    eval_batch_size: int
    accumulate: torch.dtype


# Evaluation batch sizes: on 2-core CPUs (Sapphire Rapids and EPYC, ResNet-20/56, fp32 and bf16) 128 was the fastest or
# within a few percent of it and 1,000 up to 2x slower (bench/surface_throughput.py prints the sweep); a GPU needs
# large batches to stay busy. MPS: no float64, and convolution backward in channels_last is ~30x slower there.
RULES = {
    "cpu": Rules(torch.channels_last, 128, torch.float64),
    "cuda": Rules(torch.channels_last, 1000, torch.float64),
    "mps": Rules(torch.contiguous_format, 512, torch.float32),
}


def rules(device: str | torch.device) -> Rules:
    """The rules of `device`'s kind (cpu, cuda, mps); other kinds are refused."""
    kind = torch.device(device).type
    if kind not in RULES:
        raise ValueError(f"device={str(device)!r} is not supported; valid kinds: {', '.join(KINDS)}")
    return RULES[kind]


def mps_available() -> bool:
    """Whether Apple's Metal (MPS) backend is usable."""
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def available() -> list[str]:
    """The devices this machine offers: "cpu", then "cuda:0".. and "mps" where present."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if mps_available():
        found.append("mps")
    return found


def resolve(name: str | torch.device = "auto") -> torch.device:
    """`name` as a device: "auto" is CUDA where present, else MPS, else the CPU; a device that is not there, or a
    kind lossviz does not run on, is a ValueError naming the devices that are."""
    text = str(name)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError:
        raise ValueError(f"device={text!r} is not a device; valid: auto, {', '.join(available())}") from None
    there = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": mps_available()}
    if not there.get(device.type, False):
        raise ValueError(f"device={text!r} is not available here; available: auto, {', '.join(available())}")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device={text!r} is not available here; available: auto, {', '.join(available())}")
    return device


def name_of(device: str | torch.device) -> str:
    """What the device is: the GPU's name and compute capability, or the CPU's model and thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return f"{torch.cuda.get_device_name(device)} (compute capability {major}.{minor})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    from lossviz.base.precision import cpu_model
    return f"{cpu_model()}, {torch.get_num_threads()} threads"


def tf32(device: str | torch.device) -> bool:
    """Whether fp32 matrix products or convolutions on `device` may run in TF32 (CUDA only)."""
    if torch.device(device).type != "cuda":
        return False
    return bool(torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32)


def key(device: str | torch.device) -> str:
    """What a result computed on `device` depends on, for cache keys and file attributes: the device kind, and
    "+tf32" where CUDA may compute fp32 products in TF32 (results of different keys never share a cache entry)."""
    kind = torch.device(device).type
    return kind + ("+tf32" if tf32(device) else "")


def prepare(device: str | torch.device) -> None:
    """Settings a device kind runs best with, once per process: cuDNN's autotuner on CUDA (fixed input shapes)."""
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.benchmark = True


def synchronize(device: str | torch.device) -> None:
    """Wait until the device has finished its queued work (before a timing is read)."""
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.synchronize(device)
    elif kind == "mps":
        torch.mps.synchronize()
