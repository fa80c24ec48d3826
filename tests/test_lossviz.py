"""The short names `lv.<name>`: each resolves to the module of the layer `LAYERS` names, every module has exactly one,
and an unknown name is an AttributeError."""
import importlib
from pathlib import Path

import pytest

import lossviz as lv

PACKAGE = Path(lv.__file__).resolve().parent
LAYER_OF = {name: layer for layer, names in lv.LAYERS.items() for name in names}


@pytest.fixture(scope="module", autouse=True)
def _every_layer_imported():
    """Import each layer's package first, as a notebook has by the time it says lv.<name>: the results then do not
    depend on which tests ran before."""
    for layer in lv.LAYERS:
        importlib.import_module(f"lossviz.{layer}")


def test_no_short_name_is_a_layer_name():
    """A short name equal to a layer's name would be shadowed by the layer's package once it is imported."""
    assert not set(lv.MODULES) & set(lv.LAYERS)


@pytest.mark.parametrize("name", list(lv.MODULES))
def test_each_short_name_is_the_module_in_its_layer(name):
    module = getattr(lv, name)
    want = PACKAGE / "cli.py" if name == "cli" else PACKAGE / LAYER_OF[name] / f"{name}.py"
    assert Path(module.__file__).resolve() == want
    assert module.__name__ == lv.MODULES[name]
    assert getattr(lv, name) is module  # the same object every time


def test_the_names_of_classes_and_functions():
    from lossviz.base.data import Sample
    from lossviz.course.recipes import Course
    from lossviz.course.records import record
    assert (lv.Course, lv.Sample, lv.record) == (Course, Sample, record)
    assert set(lv.NAMES) == {"Course", "Sample", "record"}
    assert {"Course", "surface", "plot", "charts", "cli"} <= set(dir(lv))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'lossviz' has no attribute 'surfaces'"):
        lv.surfaces  # noqa: B018
    assert not hasattr(lv, "Plot")


def test_every_module_file_has_exactly_one_short_name():
    files = sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    modules = [".".join(("lossviz", *p.relative_to(PACKAGE).with_suffix("").parts)) for p in files]
    named = list(lv.MODULES.values())
    assert len(files) >= 40 and len(named) == len(set(named))
    assert sorted(named) == sorted(modules)  # each file once, and no name for a file that is not there
