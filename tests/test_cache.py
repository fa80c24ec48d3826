"""Cache hits, misses, corruption and atomic writes."""
import pytest
import torch

from lossviz import cache
from lossviz.schedules import Schedule
from lossviz.train import TrainConfig


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value
    return compute, calls


def test_hit_and_miss(tmp_path):
    compute, calls = counting({"w": torch.arange(3.0)})
    k = cache.key("x", 1)
    first = cache.cached("t", k, compute, tmp_path)
    second = cache.cached("t", k, compute, tmp_path)
    assert len(calls) == 1 and torch.equal(first["w"], second["w"])
    cache.cached("t", cache.key("x", 2), compute, tmp_path)
    assert len(calls) == 2


def test_key_depends_on_every_config_field():
    base = TrainConfig(model="resnet20", dataset="synthetic")
    keys = {cache.key(base), cache.key(base.replace(seed=1)), cache.key(base.replace(epochs=11)),
            cache.key(base.replace(schedule=Schedule("cosine"))), cache.key(base.replace(weight_decay=0.0))}
    assert len(keys) == 5
    assert cache.key(base) == cache.key(TrainConfig(model="resnet20", dataset="synthetic"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupted_entry_is_recomputed_not_loaded(tmp_path, damage):
    k = cache.key("y")
    compute, calls = counting(torch.ones(1000))
    cache.cached("t", k, compute, tmp_path)
    (path,) = tmp_path.glob("t-*.pt")
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        path.write_bytes(raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:])
    else:
        path.write_bytes(b"not a cache entry")
    with pytest.raises(Exception):
        cache.load(path)
    result = cache.cached("t", k, compute, tmp_path)
    assert len(calls) == 2 and torch.equal(result, torch.ones(1000))
    assert torch.equal(cache.load(path)["value"], torch.ones(1000))  # rewritten whole


def test_atomic_write_leaves_no_temp_files_and_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "f.bin"
    cache.write_atomic(path, b"old")
    with pytest.raises(TypeError):
        cache.write_atomic(path, None)  # fails while writing
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_unhashable_value_is_rejected():
    with pytest.raises(TypeError, match="cannot hash"):
        cache.key(object())
