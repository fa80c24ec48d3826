"""lossviz: visualize, measure and explain the loss landscapes of neural networks."""
from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

MODULES = ("data", "models", "schedules", "train", "cache", "profiles", "runner", "directions", "surface",
           "io", "plot", "hessian", "trajectory", "curves", "ensembles", "explorer", "report", "paths", "vtk",
           "landscape", "course", "gallery", "animation", "publish", "files")


def __getattr__(name: str) -> ModuleType:
    """Import submodules on first use, so `import lossviz as lv; lv.surface` works."""
    if name in MODULES:
        return importlib.import_module(f"lossviz.{name}")
    raise AttributeError(f"module 'lossviz' has no attribute {name!r}")
