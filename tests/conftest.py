"""Fixtures shared by the test modules."""
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


class TinyNet(nn.Module):
    """conv-BN-act, conv(bias)-BN-act (both stride 2), 2 x 2 average pool, linear: every kind of tensor the zoo holds
    (convolutions with and without bias, BN weights, biases and statistics, a classifier), fast on the CPU for images
    of any size from 5 x 5 (8 x 8 in 32 x 32 CIFAR images after the two convolutions)."""

    def __init__(self, classes: int = 10, widths: tuple[int, int] = (8, 16), activation: str = "relu") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}; valid choices: {', '.join(ACTIVATIONS)}")
        self.act = ACTIVATIONS[activation]
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.conv2 = nn.Conv2d(widths[0], widths[1], 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(widths[1])
        self.fc = nn.Linear(4 * widths[1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn1(self.conv1(x)))
        x = self.act(self.bn2(self.conv2(x)))
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 2).flatten(1))


def make_tiny_net(seed: int | None = 0, classes: int = 10, widths: tuple[int, int] = (8, 16),
                  activation: str = "relu", dtype: torch.dtype = torch.float32) -> TinyNet:
    """A fresh TinyNet in train mode, initialized from `seed` (None: from torch's global generator, as
    `models.get` is when a test puts it in the registry's place)."""
    if seed is not None:
        torch.manual_seed(seed)
    return TinyNet(classes, widths, activation).to(dtype)


@pytest.fixture(scope="session")
def tiny_net():
    """The tests' one small network: `tiny_net(seed=0, classes=10, widths=(8, 16), activation="relu",
    dtype=torch.float32)` builds a fresh TinyNet."""
    return make_tiny_net


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is faster and immune to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass(frozen=True)
class SmokeRun:
    """The course run once at the smoke profile: its run folder (notebooks, pages, decks, index), the runs,
    the environment it ran in (a fresh cache and output folder), and whether it modified notebooks/."""

    folder: Path
    runs: dict
    env: dict
    modified: list


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> SmokeRun:
    """Run every notebook once per test session at the smoke profile (shared by the notebook and browser tests)."""
    from lossviz import runner

    out = tmp_path_factory.mktemp("runs")
    env = {"LOSSVIZ_CACHE": str(tmp_path_factory.mktemp("cache")), "LOSSVIZ_OUT": str(tmp_path_factory.mktemp("out"))}
    notebooks = runner.notebooks(ROOT / "notebooks")
    before = {nb.name: nb.read_bytes() for nb in notebooks}
    mp = pytest.MonkeyPatch()
    try:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.chdir(ROOT)
        runs = runner.run_suite("smoke", ROOT / "notebooks", out, html_pages=True)
    finally:
        mp.undo()
    modified = [nb.name for nb in notebooks if nb.read_bytes() != before[nb.name]]
    return SmokeRun(out / "smoke", {r.name: r for r in runs}, env, modified)


SCREENSHOTS_ENV = "LOSSVIZ_SCREENSHOTS"  # where the browser tests keep their screenshots (default: the smoke run's)
SCREENSHOTS = pytest.StashKey[set]()


@pytest.fixture(scope="session")
def shots(request, smoke_run) -> Path:
    """The folder the browser tests keep their screenshots and contact sheets in: $LOSSVIZ_SCREENSHOTS, else the
    smoke run's screenshots/ (pytest keeps the last three runs' folders); named in the test summary."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or smoke_run.folder / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    request.config.stash.setdefault(SCREENSHOTS, set()).add(folder)
    return folder


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say where the browser tests left their screenshots."""
    for folder in sorted(config.stash.get(SCREENSHOTS, set())):
        terminalreporter.write_line(f"screenshots and contact sheets (*.sheet.png): {folder}")
