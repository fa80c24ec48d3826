"""The one rank-0 broadcast: under torch.distributed, run a step on rank 0 and hand every rank its result or its error.

Without an initialized process group (a plain `python` run) everything runs as rank 0 of a world of 1.
"""
from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, TypeVar

import torch.distributed as dist

T = TypeVar("T")


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the initialized process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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
