"""Cache hits, misses, corruption and atomic writes."""
import hashlib
import io

import numpy as np
import pytest
import torch

from lossviz.base import cache
from lossviz.base.schedules import Schedule
from lossviz.compute.train import TrainConfig, TrainResult


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


def test_every_field_of_a_run_and_the_version_count_in_the_key(monkeypatch):
    """Keys are complete: changing any field of a TrainConfig (its schedule's too) gives a new key, and so does
    raising CACHE_VERSION (older entries are then never read)."""
    import dataclasses
    base = TrainConfig(model="resnet20", dataset="synthetic", train_subset=64, test_subset=32, epochs=2)
    changes = {"model": "resnet56", "dataset": "cifar10", "train_subset": 65, "test_subset": 33, "epochs": 3,
               "batch_size": 64, "optimizer": "adam", "momentum": 0.8, "nesterov": True, "weight_decay": 0.0,
               "schedule": Schedule("step", 0.1, milestones=(0.8,)), "augment": False, "seed": 1, "precision": "bf16",
               "checkpoint_epochs": (1.0,), "init": base, "init_epoch": None}
    assert set(changes) == {f.name for f in dataclasses.fields(TrainConfig)}
    keys = {cache.key(base)} | {cache.key(dataclasses.replace(base, **{k: v})) for k, v in changes.items()
                               if getattr(base, k) != v}
    assert len(keys) == 1 + sum(getattr(base, k) != v for k, v in changes.items())
    for field, value in (("lr", 0.2), ("cycles", 2), ("cycle_epochs", 3.0), ("lr2", 0.001), ("kind", "cosine")):
        assert cache.key(base.replace(schedule=dataclasses.replace(base.schedule, **{field: value}))) != cache.key(base)
    before = cache.key(base)
    monkeypatch.setattr(cache, "CACHE_VERSION", cache.CACHE_VERSION + 1)
    assert cache.key(base) != before


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
    with pytest.raises(ValueError, match="corrupted|cannot be read"):
        cache.load(path)
    with pytest.warns(UserWarning, match="recomputing"):
        result = cache.cached("t", k, compute, tmp_path)
    assert len(calls) == 2 and torch.equal(result, torch.ones(1000))
    assert torch.equal(cache.load(path)["value"], torch.ones(1000))  # rewritten whole


def test_unhashable_value_is_rejected():
    with pytest.raises(TypeError, match="cannot hash"):
        cache.key(object())


class Payload:
    """An object whose unpickling opens (creates) a file: what a planted cache entry could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def plant(path, value) -> None:
    """Write an entry the way `cache.save` does (valid checksum), holding `value`."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    payload = buffer.getvalue()
    path.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def test_planted_entry_is_refused_not_executed(tmp_path):
    k = cache.key("planted")
    path = tmp_path / f"t-{k[:20]}.pt"
    marker = tmp_path / "pwned"
    plant(path, {"key": k, "value": Payload(marker)})
    raw = path.read_bytes()
    torch.load(io.BytesIO(raw.partition(b"\n")[2]), weights_only=False)  # the payload is live: unsafe loading runs it
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ValueError, match=r"cache entry .* holds pickled objects \((io|builtins)\.open\).*refused"):
        cache.load(path)
    assert not marker.exists()
    compute, calls = counting(torch.arange(4.0))
    with pytest.warns(UserWarning, match="refused, not loaded; recomputing"):
        result = cache.cached("t", k, compute, tmp_path)
    assert len(calls) == 1 and torch.equal(result, torch.arange(4.0)) and not marker.exists()
    assert path.read_bytes() != raw and torch.equal(cache.load(path)["value"], torch.arange(4.0))  # replaced


def test_project_dataclasses_and_numpy_scalars_round_trip(tmp_path):
    config = TrainConfig(model="resnet20", dataset="synthetic", schedule=Schedule("cosine"), init=TrainConfig())
    value = TrainResult(config, {"w": torch.ones(2)}, {1.0: {"w": torch.zeros(2)}},
                        [{"epoch": 1, "test_acc_pct": np.float64(25.0)}])
    cache.save(tmp_path / "e.pt", value)
    back = cache.load(tmp_path / "e.pt")
    assert type(back) is TrainResult and back.config == config and back.config.init == TrainConfig()
    assert torch.equal(back.checkpoints[1.0]["w"], torch.zeros(2)) and back.log[0]["test_acc_pct"] == 25.0
    assert back.test_error == 75.0


def test_unreadable_file_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "x.pt"
    path.write_bytes(b"\x80\x02garbage")
    with pytest.raises(ValueError, match=r"checkpoint x cannot be read \(.*\); save a state dict"):
        cache.torch_load(path, "checkpoint x", "save a state dict")
