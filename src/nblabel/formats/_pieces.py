"""An object in the pieces that formats with one shape per element split it into.

CVAT and LabelMe hold a mask as a tight crop placed at a corner of the image, and an object of
several polygons as one polygon per part in one group. These helpers turn a record's exact
mask (see :mod:`._masks`) into such a crop and back, and the parts of a group into one
record, so both formats carry masks and multi-part objects pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..records import bbox_of_points
from . import limits
from ._common import polygon_area
from ._masks import decode_counts, exact_mask, mask_record, rle_box, rle_mask


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
