"""Named keypoint skeletons (their one definition is :mod:`nblabel.core.skeletons`).

Kept here so that ``from nblabel.models.keypoints import COCO17, get_skeleton`` goes on
working.

Example:
    >>> get_skeleton("body") is COCO17
    True
"""

from __future__ import annotations

from ..core.skeletons import (
    COCO17,
    FACE5,
    HAND21,
    SKELETONS,
    Skeleton,
    get_skeleton,
    skeleton_for,
)

__all__ = ["COCO17", "FACE5", "HAND21", "SKELETONS", "Skeleton", "get_skeleton", "skeleton_for"]
