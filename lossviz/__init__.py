"""lossviz: visualize, measure and explain the loss landscapes of neural networks.

Layers (see ARCHITECTURE.md): `base` (data, models, weights, grids, files), `compute` (training, surfaces, Hessian,
landscapes of trained runs, trajectories, curves, ensembles), `views` (plots, charts, 3D export, animation,
explorer), `course` (what the notebooks call: profiles, the `Course`, names, tables, records), `suite` (running,
publishing and presenting the notebooks) and the command line `cli`.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__version__ = "0.1.0"

# the short names `lv.<name>` the notebooks and the README use, and the module each one lives in
LAYERS = {
    "base": ("data", "models", "schedules", "directions", "devices", "grids", "io", "files", "folders", "cache",
             "precision", "errors", "batchnorm", "distributed", "papers", "stats"),
    "compute": ("train", "surface", "folding", "hessian", "eigenmaps", "landscapes", "shape", "trajectory", "curves",
                "ensembles", "gradient_scale"),
    "views": ("drawing", "plot", "panels", "charts", "labels", "vtk", "animation", "gallery", "surface3d",
              "explorer"),
    "course": ("profiles", "projection", "recipes", "names", "tables", "records", "findings", "batch_claims",
               "depth_claims", "ensemble_claims"),
    "suite": ("runner", "parameters", "report", "publish", "captions", "slides", "layout"),
}
MODULES = {**{m: f"lossviz.{layer}.{m}" for layer, names in LAYERS.items() for m in names}, "cli": "lossviz.cli"}
NAMES = {"Course": "lossviz.course.recipes", "Sample": "lossviz.base.data", "record": "lossviz.course.records"}


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
