"""Key numbers printed by notebooks, read back; the notebook overview and the HTML index page."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lossviz.course import records
from lossviz.suite import report
from lossviz.suite.runner import NotebookRun


def test_recorded_numbers_and_overview_are_read_back(tmp_path, capsys):
    records.record(error=12.5, model="resnet20")
    line = capsys.readouterr().out
    nb = new_notebook(cells=[new_markdown_cell("Intro\n# 03 · Depth and $M$ skip connections\ntext"),
                             new_code_cell("", outputs=[new_output("display_data", data={"image/png": "AAA\nBBB"})]),
                             new_code_cell("", outputs=[new_output("stream", name="stdout", text=line)]),
                             new_code_cell("", outputs=[new_output("display_data", data={"image/png": "CCC"})])])
    path = tmp_path / "03_depth.ipynb"
    nbformat.write(nb, str(path))
    assert report.key_results(path) == {"error": 12.5, "model": "resnet20"}
    assert report.overview(path) == ("03 · Depth and M skip connections", "AAABBB")


def test_index_page_links_every_notebook_with_time_numbers_and_failures():
    runs = [NotebookRun("00_intro", 12.3, True, "", {"test_error": 53.25}, "00 · Intro", "QUJD"),
            NotebookRun("01_lines", 75.0, False, "ValueError: <bad>", {}, "01 · Lines", "")]
    page = report.index_page(runs, "quick")
    assert "href='00_intro.html'" in page and "href='01_lines.html'" in page
    assert "12 s" in page and "75 s" in page and "1.5 minutes" in page
    assert "test_error" in page and "53.25" in page
    assert "FAILED: ValueError: &lt;bad&gt;" in page and "<bad>" not in page
    assert "data:image/png;base64,QUJD" in page and page.count("<img") == 1
    assert "1 succeeded" in page


def test_index_page_escapes_every_string():
    evil = "<script>alert(1)</script>"
    runs = [NotebookRun(f"00_a'b\"{evil}", 1.0, True, "", {f"k{evil}": f"v{evil}"}, f"t{evil}", "QUJD' onerror='x"),
            NotebookRun("01 two&three", 2.0, True, "", {}, "ok", "QUJD")]
    page = report.index_page(runs, f"quick{evil}")
    assert "<script>" not in page and "onerror" not in page  # a figure that is not base64 is dropped
    assert page.count("&lt;script&gt;") == 6  # page title, heading, name, notebook title, key, value
    assert "href='00_a%27b%22%3Cscript%3Ealert%281%29%3C/script%3E.html'" in page
    assert ">00_a&#x27;b&quot;&lt;script&gt;alert(1)&lt;/script&gt;</a>" in page
    assert "href='01%20two%26three.html'" in page and ">01 two&amp;three</a>" in page
    assert "data:image/png;base64,QUJD'" in page and page.count("<img") == 1


def test_notebooks_are_numbered_parts_in_order(tmp_path):
    for name in ("04_width", "03b_deep", "03_depth", "00_intro", "03bb_no", "notes", "3_no", "10_gallery"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    found = [p.stem for p in report.notebooks(tmp_path)]
    assert found == ["00_intro", "03_depth", "03b_deep", "04_width", "10_gallery"]
