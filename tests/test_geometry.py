"""core.geometry against straightforward references: the scalar IoU, the greedy matching
loops the loop and tracking used to write out, and NMS as a loop over kept boxes.

Random boxes on a coarse integer grid make exact ties (equal IoUs, equal scores) common, so
the order ties are broken in is checked, not only the values.
"""

from __future__ import annotations

import numpy as np
import pytest

from nblabel.core.geometry import (
    box_containment,
    box_iou,
    greedy_match,
    greedy_suppress,
    iou,
    nms,
)


def _boxes(rng, n, grid=6):
    xy = rng.integers(0, grid, size=(n, 2))
    wh = rng.integers(1, 4, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(float).tolist()


def _contained_ref(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / area if area > 0 else 1.0


def _match_ref_first(a, b, min_iou):
    # the loop's match_boxes: candidates in row-then-column order, stable sort by IoU
    pairs = []
    for i, p in enumerate(a):
        for j, t in enumerate(b):
            v = iou(p, t)
            if v >= min_iou and v > 0:
                pairs.append((v, i, j))
    pairs.sort(key=lambda x: -x[0])
    used_a, used_b, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            out.append((i, j))
    return out


def _match_ref_last(a, b, min_iou):
    # tracking's matching: (iou, row, column) tuples sorted in reverse
    pairs = sorted(((iou(p, t), i, j) for i, p in enumerate(a) for j, t in enumerate(b)),
                   reverse=True)  # fmt: skip
    used_a, used_b, out = set(), set(), []
    for v, i, j in pairs:
        if v < min_iou or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((i, j))
    return out


def _nms_ref(boxes, scores, thr):
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    kept = []
    for i in order:
        if all(iou(boxes[i], boxes[k]) <= thr for k in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("seed", range(40))
def test_iou_matrix_is_the_scalar_iou_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    a = _boxes(rng, int(rng.integers(0, 8)))
    b = _boxes(rng, int(rng.integers(0, 8)))
    if seed % 3 == 0:  # real-valued boxes too, not only the integer grid
        a = (np.asarray(a).reshape(-1, 4) * 1.37 + 0.1).tolist()
        b = (np.asarray(b).reshape(-1, 4) * 1.37 + 0.1).tolist()
    m = box_iou(a, b)
    assert m.shape == (len(a), len(b))
    assert [[float(v) for v in row] for row in m] == [[iou(p, t) for t in b] for p in a]
    c = box_containment(a, b)
    assert [[float(v) for v in row] for row in c] == [[_contained_ref(p, t) for t in b] for p in a]


@pytest.mark.parametrize("seed", range(60))
def test_greedy_match_is_the_reference_loop_with_its_ties(seed):
    rng = np.random.default_rng(seed)
    a = _boxes(rng, int(rng.integers(0, 9)), grid=4)
    b = _boxes(rng, int(rng.integers(0, 9)), grid=4)
    min_iou = float(rng.choice([0.0, 0.1, 0.3, 0.5]))
    m = box_iou(a, b)
    first = np.where(m > 0, m, np.nan)  # match_boxes never pairs boxes that do not touch
    assert greedy_match(first, min_iou) == _match_ref_first(a, b, min_iou)
    assert greedy_match(m, min_iou, ties="last") == _match_ref_last(a, b, min_iou)


def test_ties_are_broken_as_each_caller_did():
    same = np.full((3, 3), 0.5)
    assert greedy_match(same) == [(0, 0), (1, 1), (2, 2)]
    assert greedy_match(same, ties="last") == [(2, 2), (1, 1), (0, 0)]
    assert greedy_match([[0.5, 0.9], [0.9, 0.5]]) == [(0, 1), (1, 0)]
    assert greedy_match([[np.nan, 0.4]], 0.5) == []  # below the threshold, or no candidate


def test_empty_inputs():
    assert box_iou([], []).shape == (0, 0)
    assert box_iou([[0, 0, 1, 1]], []).shape == (1, 0)
    assert box_iou([], [[0, 0, 1, 1]]).shape == (0, 1)
    assert greedy_match(np.zeros((0, 3))) == []
    assert greedy_match(box_iou([[0, 0, 1, 1]], [])) == []
    assert nms([], []).tolist() == []
    assert greedy_suppress(np.zeros((0, 0), bool)).tolist() == []


def test_degenerate_boxes_have_no_overlap():
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]]).tolist() == [[0.0]] == [[iou([0] * 4, [0] * 4)]]
    assert box_containment([[1, 1, 1, 1]], [[5, 5, 6, 6]]).tolist() == [[1.0]]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5])
def test_nms_is_the_reference_loop(seed, thr):
    rng = np.random.default_rng(seed)
    boxes = _boxes(rng, int(rng.integers(0, 12)), grid=5)
    scores = rng.integers(0, 4, size=len(boxes)) / 4  # many equal scores
    assert nms(boxes, scores, thr).tolist() == _nms_ref(boxes, scores.tolist(), thr)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"\[x1, y1, x2, y2\]"):
        box_iou([[1, 2, 3]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="2 boxes and 1 scores"):
        nms([[0, 0, 1, 1], [0, 0, 2, 2]], [0.5])
    with pytest.raises(ValueError, match="ties"):
        greedy_match([[1.0]], ties="best")
