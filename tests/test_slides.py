"""Slide metadata from the cells' roles, offline reveal.js decks and pages, the decks linked from the run index."""
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lossviz.course import records
from lossviz.suite import report, runner, slides

ROOT = Path(__file__).resolve().parents[1]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
GIF = "R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="


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
             figure("fig = contours()  # CONTOUR_CODE"),
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
    assert slides._lines("## A heading") == 2
    assert slides._lines("word " * 40) == -(-len(("word " * 40).strip()) // slides.CHARS_PER_LINE) == 3
    assert slides._lines("one\ntwo\nthree") == 1  # one paragraph
    assert slides._lines("- one\n- two\n- three") == 3  # three list items
    assert slides._lines("a\n\nb\n\nc") == 3 + 1  # three paragraphs, two gaps


def test_a_long_print_or_text_gets_its_own_subslide():
    nb = new_notebook(cells=[new_markdown_cell("# T\n\n" + "\n\n".join(f"Paragraph {i}." for i in range(8))),
                             printed("print(table)", "row\n" * 8), new_markdown_cell("more text")])
    assert slides.slide_types(nb) == ["slide", "subslide", "-"]


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
    split = slides.split_long(nb, max_lines=8)
    parts = [c for c in split.cells if c.source.startswith("## What the run shows")]
    assert len(parts) >= 3
    assert all(p.source.count("\n") + 1 <= 8 for p in parts)
    assert all(p.metadata["slideshow"]["slide_type"] == "subslide" and "(continued)" in p.source for p in parts[1:])
    findings = [line for p in parts for line in p.source.splitlines() if line.startswith("- ")]
    assert findings == [f"- finding {i}" for i in range(20)]
    assert len(split.cells) == len(nb.cells) + len(parts) - 1
    assert nbformat.validate(split) is None


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
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', hidden, flags=re.S)
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


def test_a_cell_with_several_figures_becomes_one_subslide_per_figure():
    cell = figure("explorer()  # EXPLORER")
    cell.outputs += [new_output("display_data", data={"image/png": PNG}) for _ in range(2)]
    nb = slides.mark(new_notebook(cells=[new_markdown_cell("# T"), cell]))
    split = slides.split_figures(nb)
    assert [len(c.outputs) for c in split.cells[1:]] == [1, 1, 1]
    assert [c.metadata["slideshow"]["slide_type"] for c in split.cells] == ["slide", "-", "subslide", "subslide"]
    assert [c.source for c in split.cells[1:]] == ["explorer()  # EXPLORER", "", ""]
    assert slides.deck_html(nb).count("<img") == 3


def test_figures_fill_the_room_their_slide_leaves():
    nb = slides.mark(course_notebook())
    sized = slides.size_figures(nb)
    heights = [o.metadata["image/png"]["height"] for c in sized.cells for o in c.get("outputs", [])
               if "image/png" in o.get("data", {})]
    under_heading = slides.FIGURE_PX - slides._lines(nb.cells[6].source) * slides.LINE_PX
    assert heights == [under_heading, slides.FIGURE_PX]  # below "## Surfaces" and its line; alone
    assert re.findall(r'<img[^>]*?style="height: (\d+)px"', slides.deck_html(nb), flags=re.S) == [str(h) for h in heights]


def test_wide_printed_tables_get_a_font_that_fits_the_slide():
    narrow = new_output("stream", name="stdout", text="short line\n")
    assert slides.fit_text(narrow) is narrow
    wide = new_output("stream", name="stdout", text="x" * 150 + "\n<b>\n")
    fitted = slides.fit_text(wide)
    size = int(re.search(r"font-size: (\d+)px", fitted["data"]["text/html"]).group(1))
    assert 150 * 0.6 * size <= slides.TEXT_WIDTH_PX < 150 * 0.6 * (size + 1)
    assert "&lt;b&gt;" in fitted["data"]["text/html"], "the text is escaped"
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("print(table)", outputs=[wide])])
    assert f'style="font-size: {size}px"' in slides.deck_html(nb)
