"""The runner's parameters: papermill's `-p NAME VALUE`, checked against the notebooks' parameters cells, and the
device, resolved once and named on the first line."""
from pathlib import Path

import nbformat
import pytest

from lossviz.course import profiles
from lossviz.suite import parameters, runner

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = runner.notebooks(ROOT / "notebooks")


def test_values_read_as_papermill_reads_them():
    assert [parameters.value(t) for t in ("1", "0.5", "True", "None", "cuda", "1e-3")] == [1, 0.5, True, None,
                                                                                         "cuda", 1e-3]
    assert parameters.parse([["seed", "1"], ["device", "cuda"]]) == {"seed": 1, "device": "cuda"}
    with pytest.raises(ValueError, match="-p seed is given twice"):
        parameters.parse([["seed", "1"], ["seed", "2"]])
    with pytest.raises(ValueError, match="-p profile is set by --profile; use --profile quick"):
        parameters.parse([["profile", "quick"]])


def test_every_notebook_takes_the_same_parameters_and_device_auto():
    for notebook in NOTEBOOKS:
        assert parameters.names(notebook) == ["profile", "seed", "data_root", "device"], notebook.name
        cell = next(c for c in nbformat.read(str(notebook), as_version=4).cells if "parameters" in c.metadata.tags)
        assert 'device = "auto"' in cell.source, notebook.name


def test_an_unknown_parameter_is_one_line_naming_the_valid_ones(tmp_path, capsys):
    with pytest.raises(ValueError, match="parameter 'sed' is not in the parameters cell of 00_introduction; "
                                         "valid: profile, seed, data_root, device"):
        parameters.check({"sed": 1}, NOTEBOOKS[:1])
    assert runner.main(["--profile", "smoke", "--only", "00", "--out", str(tmp_path), "-p", "sed", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "parameter 'sed'" in err
    assert not list(tmp_path.iterdir())  # refused before anything ran or was written


def test_a_device_that_is_not_there_is_refused_before_any_work(tmp_path, capsys):
    assert runner.main(["--profile", "smoke", "--out", str(tmp_path), "--device", "xpu"]) == 2
    assert "device='xpu' is not available here; available: auto, cpu" in capsys.readouterr().err
    assert runner.main(["--profile", "smoke", "--out", str(tmp_path), "-p", "device", "mps"]) == 2
    assert "device='mps' is not available here" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_first_line_names_device_and_precision_and_why():
    line = profiles.device_line("quick", "auto")
    assert line.startswith("device cpu = ") and "auto: CUDA > MPS > CPU; available: cpu" in line
    assert "precision auto -> " in line
    assert "(as asked)" in profiles.device_line("smoke", "cpu") and "precision fp32 (as asked)" in \
        profiles.device_line("smoke", "cpu")
