"""Slide metadata from the cells' roles, offline reveal.js decks and pages, the decks linked from the run index."""
import base64
import copy
import io
import json
import math
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image

from lossviz.course import records
from lossviz.suite import layout, report, runner, slides

ROOT = Path(__file__).resolve().parents[1]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
GIF = "R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="


def png(width: int, height: int) -> str:
    """A white PNG of width x height pixels, base64 as a notebook stores it."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


STRIP = png(1400, 300)  # a wide figure: the slide's width limits its height


def figure(code: str, mime: str = "image/png", data: str = PNG) -> dict:
    return new_code_cell(code, outputs=[new_output("display_data", data={mime: data, "text/plain": "<Figure>"})])


def printed(code: str, text: str) -> dict:
    return new_code_cell(code, outputs=[new_output("stream", name="stdout", text=text)])


def course_notebook() -> dict:
    """A notebook shaped like the course's: title, parameters, setup, sections with figures and prints."""
    cells = [new_markdown_cell("# 03 · Depth\n\nWhy ResNets train easily."),
             new_code_cell('profile = "quick"', metadata={"tags": ["parameters"]}),
             new_code_cell("import lossviz as lv\nP = lv.profiles.get(profile)"),
             new_markdown_cell("## Training"),
             new_code_cell("runs = train()"),  # no output
             printed("print(captions)", "ResNet-20, 53.45%\nResNet-56, 63.65%\n"),
             new_markdown_cell("## Surfaces\nFilter-normalized."),
             figure("fig = contours()  # CONTOUR_CODE", data=STRIP),
             figure("fig = surfaces_3d()"),
             new_markdown_cell("What to look for: the basin narrows."),
             printed("lv.record(rim=29.1)", records.RESULTS_PREFIX + '{"rim": 29.1}\n'),
             new_markdown_cell("## What the run shows\n\n" + "\n".join(f"- finding {i}" for i in range(20)))]
    return new_notebook(cells=cells)


def test_slide_types_follow_the_roles_of_the_cells():
    types = slides.slide_types(course_notebook())
    assert types == ["slide",  # the title
                     "notes", "skip",  # parameters for the speaker; the setup is not shown
                     "slide", "skip", "-",  # a heading; code without output; a short print under it
                     "slide", "-", "subslide",  # the first figure fits under its heading, the second gets its own
                     "subslide",  # text after a figure: a new sub-slide
                     "notes",  # the recorded key numbers, for the speaker
                     "slide"]


def test_text_is_measured_by_its_wrapped_lines():
    line, heading = layout.LINE_PX, 36 * 1.2 + layout.HEADING_GAP  # deck.css: h2 36 px, line height 1.2
    assert layout.text_height("## A heading") == pytest.approx(heading)
    words = ("word " * 40).strip()  # 199 characters: three lines
    assert layout.text_height(words) == pytest.approx(3 * line + layout.PARAGRAPH_GAP)
    assert math.ceil(len(words) / layout.PROSE_CHARS) == 3
    assert layout.text_height("one\ntwo\nthree") == pytest.approx(line + layout.PARAGRAPH_GAP)  # one paragraph
    assert layout.text_height("- one\n- two\n- three") == pytest.approx(3 * (line + layout.ITEM_GAP))
    assert layout.text_height("a\n\nb\n\nc") == pytest.approx(3 * (line + layout.PARAGRAPH_GAP))
    assert layout.text_height("[a link](https://example.org/" + "x" * 200 + ")") == pytest.approx(
        line + layout.PARAGRAPH_GAP), "a link's target is not shown"


def test_a_long_print_or_text_gets_its_own_subslide():
    nb = new_notebook(cells=[new_markdown_cell("# T\n\n" + "\n\n".join(f"Paragraph {i}." for i in range(8))),
                             printed("print(table)", "row\n" * 8), new_markdown_cell("more text")])
    assert slides.slide_types(nb) == ["slide", "subslide", "-"]


def test_printed_text_gets_the_largest_font_at_which_its_longest_line_fits():
    for length in (60, 95, 100, 104, 112):
        text = "x" * length + "\n" + "y" * 10 + "\n"
        fits = [f for f in range(layout.PRINT_MIN_PX, layout.PRINT_PX + 1)
                if length * layout.MONO_EM * f <= layout.WIDTH_PX]  # independent of chars_per_line
        assert layout.print_font(text) == (max(fits) if fits else layout.PRINT_MIN_PX), length
    assert layout.print_font("x" * 60) == layout.PRINT_PX
    assert layout.print_lines("x" * 60 + "\n\nshort") == [1, 1, 1]


def test_a_line_too_long_for_the_slide_breaks_after_a_space_never_inside_a_number():
    chars = layout.chars_per_line(layout.PRINT_MIN_PX)
    row = "  ".join(f"{k}.{k:04d}%" for k in range(40))  # numbers far wider than a line
    parts = layout.wrap(row, chars)
    assert len(parts) > 1 and "".join(parts) == row
    assert all(len(p.rstrip()) <= chars - (layout.HANG if i else 0) for i, p in enumerate(parts))
    assert all(re.fullmatch(r"(\d+\.\d{4}%\s*)+", p) for p in parts), "every part holds whole numbers"
    word = "w" * (2 * chars)
    assert [len(p) for p in layout.wrap(word, chars)] == [chars, chars - layout.HANG, layout.HANG]
    assert layout.wrap("", chars) == [""]


def test_mark_writes_metadata_and_tags_but_keeps_outputs_and_a_teachers_choice():
    nb = course_notebook()
    nb.cells[7].metadata["slideshow"] = {"slide_type": "fragment"}  # the teacher's choice
    marked = slides.mark(nb)
    assert [c.metadata["slideshow"]["slide_type"] for c in marked.cells][7] == "fragment"
    assert marked.cells[8].metadata["slideshow"]["slide_type"] == "subslide"
    assert all(slides.HIDE_CODE in c.metadata["tags"] for i, c in enumerate(marked.cells) if c.cell_type == "code"
               and i != 7), "code is hidden in the decks, except where the teacher decided"
    assert "tags" not in marked.cells[7].metadata
    assert marked.cells[1].metadata["tags"] == ["parameters", slides.HIDE_CODE]
    assert [c.get("outputs") for c in marked.cells] == [c.get("outputs") for c in nb.cells]
    assert "slideshow" not in nb.cells[8].metadata, "mark returns a copy"
    forced = slides.mark(nb, force=True)
    assert forced.cells[7].metadata["slideshow"]["slide_type"] == "-"
    assert slides.mark(marked) == marked, "marking twice changes nothing"


def test_mark_file_changes_only_metadata_and_is_idempotent(tmp_path):
    path = tmp_path / "03_depth.ipynb"
    nbformat.write(course_notebook(), str(path))
    before = nbformat.read(str(path), as_version=4)
    assert slides.mark_file(path) is True
    after = nbformat.read(str(path), as_version=4)
    assert [(c.source, c.get("outputs")) for c in after.cells] == [(c.source, c.get("outputs")) for c in before.cells]
    assert slides.mark_file(path) is False


@pytest.mark.parametrize("notebook", runner.notebooks(ROOT / "notebooks"), ids=lambda p: p.stem)
def test_committed_notebooks_carry_the_slide_metadata(notebook):
    nb = nbformat.read(str(notebook), as_version=4)
    types = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
    assert types[0] == "slide" and set(types) <= set(slides.SLIDE_TYPES)
    assert slides.mark(nb) == nb, "run `python -m lossviz.suite.slides mark notebooks/*.ipynb`"
    shown_figures = [t for c, t in zip(nb.cells, types) if slides._figures(c)]
    assert all(t in ("-", "subslide", "slide") for t in shown_figures), "every figure is on a slide"


def test_split_long_keeps_all_text_and_fits_each_part():
    nb = course_notebook()
    split = slides.split_long(nb, room=300)
    parts = [c for c in split.cells if c.source.startswith("## What the run shows")]
    assert len(parts) >= 3
    assert all(layout.text_height(p.source) <= 300 for p in parts)
    assert all(p.metadata["slideshow"]["slide_type"] == "subslide" and "(continued)" in p.source for p in parts[1:])
    findings = [line for p in parts for line in p.source.splitlines() if line.startswith("- ")]
    assert findings == [f"- finding {i}" for i in range(20)]
    assert len(split.cells) == len(nb.cells) + len(parts) - 1
    assert nbformat.validate(split) is None


def test_split_long_leaves_no_part_with_a_stray_line():
    long = "## Findings\n\n" + "\n\n".join(f"Finding {i}: " + "word " * 60 for i in range(6)) + "\n\nNext: 02."
    parts = slides.split_long(new_notebook(cells=[new_markdown_cell(long)])).cells
    assert len(parts) > 1 and parts[-1].source.strip() != "## Findings (continued)\n\nNext: 02."
    heights = [layout.text_height(p.source) for p in parts]
    assert max(heights) <= layout.ROOM_PX and min(heights) > 0.5 * max(heights), heights


def stub_web(folder: Path) -> Path:
    """A stand-in for web/node_modules holding every asset the decks load (tiny files)."""
    for package, items in slides.ASSETS.items():
        for item in items:
            path = folder / package / item
            if Path(item).suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"/* {item} */")
            else:
                path.mkdir(parents=True, exist_ok=True)
                (path / "font.woff").write_bytes(b"woff")
    return folder


def local_references(page: str) -> list[str]:
    return [ref for ref in re.findall(r"""(?:src|href)=["']([^"'#]+)["']""", page) if not ref.startswith("data:")]


def test_copy_assets_names_what_is_missing(tmp_path):
    web = stub_web(tmp_path / "web")
    (web / "mathjax" / "es5" / "tex-chtml-full.js").unlink()
    assert slides.missing_assets(web) == ["mathjax/es5/tex-chtml-full.js"]
    with pytest.raises(FileNotFoundError, match="tex-chtml-full.js"):
        slides.copy_assets(tmp_path / "out", web)


def test_built_decks_load_only_files_beside_them(tmp_path):
    web = stub_web(tmp_path / "web")
    path = tmp_path / "03_depth.ipynb"
    nbformat.write(course_notebook(), str(path))
    decks = slides.build([path], tmp_path / "slides", web=web)
    assert decks == [tmp_path / "slides" / "03_depth.slides.html"]
    page = decks[0].read_text(encoding="utf-8")
    refs = local_references(page)
    assert "reveal.js/dist/reveal.js" in refs and slides.MATHJAX in refs
    assert not [r for r in refs if "//" in r], "nothing from a CDN"
    assert not re.search(r"url\(['\"]?https?:|@import", page), "no fonts or style sheets from the web"
    assert all((tmp_path / "slides" / r).exists() for r in refs), refs
    assert 'Reveal.initialize' in page and "require(" not in page
    assert page.count("<section") >= 5 and '<aside class="notes">' in page
    index = (tmp_path / "slides" / "index.html").read_text(encoding="utf-8")
    assert "href='03_depth.slides.html'" in index and "03 · Depth" in index


def test_code_is_hidden_or_shown_as_chosen():
    nb = slides.mark(course_notebook())
    nb.cells[7].metadata["tags"].remove(slides.HIDE_CODE)  # the teacher shows this cell's code
    tagged = slides.deck_html(nb, code="tagged")
    assert "CONTOUR_CODE" in tagged and "surfaces_3d" not in tagged
    assert "CONTOUR_CODE" in slides.deck_html(nb, code="show") and "surfaces_3d" in slides.deck_html(nb, code="show")
    hidden = slides.deck_html(nb, code="hide")
    assert "CONTOUR_CODE" not in hidden and "surfaces_3d" not in hidden
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', hidden, flags=re.DOTALL)
    assert "profile" in notes[0] and "rim" in notes[1], "speaker notes keep the parameters and key numbers"
    with pytest.raises(ValueError, match="code='all'.*tagged, show, hide"):
        slides.deck_html(nb, code="all")


def test_decks_show_gifs_and_drop_the_path_a_figure_cell_returns():
    cell = figure("lv.plot.save(fig, 'a.png')")
    cell.outputs.append(new_output("execute_result", data={"text/plain": "PosixPath('out/a.png')"}, execution_count=1))
    nb = new_notebook(cells=[new_markdown_cell("# T"), cell, figure("Image('a.gif')", "image/gif", GIF)])
    deck = slides.deck_html(nb)
    assert "PosixPath" not in deck
    assert f"data:image/gif;base64,{GIF}" in deck and deck.count("<img") == 2


def test_notebook_pages_need_no_network():
    nb = new_notebook(cells=[new_markdown_cell("# T with $\\alpha$"), figure("gif()", "image/gif", GIF)])
    page = slides.page_html(nb, mathjax_url="slides/" + slides.MATHJAX)
    assert not [r for r in local_references(page) if "//" in r]
    assert "slides/" + slides.MATHJAX in local_references(page) and f"data:image/gif;base64,{GIF}" in page
    assert slides.MATHJAX not in slides.page_html(nb)


def test_the_run_index_links_the_decks(tmp_path, monkeypatch):
    monkeypatch.setenv(slides.WEB_ENV, str(stub_web(tmp_path / "web")))
    nbformat.write(course_notebook(), str(tmp_path / "03_depth.ipynb"))
    runs = [runner.NotebookRun("03_depth", 1.0, True, "", {}, "03 · Depth"),
            runner.NotebookRun("04_width", 1.0, False, "ValueError: x", {}, "04 · Width")]  # no executed copy
    runs = runner.build_decks(runs, tmp_path)
    assert [r.slides for r in runs] == ["slides/03_depth.slides.html", ""]
    page = report.index_page(runs, "smoke")
    assert "href='slides/03_depth.slides.html'" in page and page.count(">slides</a>") == 1
    assert "href='slides/index.html'" in page
    assert (tmp_path / runs[0].slides).is_file()


def test_runs_without_decks_get_no_links():
    page = report.index_page([runner.NotebookRun("03_depth", 1.0, True, "", {}, "03 · Depth")], "smoke")
    assert "slides" not in page


def deck_cells(nb: dict) -> list[dict]:
    """The cells a deck shows, with their slide types, as `_for_deck` leaves them."""
    return [c for c in slides._for_deck(nb, "tagged").cells if layout.kind(c) in layout.SHOWN]


def test_a_cell_with_several_figures_becomes_one_subslide_per_figure():
    cell = figure("explorer()  # EXPLORER")
    cell.outputs += [new_output("display_data", data={"image/png": PNG}) for _ in range(2)]
    nb = slides.mark(new_notebook(cells=[new_markdown_cell("# T"), cell]))
    split = slides.split_outputs(nb)
    assert [len(c.outputs) for c in split.cells[1:]] == [1, 1, 1]
    assert [c.source for c in split.cells[1:]] == ["explorer()  # EXPLORER", "", ""]
    assert [layout.kind(c) for c in deck_cells(nb)] == ["slide", "subslide", "subslide", "subslide"]
    assert slides.deck_html(nb).count("<img") == 3


def test_a_printed_table_and_the_figure_of_one_cell_share_a_slide_only_where_both_fit():
    table = "run     error\n" + "".join(f"b{k}      {k}.5%\n" for k in range(5))
    cell = new_code_cell("runs()", outputs=[new_output("stream", name="stdout", text=table),
                                            new_output("display_data", data={"image/png": png(800, 600)})])
    nb = new_notebook(cells=[new_markdown_cell("## Runs\n\nThe four runs."), cell])
    kinds = [layout.kind(c) for c in deck_cells(nb)]
    assert kinds == ["slide", "-", "subslide"], "the table under its heading, the tall figure on its own slide"
    strip = copy.deepcopy(nb)
    strip.cells[1].outputs[1].data["image/png"] = STRIP
    assert [layout.kind(c) for c in deck_cells(strip)] == ["slide", "-", "-"], "a wide figure fits under both"


def test_speaker_notes_are_not_split_into_slides():
    cell = printed("lv.record(a=1)", records.RESULTS_PREFIX + '{"a": 1}\n')
    cell.outputs.append(new_output("execute_result", data={"text/plain": "{'a': 1}"}, execution_count=1))
    nb = new_notebook(cells=[new_markdown_cell("# T"), cell])
    deck = slides._for_deck(nb, "tagged")
    assert [layout.kind(c) for c in deck.cells] == ["slide", "notes"] and len(deck.cells[1].outputs) == 2


def test_a_findings_table_is_a_slide_without_its_record_line():
    table = "| claim | verdict |\n| --- | --- |\n| flatter | reproduced |"
    cell = printed("lv.findings.show(claims, profile)", records.RESULTS_PREFIX + '{"finding_a": 1}\n')
    cell.outputs.insert(0, new_output("display_data", data={"text/markdown": table, "text/plain": "<Markdown>"}))
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_markdown_cell("## What this run shows"), cell])
    assert slides.slide_types(nb)[2] != "notes"
    deck = slides._for_deck(nb, "tagged")
    assert [o.output_type for o in deck.cells[2].outputs] == ["display_data"]
    html = slides.deck_html(nb)
    assert "reproduced" in html and records.RESULTS_PREFIX not in html


def claims_table(rows: int, measured: str = "batch 256 49.70% vs batch 32 46.45% on 2,000 images: +3.25 +- "
                 "1.22 points, beyond three times its noise") -> str:
    """A findings table of `rows` claims (four columns, as lv.findings.table writes it) and a caveat after it."""
    lines = ["| claim | paper | this run | verdict |", "| --- | --- | --- | --- |"]
    lines += [f"| Large batches generalize worse ({k}) | VGG-9 11.07% vs 7.37% | {measured} | **reproduced** |"
              for k in range(rows)]
    return "\n".join(lines) + "\n\n*At the `smoke` profile the networks are not minimizers.*"


def test_a_table_is_measured_by_its_rows_wrapped_lines():
    one_line = layout.row_heights(["| a | b |", "| --- | --- |", "| c | d |"])
    assert one_line == [pytest.approx(layout.TABLE_LINE_PX + layout.TABLE_ROW_PAD)] * 2  # no separator row
    words = " ".join(["word"] * 200)  # 1,000 characters in the widest column: several lines
    tall = layout.row_heights(["| claim | this run |", "| --- | --- |", f"| short | {words} |"])
    chars = layout.column_chars(layout.table_cells(["| claim | this run |", f"| short | {words} |"]))
    assert chars[0] == len("short") and sum(chars) * layout.TABLE_CHAR_PX <= layout.WIDTH_PX
    assert tall[1] == pytest.approx(len(layout.wrap(words, chars[1])) * layout.TABLE_LINE_PX + layout.TABLE_ROW_PAD)
    assert tall[1] > 5 * one_line[1]
    table = claims_table(3)
    assert layout.text_height(table) == pytest.approx(
        sum(layout.row_heights(table.split("\n")[:5])) + layout.PARAGRAPH_GAP
        + layout.text_height("*At the `smoke` profile the networks are not minimizers.*"))


def test_a_findings_table_taller_than_a_slide_is_split_under_its_header():
    table = claims_table(12)
    assert layout.text_height(table) > layout.ROOM_PX
    cell = new_code_cell("lv.findings.show(claims, profile)", outputs=[
        new_output("display_data", data={"text/markdown": table, "text/plain": "<Markdown>"})])
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_markdown_cell("## What this run shows"), cell])
    parts = [c for c in deck_cells(nb) if c.cell_type == "code"]
    shown = [layout.markdown(o) for c in parts for o in c.outputs]
    assert len(shown) >= 2 and all(layout.cell_height(c) <= layout.ROOM_PX for c in parts)
    assert all(s.startswith("| claim | paper | this run | verdict |\n| --- |") for s in shown)
    rows = [line for s in shown for line in s.split("\n") if line.startswith("| Large")]
    assert rows == [line for line in table.split("\n") if line.startswith("| Large")]  # every row once, in order
    assert shown[-1].endswith("not minimizers.*") and all("minimizers" not in s for s in shown[:-1])
    pages: list[float] = []
    for c in deck_cells(nb):
        pages += [0.0] if layout.kind(c) in ("slide", "subslide") else []
        pages[-1] += layout.cell_height(c)
    assert len(pages) >= 3 and max(pages) <= layout.ROOM_PX, pages  # the title, then the table's parts, each fits


def test_figures_fill_the_room_their_slide_leaves():
    nb = slides.mark(course_notebook())
    cells = deck_cells(nb)
    heights = [o.metadata["image/png"]["height"] for c in cells for o in c.get("outputs", [])
               if "image/png" in o.get("data", {})]
    strip = int(layout.FIGURE_W_PX * 300 / 1400)  # the wide figure, as tall as the slide's width allows
    assert heights == [strip, layout.ROOM_PX]  # below "## Surfaces" and its line; alone
    shown = re.findall(r'<img[^>]*?style="height: (\d+)px"', slides.deck_html(nb), flags=re.DOTALL)
    assert shown == [str(h) for h in heights]


def test_slides_never_hold_more_than_fits():
    nb = course_notebook()
    nb.cells.insert(6, printed("print(log)", "".join(f"epoch {k}: loss {1 / (k + 1):.4f}\n" for k in range(60))))
    pages: list[float] = []
    for cell in deck_cells(nb):
        if layout.kind(cell) in ("slide", "subslide"):
            pages.append(0.0)
        pages[-1] += layout.cell_height(cell)
    assert max(pages) <= layout.ROOM_PX + 1, pages
    assert sum(c.cell_type == "code" and layout.kind(c) == "subslide" for c in deck_cells(nb)) >= 3, \
        "the 60-line log is split over sub-slides"


def test_printed_output_is_fitted_and_escaped():
    narrow = new_output("stream", name="stdout", text="short line\n")
    html = slides.fit_text(narrow)["data"]["text/html"]
    assert f"font-size: {layout.PRINT_PX}px" in html and 'data-lines="1"' in html
    wide = new_output("stream", name="stdout", text="x " * 75 + "\n<b>\n")
    fitted = slides.fit_text(wide)["data"]["text/html"]
    assert f"font-size: {layout.PRINT_MIN_PX}px" in fitted and 'data-lines="3"' in fitted
    assert "<span>&lt;b&gt;</span>" in fitted, "the text is escaped, one block per line"
    figure_cell = new_output("display_data", data={"image/png": PNG})
    assert slides.fit_text(figure_cell) is figure_cell
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("print(table)", outputs=[wide])])
    assert f'style="font-size: {layout.PRINT_MIN_PX}px"' in slides.deck_html(nb)


def test_decks_and_pages_are_titled_by_the_notebook_heading():
    nb = course_notebook()
    nb.cells[0].source = "# 07 · Snapshot Ensembles: $M$ networks\n\nText."
    assert slides.notebook_title(nb) == "07 · Snapshot Ensembles: M networks"
    assert "<title>07 · Snapshot Ensembles: M networks slides</title>" in slides.deck_html(nb)
    assert "<title>07 · Snapshot Ensembles: M networks</title>" in slides.page_html(nb)
    assert "<title>04_width</title>" in slides.page_html(new_notebook(cells=[]), name="04_width")


def interactive(code: str = "lv.surface3d.compare(planes, captions)") -> dict:
    """A cell showing an interactive figure as lossviz.views.surface3d.show does: the Plotly spec, its picture."""
    spec = {"data": [{"type": "surface", "z": [[1, 2], [3, 4]], "name": "</script><b>x</b>"}],
            "layout": {"height": 420}}
    return new_code_cell(code, outputs=[new_output("display_data", data={layout.PLOTLY: spec, "image/png": PNG,
                                                                         "text/plain": "a 3D figure"})])


def test_an_interactive_figure_gets_a_whole_slide_and_the_bundled_plotly_js(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_markdown_cell("## Surfaces\n\nDrag to turn them."),
                             interactive(), new_markdown_cell("## Next\n\nMore.")])
    cells = deck_cells(nb)
    assert [layout.kind(c) for c in cells] == ["slide", "slide", "subslide", "slide"]  # alone on its slide
    assert cells[2].outputs[0].metadata[layout.PLOTLY]["height"] == layout.ROOM_PX
    deck = slides.deck_html(nb)
    assert deck.count('class="lossviz-plotly') == 1 and "<img" not in deck  # the spec, not its picture
    assert f'style="height: {layout.ROOM_PX}px"' in deck
    assert f'src="{slides.PLOTLY_JS}"' in deck and "cdn" not in deck.lower()
    found = re.search(r'<script type="application/json">(.*?)</script>', deck, flags=re.DOTALL)
    assert found and json.loads(found.group(1)) == nb.cells[2].outputs[0].data[layout.PLOTLY]  # escaped, whole
    assert slides.PLOTLY_JS not in slides.deck_html(course_notebook())  # no interactive figure: no plotly.js
    page = slides.page_html(nb, plotly_url="slides/" + slides.PLOTLY_JS)
    assert f'src="slides/{slides.PLOTLY_JS}"' in page and 'style="height: 420px"' in page and "<img" not in page
    assert slides.PLOTLY_JS not in slides.page_html(course_notebook(), plotly_url="slides/" + slides.PLOTLY_JS)
    web = stub_web(tmp_path / "web")
    path = tmp_path / "10_gallery.ipynb"
    nbformat.write(nb, str(path))
    built = slides.build([path], tmp_path / "slides", web=web)[0].read_text(encoding="utf-8")
    refs = local_references(built)
    assert slides.PLOTLY_JS in refs and all((tmp_path / "slides" / r).exists() for r in refs), refs
    assert (tmp_path / "slides" / slides.PLOTLY_JS).read_bytes() == slides.plotly_js().read_bytes()
