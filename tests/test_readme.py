"""The README's example works as written; links, module names and paths in the README and docs exist."""
import importlib
import re
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def example() -> str:
    """The first python block after the heading 'Using lossviz on your own model'."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Using lossviz on your own model"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs_and_writes_its_figure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example(), "README.md", "exec"), namespace)
    assert (tmp_path / "my_landscape.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = namespace["s"]
    assert s["train_loss"].shape == (21, 21) and s.complete
    center = s["train_loss"][10, 10]
    import torch
    model, batches = namespace["model"], namespace["batches"]
    with torch.no_grad():
        direct = sum(torch.nn.functional.cross_entropy(model(x), y, reduction="sum").item() for x, y in batches) / 512
    assert abs(center - direct) < 1e-5  # the center of the surface is the model itself


ROOT = README.parent
DOCS = [README, ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|\b(?:src|href)=\"([^\"]+)\"")
MODULE = re.compile(r"\blossviz(?:\.[A-Za-z_]\w*)+")
SHORT = re.compile(r"\blv((?:\.[A-Za-z_]\w*)+)")
PATH = re.compile(r"`((?:lossviz|bench|tests|notebooks|web)/[\w./-]+\.\w+)`")


def prose(path: Path) -> str:
    """The text of a markdown file without its fenced code blocks."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def relative_links(path: Path) -> list[str]:
    """Targets of the markdown links and html src/href attributes of `path` that point into the repository."""
    targets = [a or b for a, b in LINK.findall(prose(path))]
    return [t for t in targets if not re.match(r"[a-z]+:|#", t)]


def test_the_docs_exist():
    assert [p.name for p in DOCS[2:]] and all(p.is_file() for p in DOCS)


def test_relative_links_in_readme_and_docs_resolve_to_files_in_the_repository():
    broken = []
    for path in DOCS:
        for target in relative_links(path):
            file = (path.parent / target.split("#")[0]).resolve()
            if not (file.is_file() and file.is_relative_to(ROOT)):
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_link_check_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('[a](missing.md) [b](https://x.org) [c](#top) <img src="fig.png">\n```\n[d](code.md)\n```\n')
    assert relative_links(page) == ["missing.md", "fig.png"]


def resolves(dotted: str) -> bool:
    """Whether `dotted` names a lossviz module, or an attribute of the longest module prefix that imports.

    A short name such as `lossviz.data` (the lazy alias `lv.data`) is not a module path and does not count."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:n]))
        except ModuleNotFoundError:
            continue
        for name in parts[n:]:
            obj = getattr(obj, name, None)
            if obj is None or isinstance(obj, types.ModuleType):
                return False
        return True
    return False


def short_name_resolves(attrs: str) -> bool:
    """Whether `lv<attrs>` (e.g. `lv.surface.loss_file`) resolves after `import lossviz as lv`."""
    import lossviz
    obj = lossviz
    for name in attrs.strip(".").split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return False
    return True


def test_module_names_and_paths_in_readme_and_docs_exist():
    missing = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        missing += [f"{path.name}: {m}" for m in set(MODULE.findall(text)) if not resolves(m)]
        missing += [f"{path.name}: {p}" for p in set(PATH.findall(text)) if not (ROOT / p).exists()]
        missing += [f"{path.name}: lv{s}" for s in set(SHORT.findall(text)) if not short_name_resolves(s)]
    assert not missing, missing


def test_module_check_refuses_stale_names():
    assert resolves("lossviz.base.data.eval_batch_size") and resolves("lossviz.suite.runner")
    assert not resolves("lossviz.data.eval_batch_size") and not resolves("lossviz.course.runner")
    assert short_name_resolves(".surface.loss_file") and not short_name_resolves(".surface.loss_files")


def test_figure_captions_are_the_published_numbers():
    """Every marked caption of the README is its template filled with what the committed notebooks record
    (`make publish` writes them); a number in a caption that the published run did not produce fails here."""
    from lossviz.suite import captions, report
    text = README.read_text(encoding="utf-8")
    marked = {m.group("name"): m.group("text") for m in captions.MARKER.finditer(text)}
    assert set(marked) == set(captions.CAPTIONS)
    records = {nb.stem: report.key_results(nb) for nb in report.notebooks(README.parent / "notebooks")}
    for name, shown in marked.items():
        assert shown == captions.render(name, records), name


def test_captions_render_recorded_numbers_and_refuse_missing_ones():
    from lossviz.suite import captions
    records = {"08_fge_mode_connectivity": {"line_barrier_ce": 2.5109, "curve_barrier_ce": 0.3633}}
    text = captions.render("10_curve_3d", records)
    assert "barrier 2.5109 on the straight line, 0.3633 on the curve" in text
    with pytest.raises(ValueError, match="needs 'curve_barrier_ce' recorded by notebook 08"):
        captions.render("10_curve_3d", {"08_fge_mode_connectivity": {"line_barrier_ce": 1.0}})
    marked = "a <!-- caption 10_curve_3d -->old words 9.9<!-- /caption --> b"
    assert captions.update(marked, records) == f"a <!-- caption 10_curve_3d -->{text}<!-- /caption --> b"
