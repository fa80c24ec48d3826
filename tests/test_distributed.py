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


class FakeCuda:
    """torch.cuda and torch.distributed queries of a machine with `count` GPUs, patched in; records the calls."""

    def __init__(self, monkeypatch, count: int, initialized: bool = False):
        import torch
        self.bound, self.backends = [], []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.cuda, "set_device", self.bound.append)
        monkeypatch.setattr(dist, "is_nccl_available", lambda: True)
        monkeypatch.setattr(dist, "is_initialized", lambda: initialized)
        monkeypatch.setattr(dist, "init_process_group", self.backends.append)
        if initialized:
            monkeypatch.setattr(dist, "get_rank", lambda: 0)
            monkeypatch.setattr(dist, "get_world_size", lambda: count)


def test_each_rank_joins_with_nccl_on_its_own_gpu_and_with_gloo_on_cpus(monkeypatch):
    from lossviz.base import distributed
    fake = FakeCuda(monkeypatch, count=4)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert distributed.join("cuda") and fake.backends == ["nccl"] and fake.bound == [2]
    assert distributed.join("auto") and fake.backends[-1] == "nccl"
    assert distributed.join("cpu") and fake.backends[-1] == "gloo" and fake.bound == [2, 2]  # no GPU bound on CPUs
    monkeypatch.setattr(dist, "is_nccl_available", lambda: False)
    assert distributed.backend("cuda") == "gloo"  # a torch without NCCL still runs, over gloo
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not distributed.join("cuda")  # a plain run joins nothing


def test_a_rank_computes_on_cuda_local_rank_and_more_ranks_than_gpus_are_refused(monkeypatch):
    import torch

    from lossviz.base import distributed
    FakeCuda(monkeypatch, count=2, initialized=True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.rank_device(torch.device("cuda")) == torch.device("cuda", 1)
    assert distributed.rank_device(torch.device("cuda", 0)) == torch.device("cuda", 1)  # one rank per GPU
    assert distributed.rank_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv("LOCAL_RANK", "2")
    with pytest.raises(ValueError, match=r"LOCAL_RANK=2 has no GPU of its own: this machine has 2; run torchrun "
                                         r"--nproc_per_node 2"):
        distributed.rank_device(torch.device("cuda"))
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    assert distributed.rank_device(torch.device("cuda")) == torch.device("cuda")  # a plain run: as resolved
