"""The key numbers an executed notebook recorded, the outcome of each executed notebook, and the HTML index of a run."""
from __future__ import annotations

import html
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from lossviz.course.records import RESULTS_PREFIX


@dataclass(frozen=True)
class NotebookRun:
    """The outcome of one executed notebook."""

    name: str
    seconds: float
    ok: bool
    error: str
    results: dict
    title: str = ""
    figure: str = ""  # the first PNG output, base64
    slides: str = ""  # the slide deck, relative to the index page ("" when none was built)
    state: str = ""  # "" (ok or failed, as `ok` says), "interrupted", or "not run" (after an interruption)
    page: str = ""  # the executed notebook's page, relative to the index page ("" : NAME.html)


def notebooks(folder: Path) -> list[Path]:
    """The course notebooks, numbered NN_topic.ipynb or NNx_topic.ipynb (a part inserted after NN), in order."""
    return sorted(p for p in folder.glob("[0-9][0-9]*_*.ipynb") if re.fullmatch(r"\d\d[a-z]?_\w+", p.stem))


def key_results(notebook: Path) -> dict:
    """The key numbers a notebook recorded with `lossviz.course.records.record` (in its outputs)."""
    import nbformat

    found: dict = {}
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            for line in text.splitlines():
                if line.startswith(RESULTS_PREFIX):
                    found.update(json.loads(line[len(RESULTS_PREFIX):]))
    return found


def overview(notebook: Path) -> tuple[str, str]:
    """A notebook's title (its first heading) and its first PNG figure (base64), for the index page."""
    import nbformat

    title, figure = notebook.stem, ""
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        if cell.cell_type == "markdown" and title == notebook.stem:
            heading = next((line.lstrip("# ").strip() for line in cell.source.splitlines() if line.startswith("#")), "")
            title = heading.replace("$", "") or title  # LaTeX math ($M$) reads as plain text in HTML
        for output in cell.get("outputs", []) if not figure else []:
            figure = output.get("data", {}).get("image/png", "") or figure
            if figure:
                break
    return title, figure.replace("\n", "")


def index_page(runs: list[NotebookRun], profile: str) -> str:
    """An HTML index linking every notebook with its run time and key numbers."""
    rows = []
    for run in runs:
        name, href = _escape(run.name), _escape(urllib.parse.quote(run.page or f"{run.name}.html"))
        figure = run.figure if re.fullmatch(r"[A-Za-z0-9+/=]*", run.figure) else ""  # base64, else no thumbnail
        status = _status(run)
        numbers = "".join(f"<li><code>{html.escape(k)}</code> {html.escape(_fmt(v))}</li>"
                          for k, v in run.results.items())
        linked = not run.state  # an interrupted run has no page of its own (an earlier run's is not this one)
        thumb = (f"<a href='{href}'><img src='data:image/png;base64,{_escape(figure)}' alt=''></a>"
                 if figure and linked else "")
        deck = (f"<div class='deck'><a href='{html.escape(run.slides)}'>slides</a></div>"
                if run.slides else "")
        title = f"<a href='{href}'>{name}</a>" if linked else name
        rows.append(f"<tr class='{'ok' if run.ok else 'fail'}'><td class='nb'>{title}"
                    f"<div class='title'>{html.escape(run.title)}</div>{deck}</td><td class='thumb'>{thumb}</td>"
                    f"<td class='num'>{_escape(f'{run.seconds:.0f}')} s</td><td>{status}</td>"
                    f"<td><ul>{numbers}</ul></td></tr>")
    total = sum(r.seconds for r in runs)
    decks = (", <em>slides</em> its reveal.js deck (offline; all decks: <a href='slides/index.html'>slides/</a>)"
             if any(r.slides for r in runs) else "")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>lossviz: {_escape(profile)} run</title>
<style>body{{font-family:system-ui,sans-serif;max-width:78em;margin:2em auto;padding:0 1em;color:#222}}
h1{{font-weight:600}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #e3e6ea;padding:.6em;text-align:left;vertical-align:top}}
th{{background:#f3f5f8;font-weight:600}}tr.fail td{{background:#fde8e8}}a{{color:#1a5fb4;text-decoration:none}}
td.nb a{{font-family:ui-monospace,monospace;font-weight:600}}
div.title{{color:#555;font-size:.92em;margin-top:.3em}}div.deck{{margin-top:.3em}}
td.thumb img{{width:15em;max-height:11em;object-fit:contain;border:1px solid #e3e6ea;
border-radius:4px;background:white}}td.num{{white-space:nowrap}}
ul{{margin:0;padding-left:1em;font-size:.88em;columns:2 14em}}li{{overflow-wrap:anywhere}}
code{{color:#444;font-family:ui-monospace,monospace}}
</style></head><body>
<h1>lossviz — the <code>{_escape(profile)}</code> run</h1>
<p>{len(runs)} notebooks, {sum(r.ok for r in runs)} succeeded, {total / 60:.1f} minutes in all.
Each name opens the executed notebook{decks}.</p>
<table><tr><th>notebook</th><th>first figure</th><th>run time</th><th>status</th><th>key numbers</th></tr>
{''.join(rows)}</table></body></html>"""


def _status(run: NotebookRun) -> str:
    """The status cell of a run (HTML): ok, FAILED, INTERRUPTED or not run, with the error."""
    if run.state == "not run":
        return "not run: the run was interrupted before it"
    if run.state == "interrupted":
        return f"INTERRUPTED: {html.escape(run.error)}"
    return "ok" if run.ok else f"FAILED: {html.escape(run.error)}"


def _escape(value: object) -> str:
    """Any value as HTML text, safe inside elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


