"""COCO for video: the COCO instances file with videos, frames and track ids.

The layout of TAO, YouTube-VIS and the COCO exports of CVAT and Datumaro for video tasks:

- ``videos``: ``[{"id", "name", "width", "height"}]``;
- each image has ``video_id`` and ``frame_id`` (its frame number, from 0);
- each annotation has ``track_id`` at the top and in ``attributes`` (where Datumaro puts
  it, with ``keyframe``), and ``instance_id`` as TAO names it;
- ``tracks``: ``[{"id", "category_id", "video_id"}]``.

The file is written by :func:`nblabel.formats.coco.write_coco` (so boxes, keypoints, scores
and category ids are exactly as a still-image export writes them) with these keys added.

Example:
    >>> from nblabel.tracks import video_rows
    >>> write_coco_video(video_rows(ds), ds.classes, "export/video.json")
    PosixPath('export/video.json')
    >>> classes, frames = read_coco_video("export/video.json")
    >>> classes, len(frames)
    (['person'], 60)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.sources import HUMAN
from ..core.tracking import TRACK_FIELDS, placed_by_person
from ._atomic import write_atomic
from ._common import FormatError, check_classes, prepare_rows
from .coco import write_coco

TRACK_KEYS = ("track_id", "instance_id")
# Record keys the COCO writer would copy as they are; here they have COCO video names.
_RENAMED = TRACK_FIELDS


def write_coco_video(
    rows: Iterable[dict],
    classes: Sequence[str],
    path: str | os.PathLike,
    *,
    video: str = "video",
    **options,
) -> Path:
    """Write a COCO video JSON file; ``options`` go to :func:`write_coco`.

    Args:
        rows: dicts with ``key``, ``image``, ``width``, ``height``, ``frame``, ``annotations``.
        classes: category names.
        path: the JSON file.
        video: the video's name in ``videos``.
    """
    classes = check_classes(classes)
    rows = prepare_rows(rows, classes, include_unlabeled=options.get("include_unlabeled", False))
    frame_of, tracks_of = {}, {}
    for row in rows:
        if row.get("frame") is None:
            raise ValueError(f"row {row['key']!r} has no 'frame': COCO video needs video rows")
        frame_of[str(row["key"])] = int(row["frame"])
        tracks_of[str(row["key"])] = row["annotations"]
    plain = [
        dict(row, annotations=[{k: v for k, v in a.items() if k not in _RENAMED} for a in anns])
        for row, anns in ((r, r["annotations"]) for r in rows)
    ]
    out = write_coco(plain, classes, path, **options)
    data = json.loads(Path(out).read_text(encoding="utf-8"))
    size = (rows[0]["width"], rows[0]["height"]) if rows else (0, 0)
    data["videos"] = [{"id": 1, "name": video, "width": size[0], "height": size[1]}]
    by_image: dict[int, list[dict]] = {}
    for ann in data["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    tracks: dict[int, int] = {}
    for image in data["images"]:
        key = str(image.get("nblabel_key"))
        image["video_id"] = 1
        image["frame_id"] = frame_of[key]
        for ann, rec in zip(by_image.get(image["id"], []), tracks_of[key]):
            attrs = ann.setdefault("attributes", {})
            attrs["keyframe"] = placed_by_person(rec)
            if rec.get("interpolated"):
                attrs["interpolated"] = True
            if rec.get("track") is not None:
                tid = int(rec["track"])
                ann["track_id"] = ann["instance_id"] = attrs["track_id"] = tid
                tracks.setdefault(tid, ann["category_id"])
    data["tracks"] = [{"id": t, "category_id": c, "video_id": 1} for t, c in sorted(tracks.items())]
    write_atomic(Path(out), json.dumps(data))
    return Path(out)


def read_coco_video(
    path: str | os.PathLike, video: str | int | None = None
) -> tuple[list[str], dict[int, list[dict]]]:
    """Read the objects of one video of a COCO video file, by frame.

    Args:
        path: the JSON file.
        video: the video's ``name`` or ``id`` (default: the only one; a file with several
            must say which).

    Returns:
        ``(classes, {frame: [records]})`` with ``track`` from ``track_id`` (or
        ``instance_id``, or ``attributes.track_id``), ``keyframe`` from
        ``attributes.keyframe`` (default true) and ``interpolated`` for the others. Frames
        are ``frame_id`` (or ``frame_index``), else the order of the video's images.

    Raises:
        FormatError: not JSON, no such video, or an annotation without a usable box.
    """
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FormatError(p, f"cannot read as JSON ({e})") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise FormatError(p, "not a COCO file: it needs 'images' and 'annotations'")
    videos = data.get("videos") or []
    if video is None:
        if len(videos) > 1:
            names = [v.get("name", v.get("id")) for v in videos]
            raise FormatError(p, f"holds {len(videos)} videos {names}; pass video=<name or id>")
        vid = videos[0]["id"] if videos else None
    else:
        match = [v for v in videos if video in (v.get("name"), v.get("id"))]
        if not match:
            raise FormatError(p, f"no video {video!r}; it has {[v.get('name') for v in videos]}")
        vid = match[0]["id"]
    cats = {c["id"]: c["name"] for c in data.get("categories", [])}
    images = [im for im in data["images"] if vid is None or im.get("video_id") == vid]
    frame_of = {}
    for n, im in enumerate(sorted(images, key=lambda im: im.get("frame_id", im["id"]))):
        frame_of[im["id"]] = int(im.get("frame_id", im.get("frame_index", n)))
    frames: dict[int, list[dict]] = {}
    used = set()
    for ann in data["annotations"]:
        if ann.get("image_id") not in frame_of:
            continue
        where = f"annotation {ann.get('id')}"
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            raise FormatError(p, f"{where}: 'bbox' must be [x, y, width, height]") from None
        label = cats.get(ann.get("category_id"))
        if label is None:
            raise FormatError(p, f"{where}: category_id {ann.get('category_id')!r} is not listed")
        used.add(label)
        attrs = ann.get("attributes") or {}
        tid = next((ann[k] for k in TRACK_KEYS if ann.get(k) is not None), attrs.get("track_id"))
        key = bool(attrs.get("keyframe", True))
        rec = {
            "label": label,
            "bbox": [x, y, x + w, y + h],
            "score": ann.get("score"),
            "source": ann.get("source") or (HUMAN if key else "coco"),
            "keyframe": key,
        }
        if tid is not None:
            rec["track"] = int(tid)
        if not key:
            rec["interpolated"] = True
        kp = ann.get("keypoints")
        if kp:
            rec["keypoints"] = [[kp[i], kp[i + 1], int(kp[i + 2])] for i in range(0, len(kp), 3)]
        frames.setdefault(frame_of[ann["image_id"]], []).append(rec)
    classes = [c for c in cats.values() if c in used] + [c for c in cats.values() if c not in used]
    return classes, dict(sorted(frames.items()))
