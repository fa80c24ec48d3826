"""The README's figure captions, rendered from the numbers the published notebooks record, so that a caption never
states a number its figure's run did not produce. `make publish` rewrites each caption between its markers
`<!-- caption NAME -->` and `<!-- /caption -->`; a test checks the README against the committed notebooks."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from lossviz.base import files

# figure -> caption template; a field {NN:key} is the number notebook NN records as `key` (NN: its number prefix)
CAPTIONS = {
    "10_depth_3d": ("Depth and skip connections (notebooks 03, 03b, 10; Li et al. Fig. 5): 3D loss surfaces of "
                    "ResNet-20, -20-NS, -56 and -56-NS at their minimizers of 2,560 CIFAR-10 images, log scale; test "
                    "errors {03:test_error_resnet20}%, {03:test_error_resnet20_noshort}%, {03:test_error_resnet56}% "
                    "and {03b:test_error_resnet56_noshort}% on {03:test_images} test images (paper: 8.18% for "
                    "ResNet-20-NS, 13.31% for ResNet-56-NS on 10,000, trained on 50,000)."),
    "10_curve_3d": ("Mode connectivity (notebooks 08, 10; Garipov et al. Fig. 1): two independently trained "
                    "ResNet-20s and the trained Bezier curve between them, on the plane through its end points and "
                    "bend; training cross-entropy barrier {08:line_barrier_ce} on the straight line, "
                    "{08:curve_barrier_ce} on the curve."),
    "02_random_1d": ("Filter normalization (notebook 02; Li et al. Fig. 3): 1D plots of small- and large-batch "
                     "minimizers along random directions, without (top) and with (bottom) filter normalization."),
    "10_pca_path": ("The optimizer's path on its PCA plane, one frame per epoch (notebooks 06, 10; Li et al. Fig. 9)."),
}
MARKER = re.compile(r"(<!-- caption (?P<name>[\w]+) -->)(?P<text>.*?)(<!-- /caption -->)", re.S)


FIELD = re.compile(r"\{(\w+):(\w+)\}")  # {NN:key}


def fields(template: str) -> list[tuple[str, str]]:
    """The (notebook prefix, key) of each field of a template."""
    return FIELD.findall(template)


def render(name: str, records: Mapping[str, Mapping[str, object]]) -> str:
    """Caption `name` with its numbers from `records` ({notebook stem: what it recorded}); a ValueError names a number
    no published notebook recorded."""
    if name not in CAPTIONS:
        raise ValueError(f"caption {name!r} is not known; valid: {', '.join(CAPTIONS)}")
    def number(field: re.Match) -> str:
        prefix, key = field.groups()
        stems = [s for s in records if s.split("_")[0] == prefix]
        if len(stems) != 1 or key not in records[stems[0]]:
            raise ValueError(f"caption {name!r} needs {key!r} recorded by notebook {prefix}; it is not there "
                             f"(run make publish)")
        value = records[stems[0]][key]
        return f"{value:,}" if isinstance(value, int) else f"{value:g}"

    return FIELD.sub(number, CAPTIONS[name])


def update(text: str, records: Mapping[str, Mapping[str, object]]) -> str:
    """README text with every marked caption rendered anew."""
    return MARKER.sub(lambda m: m.group(1) + render(m.group("name"), records) + m.group(4), text)


def write(readme: Path, records: Mapping[str, Mapping[str, object]]) -> bool:
    """Rewrite the README's marked captions (atomically); True when the text changed."""
    text = readme.read_text(encoding="utf-8")
    new = update(text, records)
    if new != text:
        files.write_bytes(readme, new.encode("utf-8"))
    return new != text
