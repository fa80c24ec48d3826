"""Tests for lossviz.base.models: shapes, parameter counts against the papers, names, init, functional_call."""
from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from lossviz.base import models

REFERENCE_ONLY = ("resnet18", "resnet18_noshort", "resnet34", "resnet34_noshort", "resnet50", "resnet50_noshort",
                  "resnet101", "resnet101_noshort", "resnet152", "resnet152_noshort", "resnet32_noshort",
                  "resnet44_noshort", "resnet50_16_noshort", "wrn110_2_noshort", "wrn110_4_noshort", "densenet121")
# the reference code's models that no notebook uses: their outputs are checked against the reference's below


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def counts() -> dict[str, int]:
    """Parameter count of every model (10 classes), printed for `pytest -s`."""
    with torch.device("meta"):  # shapes without memory or initialization
        out = {name: n_params(models.get(name)) for name in models.names()}
    for name, n in out.items():
        print(f"{name:18s} {models.display_name(name):15s} {n / 1e6:8.3f}M")
    return out


@pytest.mark.parametrize("name", [n for n in models.names() if n not in REFERENCE_ONLY])
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


@pytest.mark.parametrize("name", [n for n in models.names() if n.endswith("_noshort")
                                  and n.removesuffix("_noshort") in models.names() and n.startswith(("resnet", "wrn"))
                                  and not models.display_name(n).startswith(("ResNet-18", "ResNet-34", "ResNet-50",
                                                                             "ResNet-101", "ResNet-152"))])
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


# ---- the reference code's networks ------------------------------------------------------------------------------
# A transcription of tomgoldstein/loss-landscape cifar10/models/resnet.py and densenet.py (MIT License, Copyright (c)
# 2017 Hao Li, Zheng Xu, Gavin Taylor, Christoph Studer and Tom Goldstein), shortened only where two classes differ
# by a shortcut: its checkpoints must load into our models, and give the same outputs.

class RefBasic(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, short=True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.short = short
        if short:
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(self.expansion * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.short:
            out += self.shortcut(x)
        return F.relu(out)


class RefBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, short=True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, self.expansion * planes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(self.expansion * planes)
        self.short = short
        if short:
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(self.expansion * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.short:
            out += self.shortcut(x)
        return F.relu(out)


class RefResNet(nn.Module):
    """ResNet (ImageNet layout, planes 64..512, avg_pool 4) and, with base=16 and three stages, ResNet_cifar and
    WResNet_cifar (k = base / 16, avg_pool 8)."""

    def __init__(self, block, num_blocks, base=64, num_classes=10):
        super().__init__()
        self.in_planes = base
        self.conv1 = nn.Conv2d(3, base, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        for i, n in enumerate(num_blocks):
            setattr(self, f"layer{i + 1}", self._make_layer(block, base * 2 ** i, n, 1 if i == 0 else 2))
        self.stages = len(num_blocks)
        self.linear = nn.Linear(base * 2 ** (self.stages - 1) * block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        strides = [stride] + [1] * (num_blocks - 1)
        layers = []
        for step in strides:
            layers.append(block(self.in_planes, planes, step))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for i in range(self.stages):
            out = getattr(self, f"layer{i + 1}")(out)
        out = F.avg_pool2d(out, 4 if self.stages == 4 else 8)
        return self.linear(out.view(out.size(0), -1))


class RefDenseBottleneck(nn.Module):
    def __init__(self, in_planes, growth_rate):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, 4 * growth_rate, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth_rate)
        self.conv2 = nn.Conv2d(4 * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class RefTransition(nn.Module):
    def __init__(self, in_planes, out_planes):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class RefDenseNet(nn.Module):
    def __init__(self, nblocks, growth_rate=12, reduction=0.5, num_classes=10):
        super().__init__()
        self.growth_rate = growth_rate
        num_planes = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, num_planes, kernel_size=3, padding=1, bias=False)
        for i in range(4):
            setattr(self, f"dense{i + 1}", self._make_dense_layers(num_planes, nblocks[i]))
            num_planes += nblocks[i] * growth_rate
            if i < 3:
                out_planes = math.floor(num_planes * reduction)
                setattr(self, f"trans{i + 1}", RefTransition(num_planes, out_planes))
                num_planes = out_planes
        self.bn = nn.BatchNorm2d(num_planes)
        self.linear = nn.Linear(num_planes, num_classes)

    def _make_dense_layers(self, in_planes, nblock):
        layers = []
        for _ in range(nblock):
            layers.append(RefDenseBottleneck(in_planes, self.growth_rate))
            in_planes += self.growth_rate
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv1(x)
        out = self.trans1(self.dense1(out))
        out = self.trans2(self.dense2(out))
        out = self.trans3(self.dense3(out))
        out = self.dense4(out)
        out = F.avg_pool2d(F.relu(self.bn(out)), 4)
        return self.linear(out.view(out.size(0), -1))


def _ref(block, short):
    def make(in_planes, planes, stride):
        return block(in_planes, planes, stride, short)
    make.expansion = block.expansion
    return make


def _cifar(depth, short=True, k=1):
    n = (depth - 2) // 6
    return lambda: RefResNet(_ref(RefBasic, short), [n, n, n], base=16 * k)


REFERENCE = {  # the reference's model_loader.models: name -> constructor
    "resnet18": lambda: RefResNet(_ref(RefBasic, True), [2, 2, 2, 2]),
    "resnet18_noshort": lambda: RefResNet(_ref(RefBasic, False), [2, 2, 2, 2]),
    "resnet34": lambda: RefResNet(_ref(RefBasic, True), [3, 4, 6, 3]),
    "resnet34_noshort": lambda: RefResNet(_ref(RefBasic, False), [3, 4, 6, 3]),
    "resnet50": lambda: RefResNet(_ref(RefBottleneck, True), [3, 4, 6, 3]),
    "resnet50_noshort": lambda: RefResNet(_ref(RefBottleneck, False), [3, 4, 6, 3]),
    "resnet101": lambda: RefResNet(_ref(RefBottleneck, True), [3, 4, 23, 3]),
    "resnet101_noshort": lambda: RefResNet(_ref(RefBottleneck, False), [3, 4, 23, 3]),
    "resnet152": lambda: RefResNet(_ref(RefBottleneck, True), [3, 8, 36, 3]),
    "resnet152_noshort": lambda: RefResNet(_ref(RefBottleneck, False), [3, 8, 36, 3]),
    "resnet20": _cifar(20), "resnet20_noshort": _cifar(20, False),
    "resnet32_noshort": _cifar(32, False), "resnet44_noshort": _cifar(44, False),
    "resnet50_16_noshort": _cifar(50, False),
    "resnet56": _cifar(56), "resnet56_noshort": _cifar(56, False),
    "resnet110": _cifar(110), "resnet110_noshort": _cifar(110, False),
    "wrn56_2": _cifar(56, True, 2), "wrn56_2_noshort": _cifar(56, False, 2),
    "wrn56_4": _cifar(56, True, 4), "wrn56_4_noshort": _cifar(56, False, 4),
    "wrn56_8": _cifar(56, True, 8), "wrn56_8_noshort": _cifar(56, False, 8),
    "wrn110_2_noshort": _cifar(110, False, 2), "wrn110_4_noshort": _cifar(110, False, 4),
    "densenet121": lambda: RefDenseNet([6, 12, 24, 16], growth_rate=32),
}  # and vgg9, checked by test_parameter_names_follow_li_reference


def test_every_reference_model_name_is_here():
    assert sorted(set(REFERENCE) - set(models.names())) == []


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_checkpoints_load_and_compute_the_same(name: str) -> None:
    """The reference's state dict loads strictly, in the same order (direction files are matched by position), and
    the network computes the same function (eval mode, BN statistics that are not the identity)."""
    torch.manual_seed(0)
    reference = REFERENCE[name]()
    with torch.no_grad():
        for m in reference.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.0)
                m.bias.uniform_(-0.1, 0.1)
    state = reference.state_dict()
    with torch.device("meta"):
        ours = models.get(name)
    ours.load_state_dict(state, assign=True)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [(k, v.shape) for k, v in state.items()]
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in reference.named_parameters()]
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = reference.eval()(x)
        assert expected.shape == (1, 10)
        assert torch.allclose(ours.eval()(x), expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())
