"""CIFAR (3x32x32) networks of the reproduced papers, looked up by name with `get`.

Li et al. 2018: ResNet-20/56/110 with and without shortcuts, WRN-56-k, VGG-9, DenseNet-BC.
Garipov et al. 2018: VGG-16 (BN), PreResNet-164, WRN-28-10.
Every model name of the Li et al. reference code (tomgoldstein/loss-landscape, `cifar10/model_loader.py`) is here
with the reference's parameter names and order, so its checkpoints load with `load_state_dict` and its direction
files (tensors by position) match: besides the networks above, its ImageNet-layout ResNet-18/34/50/101/152 (four
stages from 64 filters; `_noshort` without shortcuts), ResNet-32/44/50-16-NS, WRN-110-2/4-NS and DenseNet-121.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

Block = Callable[[int, int, int], nn.Module]  # (in_channels, out_channels, stride) -> residual block


def _init(model: nn.Module) -> None:
    """Kaiming-normal (fan_out) conv weights, zero conv biases, BN weight 1 and bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _shortcut(cin: int, cout: int, stride: int, shortcut: bool) -> nn.Sequential | None:
    """A post-activation block's shortcut: None ("-NS"), identity, or a 1x1 conv-BN projection."""
    if not shortcut:
        return None
    if stride == 1 and cin == cout:
        return nn.Sequential()  # identity
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """Post-activation residual block of Li et al.; `shortcut=False` gives the plain "-NS" block."""

    def __init__(self, cin: int, cout: int, stride: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = _shortcut(cin, cout, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return F.relu(out)


class Bottleneck(nn.Module):
    """Post-activation bottleneck block 1x1-3x3-1x1 (width cout / 4, stride in the 3x3) of the reference's
    ImageNet-layout ResNets; `shortcut=False` gives the plain "-NS" block."""

    def __init__(self, cin: int, cout: int, stride: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        width = cout // 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = _shortcut(cin, cout, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        out = self.bn3(self.conv3(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return F.relu(out)


class PreActStack(nn.Module):
    """BN-ReLU-conv units (He et al. 2016) named bn1/conv1, bn2/conv2, ...; stride and dropout after unit 1."""

    def __init__(self, cin: int, widths: Sequence[int], kernels: Sequence[int], stride: int = 1,
                 bias: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.depth = len(widths)
        for i, (cout, k) in enumerate(zip(widths, kernels), start=1):
            self.add_module(f"bn{i}", nn.BatchNorm2d(cin))
            self.add_module(f"conv{i}", nn.Conv2d(cin, cout, k, stride if i == 2 else 1, k // 2, bias=bias))
            cin = cout
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, self.depth + 1):
            x = getattr(self, f"conv{i}")(F.relu(getattr(self, f"bn{i}")(x)))
            if i == 1:
                x = self.dropout(x)
        return x


class PreActBlock(PreActStack):
    """Pre-activation residual block: basic 3x3-3x3 (WRN) or bottleneck 1x1-3x3-1x1 with 4x expansion."""

    def __init__(self, cin: int, cout: int, stride: int = 1, bottleneck: bool = False,
                 bias: bool = False, dropout: float = 0.0) -> None:
        widths, kernels = ((cout // 4, cout // 4, cout), (1, 3, 1)) if bottleneck else ((cout, cout), (3, 3))
        super().__init__(cin, widths, kernels, stride, bias, dropout)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=bias) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + (x if self.shortcut is None else self.shortcut(x))


class DenseLayer(PreActStack):
    """DenseNet-BC layer: BN-ReLU-1x1 conv (4k) and BN-ReLU-3x3 conv (k), concatenated to the input."""

    def __init__(self, cin: int, growth: int) -> None:
        super().__init__(cin, (4 * growth, growth), (1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, super().forward(x)], dim=1)


class Transition(PreActStack):
    """DenseNet transition: BN-ReLU-1x1 conv, then 2x2 average pooling."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, (cout,), (1,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(super().forward(x), 2)


def _stage(block: Block, cin: int, cout: int, n: int, stride: int) -> nn.Sequential:
    """n residual blocks; the first one changes the width and the resolution."""
    return nn.Sequential(*(block(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)))


class ResNet(nn.Module):
    """CIFAR ResNet: 3x3 stem, stages `layer1`, `layer2`, ... of n blocks (stride 1, then 2), global average pool,
    linear. `widths`: the stem's, then each stage's; `n`: blocks per stage (one number for all, or one per stage).

    `preact=False` is the post-activation net of Li et al. (BN `bn1` after the stem);
    `preact=True` the pre-activation net of Garipov et al. (BN `bn` before the pool).
    """

    def __init__(self, block: Block, n: int | Sequence[int], widths: Sequence[int], num_classes: int = 10,
                 preact: bool = False, bias: bool = False) -> None:
        super().__init__()
        self.preact = preact
        blocks = [n] * (len(widths) - 1) if isinstance(n, int) else list(n)
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=bias)
        if not preact:
            self.bn1 = nn.BatchNorm2d(widths[0])
        self.stages = len(blocks)
        for i, count in enumerate(blocks):
            self.add_module(f"layer{i + 1}", _stage(block, widths[i], widths[i + 1], count, 1 if i == 0 else 2))
        if preact:
            self.bn = nn.BatchNorm2d(widths[-1])
        self.linear = nn.Linear(widths[-1], num_classes)
        _init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        if not self.preact:
            x = F.relu(self.bn1(x))
        for i in range(1, self.stages + 1):
            x = getattr(self, f"layer{i}")(x)
        if self.preact:
            x = F.relu(self.bn(x))
        return self.linear(x.mean(dim=(2, 3)))


class VGG(nn.Module):
    """VGG with BN: `features` (3x3 conv-BN-ReLU, "M" = 2x2 max pool), hidden layers `fc`, `classifier`."""

    def __init__(self, cfg: Sequence[int | str], fc: Callable[[int, int], nn.Sequential],
                 num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.BatchNorm2d(int(v)), nn.ReLU()]
                cin = int(v)
        self.features = nn.Sequential(*layers)
        self.fc = fc(cin * (32 >> list(cfg).count("M")) ** 2, cin)
        self.classifier = nn.Linear(cin, num_classes)
        _init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.fc(self.features(x).flatten(1)))


def _fc_li(n_in: int, width: int) -> nn.Sequential:
    """Li et al. VGG head: Linear-BN-ReLU."""
    return nn.Sequential(nn.Linear(n_in, width), nn.BatchNorm1d(width), nn.ReLU())


def _fc_garipov(n_in: int, width: int) -> nn.Sequential:
    """Garipov et al. VGG head: (Dropout-Linear-ReLU) x 2."""
    return nn.Sequential(nn.Dropout(), nn.Linear(n_in, width), nn.ReLU(),
                         nn.Dropout(), nn.Linear(width, width), nn.ReLU())


class DenseNet(nn.Module):
    """DenseNet-BC for CIFAR (Huang et al. 2017): three dense blocks of bottleneck layers, compression 0.5."""

    def __init__(self, depth: int = 100, growth: int = 12, num_classes: int = 10,
                 compression: float = 0.5) -> None:
        super().__init__()
        n = (depth - 4) // 6
        c = 2 * growth
        self.conv1 = nn.Conv2d(3, c, 3, 1, 1, bias=False)
        for i in (1, 2, 3):
            self.add_module(f"block{i}", nn.Sequential(*(DenseLayer(c + j * growth, growth) for j in range(n))))
            c += n * growth
            if i < 3:
                self.add_module(f"trans{i}", Transition(c, int(c * compression)))
                c = int(c * compression)
        self.bn = nn.BatchNorm2d(c)
        self.linear = nn.Linear(c, num_classes)
        _init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for name in ("block1", "trans1", "block2", "trans2", "block3"):  # registered by name in __init__
            x = self.get_submodule(name)(x)
        return self.linear(F.relu(self.bn(x)).mean(dim=(2, 3)))


class DenseUnit(nn.Module):
    """A layer of the reference's DenseNet-121: BN-ReLU-1x1 conv (4k), BN-ReLU-3x3 conv (k); its k new features
    come first, then the input."""

    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        return torch.cat([out, x], dim=1)


class DenseTransition(nn.Module):
    """A transition of the reference's DenseNet-121: BN-ReLU-1x1 conv, then 2x2 average pooling."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet4(nn.Module):
    """The ImageNet DenseNet layout on CIFAR images, as the reference's `densenet.py` (kuangliu/pytorch-cifar): a
    3x3 stem, four dense blocks `dense1..4` with transitions `trans1..3` (compression 0.5), BN-ReLU, pool, linear."""

    def __init__(self, blocks: Sequence[int] = (6, 12, 24, 16), growth: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        c = 2 * growth
        self.conv1 = nn.Conv2d(3, c, 3, padding=1, bias=False)
        for i, n in enumerate(blocks, start=1):
            self.add_module(f"dense{i}", nn.Sequential(*(DenseUnit(c + j * growth, growth) for j in range(n))))
            c += n * growth
            if i < len(blocks):
                self.add_module(f"trans{i}", DenseTransition(c, c // 2))
                c //= 2
        self.blocks = len(blocks)
        self.bn = nn.BatchNorm2d(c)
        self.linear = nn.Linear(c, num_classes)
        _init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for i in range(1, self.blocks):
            x = getattr(self, f"trans{i}")(getattr(self, f"dense{i}")(x))
        x = getattr(self, f"dense{self.blocks}")(x)
        return self.linear(F.relu(self.bn(x)).mean(dim=(2, 3)))


def _li_resnet(depth: int, k: int, shortcut: bool, num_classes: int) -> ResNet:
    """Li et al. ResNet-depth with k-times wider filters (reference `ResNet_cifar` / `WResNet_cifar`)."""
    block = partial(BasicBlock, shortcut=shortcut)
    return ResNet(block, (depth - 2) // 6, (16 * k, 16 * k, 32 * k, 64 * k), num_classes)


def _with_noshort(name: str, label: str, depth: int, k: int = 1) -> dict[str, tuple[str, Callable[[int], nn.Module]]]:
    """Registry entries for a Li et al. ResNet and its no-shortcut ("-NS") twin."""
    return {name: (label, partial(_li_resnet, depth, k, True)),
            f"{name}_noshort": (f"{label}-NS", partial(_li_resnet, depth, k, False))}


def _resnet4(blocks: Sequence[int], bottleneck: bool, shortcut: bool, num_classes: int) -> ResNet:
    """The reference's ImageNet-layout ResNet on CIFAR images (its `ResNet`, from kuangliu/pytorch-cifar): four
    stages of 64, 128, 256, 512 filters (times 4 after a bottleneck)."""
    block = partial(Bottleneck if bottleneck else BasicBlock, shortcut=shortcut)
    grow = 4 if bottleneck else 1
    return ResNet(block, blocks, (64, 64 * grow, 128 * grow, 256 * grow, 512 * grow), num_classes)


def _resnet4_pair(depth: int, blocks: Sequence[int], bottleneck: bool
                  ) -> dict[str, tuple[str, Callable[[int], nn.Module]]]:
    """Registry entries for a reference ImageNet-layout ResNet and its no-shortcut ("-NS") twin."""
    return {f"resnet{depth}": (f"ResNet-{depth}", partial(_resnet4, blocks, bottleneck, True)),
            f"resnet{depth}_noshort": (f"ResNet-{depth}-NS", partial(_resnet4, blocks, bottleneck, False))}


_VGG9: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]
_VGG16: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

# name -> (paper label, factory(num_classes))
_MODELS: dict[str, tuple[str, Callable[[int], nn.Module]]] = {
    **_with_noshort("resnet20", "ResNet-20", 20),
    **_with_noshort("resnet56", "ResNet-56", 56),
    **_with_noshort("resnet110", "ResNet-110", 110),
    **_with_noshort("wrn56_1", "WRN-56-1", 56, 1),
    **_with_noshort("wrn56_2", "WRN-56-2", 56, 2),
    **_with_noshort("wrn56_4", "WRN-56-4", 56, 4),
    **_with_noshort("wrn56_8", "WRN-56-8", 56, 8),
    # ResNet-20 with k-times the filters: the width study at a CPU-friendly depth (quick profile)
    **_with_noshort("wrn20_2", "WRN-20-2", 20, 2),
    **_with_noshort("wrn20_4", "WRN-20-4", 20, 4),
    "vgg9": ("VGG-9", partial(VGG, _VGG9, _fc_li)),
    "densenet_bc": ("DenseNet-BC", partial(DenseNet, 100, 12)),
    "vgg16": ("VGG-16", partial(VGG, _VGG16, _fc_garipov)),
    "preresnet164": ("PreResNet-164", partial(ResNet, partial(PreActBlock, bottleneck=True), 18,
                                              (16, 64, 128, 256), preact=True)),
    "wrn28_10": ("WRN-28-10", partial(ResNet, partial(PreActBlock, bias=True), 4,
                                      (16, 160, 320, 640), preact=True, bias=True)),
    # the rest of the reference's cifar10/models, so that its checkpoints load
    **_resnet4_pair(18, (2, 2, 2, 2), False),
    **_resnet4_pair(34, (3, 4, 6, 3), False),
    **_resnet4_pair(50, (3, 4, 6, 3), True),
    **_resnet4_pair(101, (3, 4, 23, 3), True),
    **_resnet4_pair(152, (3, 8, 36, 3), True),
    "resnet32_noshort": ("ResNet-32-NS", partial(_li_resnet, 32, 1, False)),
    "resnet44_noshort": ("ResNet-44-NS", partial(_li_resnet, 44, 1, False)),
    "resnet50_16_noshort": ("ResNet-50-16-NS", partial(_li_resnet, 50, 1, False)),  # 16 filters first, 8 blocks
    "wrn110_2_noshort": ("WRN-110-2-NS", partial(_li_resnet, 110, 2, False)),
    "wrn110_4_noshort": ("WRN-110-4-NS", partial(_li_resnet, 110, 4, False)),
    "densenet121": ("DenseNet-121", partial(DenseNet4, (6, 12, 24, 16), 32)),
}


def names() -> list[str]:
    """Names accepted by `get`."""
    return list(_MODELS)


def _entry(name: str) -> tuple[str, Callable[[int], nn.Module]]:
    """Registry entry of `name`, or ValueError listing the valid names."""
    if name not in _MODELS:
        raise ValueError(f"name must be one of {', '.join(_MODELS)}; got {name!r}")
    return _MODELS[name]


def display_name(name: str) -> str:
    """The paper's label of model `name`, e.g. "ResNet-56-NS"."""
    return _entry(name)[0]


def get(name: str, num_classes: int = 10) -> nn.Module:
    """A freshly initialized model `name` with `num_classes` outputs."""
    factory = _entry(name)[1]
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2; got {num_classes}")
    return factory(num_classes)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def table(selected: list[str] | None = None, num_classes: int = 10) -> list[dict]:
    """One row per model: registry name, the paper's label and the parameter count."""
    with torch.device("meta"):  # count without allocating or initializing the weights
        return [{"name": n, "label": display_name(n), "parameters": count_parameters(get(n, num_classes))}
                for n in (selected if selected is not None else names())]
