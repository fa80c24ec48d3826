"""Packaging a user can trust: what the code imports is declared, requirements.txt pins a set that satisfies the
declared ranges, and an installed wheel (not this checkout) runs the command line and finds its package data."""
import ast
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CORE = ("base", "compute", "views", "course", "cli.py")  # what `pip install .` promises: the package and its CLI


def declared(*extras: str) -> set[str]:
    """Normalized distribution names of the dependencies and the given extras."""
    found = [Requirement(r) for r in PROJECT["dependencies"]]
    found += [Requirement(r) for extra in extras for r in PROJECT["optional-dependencies"][extra]]
    return {r.name.lower().replace("_", "-") for r in found}


def top_level_imports(paths: list[Path], lazy: bool) -> set[str]:
    """Third-party top-level modules imported by the files: at module level only, or anywhere when `lazy`."""
    names = set()
    for path in paths:
        tree = ast.parse(path.read_text())
        nodes = ast.walk(tree) if lazy else iter(tree.body)
        for node in nodes:
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"lossviz", "__future__"}


def distributions(modules: set[str]) -> set[str]:
    """The installed distributions that provide each top-level module."""
    providers = metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in providers)
    assert not missing, f"imported but provided by no installed distribution: {missing}"
    return {providers[m][0].lower().replace("_", "-") for m in modules}


def files(*parts: str) -> list[Path]:
    return sorted(p for part in parts for p in ((ROOT / "lossviz" / part).rglob("*.py")
                                               if (ROOT / "lossviz" / part).is_dir() else [ROOT / "lossviz" / part]))


def test_core_imports_are_declared_dependencies():
    """Everything the package and its command line import at module level is in [project] dependencies (the
    explorer's widgets are imported where they are used, and come with the course extra)."""
    needed = distributions(top_level_imports(files(*CORE), lazy=False))
    assert needed <= declared(), needed - declared()


def test_everything_the_course_and_the_suite_import_is_declared_with_the_course_extra():
    needed = distributions(top_level_imports(files(*CORE, "suite"), lazy=True))
    ipython = {"ipython"}  # IPython.display comes with ipykernel and ipywidgets, both in the course extra
    assert needed - ipython <= declared("course"), needed - ipython - declared("course")


def test_requirements_pin_every_package_and_satisfy_the_declared_ranges():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    pins = {}
    for line in lines:
        requirement = Requirement(line)
        assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", line
        pins[requirement.name.lower().replace("_", "-")] = Version(next(iter(requirement.specifier)).version)
    for extra in (None, *PROJECT["optional-dependencies"]):
        for text in PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]:
            requirement = Requirement(text)
            name = requirement.name.lower().replace("_", "-")
            assert name in pins, f"{name} ({extra or 'dependencies'}) is not pinned in requirements.txt"
            assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} outside {requirement}"


@pytest.mark.slow
def test_an_installed_wheel_runs_the_command_line_and_finds_its_package_data(tmp_path):
    """Build the wheel, install it (no dependencies: they are this environment's) into a folder of its own and run it
    from elsewhere, so that nothing is read from this checkout."""
    wheels, site, source = tmp_path / "wheels", tmp_path / "site", tmp_path / "source"
    source.mkdir()  # a copy of what git tracks, so the build writes nothing into this checkout
    tracked = subprocess.run(["git", "ls-files", "pyproject.toml", "lossviz"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("lossviz-*.whl")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    script = ("import lossviz, lossviz.suite.slides as s; from lossviz.base import papers; "
              "assert len(papers.garipov2018()) == 18 and (s.TEMPLATES / 'deck.css').is_file(); "
              "print(lossviz.__file__)")
    check = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0 and check.stdout.startswith(str(site)), check.stderr[-2000:]
    cli = subprocess.run([sys.executable, "-m", "lossviz", "surface", "--help"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and "--checkpoint" in cli.stdout, cli.stderr[-2000:]
