"""`make publish`: re-execute the course notebooks in place at the quick profile, without volatile metadata.

Each notebook runs with papermill into a temporary folder outside `notebooks/` (a killed publish leaves
nothing there); only a notebook that ran to the end replaces the committed one (atomically), after `strip`
removed what changes from run to run (timings, papermill bookkeeping, progress bars, local paths), so a
second publish of the same results is a no-op.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from lossviz.base import errors, files, folders
from lossviz.suite import captions, runner, slides
from lossviz.suite.report import key_results, notebooks
from lossviz.views.explorer import STATIC_ENV

VOLATILE_NOTEBOOK_KEYS = ("papermill", "widgets")
# the kernelspec JupyterLab writes into a notebook it opens with ipykernel's python3 kernel: published notebooks
# carry it, so that opening one changes nothing
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
VOLATILE_CELL_KEYS = ("papermill", "execution", "collapsed", "scrolled")
README_FIGURES = ("10_depth_3d.png", "10_width_3d.png", "10_pca_paths_3d.png", "10_curve_3d.png", "10_pca_path.gif",
                  "01_interpolation.png", "02_random_1d.png", "08_line_vs_curve.png", "07_snapshot_plane.png")
WIDGET = "application/vnd.jupyter.widget-view+json"  # a live widget: blank on GitHub, a new model_id each run
PROGRESS = re.compile(r"\r|\d+it/s|s/it\]|\|[#█▏▎▍▌▋▊▉ ]+\|")  # tqdm and similar progress bars


def _text(value: str | list[str]) -> str:
    """Notebook text, stored either as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else value


def _is_progress(output: dict) -> bool:
    """A progress bar: a stderr stream drawing one, or a widget (tqdm in Jupyter), whose state is not saved."""
    if WIDGET in output.get("data", {}):
        return True
    return (output.get("output_type") == "stream" and output.get("name") == "stderr"
            and bool(PROGRESS.search(_text(output.get("text", "")))))


def _unlocal(text: str, local: list[str]) -> str:
    """Text with this machine's folders (the project, the home folder) written relative."""
    for prefix in local:
        text = text.replace(prefix + os.sep, "").replace(prefix, ".")
    return text


def strip(nb: dict, local: list[str] | None = None) -> dict:
    """A copy of a notebook (nbformat dict) without run-specific metadata, progress bars or local paths, with the
    kernelspec JupyterLab writes (KERNELSPEC).

    `local`: folder paths to write relative in outputs (default: the project folder)."""
    local = [str(folders.project_dir())] if local is None else local
    out = copy.deepcopy(nb)
    for key in VOLATILE_NOTEBOOK_KEYS:
        out.get("metadata", {}).pop(key, None)
    out.setdefault("metadata", {})["kernelspec"] = dict(KERNELSPEC)
    for cell in out.get("cells", []):
        for key in VOLATILE_CELL_KEYS:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if _is_progress(output):
                continue
            if output.get("output_type") == "stream":
                output["text"] = _unlocal(_text(output.get("text", "")), local)
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, (str, list)):
                    output["data"][mime] = _unlocal(_text(value), local)
            kept.append(output)
        cell["outputs"] = kept
    return out


def publish_one(notebook: Path, kernel: str = "python3") -> float:
    """Execute one notebook at its default parameters into a temp folder, strip it, mark its slides from its new
    outputs (`slides.mark`), replace the original."""
    import nbformat
    import papermill

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lossviz-publish-") as folder:
        executed = Path(folder) / notebook.name
        papermill.execute_notebook(str(notebook), str(executed), kernel_name=kernel, cwd=str(Path.cwd()),
                                   progress_bar=False)
        nb = slides.mark(strip(nbformat.read(str(executed), as_version=4)), force=True)
    with files.atomic(notebook, suffix=".ipynb") as tmp:
        nbformat.write(nbformat.from_dict(nb), str(tmp))
    return time.perf_counter() - start


def copy_figures(source: Path, target: Path, names: tuple[str, ...] = README_FIGURES) -> list[Path]:
    """Copy the README's figures from a run's output folder (atomically each); all must exist."""
    missing = [n for n in names if not (source / n).is_file()]
    if missing:
        raise ValueError(f"source={str(source)!r} lacks {', '.join(missing)}: run the notebooks first")
    copied = []
    for name in names:
        copied.append(files.write_bytes(target / name, (source / name).read_bytes()))
    return copied


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m lossviz.suite.publish [--only 03 10]."""
    parser = argparse.ArgumentParser(description="Re-execute the notebooks in place (quick profile) and strip them.")
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    parser.add_argument("--only", nargs="*", default=None, help="notebook name prefixes, e.g. 03 10")
    args = parser.parse_args(argv)

    def command() -> int:
        selected = runner.select(args.notebooks, args.only)
        os.environ[STATIC_ENV] = "1"  # the kernels papermill starts inherit it: static figures, no widgets
        for notebook in selected:
            print(f"[publish] {notebook.stem} ...", end=" ", flush=True)
            print(f"{publish_one(notebook):.1f} s", flush=True)
        if not args.only:
            copied = copy_figures(folders.output_dir("quick"), args.notebooks / "figures")
            print(f"[publish] {len(copied)} figures for the README in {args.notebooks / 'figures'}")
            records = {nb.stem: key_results(nb) for nb in notebooks(args.notebooks)}
            if captions.write(folders.project_dir() / "README.md", records):
                print("[publish] the README's figure captions rendered from the published numbers")
        return 0

    return errors.exit_status("python -m lossviz.suite.publish", command)


if __name__ == "__main__":
    sys.exit(main())
