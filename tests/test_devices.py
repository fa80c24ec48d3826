"""The device a run uses: "auto" resolved as CUDA > MPS > CPU, one-line errors for devices that are not there, the
rules of each kind, and proof without a GPU that the rules reach the computations (recorded op by op)."""
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from lossviz.base import data, devices, precision
from lossviz.base.schedules import Schedule
from lossviz.compute import surface, train
from lossviz.compute.train import TrainConfig


def machine(monkeypatch, cuda: int = 0, mps: bool = False) -> None:
    """Pretend the machine has `cuda` CUDA devices and MPS or not."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(devices, "mps_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, expected", [(1, True, "cuda"), (2, False, "cuda"), (0, True, "mps"),
                                                 (0, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    machine(monkeypatch, cuda, mps)
    assert devices.resolve("auto").type == expected
    assert devices.available()[0] == "cpu" and ("mps" in devices.available()) == mps
    assert sum(d.startswith("cuda:") for d in devices.available()) == cuda


@pytest.mark.parametrize("asked, message", [("cuda", "'cuda' is not available here; available: auto, cpu"),
                                            ("mps", "'mps' is not available here; available: auto, cpu"),
                                            ("xpu", "'xpu' is not available here"), ("meta", "'meta' is not"),
                                            ("gpu", "'gpu' is not a device; valid: auto, cpu")])
def test_a_device_that_is_not_there_is_one_line_naming_those_that_are(monkeypatch, asked, message):
    machine(monkeypatch)
    with pytest.raises(ValueError, match=message):
        devices.resolve(asked)


def test_a_cuda_index_beyond_the_devices_is_refused(monkeypatch):
    machine(monkeypatch, cuda=1)
    assert devices.resolve("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match="'cuda:1' is not available here; available: auto, cpu, cuda:0"):
        devices.resolve("cuda:1")


def test_rules_of_each_kind_and_the_key_records_tf32():
    assert devices.rules("cpu").accumulate == torch.float64 and devices.rules("cuda").eval_batch_size >= 1000
    assert devices.rules("mps") == devices.Rules(torch.contiguous_format, 512, torch.float32)
    with pytest.raises(ValueError, match="valid kinds: cpu, cuda, mps"):
        devices.rules("xpu")
    assert data.eval_batch_size("cuda:1") == devices.rules("cuda").eval_batch_size
    assert devices.key("cpu") == "cpu"
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = False, True  # torch's defaults
        assert devices.key("cuda") == "cuda+tf32"  # convolutions may run in TF32
        torch.backends.cudnn.allow_tf32 = False
        assert devices.key("cuda:0") == "cuda"
        with precision.exact():  # what the Hessian's products run under
            torch.backends.cudnn.allow_tf32 = True
            assert not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


class Recorder(TorchDispatchMode):
    """Every op's name, output dtypes and whether a 4-D output is channels_last."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[tuple[str, tuple[torch.dtype, ...], bool, tuple[torch.dtype, ...]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outputs = [t for t in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(t, torch.Tensor)]
        inputs = [t for t in args if isinstance(t, torch.Tensor)]
        channels_last = any(t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)
                            and not t.is_contiguous() for t in outputs)
        self.ops.append((str(func), tuple(t.dtype for t in outputs), channels_last, tuple(t.dtype for t in inputs)))
        return out


TINY = TrainConfig(model="resnet20", dataset="synthetic", train_subset=64, test_subset=32, epochs=1, batch_size=32,
                   schedule=Schedule("constant", 0.05), augment=True)


def test_on_mps_rules_nothing_is_float64_or_channels_last(monkeypatch):
    """Training, evaluation with stored and with recomputed BN statistics, under the MPS rules (applied to the CPU
    here): no op makes a float64 or a channels_last tensor."""
    monkeypatch.setitem(devices.RULES, "cpu", devices.RULES["mps"])
    train_split, test_split = train.splits(TINY)
    model = train.initial_model(TINY)
    with Recorder() as recorded:
        train.fit(model, train_split, test_split, TINY, progress=False)
        batches = {"train": list(data.batches(train_split, 32))}
        for bn in ("eval", "recompute"):
            surface.evaluator(model, batches, bn=bn)({})
    assert len(recorded.ops) > 1000  # the recorder saw the work
    doubles = sorted({op for op, dtypes, _, _ in recorded.ops if torch.float64 in dtypes})
    assert not doubles, doubles
    views = ("aten.permute.default", "aten.transpose.int")  # strides of a view, made contiguous at once
    assert not [op for op, _, channels_last, _ in recorded.ops if channels_last and op not in views]


def test_the_cpu_rules_use_channels_last_and_float64_sums():
    """The same run under the CPU's own rules does both (so the test above could fail)."""
    train_split, test_split = train.splits(TINY)
    with Recorder() as recorded:
        train.fit(train.initial_model(TINY), train_split, test_split, TINY, progress=False)
    assert any(torch.float64 in dtypes for _, dtypes, _, _ in recorded.ops)
    assert any(channels_last for op, _, channels_last, _ in recorded.ops if "convolution" in op)


def test_bf16_reaches_every_convolution_and_product_of_training_and_evaluation():
    config = TINY.replace(precision="bf16")
    train_split, test_split = train.splits(config)
    model = train.initial_model(config)
    with Recorder() as recorded:
        train.fit(model, train_split, test_split, config, progress=False)
        surface.evaluator(model, {"train": data.batches(train_split, 32)}, precision="bf16")({})
    heavy = [(op, inputs) for op, _, _, inputs in recorded.ops
             if op.split(".")[1] in ("convolution", "addmm", "mm", "convolution_backward")]
    assert len(heavy) > 50
    assert all(torch.bfloat16 in inputs for _, inputs in heavy), {op for op, i in heavy if torch.bfloat16 not in i}


def test_weights_are_the_same_with_the_data_on_the_host_or_on_the_device(monkeypatch):
    """`fit` keeps the images where the network is (`data.on_device`) and augments them there; with the images
    left on the host instead (each batch moved), the run is bit for bit the same (on the CPU both ways)."""
    train_split, test_split = train.splits(TINY)
    resident = train.initial_model(TINY)
    train.fit(resident, train_split, test_split, TINY, progress=False)
    moved_to = []

    def host(split, device):
        moved_to.append(str(device))
        return data.Split(split.images.clone(), split.labels.clone(), split.name)  # a separate copy, as a device's

    monkeypatch.setattr(data, "on_device", host)
    other = train.initial_model(TINY)
    train.fit(other, train_split, test_split, TINY, progress=False)
    assert moved_to == ["cpu", "cpu"]
    for (name, a), b in zip(resident.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), name


def test_fit_reads_the_device_once_per_epoch(monkeypatch):
    """No host synchronization per step: the loop never calls Tensor.item; the sums are read once per epoch."""
    calls = []
    real = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: calls.append(1) or real(self))
    train_split, test_split = train.splits(TINY.replace(epochs=2))
    train.fit(train.initial_model(TINY), train_split, test_split, TINY.replace(epochs=2, test_subset=32),
              progress=False, test_every=2)
    assert calls == []


def test_evaluation_of_a_network_on_the_mps_rules_matches_the_cpu_rules(monkeypatch):
    """float32 sums (MPS) agree with float64 sums (CPU) to float32 precision."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10))
    batches = list(data.batches(data.synthetic(96), 32))
    exact = surface.evaluator(model, {"train": batches})({})
    monkeypatch.setitem(devices.RULES, "cpu", devices.RULES["mps"])
    rounded = surface.evaluator(model, {"train": batches})({})
    assert rounded["train_loss"] == pytest.approx(exact["train_loss"], rel=1e-6)
    assert rounded["train_acc"] == exact["train_acc"]
