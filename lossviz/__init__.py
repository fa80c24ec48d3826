"""lossviz: visualize, measure and explain the loss landscapes of neural networks.

Layers (see ARCHITECTURE.md): `base` (data, models, weights, files), `compute` (training, surfaces, Hessian,
trajectories, curves, ensembles), `views` (plots, 3D export, animation, explorer), `course` (profiles, the
recipes of the `Course`, runner, report, publish, slides) and the command line `cli` on top.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__version__ = "0.1.0"

# the short names `lv.<name>` the notebooks and the README use, and the module each one lives in
MODULES = {
    **{m: f"lossviz.base.{m}" for m in ("data", "models", "schedules", "directions", "io", "files", "folders",
                                         "cache", "precision", "errors", "batchnorm", "distributed", "papers", "stats")},
    **{m: f"lossviz.compute.{m}" for m in ("train", "surface", "hessian", "trajectory", "curves", "ensembles",
                                            "gradient_scale")},
    **{m: f"lossviz.views.{m}" for m in ("plot", "vtk", "animation", "gallery", "explorer")},
    **{m: f"lossviz.course.{m}" for m in ("profiles", "recipes", "runner", "report", "publish", "slides")},
    "cli": "lossviz.cli",
}
NAMES = {"Course": "lossviz.course.recipes", "Sample": "lossviz.base.data"}


def __getattr__(name: str) -> ModuleType | Any:
    """Import modules on first use, so `import lossviz as lv; lv.surface` works (and `lv.Course`)."""
    if name in MODULES:
        return importlib.import_module(MODULES[name])
    if name in NAMES:
        return getattr(importlib.import_module(NAMES[name]), name)
    raise AttributeError(f"module 'lossviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The short names as well as the module's own."""
    return sorted({*globals(), *MODULES, *NAMES})
