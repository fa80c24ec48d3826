"""The runner: an executed notebook is replaced only by a run that finished; failures and interruptions are marked
in the index, and the kernel's noise (its TCP warning, its ZMQ traceback when stopped) does not reach the user."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from lossviz.suite import report, runner

REPO = Path(__file__).resolve().parents[1]
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A project folder with one notebook that naps $NAP seconds and fails when $FAIL is set."""
    (tmp_path / "notebooks").mkdir()
    cells = ['profile = "smoke"', 'import os, pathlib, time\nprint("first")',
             'pathlib.Path("started").touch()\ntime.sleep(float(os.environ.get("NAP", 0)))',
             'if os.environ.get("FAIL"):\n    raise RuntimeError("boom")\nprint("done")']
    nb = new_notebook(cells=[new_code_cell(cells[0], metadata={"tags": ["parameters"]}),
                             *(new_code_cell(source) for source in cells[1:])], metadata=KERNEL)
    nbformat.write(nb, str(tmp_path / "notebooks" / "00_nap.ipynb"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NAP", raising=False)
    monkeypatch.delenv("FAIL", raising=False)
    return tmp_path


def outputs(path: Path) -> list[str]:
    return [o.get("text", o.get("evalue", "")) for c in nbformat.read(str(path), as_version=4).cells
            for o in c.get("outputs", [])]


@pytest.mark.slow
def test_a_failed_run_keeps_the_last_finished_notebook_and_is_marked(course, monkeypatch):
    runs = course / "runs" / "smoke"
    (first,) = runner.run_suite("smoke", course / "notebooks", course / "runs", html_pages=False)
    assert first.ok and outputs(runs / "00_nap.ipynb") == ["first\n", "done\n"]
    finished = (runs / "00_nap.ipynb").read_bytes()
    monkeypatch.setenv("FAIL", "1")
    (failed,) = runner.run_suite("smoke", course / "notebooks", course / "runs", html_pages=False)
    assert not failed.ok and "boom" in failed.error
    assert (runs / "00_nap.ipynb").read_bytes() == finished  # not replaced by the failed run
    assert outputs(runs / "00_nap.failed.ipynb")[-1] == "boom"  # the failed run, to read its traceback
    page = (runs / "index.html").read_text()
    assert "href='00_nap.failed.html'" in page and "FAILED: " in page and "boom" in page
    assert sorted(p.name for p in runs.iterdir()) == ["00_nap.failed.ipynb", "00_nap.ipynb", "index.html"]
    monkeypatch.delenv("FAIL")
    (again,) = runner.run_suite("smoke", course / "notebooks", course / "runs", html_pages=False)
    assert again.ok and sorted(p.name for p in runs.iterdir()) == ["00_nap.ipynb", "index.html"]


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_notebook_marks_the_index_and_shows_one_line(course):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "lossviz.suite.runner", "--profile", "smoke", "--no-html"]
    quiet = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr  # no warning about the kernel's TCP ports
    runs = course / "runs" / "smoke"
    finished = (runs / "00_nap.ipynb").read_bytes()
    (course / "started").unlink()
    proc = subprocess.Popen(command, cwd=course, env={**env, "NAP": "60"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (course / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the runner and its kernel
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["python -m lossviz.suite.runner: interrupted (SIGINT)"], stderr
    assert (runs / "00_nap.ipynb").read_bytes() == finished
    page = (runs / "index.html").read_text()
    assert "INTERRUPTED" in page and "0 succeeded" in page and "href='00_nap.html'" not in page
    assert sorted(p.name for p in runs.iterdir()) == ["00_nap.ipynb", "index.html"]  # no temporary file


def test_index_marks_interrupted_and_unrun_notebooks_without_links():
    runs = [report.NotebookRun("00_a", 3.0, True, "", {}, "A"),
            report.NotebookRun("01_b", 7.0, False, "ValueError: x", {}, "B", page="01_b.failed.html"),
            report.NotebookRun("02_c", 2.0, False, "interrupted (SIGINT)", {}, "C", state="interrupted"),
            report.NotebookRun("03_d", 0.0, False, "", {}, "D", state="not run")]
    page = report.index_page(runs, "smoke")
    assert "href='00_a.html'" in page and "href='01_b.failed.html'" in page
    assert "href='02_c.html'" not in page and "href='03_d.html'" not in page
    assert "FAILED: ValueError: x" in page and "INTERRUPTED: interrupted (SIGINT)" in page
    assert "not run: the run was interrupted before it" in page and "1 succeeded" in page


def test_kernel_messages_drop_only_the_noise_of_a_local_kernel():
    tcp = "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication ...\n"
    zmq = ("[IPKernelApp] ERROR | Exception in message handler:\nTraceback (most recent call last):\n"
           '  File "kernelbase.py", line 508, in dispatch_shell\n    await result\n'
           "zmq.error.ZMQError: Socket operation on non-socket\n")
    real = "Fatal Python error: Segmentation fault\n\nCurrent thread 0x01 (most recent call first):\n"
    other = "[IPKernelApp] ERROR | Exception in message handler:\nTraceback (most recent call last):\nKeyError: 'x'\n"
    assert runner.kernel_messages(tcp + zmq + real + other, interrupted=True) == real + other
    assert runner.kernel_messages(tcp + zmq + real, interrupted=False) == zmq + real  # not stopped by us: shown
