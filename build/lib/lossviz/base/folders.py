"""Default folders for data, cache and run outputs, found from the working directory."""
from __future__ import annotations

import os
from pathlib import Path


def project_dir(start: Path | None = None) -> Path:
    """The project folder: the nearest folder at or above `start` (default: cwd) holding `pyproject.toml` and the
    `lossviz/` package (so a notebook started in a subfolder finds the project's data/), else `start` itself."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "lossviz" / "__init__.py").is_file():
            return folder
    return start


def data_root() -> Path:
    """`$LOSSVIZ_DATA` if set, else `data/` in the project folder (so notebooks find it from notebooks/)."""
    return Path(os.environ["LOSSVIZ_DATA"]) if os.environ.get("LOSSVIZ_DATA") else project_dir() / "data"


def cache_dir() -> Path:
    """`$LOSSVIZ_CACHE` if set, else `cache/` in the project folder."""
    return Path(os.environ["LOSSVIZ_CACHE"]) if os.environ.get("LOSSVIZ_CACHE") else project_dir() / "cache"


def output_dir(profile: str) -> Path:
    """Where notebooks write figures and result files: `$LOSSVIZ_OUT/<profile>` or `out/<profile>`."""
    base = Path(os.environ["LOSSVIZ_OUT"]) if os.environ.get("LOSSVIZ_OUT") else project_dir() / "out"
    return base / profile
