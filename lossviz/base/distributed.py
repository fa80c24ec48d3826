"""The one rank-0 broadcast: under torch.distributed, run a step on rank 0 and hand every rank its result or its error;
and the process group of a torchrun launch on one machine: one rank per GPU (cuda:LOCAL_RANK, NCCL), gloo on CPUs.

Without an initialized process group (a plain `python` run) everything runs as rank 0 of a world of 1.
"""
from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the initialized process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_rank() -> int:
    """This process's rank on its machine (torchrun's LOCAL_RANK; 0 outside torchrun)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def backend(device: str | torch.device) -> str:
    """The process group's backend for ranks on `device`'s kind ("auto" counts as CUDA where there is one): NCCL on
    CUDA where torch has it, gloo otherwise (CPUs)."""
    wants_cuda = str(device) == "auto" or torch.device(device).type == "cuda"
    return "nccl" if wants_cuda and torch.cuda.is_available() and dist.is_nccl_available() else "gloo"


def rank_device(device: torch.device) -> torch.device:
    """The device this rank computes on: under an initialized process group on CUDA, its own GPU, cuda:LOCAL_RANK
    (one rank per GPU; a ValueError where there are fewer GPUs than ranks on the machine); else `device` itself."""
    if device.type != "cuda" or rank_and_world()[1] == 1:
        return device
    rank, count = local_rank(), torch.cuda.device_count()
    if rank >= count:
        raise ValueError(f"LOCAL_RANK={rank} has no GPU of its own: this machine has {count}; run torchrun "
                         f"--nproc_per_node {count} (one rank per GPU)")
    return torch.device("cuda", rank)


def join(device: str | torch.device) -> bool:
    """Join torchrun's process group when WORLD_SIZE > 1 (`backend`: NCCL on CUDA, each rank first bound to its own
    GPU, cuda:LOCAL_RANK; gloo on CPUs); True when this call joined it (the caller leaves it at the end)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    chosen = backend(device)
    if chosen == "nccl":
        torch.cuda.set_device(local_rank())
    dist.init_process_group(chosen)
    return True


def broadcast(value: Any) -> Any:
    """Rank 0's `value` on every rank (pickled by `broadcast_object_list`); `value` itself in a world of 1."""
    if rank_and_world()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _portable(error: Exception) -> Exception:
    """`error` if it survives pickling, else a RuntimeError naming its type and message."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any unpicklable exception is replaced, not lost
        return RuntimeError(f"{type(error).__name__}: {error}")


def on_rank0(compute: Callable[[], T]) -> T:
    """Run `compute()` on rank 0 only; every rank returns its result, or raises its error.

    An exception on rank 0 is raised on every rank with the same type and message (rank 0 re-raises the
    original, with its traceback), so no rank is left waiting in a collective for a rank that gave up.
    """
    rank, world = rank_and_world()
    if world == 1:
        return compute()
    result, error = None, None
    if rank == 0:
        try:
            result = compute()
        except Exception as problem:  # noqa: BLE001 - handed to every rank, then raised
            error = problem
    result, remote = broadcast((result, None if error is None else _portable(error)))
    if error is not None:
        raise error
    if remote is not None:
        raise remote
    return result
