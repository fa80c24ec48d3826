"""Fixtures shared by the test modules."""
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


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
