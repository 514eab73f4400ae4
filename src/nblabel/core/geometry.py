"""Box geometry on whole arrays: IoU matrices, greedy one-to-one matching, NMS.

Every place that compares boxes (the loop's grades, routing, tracking, the face and plate
detectors' merging) uses these, so an overlap is computed one way everywhere. Boxes are
``[x1, y1, x2, y2]`` in pixels; a list of them (or an ``(N, 4)`` array) is one argument.

The arithmetic is that of the scalar :func:`iou` (the same operations in the same order, in
float64), so a matrix entry is bit for bit the value the scalar function gives for the pair,
and thresholds and ties fall where they always did.

Example:
    >>> box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10], [20, 20, 30, 30]]).round(4).tolist()
    [[0.3333, 0.0]]
    >>> greedy_match([[0.9, 0.8], [0.85, 0.1]], min_score=0.5)
    [(0, 0)]
    >>> nms([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], [0.9, 0.8, 0.7]).tolist()
    [0, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "as_boxes",
    "box_containment",
    "box_iou",
    "greedy_match",
    "greedy_suppress",
    "iou",
    "nms",
]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes (0 when the union is empty).

    Example:
        >>> iou([0, 0, 10, 10], [5, 0, 15, 10])
        0.3333333333333333
    """
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def as_boxes(boxes) -> np.ndarray:
    """``boxes`` as a float64 ``(N, 4)`` array (an empty list gives ``(0, 4)``).

    Raises:
        ValueError: something that is not a list of four numbers per box.
    """
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f"boxes must be a list of [x1, y1, x2, y2], got shape {arr.shape}")
    return arr[:, :4]


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix = np.maximum(
        0.0, np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    )
    iy = np.maximum(
        0.0, np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    )
    return ix * iy


def _area(a: np.ndarray) -> np.ndarray:
    return (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])


def box_iou(a, b) -> np.ndarray:
    """IoU of every box of ``a`` with every box of ``b``: an ``(len(a), len(b))`` array.

    Entry ``[i, j]`` equals ``iou(a[i], b[j])`` exactly.

    Example:
        >>> box_iou([[0, 0, 2, 2]], []).shape
        (1, 0)
    """
    a, b = as_boxes(a), as_boxes(b)
    inter = _intersection(a, b)
    union = _area(a)[:, None] + _area(b)[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def box_containment(a, b) -> np.ndarray:
    """Share of each box of ``a`` that lies inside each box of ``b`` (``(len(a), len(b))``).

    A box of ``a`` without area counts as wholly inside (1.0): it adds nothing of its own.

    Example:
        >>> box_containment([[2, 2, 4, 4]], [[0, 0, 10, 10], [3, 0, 10, 10]]).tolist()
        [[1.0, 0.5]]
    """
    a, b = as_boxes(a), as_boxes(b)
    inter = _intersection(a, b)
    area = np.broadcast_to(_area(a)[:, None], inter.shape)
    out = np.ones_like(inter)
    np.divide(inter, area, out=out, where=area > 0)
    return out


def greedy_match(scores, min_score: float = 0.0, *, ties: str = "first") -> list[tuple[int, int]]:
    """One-to-one pairs ``(row, column)`` taken best score first, in the order taken.

    Every entry at or above ``min_score`` is a candidate (NaN never is); the best candidate
    is paired, its row and column leave, and so on. This is the matching of the loop's
    grades and of tracking: not the optimal assignment, but the one people expect ("the
    box that overlaps most is the same object").

    Args:
        scores: ``(N, M)`` array, typically :func:`box_iou`, with entries that may not pair
            (other labels, say) set to NaN.
        min_score: Least score of a pair.
        ties: Which of equal scores goes first: ``"first"``, the smaller row, then the
            smaller column; ``"last"``, the larger row, then the larger column (what sorting
            ``(score, row, column)`` tuples in reverse gives).

    Returns:
        ``[(row, column), ...]`` in the order the pairs were chosen.

    Example:
        >>> greedy_match([[0.5, 0.5], [0.5, 0.5]], ties="last")
        [(1, 1), (0, 0)]
    """
    m = np.asarray(scores, dtype=np.float64)
    if m.size == 0:
        return []
    if m.ndim != 2:
        raise ValueError(f"scores must be a 2-d array, got shape {m.shape}")
    with np.errstate(invalid="ignore"):
        rows, cols = np.nonzero(m >= min_score)  # NaN compares False: never a candidate
    if ties == "first":
        order = np.lexsort((cols, rows, -m[rows, cols]))
    elif ties == "last":
        order = np.lexsort((-cols, -rows, -m[rows, cols]))
    else:
        raise ValueError(f'ties must be "first" or "last", got {ties!r}')
    used_r = np.zeros(m.shape[0], bool)
    used_c = np.zeros(m.shape[1], bool)
    out: list[tuple[int, int]] = []
    most = min(m.shape)
    for i, j in zip(rows[order].tolist(), cols[order].tolist()):
        if used_r[i] or used_c[j]:
            continue
        used_r[i] = used_c[j] = True
        out.append((i, j))
        if len(out) == most:
            break
    return out


def greedy_suppress(suppresses) -> np.ndarray:
    """Indices kept by greedy suppression over items already in priority order.

    Item ``i`` is kept unless an earlier kept item ``k`` has ``suppresses[i, k]`` true; a
    suppressed item suppresses nothing. This is the loop of NMS with any overlap rule.

    Example:
        >>> greedy_suppress([[False, True, False], [True, False, True], [False, True, False]])
        array([0, 2])
    """
    s = np.asarray(suppresses, dtype=bool)
    n = s.shape[0] if s.ndim == 2 else 0
    gone = np.zeros(n, bool)
    keep = []
    for i in range(n):
        if gone[i]:
            continue
        keep.append(i)
        gone[i + 1 :] |= s[i + 1 :, i]
    return np.asarray(keep, dtype=np.intp)


def nms(boxes, scores, iou_threshold: float = 0.5) -> np.ndarray:
    """Non-maximum suppression: indices of the boxes kept, best score first.

    A box is dropped when its IoU with a better box that was kept is above
    ``iou_threshold``; of equal scores the earlier box counts as better.

    Example:
        >>> nms([], []).tolist()
        []
    """
    b = as_boxes(boxes)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"nms got {len(b)} boxes and {len(s)} scores")
    order = np.argsort(-s, kind="stable")
    ranked = b[order]
    return order[greedy_suppress(box_iou(ranked, ranked) > iou_threshold)]
