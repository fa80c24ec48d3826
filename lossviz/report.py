"""Key numbers recorded by notebooks, and the HTML index of a suite run."""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lossviz.runner import NotebookRun

RESULTS_PREFIX = "LOSSVIZ_RESULT "  # notebooks print key numbers as `LOSSVIZ_RESULT {"name": value}`


def record(**numbers: float | int | str) -> dict:
    """Print key numbers in a line the runner and the tests can find; return them."""
    print(RESULTS_PREFIX + json.dumps(numbers, sort_keys=True))
    return numbers


def key_results(notebook: Path) -> dict:
    """The key numbers a notebook recorded with `record` (in its outputs)."""
    import nbformat

    found: dict = {}
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            for line in text.splitlines():
                if line.startswith(RESULTS_PREFIX):
                    found.update(json.loads(line[len(RESULTS_PREFIX):]))
    return found


def index_page(runs: list[NotebookRun], profile: str) -> str:
    """An HTML index linking every notebook with its run time and key numbers."""
    rows = []
    for run in runs:
        status = "ok" if run.ok else f"FAILED: {html.escape(run.error)}"
        numbers = "<br>".join(f"{html.escape(k)}: {html.escape(_fmt(v))}" for k, v in run.results.items())
        rows.append(f"<tr class='{'ok' if run.ok else 'fail'}'><td><a href='{run.name}.html'>{run.name}</a></td>"
                    f"<td>{run.seconds:.0f} s</td><td>{status}</td><td>{numbers}</td></tr>")
    total = sum(r.seconds for r in runs)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>lossviz: {profile} run</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.5em;text-align:left;vertical-align:top}}
tr.fail td{{background:#fde8e8}}th{{background:#f3f5f8}}a{{color:#1a5fb4}}</style></head><body>
<h1>lossviz — the <code>{profile}</code> run</h1>
<p>{len(runs)} notebooks, {sum(r.ok for r in runs)} succeeded, {total / 60:.1f} minutes in all.</p>
<table><tr><th>notebook</th><th>run time</th><th>status</th><th>key numbers</th></tr>
{''.join(rows)}</table></body></html>"""


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


