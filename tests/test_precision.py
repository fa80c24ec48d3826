"""precision="auto": bf16 only where the hardware computes it natively; the choice enters keys and files."""
import numpy as np
import pytest
import torch

from lossviz.base import cache, data, models, precision
from lossviz.base import directions as dirs
from lossviz.compute import surface
from lossviz.compute.train import TrainConfig
from lossviz.course import profiles

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(params=[(), ("AMX-BF16",), ("AVX512-BF16",)], ids=["avx2-only", "amx", "avx512-bf16"])
def cpu(request, monkeypatch):
    """A CPU with the given native bf16 units (none: an AVX2-only CPU, as most laptops)."""
    monkeypatch.setattr(precision, "cpu_bf16_units", lambda: request.param)
    return "bf16" if request.param else "fp32"


def test_auto_is_bf16_only_on_cpus_with_native_bf16(cpu):
    assert precision.resolve("auto", "cpu") == cpu
    assert precision.native_bf16("cpu") == (cpu == "bf16")
    assert precision.resolve("fp32", "cpu") == "fp32" and precision.resolve("bf16", "cpu") == "bf16"
    assert f"-> {cpu} on cpu" in precision.describe("auto", "cpu")


@pytest.mark.parametrize("capability, chosen", [((7, 5), "fp32"), ((7, 0), "fp32"), ((8, 0), "bf16"), ((8, 6), "bf16"),
                                                ((9, 0), "bf16")], ids=["T4", "V100", "A100", "A10", "H100"])
def test_auto_on_cuda_is_bf16_from_compute_capability_8(monkeypatch, capability, chosen):
    """A T4 or V100 answers is_bf16_supported() True through emulation; the capability decides, not that answer."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert precision.resolve("auto", "cuda") == chosen
    assert precision.resolve("auto", torch.device("cuda", 0)) == chosen
    assert f"compute capability {capability[0]}.{capability[1]}" in precision.describe("auto", "cuda")
    assert precision.resolve("auto", "mps") == "fp32"


@pytest.mark.parametrize("aten, onednn, chosen", [("AVX512", "", "bf16"), ("AVX2", "", "fp32"),
                                                  ("AVX512", "AVX2", "fp32"), ("AVX512", "AVX512_CORE_BF16", "bf16"),
                                                  ("AVX512", "AVX512_CORE_AMX", "bf16")])
def test_auto_on_a_bf16_cpu_capped_below_it_is_fp32(monkeypatch, aten, onednn, chosen):
    """ATEN_CPU_CAPABILITY=avx2 or ONEDNN_MAX_CPU_ISA=AVX2 (how one estimates an AVX2-only laptop on a newer CPU)
    keep PyTorch off the bf16 units: then auto is fp32, and the line says why."""
    monkeypatch.setattr(precision, "cpu_bf16_units", lambda: ("AVX512-BF16",))
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: aten)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", onednn)
    assert precision.resolve("auto", "cpu") == chosen
    if chosen == "fp32":
        assert "but" in precision.describe("auto", "cpu")


def test_this_machines_answer_matches_its_cpu_flags():
    """The detection reads the same flags the kernel reports (where /proc/cpuinfo exists)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        pytest.skip("no /proc/cpuinfo")
    assert ("AMX-BF16" in precision.cpu_bf16_units()) == ("amx_bf16" in flags and "amx_tile" in flags)
    assert ("AVX512-BF16" in precision.cpu_bf16_units()) == ("avx512_bf16" in flags)


def test_bad_precisions_name_the_choices():
    with pytest.raises(ValueError, match="precision='fp16'; valid choices: auto, fp32, bf16"):
        precision.resolve("fp16")
    with pytest.raises(ValueError, match="valid choices: fp32, bf16"):
        TrainConfig(dataset="synthetic", precision="auto")  # a run's key holds what it ran in, not "auto"


def test_autocast_casts_only_when_resolved_to_bf16(cpu):
    layer = torch.nn.Linear(4, 4)
    with precision.autocast("auto", "cpu"):
        out = layer(torch.ones(2, 4))
    assert out.dtype == (torch.bfloat16 if cpu == "bf16" else torch.float32)


def test_quick_profile_resolves_auto_and_runs_differ_in_their_cache_keys(cpu):
    assert profiles.QUICK.precision == "auto"
    quick = profiles.get("quick")
    assert quick.precision == cpu
    run = quick.first_run()
    assert run.precision == cpu
    other = run.replace(precision="fp32" if cpu == "bf16" else "bf16")
    assert cache.key("train", run) != cache.key("train", other)
    assert f"-> {cpu}" in profiles.precision_line("quick")
    assert profiles.get("smoke").precision == "fp32" and profiles.get("paper").precision == "fp32"


def test_surface_files_record_the_resolved_precision(cpu, tmp_path):
    torch.manual_seed(0)
    model = models.get("resnet20").eval()
    theta = dirs.weights(model)
    batches = {"train": list(data.batches(data.synthetic(8), 8))}
    found = surface.loss_file(tmp_path / "s.h5", model, theta, dirs.random_directions(model, 0, 1), np.array([0.0]),
                              data=batches, evaluation=surface.Evaluation(precision="auto"),
                              saving=surface.Saving(progress=False), log=None)
    assert found.attrs["precision"] == cpu
    plain = surface.evaluator(model, batches, precision="fp32")(theta)["train_loss"]
    assert found["train_loss"][0] == pytest.approx(plain, rel=1e-5 if cpu == "fp32" else 5e-2)
