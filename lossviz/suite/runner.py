"""Run every notebook with papermill into runs/<profile>/, render HTML and an index page."""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from lossviz.base import devices, errors
from lossviz.course import profiles
from lossviz.suite.parameters import check as check_parameters
from lossviz.suite.parameters import parse as parse_parameters
from lossviz.suite.report import NotebookRun, index_page, key_results, notebooks, overview
from lossviz.views.explorer import STATIC_ENV

SLIDES_DIR = "slides"  # the decks of a run, beside its index page



def select(folder: Path, only: list[str] | None = None) -> list[Path]:
    """The notebooks of `folder` whose names start with one of `only` (all when None or empty).

    ValueError when the folder does not exist or nothing matches, naming the notebooks there."""
    if not Path(folder).is_dir():
        raise ValueError(f"notebook folder {str(folder)!r} does not exist")
    found = notebooks(Path(folder))
    selected = [nb for nb in found if not only or any(nb.stem.startswith(o) for o in only)]
    if not selected:
        names = ", ".join(nb.stem for nb in found) or "none"
        raise ValueError(f"only={only} matches no notebook in {str(folder)!r}; valid choices: {names}")
    return selected


def run_one(notebook: Path, out_dir: Path, profile: str, parameters: dict, kernel: str) -> NotebookRun:
    """Execute one notebook with papermill; keep the executed copy, even when it fails."""
    import papermill

    out = out_dir / notebook.name
    start = time.perf_counter()
    error = ""
    try:
        papermill.execute_notebook(str(notebook), str(out), parameters={"profile": profile, **parameters},
                                   kernel_name=kernel, cwd=str(Path.cwd()), progress_bar=False)
    except Exception as exc:  # papermill raises PapermillExecutionError with the cell's traceback
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    seconds = time.perf_counter() - start
    results = key_results(out) if out.exists() else {}
    title, figure = overview(out) if out.exists() else (notebook.stem, "")
    return NotebookRun(notebook.stem, seconds, not error, error, results, title, figure)


def render_html(notebook: Path) -> None:
    """Write an HTML rendering beside an executed notebook; it needs no network (MathJax from slides/)."""
    import nbformat

    from lossviz.suite import slides

    mathjax = f"{SLIDES_DIR}/{slides.MATHJAX}" if not slides.missing_assets() else ""
    body = slides.page_html(nbformat.read(str(notebook), as_version=4), mathjax_url=mathjax)
    notebook.with_suffix(".html").write_text(body, encoding="utf-8")


def build_decks(runs: list[NotebookRun], out_dir: Path) -> list[NotebookRun]:
    """Slide decks of the executed notebooks in out_dir/slides (when reveal.js is installed), noted in the runs."""
    from lossviz.suite import slides

    missing = slides.missing_assets()
    if missing:
        print(f"no slide decks: {', '.join(missing)} not installed (make setup)", flush=True)
        return runs
    executed = [out_dir / f"{run.name}.ipynb" for run in runs if (out_dir / f"{run.name}.ipynb").exists()]
    decks = {deck.name for deck in slides.build(executed, out_dir / SLIDES_DIR)} if executed else set()
    return [replace(run, slides=f"{SLIDES_DIR}/{slides.deck_name(Path(run.name))}")
            if slides.deck_name(Path(run.name)) in decks else run for run in runs]


def run_suite(profile: str, notebook_dir: Path, out_root: Path, only: list[str] | None = None,
              parameters: dict | None = None, kernel: str = "python3", html_pages: bool = True,
              device: str = "auto") -> list[NotebookRun]:
    """Execute the notebooks (all, or those whose names start with one of `only`) on `device` ("auto": CUDA, else
    MPS, else the CPU) with `parameters` (names of their parameters cell), and write the index."""
    line = profiles.device_line(profile, device)  # unknown profile or device: ValueError before any work
    print(f"[{profile}] {line}", flush=True)
    selected = select(notebook_dir, only)  # before anything is written
    parameters = {**(parameters or {}), "device": str(devices.resolve(device))}  # every notebook on the same one
    check_parameters(parameters, selected)
    out_dir = out_root / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    static, os.environ[STATIC_ENV] = os.environ.get(STATIC_ENV), "1"  # kernels inherit it: no live widgets
    try:
        for notebook in selected:
            runs.append(_run_and_render(notebook, out_dir, profile, parameters or {}, kernel, html_pages))
    finally:
        if static is None:
            os.environ.pop(STATIC_ENV, None)
        else:
            os.environ[STATIC_ENV] = static
    if html_pages:
        runs = build_decks(runs, out_dir)
    (out_dir / "index.html").write_text(index_page(runs, profile), encoding="utf-8")
    print("\nnotebook                          seconds  status")
    for run in runs:
        print(f"{run.name:<32} {run.seconds:8.1f}  {'ok' if run.ok else 'FAILED'}")
    print(f"{'total':<32} {sum(r.seconds for r in runs):8.1f}")
    return runs


def _run_and_render(notebook: Path, out_dir: Path, profile: str, parameters: dict, kernel: str,
                    html_pages: bool) -> NotebookRun:
    """Run one notebook, print its outcome, render its HTML page."""
    print(f"[{profile}] {notebook.stem} ...", end=" ", flush=True)
    run = run_one(notebook, out_dir, profile, parameters, kernel)
    print(f"{'ok' if run.ok else 'FAILED'} in {run.seconds:.1f} s" + ("" if run.ok else f" ({run.error})"), flush=True)
    if html_pages and (out_dir / notebook.name).exists():
        render_html(out_dir / notebook.name)
    return run


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m lossviz.suite.runner --profile quick [--device cuda] [--only 00 01] [-p seed 1]."""
    parser = argparse.ArgumentParser(description="Run the lossviz notebooks with papermill.")
    parser.add_argument("--profile", default="quick", choices=profiles.NAMES)
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.add_argument("--only", nargs="*", default=None, help="notebook name prefixes, e.g. 00 03")
    parser.add_argument("--no-html", action="store_true")
    parser.add_argument("--device", default=None,
                        help="auto (default: CUDA, else Apple MPS, else the CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                        help="a parameter of the notebooks' parameters cell, as papermill's -p (e.g. -p seed 1)")
    args = parser.parse_args(argv)

    def command() -> int:
        parameters = parse_parameters(args.parameter)
        asked = args.device if args.device is not None else str(parameters.pop("device", "auto"))
        runs = run_suite(args.profile, args.notebooks, args.out, args.only, parameters,
                         html_pages=not args.no_html, device=asked)
        return 0 if all(r.ok for r in runs) else 1

    return errors.exit_status("python -m lossviz.suite.runner", command)


if __name__ == "__main__":
    sys.exit(main())
