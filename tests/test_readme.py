"""The README's example on your own model works as written."""
import re
from pathlib import Path

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
