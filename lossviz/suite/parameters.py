"""The parameters a run passes to the notebooks: papermill's `-p NAME VALUE` form, checked against the notebooks'
parameters cells before anything runs."""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

OWN_OPTIONS = {"profile": "--profile"}  # parameters the runner sets from its own options


def value(text: str) -> Any:
    """A parameter value as papermill's `-p` reads it: int, float, True/False, None, else the string itself."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None, "true": True, "false": False}.get(text, text)


def names(notebook: Path) -> list[str]:
    """The names assigned in a notebook's cell tagged `parameters`, in order."""
    import nbformat

    cells = [c for c in nbformat.read(str(notebook), as_version=4).cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{notebook.name} has {len(cells)} cells tagged 'parameters'; it needs exactly one")
    found = []
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [t.id for t in targets if isinstance(t, ast.Name)]
    return found


def parse(pairs: list[list[str]] | None) -> dict[str, Any]:
    """{name: value} of `-p NAME VALUE` pairs; a name given twice, or one the runner sets itself, is a ValueError."""
    parameters: dict[str, Any] = {}
    for name, text in pairs or []:
        if name in OWN_OPTIONS:
            raise ValueError(f"-p {name} is set by {OWN_OPTIONS[name]}; use {OWN_OPTIONS[name]} {text}")
        if name in parameters:
            raise ValueError(f"-p {name} is given twice ({json.dumps(parameters[name])} and {text})")
        parameters[name] = value(text)
    return parameters


def check(parameters: dict[str, Any], notebooks: list[Path]) -> None:
    """Raise ValueError naming the first parameter that a notebook's parameters cell does not define."""
    for notebook in notebooks:
        valid = names(notebook)
        unknown = [name for name in parameters if name not in valid]
        if unknown:
            raise ValueError(f"parameter {unknown[0]!r} is not in the parameters cell of {notebook.stem}; "
                             f"valid: {', '.join(valid)}")
