"""Every notebook runs end to end at the smoke profile (papermill), and nbval re-checks the outputs."""
import subprocess
import sys
from pathlib import Path

import pytest

from lossviz import report, runner

pytestmark = pytest.mark.notebooks
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = runner.notebooks(ROOT / "notebooks")


@pytest.fixture(scope="module")
def executed(smoke_run):
    """The whole suite, run once per session at the smoke profile with a fresh cache (conftest.smoke_run)."""
    assert not smoke_run.modified, "running the suite modified notebooks/"
    return smoke_run.folder, smoke_run.runs


def test_there_are_eleven_notebooks_numbered_in_order():
    assert [nb.stem[:2] for nb in NOTEBOOKS] == [f"{i:02d}" for i in range(11)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_at_smoke_profile(executed, notebook):
    folder, runs = executed
    run = runs[notebook.stem]
    assert run.ok, run.error
    assert run.results, "the notebook records its key numbers with lv.report.record"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(notebook):
    import nbformat
    nb = nbformat.read(str(notebook), as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is nb.cells[1], "the second cell is the one parameters cell"
    assert 'profile = "quick"' in tagged[0].source
    assert "import lossviz as lv" in nb.cells[2].source
    for cell in nb.cells:
        assert "NBVAL_SKIP" not in cell.source


def test_nbval_rechecks_the_smoke_outputs(executed, tmp_path):
    folder, _ = executed
    notebooks = sorted(str(p) for p in folder.glob("*.ipynb"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), *notebooks],
        cwd=ROOT, capture_output=True, text=True,
        env={**__import__("os").environ, "LOSSVIZ_CACHE": str(tmp_path / "cache"), "LOSSVIZ_OUT": str(tmp_path / "out"),
             "LOSSVIZ_STATIC": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_results_are_read_back_from_outputs(executed):
    folder, _ = executed
    assert report.key_results(folder / "00_introduction.ipynb")["first_model"] == "resnet20"
