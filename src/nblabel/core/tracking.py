"""The keys a video object carries besides the record's own, and which objects are keyframes.

On a video dataset each record may say which ``track`` (object across frames) it belongs to,
whether a person placed it there (``keyframe``), or whether it was filled in between
keyframes (``interpolated``) or copied forward (``propagated``). The tracking functions and
the video formats (COCO video, CVAT video, MOT) read and write the same keys.

Example:
    >>> placed_by_person({"source": "human"}), placed_by_person({"source": "human",
    ...                                                           "interpolated": True})
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping

from .sources import HUMAN

TRACK, KEYFRAME, INTERPOLATED, PROPAGATED = "track", "keyframe", "interpolated", "propagated"
TRACK_FIELDS = (TRACK, KEYFRAME, INTERPOLATED, PROPAGATED)


def placed_by_person(rec: Mapping) -> bool:
    """Whether a video format writes ``rec`` as a keyframe: marked ``keyframe``, or a
    person's object that was neither interpolated nor propagated."""
    return bool(rec.get(KEYFRAME)) or (
        not rec.get(INTERPOLATED) and not rec.get(PROPAGATED) and rec.get("source") == HUMAN
    )
