"""An object in the pieces that formats with one shape per element split it into.

CVAT and LabelMe hold a mask as a tight crop placed at a corner of the image, and an object of
several polygons as one polygon per part in one group. These helpers turn a record's exact
mask (see :mod:`._masks`) into such a crop and back, and the parts of a group into one
record, so both formats carry masks and multi-part objects pixel for pixel. An ellipse (a
CVAT ``<ellipse>``, a LabelMe ``circle``) becomes the polygon every format can hold, with the
ellipse itself kept beside it (:func:`ellipse_record`, :func:`exact_ellipse`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..records import bbox_of_points
from . import limits
from ._common import polygon_area
from ._masks import decode_counts, exact_mask, mask_record, outline_tag, rle_box, rle_mask

#: Points of the polygon an ellipse is read as (its area is within 0.2 % of the ellipse's).
ELLIPSE_POINTS = 64


def record_crop(rec: dict):
    """``(left, top, crop)`` of the record's exact mask: its pixels inside their tight box
    (a ``uint8`` array), or ``None`` when the record has no mask (or it was redrawn)."""
    mask = exact_mask(rec)
    if mask is None:
        return None
    h, w = mask["size"]
    counts = decode_counts(mask["counts"])
    box = rle_box(counts, h)
    if box is None:
        return None
    x1, y1, x2, y2 = (int(v) for v in box)
    return x1, y1, rle_mask(counts, h, w)[y1:y2, x1:x2]


def crop_record(crop, left: int, top: int, width: int, height: int) -> dict | None:
    """Record keys (``mask``, ``points``, ``bbox``) of a crop placed at ``(left, top)`` of a
    ``width x height`` image; ``ValueError`` saying what is wrong when it does not fit."""
    import numpy as np

    problem = limits.mask_problem(height, width)
    if problem:
        raise ValueError(problem)
    ch, cw = crop.shape
    if left < 0 or top < 0 or left + cw > width or top + ch > height:
        raise ValueError(
            f"mask of {cw}x{ch} at ({left}, {top}) reaches outside the {width}x{height} image"
        )
    full = np.zeros((height, width), dtype=np.uint8)
    full[top : top + ch, left : left + cw] = crop > 0
    return mask_record(full)


def parts_record(recs: Sequence[dict]) -> dict:
    """One record from the polygons of one object (the first one's keys): ``parts`` all of
    them, ``points`` the largest, ``bbox`` around every part."""
    out = dict(recs[0])
    parts = [r["points"] for r in recs]
    out["points"] = max(parts, key=polygon_area)
    out["parts"] = parts
    out["bbox"] = bbox_of_points([p for part in parts for p in part])
    return out


def ellipse_record(cx: float, cy: float, rx: float, ry: float, rotation: float = 0.0) -> dict:
    """Record keys of an ellipse: ``points`` (a polygon of :data:`ELLIPSE_POINTS` points
    through it), ``bbox`` (the ellipse's own box, not its polygon's) and ``ellipse``
    (``{"cx", "cy", "rx", "ry", "rotation", "outline"}``), which writers that hold ellipses
    write back while the polygon is not redrawn. ``rotation`` is in degrees, clockwise on
    screen (image y points down), as CVAT turns boxes and ellipses.

    Raises:
        ValueError: a radius that is not positive.

    Example:
        >>> rec = ellipse_record(10, 10, 5, 5)
        >>> len(rec["points"]), rec["bbox"]
        (64, [5.0, 5.0, 15.0, 15.0])
    """
    cx, cy, rx, ry = float(cx), float(cy), float(rx), float(ry)
    if not (rx > 0 and ry > 0):
        raise ValueError("an ellipse needs positive radii")
    angle = float(rotation or 0.0) % 360
    a = math.radians(angle)
    ca, sa = math.cos(a), math.sin(a)
    pts = []
    for k in range(ELLIPSE_POINTS):
        t = 2 * math.pi * k / ELLIPSE_POINTS
        dx, dy = rx * math.cos(t), ry * math.sin(t)
        pts.append([cx + dx * ca - dy * sa, cy + dx * sa + dy * ca])
    ellipse = {"cx": cx, "cy": cy, "rx": rx, "ry": ry, "rotation": angle}
    return {
        "points": pts,
        "bbox": ellipse_box(**ellipse),
        "ellipse": {**ellipse, "outline": outline_tag(pts)},
    }


def ellipse_box(cx: float, cy: float, rx: float, ry: float, rotation: float) -> list[float]:
    """The tight ``[x1, y1, x2, y2]`` around an ellipse turned by ``rotation`` degrees."""
    a = math.radians(rotation)
    ex = math.hypot(rx * math.cos(a), ry * math.sin(a))
    ey = math.hypot(rx * math.sin(a), ry * math.cos(a))
    return [cx - ex, cy - ey, cx + ex, cy + ey]


def exact_ellipse(rec: dict) -> dict | None:
    """The record's ellipse (``cx, cy, rx, ry, rotation``) while its ``points`` are still
    the polygon :func:`ellipse_record` made; ``None`` once redrawn (the drawing wins)."""
    e = rec.get("ellipse")
    if not isinstance(e, dict) or not rec.get("points"):
        return None
    if e.get("outline") != outline_tag(rec["points"]):
        return None
    try:
        return {k: float(e.get(k) or 0.0) for k in ("cx", "cy", "rx", "ry", "rotation")}
    except (TypeError, ValueError):
        return None
