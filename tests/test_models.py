"""Tests for lossviz.base.models: shapes, parameter counts against the papers, names, init, functional_call."""
from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import nn
from torch.func import functional_call

from lossviz.base import models


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def counts() -> dict[str, int]:
    """Parameter count of every model (10 classes), printed for `pytest -s`."""
    out = {name: n_params(models.get(name)) for name in models.names()}
    for name, n in out.items():
        print(f"{name:18s} {models.display_name(name):15s} {n / 1e6:8.3f}M")
    return out


@pytest.mark.parametrize("name", models.names())
def test_forward_shape(name: str) -> None:
    torch.manual_seed(0)
    model = models.get(name).eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 10)
    assert torch.isfinite(y).all()


def test_num_classes_100() -> None:
    model = models.get("resnet20", num_classes=100).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 100)


# Sizes reported by the papers (He et al. 2016a/b, Zagoruyko & Komodakis 2016, Huang et al. 2017,
# Garipov et al. 2018). Li et al. use 1x1-conv projection shortcuts, so ResNets are a little larger.
PAPER_PARAMS = {
    "resnet20": 0.27e6, "resnet56": 0.85e6, "resnet110": 1.7e6, "preresnet164": 1.7e6,
    "wrn28_10": 36.5e6, "vgg16": 15.0e6, "densenet_bc": 0.8e6,
}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_params_match_papers(name: str, counts: dict[str, int]) -> None:
    assert counts[name] == pytest.approx(PAPER_PARAMS[name], rel=0.05)


@pytest.mark.parametrize("name", [n for n in models.names() if n.endswith("_noshort")])
def test_noshort_lacks_exactly_the_projections(name: str, counts: dict[str, int]) -> None:
    # The two projections (16k->32k and 32k->64k): 1x1 conv weights plus BN weight and bias.
    k = int(name.split("_")[1]) if name.startswith("wrn") else 1
    projections = sum(cin * cout + 2 * cout for cin, cout in ((16 * k, 32 * k), (32 * k, 64 * k)))
    assert counts[name.removesuffix("_noshort")] - counts[name] == projections


@pytest.mark.parametrize("k", [2, 4, 8])
def test_wrn56_params_grow_as_k_squared(k: int, counts: dict[str, int]) -> None:
    assert counts[f"wrn56_{k}"] / counts["wrn56_1"] == pytest.approx(k**2, rel=0.05)


@pytest.mark.parametrize("name, label", [
    ("resnet56", "ResNet-56"), ("resnet56_noshort", "ResNet-56-NS"), ("wrn56_2", "WRN-56-2"),
    ("vgg9", "VGG-9"), ("vgg16", "VGG-16"), ("preresnet164", "PreResNet-164"),
    ("wrn28_10", "WRN-28-10"), ("densenet_bc", "DenseNet-BC"),
])
def test_display_name(name: str, label: str) -> None:
    assert models.display_name(name) == label


@pytest.mark.parametrize("call", [models.get, models.display_name])
def test_unknown_name_lists_valid_names(call: Callable[[str], object]) -> None:
    with pytest.raises(ValueError, match="name") as info:
        call("resnet57")
    assert all(name in str(info.value) for name in models.names())


def test_num_classes_below_two_rejected() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        models.get("resnet20", num_classes=1)


def test_parameter_names_follow_li_reference() -> None:
    resnet = dict(models.get("resnet56").named_parameters())
    assert resnet["layer2.0.shortcut.0.weight"].shape == (32, 16, 1, 1)
    assert resnet["layer3.8.conv2.weight"].shape == (64, 64, 3, 3)
    assert resnet["linear.weight"].shape == (10, 64)
    assert not any("shortcut" in n for n, _ in models.get("resnet56_noshort").named_parameters())
    vgg = dict(models.get("vgg9").named_parameters())
    assert vgg["fc.0.weight"].shape == (256, 256 * 4 * 4)
    assert vgg["classifier.weight"].shape == (10, 256)


def test_init_kaiming_fan_out_and_bn() -> None:
    torch.manual_seed(0)
    model = models.get("wrn56_4")
    w = dict(model.named_parameters())["layer3.1.conv1.weight"]  # 256 -> 256, 3x3
    assert w.std().item() == pytest.approx(math.sqrt(2 / (9 * 256)), rel=0.02)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all((m.weight == 1).all() and (m.bias == 0).all() for m in bns)
    convs = [m for m in models.get("vgg9").modules() if isinstance(m, nn.Conv2d)]
    assert all((m.bias == 0).all() for m in convs)


@pytest.mark.parametrize("name", ["resnet20", "resnet20_noshort", "vgg9", "densenet_bc", "preresnet164"])
def test_functional_call_and_channels_last(name: str) -> None:
    torch.manual_seed(0)
    model = models.get(name).eval()
    x = torch.randn(2, 3, 32, 32)
    theta = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        y = model(x)
        assert torch.allclose(functional_call(model, theta, (x,)), y, atol=1e-5)
        # Zero weights in the last layer: the output is its bias, and the model itself is untouched.
        last = [k for k in theta if k.endswith(".weight")][-1]
        theta[last] = torch.zeros_like(theta[last])
        bias = theta[last.replace("weight", "bias")]
        assert torch.allclose(functional_call(model, theta, (x,)), bias.expand(2, -1))
        assert torch.equal(model(x), y)
        y_cl = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    assert torch.allclose(y_cl, y, atol=1e-4)


def test_table_rows_match_get():
    rows = models.table(["resnet20", "vgg9"])
    assert [r["label"] for r in rows] == ["ResNet-20", "VGG-9"]
    assert rows[0]["parameters"] == sum(p.numel() for p in models.get("resnet20").parameters())
