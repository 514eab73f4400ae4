"""The annotation record: one plain dict per object, validated in one place.

Every part of nblabel (formats, models, the loop, the widget) exchanges objects as
records of this shape, in pixel coordinates of the original (EXIF-rotated) image::

    {"label": "raccoon", "bbox": [x1, y1, x2, y2],
     "points": [[x, y], ...] | None,             # polygon outline
     "keypoints": [[x, y, v], ...] | None,       # v: 0 absent, 1 hidden, 2 visible
     "score": 0.93 | None,                       # None for human labels
     "source": "human" | "<model>@<version>"}

Extra JSON-serialisable keys (``kind`` for de-identification regions, ``keypoint_scores``,
``attributes`` ...) are kept as they are.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

from .core.errors import NblabelError
from .core.geometry import iou as iou  # its one home; imported from here too
from .core.geometry import nms
from .core.sources import HUMAN

CORE_KEYS = ("label", "bbox", "points", "keypoints", "score", "source")
_PLAIN = frozenset(CORE_KEYS)


class AnnotationError(NblabelError, ValueError):
    """An annotation record that cannot be stored as given."""


def _num(v: Any, what: str) -> float:
    if type(v) is float and v - v == 0.0:  # the common case, finite (inf - inf is NaN)
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise AnnotationError(f"{what} must be a number, got {v!r}") from None
    if not math.isfinite(f):
        raise AnnotationError(f"{what} must be finite, got {v!r}")
    return f


def _clip(v: float, hi: float | None) -> float:
    if hi is None or hi <= 0:
        return v
    return min(max(v, 0.0), float(hi))


def bbox_of_points(points: Iterable[Sequence[float]]) -> list[float]:
    """Tight ``[x1, y1, x2, y2]`` around ``[[x, y], ...]`` (extra columns ignored)."""
    pts = list(points)
    xs = [float(p[0]) for p in pts]
    ys = [float(p[1]) for p in pts]
    return [min(xs), min(ys), max(xs), max(ys)]


def normalize_record(
    rec: dict,
    *,
    width: int | None = None,
    height: int | None = None,
    classes: Sequence[str] | None = None,
    default_source: str = HUMAN,
) -> dict:
    """Return a validated copy of ``rec``.

    Coordinates partly outside the image are clipped to it (a box hanging over the edge is
    a common export artefact); a box that is empty after clipping raises, because storing it
    would silently produce an object nobody can see. A ``label`` missing from ``classes``
    raises with the list of known classes.

    Example:
        >>> normalize_record({"label": "cat", "bbox": [-5, 10, 50, 60]}, width=40, height=80)
        ... # doctest: +NORMALIZE_WHITESPACE
        {'label': 'cat', 'bbox': [0.0, 10.0, 40.0, 60.0], 'points': None, 'keypoints': None,
         'score': None, 'source': 'human'}
    """
    if not isinstance(rec, dict):
        raise AnnotationError(f"an annotation must be a dict, got {type(rec).__name__}")
    label = rec.get("label")
    if not isinstance(label, str) or not label.strip():
        raise AnnotationError(f"annotation needs a non-empty string 'label', got {label!r}")
    if classes is not None and label not in classes:
        raise AnnotationError(
            f"unknown class {label!r}; known classes: {list(classes)}. "
            "Add it first with ds.add_classes([...])."
        )

    points = rec.get("points")
    if points is not None:
        try:
            points = [
                [_clip(_num(p[0], "x"), width), _clip(_num(p[1], "y"), height)] for p in points
            ]
        except (TypeError, IndexError):
            raise AnnotationError("'points' must be a list of [x, y] pairs") from None
        if len(points) < 3:
            raise AnnotationError(f"a polygon needs at least 3 points, got {len(points)}")

    keypoints = rec.get("keypoints")
    if keypoints is not None:
        kps = []
        try:
            for p in keypoints:
                v = int(p[2]) if len(p) > 2 and p[2] is not None else 2
                if v not in (0, 1, 2):
                    raise AnnotationError(f"keypoint visibility must be 0, 1 or 2, got {p[2]!r}")
                x, y = _num(p[0], "keypoint x"), _num(p[1], "keypoint y")
                if v and width and height and not (0 <= x <= width and 0 <= y <= height):
                    v = 0  # a point off the image cannot be seen; keep the slot, mark it absent
                kps.append([x, y, v])
        except (TypeError, IndexError):
            raise AnnotationError("'keypoints' must be a list of [x, y, visibility]") from None
        keypoints = kps

    bbox = rec.get("bbox")
    if bbox is None:
        if points:
            bbox = bbox_of_points(points)
        elif keypoints and any(k[2] for k in keypoints):
            bbox = bbox_of_points([k for k in keypoints if k[2]])
        else:
            raise AnnotationError(
                "annotation needs a 'bbox' (or 'points'/'keypoints' to derive it)"
            )
    try:
        x1, y1, x2, y2 = bbox
    except (TypeError, ValueError):
        raise AnnotationError(f"'bbox' must be [x1, y1, x2, y2], got {bbox!r}") from None
    x1, y1 = _num(x1, "bbox coordinate"), _num(y1, "bbox coordinate")
    x2, y2 = _num(x2, "bbox coordinate"), _num(y2, "bbox coordinate")
    if x2 < x1:
        x1, x2 = x2, x1
    if y2 < y1:
        y1, y2 = y2, y1
    if width and width > 0:
        x1, x2 = min(max(x1, 0.0), float(width)), min(max(x2, 0.0), float(width))
    if height and height > 0:
        y1, y2 = min(max(y1, 0.0), float(height)), min(max(y2, 0.0), float(height))
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        raise AnnotationError(
            f"box {list(bbox)} has zero area inside the {width}x{height} image"
            if width
            else f"box {list(bbox)} has zero area"
        )

    score = rec.get("score")
    if score is not None:
        score = _num(score, "score")
        if not 0.0 <= score <= 1.0:
            # routing and auto-accept compare scores with probabilities
            raise AnnotationError(f"score must be from 0 to 1, got {rec.get('score')!r}")
    source = rec.get("source") or default_source
    out = {
        "label": label,
        "bbox": [x1, y1, x2, y2],
        "points": points,
        "keypoints": keypoints,
        "score": score,
        "source": str(source),
    }
    if rec.keys() <= _PLAIN:  # nothing more to check or keep
        return out
    if rec.get("track") is not None:
        # the identity of an object across video frames (nblabel.tracks): an integer id
        track = rec["track"]
        if isinstance(track, bool) or not hasattr(track, "__index__") or int(track) < 0:
            raise AnnotationError(f"'track' must be a non-negative integer id, got {track!r}")
        out["track"] = int(track)
    for k, v in rec.items():
        if k not in out:
            out[k] = v
    return out


def image_confidence(records: Sequence[dict]) -> float | None:
    """Confidence of an image's predictions: the least confident object decides.

    An image with no scored object has no confidence (``None``); an image where the model
    found nothing is not "confident", so callers decide how to route it.
    """
    scores = [r["score"] for r in records if r.get("score") is not None]
    return min(scores) if scores else None


# Two predicted boxes of one class overlapping by more than this are one object.
SAME_OBJECT_IOU = 0.5


def one_per_object(records: Sequence[dict], max_iou: float = SAME_OBJECT_IOU) -> list[dict]:
    """The records less predicted duplicates: of two same-label boxes overlapping by more
    than ``max_iou`` (IoU), only the higher-scored one stays. A person's own objects (no
    score) are never dropped and never drop a prediction. Order is kept.

    Run on boxes as they are stored, clipped to the image: a detector's own suppression
    runs before clipping, and two boxes that differ only beyond the image edge come out of
    it nearly the same.

    Example:
        >>> a = {"label": "cat", "bbox": [0, 0, 10, 10], "score": 0.9}
        >>> b = {"label": "cat", "bbox": [0, 0, 10, 11], "score": 0.5}
        >>> c = {"label": "dog", "bbox": [0, 0, 10, 11], "score": 0.4}
        >>> [r["score"] for r in one_per_object([b, a, c], 0.5)]
        [0.9, 0.4]
    """
    keep = set()
    by_label: dict = {}
    for i, r in enumerate(records):
        if r.get("score") is None or r.get("bbox") is None:
            keep.add(i)
        else:
            by_label.setdefault(r.get("label"), []).append(i)
    for idx in by_label.values():
        kept = nms([records[i]["bbox"] for i in idx], [records[i]["score"] for i in idx], max_iou)
        keep.update(idx[int(j)] for j in kept)
    return [r for i, r in enumerate(records) if i in keep]


def shown(records: Sequence[dict], shown_from: float = 0.0) -> list[dict]:
    """The objects kept as labels when predictions scored below ``shown_from`` are only
    suggestions (objects without a score, a person's own, are always kept). The one rule
    the Annotator's submit and "hide below", the loop's grades and its routing share.

    Example:
        >>> [r["score"] for r in shown([{"score": 0.2}, {"score": 0.7}], 0.5)]
        [0.7]
    """
    return [r for r in records if r.get("score") is None or r["score"] >= shown_from]


def check_class_names(
    names: Iterable[str], known: Sequence[str], *, cutoff: float = 0.8
) -> list[str]:
    """Check class names given by a user against the classes a dataset already has.

    A name that is not known but close to one that is (``"racoon"`` for ``"raccoon"``,
    ``"Person"`` for ``"person"``) is nearly always a typo; adding it would create a class
    for good and split the labels between two spellings, and a model trained on it finds
    nothing. So it raises at once, naming the close match (``difflib``, case-insensitive).
    A new class that really is spelled like an existing one is added deliberately first
    (``ds.add_classes([...])``), after which it is known and passes. Known names and names
    far from every known one pass; with no known classes there is nothing to check.

    Call it wherever user-given classes meet a dataset: ``Annotator(ds, classes=...)`` does,
    and so should a model's ``fit(ds)`` or the loop when it is built.

    Args:
        names: the class names given (e.g. ``classes=[...]`` of a widget or model).
        known: the classes the data already has (``ds.classes``).
        cutoff: similarity (``difflib`` ratio, 0 to 1) from which a name counts as a typo.

    Returns:
        ``names`` as a list, unchanged.

    Raises:
        ValueError: a name that is not a non-empty string, or one close to a known class.

    Example:
        >>> check_class_names(["raccoon", "dog"], ["raccoon", "person"])
        ['raccoon', 'dog']
        >>> check_class_names(["racoon"], ["raccoon", "person"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown class 'racoon': did you mean 'raccoon'? ...
    """
    names = list(names)
    known = list(known)
    lowered = {k.lower(): k for k in known}
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"class names must be non-empty strings, got {name!r}")
        if name in known:
            continue
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=cutoff)
        if close:
            match = lowered[close[0]]
            raise ValueError(
                f"unknown class {name!r}: did you mean {match!r}? The data has the classes "
                f"{known}. If {name!r} is a new class, add it first with "
                f"ds.add_classes([{name!r}])."
            )
    return names
