"""Slide decks of the course: slide metadata in the notebooks, offline reveal.js decks and notebook pages.

`mark` writes the slide metadata that JupyterLab's RISE and nbconvert's reveal.js exporter read
(`cell.metadata.slideshow.slide_type`) from each cell's role: the title slide, one slide per heading,
one per figure, the parameters and the recorded key numbers as speaker notes; code cells get a
`hide-code` tag that the decks honour (remove it from a cell to show that cell's code). `deck` renders an
executed notebook as a reveal.js deck that needs no network: reveal.js and MathJax come from the local
copies `make setup` installs from the npm registry (web/node_modules), plotly.js (the interactive 3D figures of
`lossviz.views.surface3d`) from the `plotly` Python package; `copy_assets` puts them beside the decks. `page`
renders a notebook as one offline HTML page with the same copies.
"""
from __future__ import annotations

import argparse
import copy
import html
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lossviz.base import folders
from lossviz.course.records import RESULTS_PREFIX
from lossviz.suite import layout
from lossviz.suite.layout import text as _text

if TYPE_CHECKING:
    from nbconvert import HTMLExporter

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
CODE_CHOICES = ("tagged", "show", "hide")  # hide the code of cells tagged HIDE_CODE, show all, hide all
HIDE_CODE = layout.HIDE_CODE
WEB_ENV = "LOSSVIZ_WEB"  # a folder holding reveal.js/ and mathjax/ as npm installs them
LIST_ITEM = re.compile(r"[-*] |\d+\. ")
FIGURES = layout.FIGURES
TEMPLATES = Path(__file__).resolve().parent / "templates"
ASSETS = {  # what the decks load, per npm package: files or folders relative to the package
    "reveal.js": ("dist/reveal.js", "dist/reveal.css", "dist/theme/white.css", "dist/theme/fonts/source-sans-pro",
                  "plugin/notes/notes.js"),
    "mathjax": ("es5/tex-chtml-full.js", "es5/output/chtml/fonts/woff-v2"),
}
MATHJAX = "mathjax/es5/tex-chtml-full.js"
PLOTLY_JS = "plotly/plotly.min.js"  # beside the decks: the plotly package's own copy (package_data/plotly.min.js)
PLOTLY = layout.PLOTLY
DECK_CSS = (TEMPLATES / "deck.css")


def web_dir() -> Path:
    """Where the browser assets are installed: `$LOSSVIZ_WEB`, else web/node_modules in the project."""
    env = os.environ.get(WEB_ENV)
    return Path(env) if env else folders.project_dir() / "web" / "node_modules"


def plotly_js() -> Path | None:
    """The plotly.js the `plotly` Python package ships (the version its JupyterLab renderer draws with), or None."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def missing_assets(web: Path | None = None) -> list[str]:
    """The asset files or folders the decks need that are not installed (empty: all there)."""
    web = web_dir() if web is None else web
    missing = [f"{package}/{item}" for package, items in ASSETS.items() for item in items
               if not (web / package / item).exists()]
    return missing + ([] if plotly_js() else ["plotly (pip install plotly: the course extra)"])


def copy_assets(target: Path, web: Path | None = None) -> Path:
    """Copy reveal.js, MathJax and plotly.js into `target` (reveal.js/..., mathjax/..., plotly/plotly.min.js), as
    the decks reference them."""
    web = web_dir() if web is None else web
    missing = missing_assets(web)
    if missing:
        raise FileNotFoundError(f"web={str(web)!r} lacks {', '.join(missing)}: run `make setup` "
                                "(npm install in web/) or point LOSSVIZ_WEB to an npm node_modules folder")
    (target / PLOTLY_JS).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plotly_js(), target / PLOTLY_JS)  # type: ignore[arg-type]
    for package, items in ASSETS.items():
        for item in items:
            source, dest = web / package / item, target / package / item
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, dest)
    return target


# --- slide metadata ---------------------------------------------------------------------------------------

def _tags(cell: dict) -> list[str]:
    """A cell's tags (a copy)."""
    return list(cell.get("metadata", {}).get("tags", []))


def _figures(cell: dict) -> int:
    """How many figures a code cell shows."""
    return layout.figures(cell)


def _records(cell: dict) -> bool:
    """True for a cell that only records key numbers (`lv.record`); one that also shows a table or figure (a
    findings table) is a slide, its record line left out of the deck (`_without_records`)."""
    outputs = cell.get("outputs", [])
    return (any(RESULTS_PREFIX in _text(o.get("text", "")) for o in outputs)
            and not any(set(o.get("data", {})) - {"text/plain"} for o in outputs))


def _without_records(outputs: list[dict]) -> list[dict]:
    """Outputs without the lines that record key numbers (the speaker notes and the runner read those)."""
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream" and RESULTS_PREFIX in _text(output.get("text", "")):
            lines = [line for line in _text(output["text"]).splitlines(keepends=True)
                     if not line.startswith(RESULTS_PREFIX)]
            if not "".join(lines).strip():
                continue
            output = {**output, "text": "".join(lines)}
        kept.append(output)
    return kept


def _heading(source: str) -> bool:
    """True for markdown that starts with a heading."""
    return source.lstrip().startswith("#")


def _hidden(cell: dict) -> bool:
    """A cell no slide shows: setup code, the parameters and key numbers (speaker notes), code without output."""
    source, tags = _text(cell.get("source", "")), _tags(cell)
    return cell.get("cell_type") == "code" and ("import lossviz" in source or "parameters" in tags
                                                 or "injected-parameters" in tags or _records(cell)
                                                 or not cell.get("outputs"))


def notebook_title(nb: dict) -> str:
    """A notebook's title: the text of its first markdown heading, without markdown or TeX marks ("" if none)."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            found = re.search(r"^\s*#+\s+(.+?)\s*#*\s*$", _text(cell.get("source", "")), flags=re.MULTILINE)
            if found:
                return re.sub(r"[*`$]", "", found.group(1))
    return ""


def slide_types(nb: dict) -> list[str]:
    """The slide type of each cell, from its role and the room it takes on a 1280x720 slide (`layout`).

    The first cell is the title slide; a markdown heading starts a slide; a figure or a printed table gets
    a sub-slide of its own unless it fits under the text before it (text that introduces it moves along),
    and nothing follows a figure on its slide;
    the parameters (and papermill's injected ones) and the cell with the key numbers become speaker notes;
    setup cells and code without output are skipped."""
    cells = nb.get("cells", [])
    types: list[str] = []
    used, figure = 0.0, False  # the height used on the current slide; whether it shows a figure
    for index, cell in enumerate(cells):
        source, tags = _text(cell.get("source", "")), _tags(cell)
        height, is_figure = layout.cell_height(cell, least=True), bool(_figures(cell))
        if height > layout.ROOM_PX and cell.get("cell_type") == "markdown":  # the decks split it: what follows
            height = layout.cell_height(split_long({"cells": [cell]})["cells"][-1])  # goes under its last part
        if _hidden(cell) and index:
            notes = "import lossviz" not in source and ("parameters" in tags or "injected-parameters" in tags
                                                         or _records(cell))
            types.append("notes" if notes else "skip")
            continue
        follower = cells[index + 1] if index + 1 < len(cells) else {}
        introduces = (cell.get("cell_type") == "markdown" and follower.get("cell_type") == "code"
                      and not _hidden(follower))
        together = height + (layout.cell_height(follower, least=True) if introduces else 0)
        needed = together if together <= layout.ROOM_PX else height  # (if both fit on one slide)
        if index == 0 or cell.get("cell_type") == "markdown" and _heading(source):
            kind, used, figure = "slide", height, is_figure
        elif used + needed <= layout.ROOM_PX and not figure:  # a figure fills the rest of its slide
            kind, used, figure = "-", used + height, figure or is_figure
        else:
            kind, used, figure = "subslide", height, is_figure
        types.append(kind)
    return types


def mark(nb: dict, force: bool = False) -> dict:
    """A copy of a notebook (nbformat dict) with slide metadata and `hide-code` tags on its code cells.

    Cells that already carry a slide type keep it (a teacher's choice) unless `force`."""
    out = copy.deepcopy(nb)
    for cell, kind in zip(out.get("cells", []), slide_types(out)):
        meta = cell.setdefault("metadata", {})
        if force or meta.get("slideshow", {}).get("slide_type") not in SLIDE_TYPES:
            meta["slideshow"] = {**meta.get("slideshow", {}), "slide_type": kind}
            if cell.get("cell_type") == "code" and HIDE_CODE not in meta.get("tags", []):
                meta["tags"] = [*meta.get("tags", []), HIDE_CODE]
    return out


def mark_file(path: Path, force: bool = False) -> bool:
    """Write the slide metadata into a notebook file, outputs untouched; True when the file changed."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    marked = nbformat.from_dict(mark(nb, force=force))
    if marked == nb:
        return False
    nbformat.write(marked, str(path))
    return True


# --- decks --------------------------------------------------------------------------------------------------

def _check_code(code: str) -> None:
    """ValueError naming `code` and its valid choices unless it is one of CODE_CHOICES."""
    if code not in CODE_CHOICES:
        raise ValueError(f"code={code!r}; valid choices: {', '.join(CODE_CHOICES)}")


def _join(chunk: str, block: str) -> str:
    """Two pieces of markdown joined as they were: list items on consecutive lines, paragraphs a blank line apart."""
    tight = LIST_ITEM.match(block) and LIST_ITEM.match(chunk.split("\n\n")[-1])
    return chunk + ("\n" if tight else "\n\n") + block


def _pack(pieces: list[str], budget: float, first: float) -> list[str]:
    """Pieces of markdown packed in order into chunks no taller than `budget` (the first: `first`)."""
    chunks: list[str] = []
    for piece in pieces:
        room = first if len(chunks) == 1 else budget
        if chunks and layout.text_height(_join(chunks[-1], piece)) <= room:
            chunks[-1] = _join(chunks[-1], piece)
        else:
            chunks.append(piece)
    return chunks


def _balance(pieces: list[str], count: int, budget: float, first: float) -> list[str]:
    """Pieces of markdown in `count` chunks no taller than `budget` (the first: `first`; a piece taller than that
    alone), as equal in height as they can be (the least sum of squared heights), so no chunk holds a stray line."""
    def joined(a: int, b: int) -> str:
        chunk = pieces[a]
        for piece in pieces[a + 1:b]:
            chunk = _join(chunk, piece)
        return chunk

    n, inf = len(pieces), float("inf")
    cost = [[inf] * (count + 1) for _ in range(n + 1)]  # cost[i][j]: pieces[:i] in j chunks
    cut = [[0] * (count + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for j in range(1, count + 1):
        for i in range(j, n + 1):
            for a in range(j - 1, i):
                height = layout.text_height(joined(a, i))
                fits = height <= (first if j == 1 else budget) or i - a == 1  # (one piece cannot be split)
                if fits and cost[a][j - 1] + height ** 2 < cost[i][j]:
                    cost[i][j], cut[i][j] = cost[a][j - 1] + height ** 2, a
    if cost[n][count] == inf:
        return _pack(pieces, budget, first)
    bounds, i = [], n
    for j in range(count, 0, -1):
        bounds.append((cut[i][j], i))
        i = cut[i][j]
    return [joined(a, b) for a, b in reversed(bounds)]


def split_long(nb: dict, room: float = layout.ROOM_PX) -> dict:
    """A copy whose markdown cells taller than `room` (pixels of a slide) are split at blank lines and list items
    into as few sub-slides as fit, of about equal height (so no part holds one stray line).

    Each continuation repeats the cell's heading with "(continued)"; the notebook files are not changed."""
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.get("cells", []):
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") != "markdown" or layout.text_height(source) <= room:
            cells.append(cell)
            continue
        heading = source.splitlines()[0] if _heading(source) else ""
        continued = heading + " (continued)" if heading else ""
        budget = room - (layout.text_height(continued) if heading else 0)
        pieces = [p for p in re.split(r"\n\s*\n|\n(?=[-*] |\d+\. )", source) if p.strip()]
        if heading and len(pieces) > 1:  # a heading stays with the text under it
            pieces[:2] = [_join(pieces[0], pieces[1])]
        chunks = _balance(pieces, len(_pack(pieces, budget, room)), budget, room)
        for i, chunk in enumerate(chunks):
            part = copy.deepcopy(cell)
            if i:
                part["id"] = f"{cell.get('id', 'cell')}-{i}"
                part["source"] = (continued + "\n\n" if heading else "") + chunk
                part.setdefault("metadata", {})["slideshow"] = {"slide_type": "subslide"}
            else:
                part["source"] = chunk
            cells.append(part)
    out["cells"] = cells
    return out


def _line_parts(heights: list[float], budget: float) -> list[tuple[int, int]]:
    """Consecutive lines (their heights) in parts no taller than `budget`: each part's first and end index."""
    parts, start, used = [], 0, 0.0
    for index, height in enumerate(heights):
        if index > start and used + height > budget:
            parts.append((start, index))
            start, used = index, 0.0
        used += height
    return [*parts, (start, len(heights))]


def _printed_parts(output: dict) -> list[dict]:
    """A printed output taller than a slide as several outputs that each fit one (split between lines)."""
    body = layout.printed(output)
    if body is None or layout.print_height(body) <= layout.ROOM_PX:
        return [output]
    lines = body.rstrip("\n").split("\n")
    font = layout.print_font(body)
    heights = [count * font * layout.LINE_HEIGHT for count in layout.print_lines(body, font)]
    room = layout.ROOM_PX - layout.PARAGRAPH_GAP
    parts_needed = len(_line_parts(heights, room))
    budget = min(room, sum(heights) / parts_needed + max(heights))  # parts of about equal height
    parts = [lines[a:b] for a, b in _line_parts(heights, budget)]
    return [{"output_type": "stream", "name": output.get("name", "stdout"), "text": "\n".join(p) + "\n"}
            for p in parts]


def _table_parts(output: dict) -> list[dict]:
    """A markdown output (a findings table) taller than a slide as several that each fit one: the table's rows
    shared out in parts of about equal height, each under the table's header; text after the table in the last."""
    shown = layout.markdown(output)
    if shown is None or layout.text_height(shown) <= layout.ROOM_PX:
        return [output]
    parts = layout.blocks(shown)
    rows = [b for b in parts if layout.is_row(b)]
    if len(rows) < 4 or not all(layout.is_row(b) for b in parts[:len(rows)]):  # a table that opens the output
        return [output]
    head, body, after = rows[:2], rows[2:], "\n\n".join(parts[len(rows):])
    heights = layout.row_heights([head[0], *body])
    room = layout.ROOM_PX - heights[0] - layout.PARAGRAPH_GAP - (layout.text_height(after) if after else 0)
    budget = min(room, sum(heights[1:]) / len(_line_parts(heights[1:], room)) + max(heights[1:]))
    pieces = ["\n".join([*head, *body[a:b]]) for a, b in _line_parts(heights[1:], budget)]
    pieces[-1] += f"\n\n{after}" if after else ""
    return [{"output_type": "display_data", "metadata": {}, "data": {"text/markdown": p, "text/plain": p}}
            for p in pieces]


def split_outputs(nb: dict) -> dict:
    """A copy in which a code cell's outputs are shown one group to a cell: each figure alone, the printed
    outputs between figures together, a printout taller than a slide in parts. The first cell keeps the code and
    the slide type; the others follow on the same slide where `layout.paginate` finds room (which may also move
    the first up under the text before it)."""
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.get("cells", []):
        if cell.get("cell_type") != "code" or layout.kind(cell) not in layout.SHOWN:  # speaker notes stay whole
            cells.append(cell)
            continue
        groups: list[list[dict]] = []
        for output in cell.get("outputs", []):
            parts = _printed_parts(output) if layout.printed(output) is not None else _table_parts(output)
            if layout.is_figure(output) or len(parts) > 1 or not groups or layout.is_figure(groups[-1][-1]):
                groups.extend([part] for part in parts)
            else:
                groups[-1].append(output)
        if len(groups) < 2:
            cells.append(cell)
            continue
        for n, group in enumerate(groups):
            part = copy.deepcopy(cell)
            part["outputs"] = group
            part["metadata"][layout.SPLIT] = True  # its slide type was chosen for the whole cell
            if n:
                part["id"], part["source"] = f"{cell.get('id', 'cell')}-{n}", ""
                part["metadata"]["slideshow"] = {"slide_type": "-"}
                part["metadata"]["tags"] = [*(t for t in _tags(cell) if t != HIDE_CODE), HIDE_CODE]  # no code left
            cells.append(part)
    out["cells"] = cells
    return out


def fit_text(output: dict) -> dict:
    """A printed output as the decks show it: HTML in a monospace font as large as fits (`layout.print_font`),
    one block per line so that a line too long for the slide wraps only after a space, with a hanging indent;
    other outputs unchanged. `data-lines` holds the lines it takes on the slide."""
    body = layout.printed(output)
    if body is None:
        return output
    font = layout.print_font(body)
    lines = body.rstrip("\n").split("\n")
    spans = "".join(f"<span>{html.escape(line) or ' '}</span>" for line in lines)
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": f'<pre class="lossviz-print" style="font-size: {font}px" '
                                  f'data-lines="{sum(layout.print_lines(body, font))}">{spans}</pre>'}}


def _clean(output: dict) -> dict:
    """A printed output as a slide shows it: tabs expanded, only what a carriage return left on each line."""
    body = layout.printed(output)
    if body is None:
        return output
    clean = "\n".join(line.rsplit("\r", 1)[-1].expandtabs() for line in body.split("\n"))
    if output.get("output_type") == "stream":
        return {**output, "text": clean}
    return {**output, "data": {"text/plain": clean}}


def _for_deck(nb: dict, code: str) -> dict:
    """The notebook as a deck shows it: metadata filled in, long text and outputs split, code hidden per `code`
    (speaker notes keep theirs), the plain-text results beside figures (a saved file's path) dropped, slides
    broken where their content would run off (`layout.paginate`), printed output fitted (`fit_text`)."""
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        if cell.get("cell_type") == "code" and not _records(cell):
            cell["outputs"] = _without_records(cell.get("outputs", []))
    out = mark(out)
    for cell in out["cells"]:
        if cell.get("cell_type") != "code":
            continue
        tags = [t for t in _tags(cell) if t != HIDE_CODE]
        notes = cell["metadata"]["slideshow"]["slide_type"] == "notes"  # the speaker sees code and output
        if not notes and (code == "hide" or code == "tagged" and HIDE_CODE in _tags(cell)):
            tags.append(HIDE_CODE)
        cell["metadata"]["tags"] = tags
        if _figures(cell):
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if o.get("output_type") != "execute_result" or layout.is_figure(o)]
        if not notes:
            cell["outputs"] = [_clean(o) for o in cell.get("outputs", [])]
    out = split_outputs(split_long(out))
    layout.paginate(out["cells"])
    for cell in out["cells"]:
        cell["metadata"].pop(layout.SPLIT, None)
        if cell.get("cell_type") == "code" and cell["metadata"]["slideshow"]["slide_type"] != "notes":
            cell["outputs"] = [fit_text(o) for o in cell.get("outputs", [])]
    return out


def _exporter(kind: str, mathjax_url: str) -> HTMLExporter:
    """An nbconvert exporter of our offline templates: kind "slides" (reveal.js) or "page" (one HTML page)."""
    from nbconvert import HTMLExporter, SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    priority = list(HTMLExporter().config.NbConvertBase.display_data_priority)
    config.NbConvertBase.display_data_priority = [PLOTLY, *priority[:priority.index("image/png")], "image/gif",
                                                  *priority[priority.index("image/png"):]]
    config.TagRemovePreprocessor.remove_input_tags = {HIDE_CODE} if kind == "slides" else set()
    cls, template = (SlidesExporter, "lossviz_reveal") if kind == "slides" else (HTMLExporter, "lossviz_lab")
    return cls(config=config, template_name=template, extra_template_basedirs=[str(TEMPLATES)],
               extra_template_paths=[str(TEMPLATES)],
               mathjax_url=mathjax_url,
               **({"reveal_url_prefix": "reveal.js", "reveal_theme": "white"} if kind == "slides" else {}))


def deck_html(nb: dict, code: str = "tagged", title: str = "") -> str:
    """One notebook (nbformat dict, executed) as a reveal.js deck that loads reveal.js/ and mathjax/ beside it."""
    import nbformat

    _check_code(code)
    node = nbformat.from_dict(_for_deck(nb, code))
    resources = {"lossviz_css": DECK_CSS.read_text(encoding="utf-8"),
                 "metadata": {"name": title or notebook_title(nb) or "lossviz"},
                 "plotly_url": PLOTLY_JS if interactive(nb) else ""}
    body, _ = _exporter("slides", MATHJAX).from_notebook_node(node, resources=resources)
    return body


def deck_name(notebook: Path) -> str:
    """The file name of a notebook's deck: NN_topic.slides.html."""
    return f"{notebook.stem}.slides.html"


def build(notebooks: list[Path], out_dir: Path, code: str = "tagged", web: Path | None = None) -> list[Path]:
    """Decks of the notebooks in `out_dir`, with reveal.js and MathJax copied beside them and an index."""
    import nbformat

    from lossviz.suite.report import overview

    _check_code(code)
    if not notebooks:
        raise ValueError("notebooks is empty: give at least one .ipynb file")
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(out_dir, web)
    decks, rows = [], []
    for notebook in notebooks:
        title, _ = overview(notebook)
        path = out_dir / deck_name(notebook)
        path.write_text(deck_html(nbformat.read(str(notebook), as_version=4), code, title), encoding="utf-8")
        decks.append(path)
        rows.append(f"<li><a href='{html.escape(path.name)}'>{html.escape(title)}</a></li>")
    (out_dir / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>lossviz slides</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:50em;margin:2em auto;font-size:1.2em}"
        "li{margin:.4em 0}a{color:#1a5fb4}</style></head><body><h1>lossviz — slides</h1>"
        f"<p>Arrow keys move, <kbd>S</kbd> opens the speaker notes, <kbd>F</kbd> full screen, "
        f"<kbd>Esc</kbd> the overview.</p><ul>{''.join(rows)}</ul></body></html>", encoding="utf-8")
    return decks


def interactive(nb: dict) -> bool:
    """True when a notebook shows an interactive figure (a Plotly spec: `lossviz.views.surface3d`)."""
    return any(PLOTLY in o.get("data", {}) for c in nb.get("cells", []) for o in c.get("outputs", []))


def page_html(nb: dict, mathjax_url: str = "", name: str = "", plotly_url: str = "") -> str:
    """One notebook as an HTML page that needs no network (MathJax from `mathjax_url`, plotly.js for its
    interactive figures from `plotly_url`, if given), titled by the notebook's first heading (else `name`)."""
    import nbformat

    resources = {"metadata": {"name": notebook_title(nb) or name or "lossviz notebook"},
                 "plotly_url": plotly_url if interactive(nb) else ""}
    body, _ = _exporter("page", mathjax_url).from_notebook_node(nbformat.from_dict(nb), resources=resources)
    return body


def main(argv: list[str] | None = None) -> int:
    """Command line: `mark` notebooks with slide metadata, or `build` decks of notebooks into a folder."""
    parser = argparse.ArgumentParser(description="Slide metadata and offline reveal.js decks of the notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    marking = sub.add_parser("mark", help="write slide metadata into notebooks (outputs untouched)")
    marking.add_argument("notebooks", nargs="+", type=Path)
    marking.add_argument("--force", action="store_true", help="recompute slide types a teacher already set")
    building = sub.add_parser("build", help="reveal.js decks of the NN_*.ipynb notebooks in a folder")
    building.add_argument("folder", type=Path, help="executed notebooks, e.g. runs/quick or notebooks")
    building.add_argument("--out", type=Path, default=None, help="default: <folder>/slides")
    building.add_argument("--code", default="tagged", choices=CODE_CHOICES,
                          help="tagged: hide the code of cells tagged hide-code; show or hide all code")
    args = parser.parse_args(argv)
    if args.command == "mark":
        for notebook in args.notebooks:
            print(f"{notebook}: {'marked' if mark_file(notebook, args.force) else 'unchanged'}")
        return 0
    from lossviz.suite.report import notebooks

    found = notebooks(args.folder)
    decks = build(found, args.out or args.folder / "slides", args.code)
    print(f"{len(decks)} decks in {decks[0].parent if decks else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
