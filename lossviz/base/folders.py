"""Default folders for data, cache and run outputs, found from the working directory."""
from __future__ import annotations

import os
from pathlib import Path

STATIC_ENV = "LOSSVIZ_STATIC"  # "1": notebooks run unattended (runner, publish, tests) and show static figures


def project_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding `lossviz/` and `notebooks/`, else cwd."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "lossviz").is_dir() and (folder / "notebooks").is_dir():
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
