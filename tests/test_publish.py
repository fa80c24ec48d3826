"""`make publish`: stripping volatile metadata is idempotent; a notebook is replaced only after a full run."""
import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lossviz.suite import publish

ROOT = Path(__file__).resolve().parents[1]


def executed_notebook(project: str) -> dict:
    nb = new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                             new_code_cell("print(out)")])
    nb.metadata["papermill"] = {"start_time": "2026-01-01T00:00:00", "duration": 3.2, "input_path": "a.ipynb"}
    nb.metadata["widgets"] = {"state": {}}
    for k, cell in enumerate(nb.cells):
        cell.metadata["papermill"] = {"duration": 0.1 * k, "status": "completed"}
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:01"}
    nb.cells[1].outputs = [
        new_output("stream", name="stderr", text="train: 100%|██████████| 32/32 [00:01<00:00, 25.1it/s]\r"),
        new_output("stream", name="stderr", text="UserWarning: a real warning\n"),
        new_output("stream", name="stdout", text=f"wrote {project}/out/quick/fig.png\n"),
        new_output("display_data", data={"text/plain": f"PosixPath('{project}/data')"}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "3f2a"},
                                         "text/plain": "curve:   0%|          | 0/20 [00:00<?, ?it/s]"}),
    ]
    return json.loads(nbformat.writes(nb))


def test_strip_removes_what_changes_between_runs():
    nb = executed_notebook("/home/someone/lossviz")
    clean = publish.strip(nb, local=["/home/someone/lossviz"])
    assert "papermill" not in clean["metadata"] and "widgets" not in clean["metadata"]
    assert all("papermill" not in c["metadata"] and "execution" not in c["metadata"] for c in clean["cells"])
    assert clean["cells"][0]["metadata"]["tags"] == ["parameters"]
    outputs = clean["cells"][1]["outputs"]
    assert [o.get("name") for o in outputs] == ["stderr", "stdout", None]  # both progress bars are gone
    assert outputs[0]["text"] == "UserWarning: a real warning\n"
    assert outputs[1]["text"] == "wrote out/quick/fig.png\n"
    assert outputs[2]["data"]["text/plain"] == "PosixPath('data')"
    assert nb["metadata"]["papermill"]["duration"] == 3.2  # the input is not modified


def test_strip_is_idempotent():
    nb = executed_notebook("/srv/project")
    once = publish.strip(nb, local=["/srv/project"])
    twice = publish.strip(copy.deepcopy(once), local=["/srv/project"])
    assert once == twice
    assert nbformat.validate(nbformat.from_dict(once)) is None


def test_strip_writes_the_kernelspec_jupyterlab_writes():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")  # what JupyterLab puts into a notebook it opens
    assert publish.KERNELSPEC == {"display_name": spec.display_name, "language": spec.language, "name": "python3"}
    nb = executed_notebook("/srv/project")
    nb["metadata"]["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    assert publish.strip(nb, local=[])["metadata"]["kernelspec"] == publish.KERNELSPEC


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb")), ids=lambda p: p.stem)
def test_published_notebooks_carry_the_kernelspec_jupyterlab_writes(notebook):
    assert json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["kernelspec"] == publish.KERNELSPEC


def write(path, source: str) -> None:
    nb = new_notebook(cells=[new_code_cell('profile = "quick"', metadata={"tags": ["parameters"]}),
                             new_code_cell(source)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))


def test_publish_replaces_a_notebook_only_after_a_full_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good, bad = tmp_path / "00_good.ipynb", tmp_path / "01_bad.ipynb"
    write(good, "print(6 * 7)")
    write(bad, "raise RuntimeError('boom')")
    before = bad.read_bytes()
    publish.publish_one(good)
    nb = nbformat.read(str(good), as_version=4)
    assert nb.cells[1].outputs[0]["text"] == "42\n"
    assert "papermill" not in nb.metadata and "papermill" not in nb.cells[1].metadata
    first = good.read_bytes()
    publish.publish_one(good)
    assert good.read_bytes() == first  # publishing the same results again changes nothing
    with pytest.raises(Exception, match="boom"):
        publish.publish_one(bad)
    assert bad.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00_good.ipynb", "01_bad.ipynb"]  # no temp files


def test_readme_figures_are_copied_only_when_all_exist(tmp_path):
    source, target = tmp_path / "out", tmp_path / "figures"
    source.mkdir()
    (source / "a.png").write_bytes(b"png a")
    with pytest.raises(ValueError, match="b.png"):
        publish.copy_figures(source, target, ("a.png", "b.png"))
    assert not target.exists()
    (source / "b.png").write_bytes(b"png b")
    copied = publish.copy_figures(source, target, ("a.png", "b.png"))
    assert [p.read_bytes() for p in copied] == [b"png a", b"png b"]
    assert sorted(p.name for p in target.iterdir()) == ["a.png", "b.png"]


def test_publish_executes_outside_the_notebook_folder(tmp_path, monkeypatch):
    """A killed publish must leave nothing in notebooks/: while the notebook runs, its folder holds only itself."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    notebook = folder / "00_look.ipynb"
    write(notebook, "import os; print(sorted(os.listdir('notebooks')))")
    publish.publish_one(notebook)
    assert nbformat.read(str(notebook), as_version=4).cells[1].outputs[0]["text"] == "['00_look.ipynb']\n"
    assert sorted(p.name for p in folder.iterdir()) == ["00_look.ipynb"]
