"""The one rank-0 broadcast (lossviz.base.distributed), in a world of 1 and in a real 2-process gloo group."""
from __future__ import annotations

import os
import socket

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from lossviz.base.distributed import broadcast, on_rank0, rank_and_world


def test_world_of_one_runs_compute_and_raises_its_error_unchanged():
    assert rank_and_world() == (0, 1)
    assert on_rank0(lambda: {"a": 1}) == {"a": 1}
    assert broadcast([3]) == [3]

    def fail():
        raise OSError("disk full")

    with pytest.raises(OSError, match="^disk full$"):
        on_rank0(fail)


class Unpicklable(Exception):
    def __init__(self, message, handle):
        super().__init__(message)
        self.handle = handle

    def __reduce__(self):
        raise TypeError("cannot pickle")


def _worker(rank: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        calls = []

        def compute():
            calls.append(rank)
            return {"todo": [1, 2, 3], "from": rank}

        found = {"rank": rank, "world": rank_and_world(), "result": on_rank0(compute), "calls": calls}
        for name, error in (("value", ValueError("out='x.h5' holds a surface for another request")),
                            ("os", FileNotFoundError(2, "No such file or directory", "x.h5")),
                            ("unpicklable", Unpicklable("bad handle", object()))):
            def fail(error=error):
                raise error
            try:
                on_rank0(fail)
                found[name] = None
            except Exception as raised:  # noqa: BLE001 - the test compares what each rank raised
                found[name] = (type(raised).__name__, str(raised))
        found["broadcast"] = broadcast(f"rank {rank}")
        queue.put(found)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_get_rank0s_result_and_its_error_with_the_same_type_and_message():
    context = mp.get_context("spawn")
    queue = context.Queue()
    mp.spawn(_worker, args=(_free_port(), queue), nprocs=2, join=True)
    found = sorted((queue.get(timeout=60) for _ in range(2)), key=lambda f: f["rank"])
    assert [f["world"] for f in found] == [(0, 2), (1, 2)]
    assert [f["calls"] for f in found] == [[0], []]  # compute ran on rank 0 only
    assert [f["result"] for f in found] == [{"todo": [1, 2, 3], "from": 0}] * 2
    assert found[0]["value"] == found[1]["value"] == ("ValueError", "out='x.h5' holds a surface for another request")
    assert found[0]["os"] == found[1]["os"] == ("FileNotFoundError", "[Errno 2] No such file or directory: 'x.h5'")
    assert found[0]["unpicklable"] == ("Unpicklable", "bad handle")
    assert found[1]["unpicklable"] == ("RuntimeError", "Unpicklable: bad handle")
    assert [f["broadcast"] for f in found] == ["rank 0", "rank 0"]
