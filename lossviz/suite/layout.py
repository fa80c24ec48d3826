"""How much room a notebook cell takes on a deck's 1280x720 slide, and where the slides break.

Everything is in the slide's own pixels (reveal.js scales the whole slide to the screen, so a deck that fits at
1280x720 fits at 1920x1080). Prose is measured by its wrapped lines, printed output in a monospace font sized so
that no line breaks inside a word, figures by their aspect ratio. The numbers match templates/deck.css; the
browser tests (tests/test_browser.py) measure them in Chromium.
"""
from __future__ import annotations

import base64
import math
import re
import struct

SLIDE_W, SLIDE_H = 1280, 720
ROOM_PX = 650  # the height content may fill; reveal.js centres it, the rest is margin for fonts that run wider
WIDTH_PX = 1190  # the width text and printed output may fill (deck.css: the slide less 40 px each side, 1192)
FIGURE_W_PX = 1190  # the width a figure may fill
TEXT_PX, LINE_HEIGHT = 26, 1.3  # prose: font size and line height (deck.css)
LINE_PX = TEXT_PX * LINE_HEIGHT
PROSE_CHARS = 78  # characters of prose per line across WIDTH_PX (Chromium's sans-serif fits ~88; a margin)
MATH_LINE_PX = 3  # how much taller a line with an inline formula is (measured)
DISPLAY_PX = 4 * LINE_PX  # a display formula (a fraction or a sum stands about three lines tall) and its margins
HEADINGS = {1: (44, 50), 2: (36, 62), 3: (30, 74)}  # heading level: font size, characters per line
HEADING_GAP, PARAGRAPH_GAP, ITEM_GAP = 18, 14, 4  # space below a heading, a paragraph, a list item (deck.css)
CODE_PX = 20  # shown code: its font size (deck.css)
HIDE_CODE = "hide-code"  # the tag of a code cell whose code a deck hides
PRINT_PX, PRINT_MIN_PX = 22, 18  # printed output: its font size, and the smallest it shrinks to before lines wrap
MONO_EM = 0.625  # a monospace character's advance in em: DejaVu Sans Mono and Menlo 0.602, 0.614 measured in Chromium
HANG = 2  # characters a wrapped printed line is indented by (deck.css: a hanging indent)
FIGURE_MIN_PX = 400  # a figure shrinks to share its slide with text by 10% at most, and never below this
FIGURES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
PLOTLY = "application/vnd.plotly.v1+json"  # an interactive figure (lossviz.views.surface3d): a slide of its own
LIST_ITEM = re.compile(r"\s*(?:[-*] |\d+\. )")
# tables (deck.css: 22 px; measured in Chromium: 25.2 px a line, 10 px of padding and border a row, 11 px of
# padding each side of a cell, an average character 11 px wide; a little wider here for a margin)
TABLE_LINE_PX, TABLE_ROW_PAD, TABLE_CELL_PAD, TABLE_CHAR_PX = 25.2, 10, 22, 11.5
SHOWN = ("slide", "subslide", "-", "fragment")  # slide types whose cells a slide shows
SPLIT = "lossviz-split"  # cell metadata: a part of a code cell the deck split by its outputs


def text(value: str | list[str]) -> str:
    """Notebook text, stored either as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else value


def is_figure(output: dict) -> bool:
    """True for an output that shows a figure (PNG, JPEG, GIF, SVG, or an interactive one)."""
    return any(m in output.get("data", {}) for m in (*FIGURES, PLOTLY))


def is_interactive(output: dict) -> bool:
    """True for an interactive figure (a Plotly spec), which the decks give a whole slide."""
    return PLOTLY in output.get("data", {})


def figures(cell: dict) -> int:
    """How many figures a code cell shows."""
    return sum(is_figure(o) for o in cell.get("outputs", []))


def markdown(output: dict) -> str | None:
    """The markdown a display output shows (a findings table, say), else None."""
    data = output.get("data", {})
    return text(data["text/markdown"]) if "text/markdown" in data and not is_figure(output) else None


def printed(output: dict) -> str | None:
    """The text an output prints on a slide (a stream, or a plain-text result with nothing richer), else None."""
    if output.get("output_type") == "stream":
        return text(output.get("text", ""))
    data = output.get("data", {})
    if output.get("output_type") == "execute_result" and set(data) == {"text/plain"}:
        return text(data["text/plain"])
    return None


# --- printed output ------------------------------------------------------------------------------------------

def chars_per_line(font_px: float, width_px: float = WIDTH_PX) -> int:
    """Monospace characters of `font_px` that fit in `width_px`."""
    return int(width_px / (MONO_EM * font_px) + 1e-9)


def wrap(line: str, chars: int) -> list[str]:
    """A printed line as the browser shows it `chars` characters wide: broken after spaces (CSS pre-wrap), a word
    longer than a line broken anywhere, continuations indented by HANG."""
    parts: list[str] = []
    current = ""
    for token in re.findall(r"\S+\s*|\s+", line.rstrip()):
        room = chars - (HANG if parts else 0)
        if current and len(current + token.rstrip()) > room:
            parts.append(current)
            current = ""
            room = chars - HANG
        current += token
        while len(current.rstrip()) > room:  # one word wider than a line
            parts.append(current[:room])
            current, room = current[room:], chars - HANG
    return [*parts, current] if current or not parts else parts


def print_font(body: str) -> int:
    """The font size of printed text on a slide: PRINT_PX, or smaller down to PRINT_MIN_PX so that its longest line
    fits; lines longer than that wrap."""
    longest = max((len(line.rstrip()) for line in body.splitlines()), default=0)
    for font in range(PRINT_PX, PRINT_MIN_PX - 1, -1):
        if longest <= chars_per_line(font):
            return font
    return PRINT_MIN_PX


def print_lines(body: str, font: int | None = None) -> list[int]:
    """How many lines each line of printed text takes on a slide at `font` (default: print_font)."""
    chars = chars_per_line(font or print_font(body))
    return [len(wrap(line, chars)) for line in body.rstrip("\n").split("\n")]


def print_height(body: str) -> float:
    """The height printed text takes on a slide, with the gap below it."""
    font = print_font(body)
    return sum(print_lines(body, font)) * font * LINE_HEIGHT + PARAGRAPH_GAP


# --- prose ---------------------------------------------------------------------------------------------------

def _plain(markdown: str) -> str:
    """Markdown as the characters a reader sees: no link targets, emphasis marks or backticks; TeX shortened."""
    markdown = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    markdown = re.sub(r"\\[A-Za-z]+", "x", markdown)  # \alpha, \cdot: one symbol each
    return re.sub(r"[*`_{}$]", "", " ".join(markdown.split()))


def blocks(markdown: str) -> list[str]:
    """A markdown text's blocks: headings, paragraphs, list items, table rows and display formulas."""
    parts = re.split(r"\n\s*\n|\n(?=\s*(?:[-*] |\d+\. |#|\|))|(?<=\|)\n", markdown.strip("\n"))
    return [p for p in parts if p.strip()]


def block_height(block: str) -> float:
    """The height one markdown block takes on a slide."""
    stripped = block.strip()
    heading = re.match(r"(#{1,6})\s+(.*)", stripped)
    if heading:
        font, chars = HEADINGS.get(len(heading.group(1)), HEADINGS[3])
        return math.ceil(max(len(_plain(heading.group(2))), 1) / chars) * font * 1.2 + HEADING_GAP
    if is_row(block):  # a table row alone (text_height measures whole tables)
        return sum(row_heights([block]))
    item = LIST_ITEM.match(block)
    chars = PROSE_CHARS - 6 if item else PROSE_CHARS  # list items are indented
    body = block[item.end():] if item else block
    runs = re.split(r"\$\$.*?\$\$", body, flags=re.DOTALL)  # text between display formulas
    lines = sum(math.ceil(len(_plain(run)) / chars) for run in runs if _plain(run).strip()) or 1
    line = LINE_PX + (MATH_LINE_PX if "$" in body else 0)  # inline formulas make their lines taller
    return lines * line + (len(runs) - 1) * DISPLAY_PX + (ITEM_GAP if item else PARAGRAPH_GAP)


def is_row(block: str) -> bool:
    """True for a block that is a row of a markdown table."""
    return block.strip().startswith("|")


def table_cells(rows: list[str]) -> list[list[str]]:
    """A markdown table's rows (without the separator row) as the plain text of their cells."""
    cells = [[_plain(c) for c in row.strip().strip("|").split("|")] for row in rows]
    return [r for r, row in zip(cells, rows) if not re.fullmatch(r"[|:\- ]+", row.strip())]


def column_chars(cells: list[list[str]]) -> list[int]:
    """The characters each column of a table holds on a line, as a browser's automatic table layout shares the
    width: each column its longest word, the rest in proportion to how much more its longest cell needs."""
    columns = max(len(r) for r in cells)
    room = int((WIDTH_PX - columns * TABLE_CELL_PAD) / TABLE_CHAR_PX)
    longest = [max((len(r[i]) for r in cells if i < len(r)), default=1) for i in range(columns)]
    words = [max((len(w) for r in cells if i < len(r) for w in r[i].split()), default=1) for i in range(columns)]
    if sum(longest) <= room:
        return longest
    spare, wants = max(room - sum(words), 0), [m - w for m, w in zip(longest, words)]
    return [max(w + int(spare * want / max(sum(wants), 1)), 1) for w, want in zip(words, wants)]


def row_heights(rows: list[str]) -> list[float]:
    """The height each row of a markdown table takes on a slide (the header included, the separator not)."""
    cells = table_cells(rows)
    chars = column_chars(cells)
    return [max(len(wrap(c, n)) if c.strip() else 1 for c, n in zip(r, chars)) * TABLE_LINE_PX + TABLE_ROW_PAD
            for r in cells]


def text_height(markdown: str) -> float:
    """The height a markdown text takes on a slide: its blocks, each table by its rows' wrapped lines."""
    height, rows = 0.0, []
    for block in [*blocks(markdown), ""]:
        if is_row(block):
            rows.append(block)
            continue
        if rows:
            height, rows = height + sum(row_heights(rows)) + PARAGRAPH_GAP, []
        height += block_height(block) if block else 0.0
    return height


# --- figures -------------------------------------------------------------------------------------------------

def figure_size(output: dict) -> tuple[int, int]:
    """A figure's width and height in pixels, read from its PNG or GIF header (4:3 when unknown)."""
    data = output.get("data", {})
    try:
        if "image/png" in data:
            head = base64.b64decode(text(data["image/png"])[:64])
            return struct.unpack(">II", head[16:24])
        if "image/gif" in data:
            head = base64.b64decode(text(data["image/gif"])[:16])
            return struct.unpack("<HH", head[6:10])
    except (ValueError, struct.error):
        pass
    return 800, 600


def figure_height(output: dict, room: float = ROOM_PX) -> int:
    """The height a figure is shown at in `room` pixels of height: all of it, unless the slide's width limits it
    (an interactive figure: all of it)."""
    if is_interactive(output):
        return int(min(room, ROOM_PX))
    width, height = figure_size(output)
    return int(min(room, FIGURE_W_PX * height / max(width, 1), ROOM_PX))


def least_figure_height(output: dict) -> int:
    """The least height a figure may shrink to so that text fits above it: 90% of its height, or all of it when
    that is below FIGURE_MIN_PX (a wide figure, limited by the slide's width); an interactive figure the whole slide."""
    full = figure_height(output)
    if is_interactive(output):
        return full
    return min(full, max(FIGURE_MIN_PX, int(0.9 * full)))


# --- cells ---------------------------------------------------------------------------------------------------

def cell_height(cell: dict, least: bool = False, code: bool = False) -> float:
    """The height a cell takes on a slide: markdown by its text, code by its printed output and its figures (at
    full height, or at the least they may shrink to when `least`), and by its code when `code` and it is not
    tagged HIDE_CODE."""
    if cell.get("cell_type") == "markdown":
        return text_height(text(cell.get("source", "")))
    source = text(cell.get("source", ""))
    shown = code and source.strip() and HIDE_CODE not in cell.get("metadata", {}).get("tags", [])
    height = (source.strip().count("\n") + 1) * CODE_PX * LINE_HEIGHT + 2 * PARAGRAPH_GAP if shown else 0.0
    for output in cell.get("outputs", []):
        body, rendered = printed(output), markdown(output)
        if rendered is not None:
            height += text_height(rendered)
        elif is_figure(output):
            height += least_figure_height(output) if least else figure_height(output)
        elif body is not None and not (figures(cell) and output.get("output_type") == "execute_result"):
            height += print_height(body)  # (a figure cell's plain result, a saved file's path, is not shown)
    return height


def kind(cell: dict) -> str:
    """A cell's slide type ("-" when it has none)."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def _set_kind(cell: dict, value: str) -> None:
    cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = value


def paginate(cells: list[dict]) -> list[dict]:
    """The cells (modified in place, and returned) with their breaks moved so that every slide fits: a cell that
    would run off its slide starts a sub-slide, nothing follows a figure on its slide, the text introducing an
    output moves along with it, the first part of a split cell (metadata SPLIT) joins the slide before it where it
    fits; and each figure gets the height its slide leaves it (output metadata `height`)."""
    shown = [c for c in cells if kind(c) in SHOWN]
    page: list[dict] = []
    used = 0.0
    for index, cell in enumerate(shown):
        follower = shown[index + 1] if index + 1 < len(shown) else {}
        introduces = (cell.get("cell_type") == "markdown" and follower.get("cell_type") == "code"
                      and kind(follower) not in ("slide", "subslide"))
        together = cell_height(cell, True, True) + (cell_height(follower, True, True) if introduces else 0)
        needed = together if together <= ROOM_PX else cell_height(cell, True, True)  # if both fit on one slide
        after_figure = any(figures(c) for c in page)
        fits = page and not after_figure and used + needed <= ROOM_PX
        if kind(cell) == "subslide" and cell.get("metadata", {}).get(SPLIT) and fits:
            _set_kind(cell, "-")  # the whole cell did not fit under the text before it; this part of it does
        elif kind(cell) not in ("slide", "subslide") and page and not fits:
            _set_kind(cell, "subslide")
        if kind(cell) in ("slide", "subslide"):
            _size(page, used)
            page, used = [], 0.0
        page.append(cell)
        used += cell_height(cell, True, True)
    _size(page, used)
    return cells


def _size(page: list[dict], used: float) -> None:
    """Give the figures of one slide the room its text leaves them (`used`: the height at their least)."""
    least = sum(least_figure_height(o) for c in page for o in c.get("outputs", []) if is_figure(o))
    room = ROOM_PX - (used - least)
    outputs = [o for c in page for o in c.get("outputs", []) if is_figure(o)]
    for output in outputs:
        for mime in (*FIGURES, PLOTLY):
            if mime in output.get("data", {}):
                meta = output.setdefault("metadata", {}).setdefault(mime, {})
                meta.pop("width", None)
                meta["height"] = figure_height(output, room / len(outputs))
