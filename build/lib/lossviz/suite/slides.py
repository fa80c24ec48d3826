"""Slide decks of the course: slide metadata in the notebooks, offline reveal.js decks and notebook pages.

`mark` writes the slide metadata that JupyterLab's RISE and nbconvert's reveal.js exporter read
(`cell.metadata.slideshow.slide_type`) from each cell's role: the title slide, one slide per heading,
one per figure, the parameters and the recorded key numbers as speaker notes; code cells get a
`hide-code` tag that the decks honour (remove it from a cell to show that cell's code). `deck` renders an
executed notebook as a reveal.js deck that needs no network: reveal.js and MathJax come from the local
copies `make setup` installs from the npm registry (web/node_modules), which `copy_assets` puts beside the
decks. `page` renders a notebook as one offline HTML page with the same MathJax copy.
"""
from __future__ import annotations

import argparse
import copy
import html
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lossviz.base import folders
from lossviz.course.records import RESULTS_PREFIX

if TYPE_CHECKING:
    from nbconvert import HTMLExporter

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
CODE_CHOICES = ("tagged", "show", "hide")  # hide the code of cells tagged HIDE_CODE, show all, hide all
HIDE_CODE = "hide-code"
WEB_ENV = "LOSSVIZ_WEB"  # a folder holding reveal.js/ and mathjax/ as npm installs them
MAX_LINES = 15  # lines of text (about 90 characters each) one slide holds at the decks' font size
FIGURE_LINES = 12  # a figure needs at least the room of this many lines (so it shares a slide with 3 at most)
LINE_PX, FIGURE_PX = 36, 610  # a line of text, and a figure alone on its slide, in pixels of the 1280x720 slide
CHARS_PER_LINE = 90
TEXT_WIDTH_PX, TEXT_FONT_PX = 1080, 18  # printed output: the width it may take on a slide, its font size (deck.css)
LIST_ITEM = re.compile(r"[-*] |\d+\. ")
FIGURES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
TEMPLATES = Path(__file__).resolve().parent / "templates"
ASSETS = {  # what the decks load, per npm package: files or folders relative to the package
    "reveal.js": ("dist/reveal.js", "dist/reveal.css", "dist/theme/white.css", "dist/theme/fonts/source-sans-pro",
                  "plugin/notes/notes.js"),
    "mathjax": ("es5/tex-chtml-full.js", "es5/output/chtml/fonts/woff-v2"),
}
MATHJAX = "mathjax/es5/tex-chtml-full.js"
DECK_CSS = (TEMPLATES / "deck.css")


def web_dir() -> Path:
    """Where the browser assets are installed: `$LOSSVIZ_WEB`, else web/node_modules in the project."""
    env = os.environ.get(WEB_ENV)
    return Path(env) if env else folders.project_dir() / "web" / "node_modules"


def missing_assets(web: Path | None = None) -> list[str]:
    """The asset files or folders the decks need that are not installed (empty: all there)."""
    web = web_dir() if web is None else web
    return [f"{package}/{item}" for package, items in ASSETS.items() for item in items
            if not (web / package / item).exists()]


def copy_assets(target: Path, web: Path | None = None) -> Path:
    """Copy reveal.js and MathJax into `target` (reveal.js/..., mathjax/...), as the decks reference them."""
    web = web_dir() if web is None else web
    missing = missing_assets(web)
    if missing:
        raise FileNotFoundError(f"web={str(web)!r} lacks {', '.join(missing)}: run `make setup` "
                                "(npm install in web/) or point LOSSVIZ_WEB to an npm node_modules folder")
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

def _text(value: str | list[str]) -> str:
    """Notebook text, stored either as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else value


def _tags(cell: dict) -> list[str]:
    """A cell's tags (a copy)."""
    return list(cell.get("metadata", {}).get("tags", []))


def _figures(cell: dict) -> int:
    """How many figures a code cell shows."""
    return sum(any(m in o.get("data", {}) for m in FIGURES) for o in cell.get("outputs", []))


def _output_lines(cell: dict) -> int:
    """Lines of text a code cell prints (streams and plain results of cells without figures)."""
    lines = 0
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            lines += _text(output.get("text", "")).count("\n") + 1
        elif output.get("output_type") == "execute_result" and not _figures(cell):
            lines += _text(output.get("data", {}).get("text/plain", "")).count("\n") + 1
    return lines


def _records(cell: dict) -> bool:
    """True for a cell whose output holds the key numbers (`lv.report.record`)."""
    return any(RESULTS_PREFIX in _text(o.get("text", "")) for o in cell.get("outputs", []))


def _heading(source: str) -> bool:
    """True for markdown that starts with a heading."""
    return source.lstrip().startswith("#")


def _lines(text: str) -> int:
    """Lines a markdown text takes on a slide: paragraphs and list items wrap at CHARS_PER_LINE, a heading
    takes two, and every two gaps between paragraphs one more."""
    text = text.strip("\n")
    blocks = [b for b in re.split(r"\n\s*\n|\n(?=[-*] |\d+\. |#)", text) if b.strip()]
    lines = sum(2 if b.startswith("#") else -(-len(" ".join(b.split())) // CHARS_PER_LINE) for b in blocks)
    return max(1, lines + len(re.findall(r"\n\s*\n", text)) // 2)


def _size(cell: dict) -> tuple[int, bool]:
    """The lines a cell takes on a slide, and whether it is a figure (code cells: their output only)."""
    if cell.get("cell_type") == "markdown":
        return _lines(_text(cell.get("source", ""))), False
    if _figures(cell):
        return FIGURE_LINES, True
    return _output_lines(cell), False


def _hidden(cell: dict) -> bool:
    """A cell no slide shows: setup code, the parameters and key numbers (speaker notes), code without output."""
    source, tags = _text(cell.get("source", "")), _tags(cell)
    return cell.get("cell_type") == "code" and ("import lossviz" in source or "parameters" in tags
                                                 or "injected-parameters" in tags or _records(cell)
                                                 or not cell.get("outputs"))


def slide_types(nb: dict) -> list[str]:
    """The slide type of each cell, from its role.

    The first cell is the title slide; a markdown heading starts a slide; a figure or a printed table gets
    a sub-slide of its own unless it fits under the text before it (text that introduces it moves along),
    and nothing follows a figure on its slide;
    the parameters (and papermill's injected ones) and the cell with the key numbers become speaker notes;
    setup cells and code without output are skipped."""
    cells = nb.get("cells", [])
    types: list[str] = []
    used, figure = 0, False  # lines used on the current slide; whether it shows a figure
    for index, cell in enumerate(cells):
        source, tags = _text(cell.get("source", "")), _tags(cell)
        lines, is_figure = _size(cell)
        if _hidden(cell) and index:
            notes = "import lossviz" not in source and ("parameters" in tags or "injected-parameters" in tags
                                                         or _records(cell))
            types.append("notes" if notes else "skip")
            continue
        follower = cells[index + 1] if index + 1 < len(cells) else {}
        introduces = (cell.get("cell_type") == "markdown" and follower.get("cell_type") == "code"
                      and not _hidden(follower))
        needed = lines + (_size(follower)[0] if introduces else 0)  # text introducing an output stays with it
        if index == 0 or cell.get("cell_type") == "markdown" and _heading(source):
            kind, used, figure = "slide", lines, is_figure
        elif used + needed <= MAX_LINES and not figure:  # a figure fills the rest of its slide
            kind, used, figure = "-", used + lines, figure or is_figure
        else:
            kind, used, figure = "subslide", lines, is_figure
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


def split_long(nb: dict, max_lines: int = MAX_LINES) -> dict:
    """A copy whose markdown cells longer than `max_lines` are split at blank lines into sub-slides.

    Each continuation repeats the cell's heading with "(continued)"; the notebook files are not changed."""
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.get("cells", []):
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") != "markdown" or _lines(source) <= max_lines:
            cells.append(cell)
            continue
        heading = source.splitlines()[0] if _heading(source) else ""
        budget = max_lines - 3 if heading else max_lines  # a continuation repeats the heading and a blank line
        chunks: list[str] = []
        for block in re.split(r"\n\s*\n|\n(?=[-*] |\d+\. )", source):  # paragraphs and list items
            tight = LIST_ITEM.match(block) and chunks and LIST_ITEM.match(chunks[-1].split("\n\n")[-1])
            joined = chunks[-1] + ("\n" if tight else "\n\n") + block if chunks else block
            if chunks and _lines(joined) <= budget:
                chunks[-1] = joined
            else:
                chunks.append(block)
        for i, chunk in enumerate(chunks):
            part = copy.deepcopy(cell)
            if i:
                part["id"] = f"{cell.get('id', 'cell')}-{i}"
                part["source"] = (heading + " (continued)\n\n" if heading else "") + chunk
                part.setdefault("metadata", {})["slideshow"] = {"slide_type": "subslide"}
            else:
                part["source"] = chunk
            cells.append(part)
    out["cells"] = cells
    return out


def split_figures(nb: dict) -> dict:
    """A copy in which a code cell showing several figures becomes one cell per figure, each on its own
    sub-slide (the first keeps the cell's code and slide type)."""
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.get("cells", []):
        outputs = cell.get("outputs", [])
        starts = [i for i, o in enumerate(outputs) if _figures({"outputs": [o]})][1:]
        if cell.get("cell_type") != "code" or not starts:
            cells.append(cell)
            continue
        for n, (a, b) in enumerate(zip([0, *starts], [*starts, len(outputs)])):
            part = copy.deepcopy(cell)
            part["outputs"] = outputs[a:b]
            if n:
                part["id"], part["source"] = f"{cell.get('id', 'cell')}-{n}", ""
                part["metadata"]["slideshow"] = {"slide_type": "subslide"}
                part["metadata"]["tags"] = [*_tags(cell), HIDE_CODE]
            cells.append(part)
    out["cells"] = cells
    return out


def size_figures(nb: dict) -> dict:
    """A copy whose figures have a display height that fills the room their slide leaves (pixels)."""
    out = copy.deepcopy(nb)
    used = 0
    for cell in out.get("cells", []):
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")
        if kind in ("skip", "notes", "fragment"):
            continue
        used = 0 if kind in ("slide", "subslide") else used
        lines, figure = _size(cell)
        if figure:
            for output in cell.get("outputs", []):
                for mime in FIGURES:
                    if mime in output.get("data", {}):
                        meta = output.setdefault("metadata", {}).setdefault(mime, {})
                        meta.pop("width", None)
                        meta["height"] = max(FIGURE_PX - used * LINE_PX, FIGURE_PX // 2)
        used += lines
    return out


def fit_text(output: dict, width_px: int = TEXT_WIDTH_PX, font_px: int = TEXT_FONT_PX) -> dict:
    """A printed output (a stream) whose longest line would wrap on a slide, as HTML in a smaller monospace
    font that fits `width_px` (a monospace character is about 0.6 em wide); other outputs unchanged."""
    if output.get("output_type") != "stream":
        return output
    text = _text(output.get("text", ""))
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest * 0.6 * font_px <= width_px:
        return output
    size = max(int(width_px / (0.6 * longest)), 9)
    body = html.escape(text.rstrip("\n"))
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": f'<pre class="lossviz-fit" style="font-size: {size}px">{body}</pre>'}}


def _for_deck(nb: dict, code: str) -> dict:
    """The notebook as a deck shows it: metadata filled in, long text split, code hidden per `code` (speaker
    notes keep theirs), and the plain-text results beside figures (a saved file's path) dropped."""
    out = split_figures(split_long(mark(nb)))
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
                               if o.get("output_type") != "execute_result" or _figures({"outputs": [o]})]
        if not notes:
            cell["outputs"] = [fit_text(o) for o in cell.get("outputs", [])]
    return size_figures(out)


def _exporter(kind: str, mathjax_url: str) -> HTMLExporter:
    """An nbconvert exporter of our offline templates: kind "slides" (reveal.js) or "page" (one HTML page)."""
    from nbconvert import HTMLExporter, SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    priority = list(HTMLExporter().config.NbConvertBase.display_data_priority)
    config.NbConvertBase.display_data_priority = [*priority[:priority.index("image/png")], "image/gif",
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
    resources = {"lossviz_css": DECK_CSS.read_text(encoding="utf-8"), "metadata": {"name": title or "lossviz"}}
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


def page_html(nb: dict, mathjax_url: str = "") -> str:
    """One notebook as an HTML page that needs no network (MathJax from `mathjax_url`, if given)."""
    import nbformat

    body, _ = _exporter("page", mathjax_url).from_notebook_node(nbformat.from_dict(nb))
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
