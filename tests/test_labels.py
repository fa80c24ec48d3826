"""Point labels: places that keep clear of other labels, points, error bars and the axes' edge, checked on boxes
worked by hand and on labels drawn for real."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lossviz.views import charts, labels


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _boxes(anchors: np.ndarray, sizes: np.ndarray, offsets: np.ndarray) -> list[tuple[float, float, float, float]]:
    """The label boxes (x0, y0, x1, y1) that offsets give."""
    return [(x + dx, y + dy, x + dx + w, y + dy + h) for (x, y), (w, h), (dx, dy) in zip(anchors, sizes, offsets)]


def _disjoint(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_label_offsets_keep_labels_apart_and_inside():
    """Labels of points that coincide or sit side by side do not cover each other, and a label at the right edge
    goes to the left of its point, inside the bounds."""
    anchors = np.array([[50.0, 50.0], [50.0, 50.0], [52.0, 51.0], [195.0, 100.0], [100.0, 120.0]])
    sizes = np.array([[40.0, 9.0], [40.0, 9.0], [30.0, 9.0], [40.0, 9.0], [30.0, 9.0]])
    offsets = labels.label_offsets(anchors, sizes, (0.0, 0.0, 200.0, 150.0))
    boxes = _boxes(anchors, sizes, offsets)
    assert all(_disjoint(boxes[i], boxes[j]) for i in range(5) for j in range(i))
    assert all(_disjoint(box, (x - 3, y - 3, x + 3, y + 3)) for box in boxes for x, y in anchors)  # no point covered
    assert boxes[3][2] <= 200.0 and boxes[3][0] >= 0.0  # moved left of its point, inside
    assert tuple(offsets[4]) == (4.0, 4.0)  # a free label keeps the usual place, upper right


def test_label_offsets_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="anchors and sizes"):
        labels.label_offsets(np.zeros((3, 2)), np.zeros((2, 2)), (0, 0, 1, 1))


def test_label_offsets_avoid_obstacles_and_misreadings():
    """An error bar across the usual place pushes the label elsewhere; a label is not put nearer another point than
    its own when a free place near its own exists."""
    anchors, sizes = np.array([[100.0, 100.0]]), np.array([[40.0, 9.0]])
    bar = (90.0, 103.0, 160.0, 106.0)  # across the upper-right place
    offsets = labels.label_offsets(anchors, sizes, (0.0, 0.0, 300.0, 300.0), obstacles=[bar])
    assert _disjoint(_boxes(anchors, sizes, offsets)[0], bar)
    anchors = np.array([[100.0, 100.0], [148.0, 109.0]])  # the second point sits just right of the first's usual place
    sizes = np.array([[40.0, 9.0], [10.0, 9.0]])
    offsets = labels.label_offsets(anchors, sizes, (0.0, 0.0, 300.0, 300.0))
    box = _boxes(anchors, sizes, offsets)[0]
    own = labels._distance(box, (100.0, 100.0))
    assert own <= labels._distance(box, (148.0, 109.0))
def test_sharpness_labels_of_close_points_do_not_overlap_when_drawn():
    """Drawn for real: the labels of two runs at almost the same place (as batch 256 and ResNet-20-NS in notebook
    05) come out with disjoint extents, and every label lies inside the axes."""
    names = ["b256_wd0.0005", "resnet20_noshort", "b256_wd0", "resnet56_noshort", "wrn20_2"]
    fig = charts.sharpness([48.8, 52.35, 49.45, 63.1, 46.3], [26.1, 27.3, 22.9, 111.4, 95.6], names,
                         ylabel="lambda_max", log=True, error_se=[1.1] * 5)
    fig.canvas.draw()
    ax = fig.axes[0]
    boxes = [t.get_window_extent().extents for t in ax.texts]
    assert [t.get_text() for t in ax.texts] == names
    assert all(_disjoint(boxes[i], boxes[j]) for i in range(len(boxes)) for j in range(i))
    x0, y0, x1, y1 = ax.bbox.extents
    assert all(b[0] >= x0 - 1 and b[2] <= x1 + 1 and b[1] >= y0 - 1 and b[3] <= y1 + 1 for b in boxes)
    plt.close(fig)


def test_label_points_take_the_four_touching_corners_first_then_move_out_with_a_line():
    """Five labels of one point: the four places touching it (upper right, lower right, upper left, lower left, in
    points from the point: gap 4, label 2 x 0.68 x 7 wide and 1.25 x 7 high), then a row further up, joined to its
    point by a thin line."""
    _, ax = plt.subplots(figsize=(4, 4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    labels.label_points(ax, np.full(5, 5.0), np.full(5, 5.0), ["aa", "bb", "cc", "dd", "ee"], None)
    w, h = 2 * 0.68 * 7, 1.25 * 7
    want = [(4, 4), (4, -4 - h), (-4 - w, 4), (-4 - w, -4 - h), (4, 4 + h)]
    np.testing.assert_allclose([t.xyann for t in ax.texts], want)
    assert all(tuple(t.xy) == (5.0, 5.0) and t.get_fontsize() == labels.LABEL_SIZE for t in ax.texts)
    assert [t.arrow_patch is not None for t in ax.texts] == [False] * 4 + [True]
