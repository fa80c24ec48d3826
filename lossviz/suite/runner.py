"""Run every notebook with papermill into runs/<profile>/, render HTML and an index page.

A notebook executes into a temporary file beside its executed copy, which it replaces only when it ran to the end
(as `publish` does); a failed run is kept as NAME.failed.ipynb, and an interrupted one (Ctrl-C, SIGTERM) leaves the
earlier executed copy as it was. The index says which notebooks failed, were interrupted or did not run. The kernel's
stderr reaches the terminal without the noise of a local kernel: ipykernel's warning about its TCP ports, and the
ZMQ traceback of a kernel stopped by Ctrl-C.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from lossviz.base import devices, errors, files
from lossviz.course import profiles
from lossviz.suite.parameters import check as check_parameters
from lossviz.suite.parameters import names as parameter_names
from lossviz.suite.parameters import parse as parse_parameters
from lossviz.suite.report import NotebookRun, index_page, key_results, notebooks, overview
from lossviz.views.explorer import STATIC_ENV

SLIDES_DIR = "slides"  # the decks of a run, beside its index page
FAILED = ".failed"  # NAME.failed.ipynb: the executed copy of a run that failed
TCP_WARNING = "Kernel is running over TCP without encryption"  # ipykernel, on every local kernel
STOPPED = re.compile(r"zmq\.error\.ZMQError\b")  # a stopped kernel answering on a closed socket
DEAD_KERNEL = "Kernel died while waiting for execute reply"  # nbclient; the run's error says it too


def _records(text: str) -> list[str]:
    """A kernel's stderr as log records: a '[App] LEVEL | ...' line with its traceback (up to its exception line),
    or any other line on its own."""
    records: list[str] = []
    current: list[str] = []
    traceback = False
    for line in text.splitlines(keepends=True):
        if current and (line[:1].isspace() or line.startswith("Traceback (") or traceback):
            current.append(line)
            if line.startswith("Traceback ("):
                traceback = True
            elif traceback and not line[:1].isspace():  # the exception line ends the traceback
                records.append("".join(current))
                current, traceback = [], False
            continue
        if current:
            records.append("".join(current))
        current = [line] if line.startswith("[") else []
        if not current:
            records.append(line)
    if current:
        records.append("".join(current))
    return records


def kernel_messages(text: str, interrupted: bool = False) -> str:
    """A kernel's stderr without ipykernel's TCP warning and, after an interruption, without the ZMQ traceback of
    the stopped kernel; every other line is kept."""
    return "".join(record for record in _records(text) if TCP_WARNING not in record
                   and not (interrupted and record.startswith("[") and STOPPED.search(record)))


class _Duplicates(logging.Filter):
    """Drops the log records that repeat a failure the run reports itself: nbclient's "Kernel died", and asyncio's
    "Task exception was never retrieved" about the same DeadKernelError."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return type(error).__name__ != "DeadKernelError" and DEAD_KERNEL not in record.getMessage()


_QUIET = _Duplicates()


def _quiet_logs() -> None:
    """Add the `_Duplicates` filter to the loggers that repeat a dead kernel (once per process)."""
    for name in ("papermill", "nbclient", "asyncio"):
        logger = logging.getLogger(name)
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


def _kernel_manager(stderr: IO[bytes]) -> type:
    """A kernel manager class whose kernels write their stderr to `stderr` (filtered by `kernel_messages`)."""
    from jupyter_client import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        """A local kernel whose stderr goes to a file instead of the terminal."""

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]  # jupyter_client's own signature
            kw.setdefault("stderr", stderr)
            await super().start_kernel(**kw)

    return QuietKernelManager


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


class _Failed(Exception):
    """A notebook that raised: its executed copy must not replace the last finished one."""


def run_one(notebook: Path, out_dir: Path, profile: str, parameters: dict, kernel: str) -> NotebookRun:
    """Execute one notebook with papermill into a temporary file that replaces its executed copy only when it ran
    to the end; a failed run is kept beside it as NAME.failed.ipynb (and its page links there)."""
    import nbformat
    import papermill

    out = out_dir / notebook.name
    failed = out_dir / f"{notebook.stem}{FAILED}.ipynb"
    _quiet_logs()
    start = time.perf_counter()
    error = ""
    interrupted = False
    with tempfile.TemporaryFile() as stderr:
        try:
            with files.atomic(out, suffix=".ipynb") as tmp:
                try:
                    papermill.execute_notebook(str(notebook), str(tmp), parameters={"profile": profile, **parameters},
                                               kernel_name=kernel, cwd=str(Path.cwd()), progress_bar=False,
                                               kernel_manager_class=_kernel_manager(stderr))
                except Exception as exc:  # papermill raises PapermillExecutionError with the cell's traceback
                    error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
                    if tmp.exists() and tmp.stat().st_size:  # papermill wrote the notebook before it failed
                        os.chmod(tmp, 0o644)
                        os.replace(tmp, failed)
                    raise _Failed from None
                nb = nbformat.read(str(tmp), as_version=4)
                nb.metadata.get("papermill", {})["output_path"] = str(out)  # not the temporary file's name
                nbformat.write(nb, str(tmp))
        except _Failed:
            pass
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            stderr.seek(0)
            shown = kernel_messages(stderr.read().decode(errors="replace"), interrupted)
            if shown:
                print(shown, end="", file=sys.stderr, flush=True)
    if not error:
        for stale in (failed, failed.with_suffix(".html")):
            stale.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    executed = failed if error else out
    results = key_results(executed) if executed.exists() else {}
    title, figure = overview(executed) if executed.exists() else (notebook.stem, "")
    page = f"{executed.stem}.html" if error else ""
    return NotebookRun(notebook.stem, seconds, not error, error, results, title, figure, page=page)


def render_html(notebook: Path) -> None:
    """Write an HTML rendering beside an executed notebook; it needs no network (MathJax and plotly.js from
    slides/)."""
    import nbformat

    from lossviz.suite import slides

    ready = not slides.missing_assets()
    body = slides.page_html(nbformat.read(str(notebook), as_version=4),
                            mathjax_url=f"{SLIDES_DIR}/{slides.MATHJAX}" if ready else "",
                            plotly_url=f"{SLIDES_DIR}/{slides.PLOTLY_JS}" if ready else "")
    notebook.with_suffix(".html").write_text(body, encoding="utf-8")


def build_decks(runs: list[NotebookRun], out_dir: Path) -> list[NotebookRun]:
    """Slide decks of the executed notebooks in out_dir/slides (when reveal.js is installed), noted in the runs."""
    from lossviz.suite import slides

    missing = slides.missing_assets()
    if missing:
        print(f"no slide decks: {', '.join(missing)} not installed (make setup)", flush=True)
        return runs
    executed = [out_dir / f"{run.name}.ipynb" for run in runs if run.ok and (out_dir / f"{run.name}.ipynb").exists()]
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
    parameters = dict(parameters or {})
    check_parameters(parameters, selected)
    resolved = str(devices.resolve(device))  # every notebook that takes a device on the same one
    out_dir = out_root / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    runs: list[NotebookRun] = []
    static, os.environ[STATIC_ENV] = os.environ.get(STATIC_ENV), "1"  # kernels inherit it: no live widgets
    try:
        for notebook in selected:
            started = time.perf_counter()
            on = {"device": resolved} if "device" in parameter_names(notebook) else {}
            runs.append(_run_and_render(notebook, out_dir, profile, {**parameters, **on}, kernel, html_pages))
    except KeyboardInterrupt as stop:  # the index says so, then the runner exits with 130 (143)
        signal = "SIGTERM" if isinstance(stop, errors.Terminated) else "SIGINT"
        left = selected[len(runs):]
        print(f"interrupted ({signal})", flush=True)
        runs.append(NotebookRun(left[0].stem, time.perf_counter() - started, False,
                                f"interrupted ({signal}); an earlier executed copy, if any, is kept", {},
                                left[0].stem, state="interrupted"))
        runs += [NotebookRun(nb.stem, 0.0, False, "", {}, nb.stem, state="not run") for nb in left[1:]]
        files.write_bytes(out_dir / "index.html", index_page(runs, profile).encode())
        raise
    finally:
        if static is None:
            os.environ.pop(STATIC_ENV, None)
        else:
            os.environ[STATIC_ENV] = static
    if html_pages:
        runs = build_decks(runs, out_dir)
    files.write_bytes(out_dir / "index.html", index_page(runs, profile).encode())
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
    executed = out_dir / (notebook.name if run.ok else f"{notebook.stem}{FAILED}.ipynb")
    if html_pages and executed.exists():
        render_html(executed)
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
