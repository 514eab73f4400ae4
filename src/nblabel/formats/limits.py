"""How big the parts of an annotation file may be before a reader refuses them.

Annotation files come from other people. A few hundred bytes can ask for gigabytes: a Label
Studio keypoint named ``kp30000000`` asks for thirty million keypoint slots, a COCO RLE mask
of ``200000 x 200000`` for 37 GiB of pixels. Readers check each of these numbers *before*
allocating anything, so a hostile or broken file costs milliseconds and a few megabytes:

- a whole file above its limit is a :class:`~nblabel.formats.FormatError` naming the file;
- an object above a limit is left out with an issue on its row, and the import goes on.

The limits are module attributes, read at every call, so a user with a legitimately larger
file raises one for the session::

    import nblabel.formats.limits as limits
    limits.MAX_FILE_BYTES = 4 << 30   # a 4 GiB COCO file

Example:
    >>> from nblabel.formats import limits
    >>> limits.MAX_KEYPOINTS
    1024
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FormatError

#: One annotation file holding a whole dataset (COCO, Label Studio, CVAT JSON / XML).
#: COCO's train2017 instances file, the largest common one, is 448 MiB.
MAX_FILE_BYTES = 1 << 30
#: One per-image annotation file (a VOC XML, a LabelMe JSON, a YOLO label .txt) or a
#: data.yaml / classes list: no real one comes near it.
MAX_ITEM_FILE_BYTES = 64 << 20
#: Keypoints of one object: COCO-WholeBody has 133, dense face meshes 478.
MAX_KEYPOINTS = 1024
#: Characters of a class, keypoint or attribute name.
MAX_LABEL_CHARS = 256
#: Pixels of one mask (RLE): 64 Mpx, an 8000 x 8000 image. Decoding it takes one byte per
#: pixel, so this bounds the memory a single mask can take.
MAX_MASK_PIXELS = 64_000_000
#: Vertices of one polygon, all parts together.
MAX_POLYGON_POINTS = 100_000


def check_file_size(path: str | os.PathLike, *, item: bool = False) -> None:
    """Raise :class:`~nblabel.formats.FormatError` when the file at ``path`` is too large.

    The limit is :data:`MAX_FILE_BYTES` (``item=True``: :data:`MAX_ITEM_FILE_BYTES`) as it
    is set at the time of the call.

    Example:
        >>> check_file_size("raccoon/annotations/raccoon-1.xml", item=True)  # small enough
    """
    name = "MAX_ITEM_FILE_BYTES" if item else "MAX_FILE_BYTES"
    limit = MAX_ITEM_FILE_BYTES if item else MAX_FILE_BYTES
    try:
        size = Path(path).stat().st_size
    except OSError:
        return  # a missing file is reported by whoever opens it
    if size > limit:
        raise FormatError(
            path,
            f"the file is {size / 2**20:.1f} MiB, above the {limit / 2**20:.0f} MiB "
            f"limit for one annotation file; split it, or raise nblabel.formats.limits.{name} "
            "if you trust it",
        )


def item_file_problem(path: str | os.PathLike) -> str | None:
    """Why a per-image file (VOC XML, LabelMe JSON, YOLO .txt) is too large, or ``None``."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        return None
    if size > MAX_ITEM_FILE_BYTES:
        return (
            f"{path}: {size / 2**20:.1f} MiB is above the {MAX_ITEM_FILE_BYTES / 2**20:.0f} MiB "
            "limit for one image's annotation file; not read (raise "
            "nblabel.formats.limits.MAX_ITEM_FILE_BYTES if you trust it)"
        )
    return None


def label_problem(label: object, what: str = "label") -> str | None:
    """Why ``label`` cannot be a class / keypoint / attribute name, or ``None`` when it can."""
    if isinstance(label, str) and len(label) > MAX_LABEL_CHARS:
        return (
            f"{what} of {len(label)} characters (starting {label[:40]!r}) is longer than "
            f"the limit of {MAX_LABEL_CHARS}"
        )
    return None


def keypoint_count_problem(count: int) -> str | None:
    """Why an object cannot have ``count`` keypoints, or ``None`` when it can."""
    if count > MAX_KEYPOINTS:
        return (
            f"{count} keypoints is above the limit of {MAX_KEYPOINTS} per object "
            "(nblabel.formats.limits.MAX_KEYPOINTS)"
        )
    return None


def mask_problem(height: int, width: int) -> str | None:
    """Why a ``height x width`` mask is not decoded, or ``None`` when it can be."""
    if height <= 0 or width <= 0:
        return f"mask size {height}x{width} has no pixels"
    if height * width > MAX_MASK_PIXELS:
        return (
            f"mask size {width}x{height} ({height * width / 1e6:.0f} Mpx) is above the limit "
            f"of {MAX_MASK_PIXELS / 1e6:.0f} Mpx (nblabel.formats.limits.MAX_MASK_PIXELS)"
        )
    return None
