"""Numeric precision: fp32, bf16 autocast, or "auto" (bf16 only where the hardware computes it natively).

bf16 autocast is a win only where the device has bf16 arithmetic: measured on 2-core CPUs, ResNet-20 training ran
~2x faster in bf16 on an Intel Sapphire Rapids (AMX), 1.66x on an AMD EPYC with AVX512-BF16 and ~11x *slower* on an
AVX2-only AMD EPYC, where bf16 is emulated. So "auto" picks bf16 on CUDA GPUs of compute capability 8.0 and above
(Ampere and later: cuDNN has no bf16 convolutions below it, and `torch.cuda.is_bf16_supported()` answers True there
through emulation), and on CPUs with AMX-BF16 or AVX512-BF16 where ATen and oneDNN are not capped below them
(`ATEN_CPU_CAPABILITY`, `ONEDNN_MAX_CPU_ISA`); fp32 everywhere else: on older GPUs (fp16 with a gradient scaler
would be faster there, but changes the computation more and is not measured yet), on Apple MPS, on other CPUs.
Results computed in bf16 and fp32 differ, so callers resolve "auto" before a precision enters a cache key or a file.

On CUDA, fp32 matrix products and convolutions may run in TF32 (`torch.backends.cuda.matmul.allow_tf32`,
`torch.backends.cudnn.allow_tf32`): `lossviz.base.devices.key` records it in every result, and `exact()` turns it off
for the Hessian's products.
"""
from __future__ import annotations

import contextlib
import functools
import os
import platform
from collections.abc import Iterator

import torch

CHOICES = ("auto", "fp32", "bf16")
RESOLVED = ("fp32", "bf16")
CUDA_BF16_CAPABILITY = (8, 0)  # Ampere: native bf16 tensor cores and cuDNN bf16 convolutions
ONEDNN_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512",
                    "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "ALL")


def check(precision: str, allow_auto: bool = True) -> None:
    """Raise a ValueError naming the valid choices unless `precision` is one of them."""
    valid = CHOICES if allow_auto else RESOLVED
    if precision not in valid:
        raise ValueError(f"precision={precision!r}; valid choices: {', '.join(valid)}")


def _device_type(device: torch.device | str | None) -> str:
    return torch.device(device if device is not None else "cpu").type


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; else the platform's processor string)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


@functools.cache
def cpu_bf16_units() -> tuple[str, ...]:
    """The native bf16 units of this CPU: ("AMX-BF16", "AVX512-BF16") or a subset, empty when none."""
    units = []
    if torch.cpu._is_amx_tile_supported():
        units.append("AMX-BF16")
    if torch.cpu._is_avx512_bf16_supported():
        units.append("AVX512-BF16")
    return tuple(units)


def cpu_caps() -> list[str]:
    """Settings that keep PyTorch below the CPU's bf16 units: ATen's capability under AVX512, or oneDNN's ISA
    capped (`ONEDNN_MAX_CPU_ISA`) below AVX512_CORE_BF16; empty when none does."""
    caps = []
    capability = torch.backends.cpu.get_cpu_capability()
    if capability not in ("AVX512", "AVX512_BF16", "AMX"):  # newer PyTorch names count as uncapped too
        caps.append(f"ATen's CPU capability is {capability}")
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if isa and isa not in ONEDNN_BF16_ISAS:
        caps.append(f"ONEDNN_MAX_CPU_ISA={isa}")
    return caps


def native_bf16(device: torch.device | str | None = "cpu") -> bool:
    """Whether `device` computes bf16 natively: a CUDA GPU of capability >= 8.0, or a CPU with AMX or AVX512-BF16
    that PyTorch is allowed to use."""
    kind = _device_type(device)
    if kind == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability(device) >= CUDA_BF16_CAPABILITY
    if kind == "cpu":
        return bool(cpu_bf16_units()) and not cpu_caps()
    return False


def resolve(precision: str, device: torch.device | str | None = "cpu") -> str:
    """"fp32" or "bf16": `precision` itself, or for "auto" bf16 where `native_bf16(device)`, else fp32."""
    check(precision)
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def describe(precision: str, device: torch.device | str | None = "cpu") -> str:
    """A line saying which precision `precision` means on `device`, and why."""
    chosen = resolve(precision, device)
    kind = _device_type(device)
    if precision != "auto":
        return f"precision {chosen} (as asked) on {kind}"
    if kind == "cpu":
        units, caps = cpu_bf16_units(), cpu_caps()
        if not units:
            why = "the CPU has no native bf16 (no AMX, no AVX512-BF16)"
        elif caps:
            why = f"the CPU has {' and '.join(units)}, but {' and '.join(caps)}"
        else:
            why = f"the CPU has {' and '.join(units)}"
    elif kind == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        why = (f"the GPU has compute capability {major}.{minor}"
               + (" (native bf16)" if chosen == "bf16" else ", below 8.0: no native bf16 convolutions"))
    else:
        why = f"no native bf16 known for {kind}"
    return f"precision auto -> {chosen} on {kind}: {why}"


@contextlib.contextmanager
def tf32(enabled: bool) -> Iterator[None]:
    """fp32 matrix products and convolutions in TF32 (CUDA) or not inside the block, the settings restored after it."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def exact() -> contextlib.AbstractContextManager:
    """fp32 products in full fp32 (TF32 off on CUDA) inside the block, the settings restored after it."""
    return tf32(False)


def autocast(precision: str, device: torch.device | str | None = "cpu") -> contextlib.AbstractContextManager:
    """bf16 autocast where `precision` resolves to bf16 on `device`, else a no-op."""
    if resolve(precision, device) == "bf16":
        return torch.autocast(_device_type(device), dtype=torch.bfloat16)
    return contextlib.nullcontext()
