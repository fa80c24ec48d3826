"""Labels beside the points of a scatter plot that keep clear of each other, of the points, of error bars and of the
axes' edge."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

LABEL_SIZE = 7  # points, the font size of point labels

LABEL_GAP = 4.0  # points between a point and its label

LABEL_CHAR_WIDTH = 0.68  # a label character's width, in font sizes (DejaVu Sans: 0.60-0.63 measured, with a margin)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

def label_points(ax: Axes, x: np.ndarray, y: np.ndarray, labels: Sequence[str], xerr: np.ndarray | None) -> None:
    """Label each point of ax beside it, clear of the other labels, points and error bars (`label_offsets`); a label
    that had to move further than the nearest places is joined to its point by a thin line."""
    fig = ax.figure
    fig.canvas.draw()  # lay the figure out, so that the points' places on the page are final
    to_points = 72.0 / fig.dpi
    anchors = ax.transData.transform(np.column_stack([x, y])) * to_points
    sizes = np.array([(LABEL_CHAR_WIDTH * len(text), 1.25) for text in labels]) * LABEL_SIZE
    bars: list[Box] = []
    if xerr is not None:
        left = ax.transData.transform(np.column_stack([x - xerr, y])) * to_points
        right = ax.transData.transform(np.column_stack([x + xerr, y])) * to_points
        bars = [(a[0], a[1] - 0.75, b[0], b[1] + 0.75) for a, b in zip(left, right)]
    offsets = label_offsets(anchors, sizes, tuple(np.asarray(ax.bbox.extents) * to_points), obstacles=bars)
    for px, py, text, (dx, dy), (_, h) in zip(x, y, labels, offsets, sizes):
        near = np.isclose(dy, LABEL_GAP) or np.isclose(dy, -LABEL_GAP - h)  # a place that touches the point
        ax.annotate(text, (px, py), textcoords="offset points", xytext=(dx, dy), fontsize=LABEL_SIZE, ha="left",
                    va="bottom", arrowprops=None if near else {"arrowstyle": "-", "color": "0.45", "lw": 0.6,
                                                               "shrinkA": 0, "shrinkB": 4})



def label_offsets(anchors: np.ndarray, sizes: np.ndarray, bounds: Box, obstacles: Sequence[Box] = (),
                  gap: float = LABEL_GAP) -> np.ndarray:
    """Offsets (points) of labels from their points so that no label covers another label, a point or an obstacle
    (an error bar), each stays inside `bounds` and sits nearer its own point than any other where it can: each label
    in turn takes the first free place of twelve around its point (the four touching corners first, then two rows
    further out), or the one that breaks these least. `anchors` and `sizes` are (n, 2) arrays in points."""
    anchors, sizes = np.asarray(anchors, float), np.asarray(sizes, float)
    if anchors.ndim != 2 or anchors.shape[1] != 2 or sizes.shape != anchors.shape:
        raise ValueError(f"anchors and sizes must both have shape (n, 2); got {anchors.shape} and {sizes.shape}")
    marker = 3.5  # half the side of the box a scatter point occupies
    taken = [(x - marker, y - marker, x + marker, y + marker) for x, y in anchors] + list(obstacles)
    offsets = np.zeros_like(anchors)
    for i, ((x, y), (w, h)) in enumerate(zip(anchors, sizes)):
        places = [(dx, dy) for rise in (gap, gap + h, gap + 2 * h)
                  for dx, dy in ((gap, rise), (gap, -rise - h), (-gap - w, rise), (-gap - w, -rise - h))]

        others = np.delete(anchors, i, axis=0)
        boxes = [(x + dx, y + dy, x + dx + w, y + dy + h) for dx, dy in places]
        costs = [_cost(box, (x, y), others, taken, bounds) for box in boxes]
        best = places[int(np.argmin(costs))]  # argmin keeps the first of equal costs: upper right where it is free
        offsets[i] = best
        taken.append((x + best[0], y + best[1], x + best[0] + w, y + best[1] + h))
    return offsets



def _cost(box: Box, point: tuple[float, float], others: np.ndarray, taken: Sequence[Box], bounds: Box) -> float:
    """How badly a label box placed for `point` breaks the rules: the area it shares with what is taken, the area
    outside `bounds`, and half its area more if it sits nearer another point than its own."""
    w, h = box[2] - box[0], box[3] - box[1]
    own = _distance(box, point)
    misread = any(_distance(box, tuple(p)) < own for p in others)
    outside = w * h - _overlap(box, bounds)
    area = sum(_overlap(box, other) for other in taken) + outside + (w * h / 2 if misread else 0.0)
    return round(area, 6)  # inside the bounds, w * h - overlap is 0 only up to rounding


def _overlap(a: Box, b: Box) -> float:
    """The area two boxes share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))



def _distance(box: Box, point: tuple[float, float]) -> float:
    """How far a point lies from a box (0 inside it)."""
    dx = max(box[0] - point[0], 0.0, point[0] - box[2])
    dy = max(box[1] - point[1], 0.0, point[1] - box[3])
    return float(np.hypot(dx, dy))
