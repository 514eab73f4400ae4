"""CVAT for video 1.1: ``<track>`` elements with one shape per frame.

A track holds ``<box frame= xtl= ytl= xbr= ybr= outside= occluded= keyframe=>`` elements
(``<points>`` for keypoints, tied to the track of their box by ``group_id``, as CVAT's own
"CVAT for images" export ties a pose's box and points). ``outside="1"`` ends a track on that
frame; ``keyframe="1"`` marks what a person placed, the rest CVAT (or nblabel) interpolated.

nblabel writes every frame a track is on, so CVAT shows exactly the boxes nblabel had, and
marks keyframes and interpolated frames as they are. Reading gives each visible shape as a
record on its frame with ``track``, ``keyframe`` and ``interpolated``.

Example:
    >>> rows = [{"key": "a", "image": "f0.jpg", "width": 64, "height": 48, "frame": 0,
    ...          "annotations": [{"label": "car", "bbox": [1, 2, 11, 22], "track": 3,
    ...                           "keyframe": True}]}]
    >>> xml = cvat_video_xml(rows, ["car"])
    >>> '<box frame="0" outside="0" occluded="0" keyframe="1"' in xml
    True
"""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.sources import HUMAN
from ..core.tracking import placed_by_person
from ._atomic import write_atomic
from ._common import FormatError, check_classes, prepare_rows
from ._xml import parse_xml
from .cvat import _flag, _fmt_points, _num, _parse_points


def cvat_video_xml(rows: Iterable[dict], classes: Sequence[str]) -> str:
    """The XML text of a CVAT for video 1.1 file for ``rows`` (dicts with ``frame``)."""
    classes = check_classes(classes)
    rows = prepare_rows(rows, classes, include_unlabeled=False)
    per_track: dict[int, list[tuple[int, dict]]] = {}
    width = height = 0
    frames = []
    for row in rows:
        if row.get("frame") is None:
            raise ValueError(f"row {row['key']!r} has no 'frame': CVAT video needs video rows")
        f = int(row["frame"])
        frames.append(f)
        width, height = row["width"], row["height"]
        for rec in row["annotations"]:
            if rec.get("track") is not None:
                per_track.setdefault(int(rec["track"]), []).append((f, rec))
    frames.sort()
    nxt = {a: b for a, b in zip(frames, frames[1:])}

    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "size").text = str(len(frames))
    ET.SubElement(task, "mode").text = "interpolation"
    if frames:
        ET.SubElement(task, "start_frame").text = str(frames[0])
        ET.SubElement(task, "stop_frame").text = str(frames[-1])
    labels = ET.SubElement(task, "labels")
    for name in classes:
        ET.SubElement(ET.SubElement(labels, "label"), "name").text = name
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)

    track_id = 0
    for group, (tid, objs) in enumerate(sorted(per_track.items()), start=1):
        objs.sort(key=lambda o: o[0])
        has_points = any(rec.get("keypoints") for _, rec in objs)
        box_track = ET.SubElement(
            root, "track", id=str(track_id), label=objs[0][1]["label"], source="manual"
        )
        track_id += 1
        if has_points:
            box_track.set("group_id", str(group))
        ET.SubElement(box_track, "attribute", name="nblabel_track").text = str(tid)
        for i, (f, rec) in enumerate(objs):
            tag = "polygon" if rec.get("points") else "box"
            el = ET.SubElement(box_track, tag, _frame_attrs(f, rec))
            if tag == "polygon":
                el.set("points", _fmt_points(rec["points"]))
            else:
                for name, v in zip(("xtl", "ytl", "xbr", "ybr"), rec["bbox"]):
                    el.set(name, _num(v))
            el.set("z_order", "0")
            _end_if_gap(box_track, tag, f, objs, i, nxt, el)
        if has_points:
            pt_track = ET.SubElement(
                root,
                "track",
                id=str(track_id),
                label=objs[0][1]["label"],
                source="manual",
                group_id=str(group),
            )
            track_id += 1
            for i, (f, rec) in enumerate(objs):
                kps = rec.get("keypoints") or []
                if not kps:
                    continue
                el = ET.SubElement(pt_track, "points", _frame_attrs(f, rec))
                el.set("points", _fmt_points([p[:2] for p in kps]))
                el.set("z_order", "0")
                vis = "".join(str(int(p[2])) for p in kps)
                ET.SubElement(el, "attribute", name="visibility").text = vis
                _end_if_gap(pt_track, "points", f, objs, i, nxt, el)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _frame_attrs(f: int, rec: dict) -> dict:
    return {
        "frame": str(f),
        "outside": "0",
        "occluded": "1" if rec.get("occluded") else "0",
        "keyframe": "1" if placed_by_person(rec) else "0",
    }


def _end_if_gap(track: ET.Element, tag: str, f: int, objs, i: int, nxt: dict, last) -> None:
    """After a track's last frame, or before a gap, an ``outside`` copy on the next frame."""
    following = nxt.get(f)
    if following is None:
        return
    if i + 1 < len(objs) and objs[i + 1][0] == following:
        return
    el = ET.SubElement(track, tag, dict(last.attrib))
    el.set("frame", str(following))
    el.set("outside", "1")
    el.set("keyframe", "1")
    for child in last:
        el.append(child)


def write_cvat_video(rows: Iterable[dict], classes: Sequence[str], path: str | os.PathLike) -> Path:
    """Write a CVAT for video 1.1 XML file; returns its path.

    Example:
        >>> from nblabel.tracks import video_rows
        >>> write_cvat_video(video_rows(ds), ds.classes, "export/annotations.xml")
        PosixPath('export/annotations.xml')
    """
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, cvat_video_xml(rows, classes))
    return out


def read_cvat_video(path: str | os.PathLike) -> tuple[list[str], dict[int, list[dict]]]:
    """Read a CVAT for video 1.1 XML file.

    Returns:
        ``(classes, {frame: [records]})``: visible shapes (``outside="0"``) as records with
        ``track`` (the ``nblabel_track`` attribute when nblabel wrote it, else CVAT's id + 1),
        ``keyframe`` and ``interpolated``; a ``<points>`` track in the group of a box track
        becomes that box's ``keypoints``.

    Raises:
        FormatError: not CVAT XML, or a shape whose coordinates are not numbers.
    """
    p = Path(path).expanduser()
    root = parse_xml(p)
    if root.tag != "annotations":
        raise FormatError(p, f"root element is <{root.tag}>, not <annotations>; not CVAT XML")
    classes = [
        (lab.findtext("name") or "").strip()
        for lab in root.findall("meta/task/labels/label") + root.findall("meta/job/labels/label")
    ]
    classes = [c for c in dict.fromkeys(classes) if c]
    boxes: dict[tuple[int, int], dict] = {}  # (track, frame) -> record
    points: dict[tuple[str, int], list] = {}  # (group, frame) -> keypoints
    group_track: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for track in root.findall("track"):
        label = track.get("label") or "object"
        if label not in classes:
            classes.append(label)
        named = track.findtext("attribute[@name='nblabel_track']")
        try:
            tid = int(named) if named else int(track.get("id", "0")) + 1
        except ValueError:
            raise FormatError(
                p, f"<track id={track.get('id')!r}>: the id is not a number"
            ) from None
        group = track.get("group_id")
        for shape in track:
            if shape.tag == "attribute" or _flag(shape.get("outside")):
                continue
            if shape.tag not in ("box", "points", "polygon"):
                skipped[shape.tag] = skipped.get(shape.tag, 0) + 1
                continue
            where = f"<track id={track.get('id')}> <{shape.tag} frame={shape.get('frame')}>"
            try:
                f = int(shape.get("frame"))
                if shape.tag == "box":
                    bbox = [float(shape.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")]
                else:  # points, polygon
                    pts = _parse_points(shape.get("points"))
            except (TypeError, ValueError):
                raise FormatError(p, f"{where}: coordinates are not numbers") from None
            key = _flag(shape.get("keyframe"))
            if shape.tag in ("box", "polygon"):
                rec = {"label": label, "track": tid, "keyframe": key}
                if shape.tag == "box":
                    rec["bbox"] = bbox
                else:
                    rec.update(bbox=None, points=pts)
                if not key:
                    rec["interpolated"] = True
                rec["source"] = HUMAN if key else "cvat"
                if _flag(shape.get("occluded")):
                    rec["occluded"] = True
                boxes[(tid, f)] = rec
                if group:
                    group_track[group] = tid
            else:
                vis = shape.findtext("attribute[@name='visibility']") or ""
                kps = [
                    [x, y, int(vis[i]) if i < len(vis) and vis[i] in "012" else 2]
                    for i, (x, y) in enumerate(pts)
                ]
                points[(group or f"points-{tid}", f)] = (tid, label, key, kps)
    for (group, f), (tid, label, key, kps) in points.items():
        owner = group_track.get(group)
        if owner is not None and (owner, f) in boxes:
            boxes[(owner, f)]["keypoints"] = kps
        elif any(k[2] for k in kps):  # a track of points alone: its box is around them
            rec = {"label": label, "bbox": None, "keypoints": kps, "track": tid, "keyframe": key}
            if not key:
                rec["interpolated"] = True
            rec["source"] = HUMAN if key else "cvat"
            boxes[(tid, f)] = rec
    if skipped:
        what = ", ".join(f"{n} {tag}" for tag, n in sorted(skipped.items()))
        warnings.warn(
            f"{p}: skipped {what} shapes: nblabel tracks boxes, polygons and points",
            stacklevel=2,
        )
    frames: dict[int, list[dict]] = {}
    for (_, f), rec in sorted(boxes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        frames.setdefault(f, []).append(rec)
    return classes, frames
