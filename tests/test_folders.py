"""Default folders: the project folder found from a subfolder, and the environment's overrides of data, cache and
output folders."""
from pathlib import Path

import pytest

from lossviz.base import folders

ROOT = Path(__file__).resolve().parents[1]


def project(tmp_path: Path) -> Path:
    """A project folder as a checkout has it: pyproject.toml beside the lossviz/ package, notebooks/ below."""
    root = tmp_path / "checkout"
    (root / "lossviz").mkdir(parents=True)
    (root / "lossviz" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text("[project]\nname = 'lossviz'\n")
    (root / "notebooks" / "deep").mkdir(parents=True)
    return root


@pytest.fixture
def no_overrides(monkeypatch):
    for name in ("LOSSVIZ_DATA", "LOSSVIZ_CACHE", "LOSSVIZ_OUT"):
        monkeypatch.delenv(name, raising=False)


def test_project_dir_is_found_from_a_subfolder_and_from_the_working_directory(tmp_path, monkeypatch):
    root = project(tmp_path)
    assert folders.project_dir(root / "notebooks" / "deep") == root
    assert folders.project_dir(root) == root
    monkeypatch.chdir(root / "notebooks")
    assert folders.project_dir() == root
    assert folders.project_dir(ROOT / "notebooks") == ROOT  # this checkout


def test_project_dir_needs_both_pyproject_and_the_package(tmp_path):
    root = project(tmp_path)
    inner = root / "notebooks" / "other"  # a pyproject.toml of another project, without lossviz/, is passed by
    inner.mkdir()
    (inner / "pyproject.toml").write_text("")
    assert folders.project_dir(inner) == root
    lone = tmp_path / "elsewhere" / "sub"
    lone.mkdir(parents=True)
    (lone.parent / "lossviz").mkdir()  # a package folder without pyproject.toml: not a project
    (lone.parent / "lossviz" / "__init__.py").write_text("")
    assert folders.project_dir(lone) == lone  # nothing found: the start itself


def test_defaults_are_folders_of_the_project(tmp_path, monkeypatch, no_overrides):
    root = project(tmp_path)
    monkeypatch.chdir(root / "notebooks" / "deep")
    assert folders.data_root() == root / "data"
    assert folders.cache_dir() == root / "cache"
    assert folders.output_dir("quick") == root / "out" / "quick"


def test_the_environment_overrides_each_folder(tmp_path, monkeypatch, no_overrides):
    root = project(tmp_path)
    monkeypatch.chdir(root / "notebooks")
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("LOSSVIZ_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("LOSSVIZ_OUT", str(tmp_path / "o"))
    assert folders.data_root() == tmp_path / "d"
    assert folders.cache_dir() == tmp_path / "c"
    assert folders.output_dir("smoke") == tmp_path / "o" / "smoke"  # the profile's folder inside the override
    monkeypatch.setenv("LOSSVIZ_CACHE", "")  # set but empty: the default
    assert folders.cache_dir() == root / "cache"
