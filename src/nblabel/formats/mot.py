"""MOT Challenge ground truth: ``gt/gt.txt`` and ``gt/labels.txt``, as CVAT's "MOT 1.1" and
Datumaro's ``mot_seq`` write them.

One line per object per frame::

    <frame>,<track id>,<left>,<top>,<width>,<height>,<active>,<class>,<visibility>

``frame`` counts from 1 (the video's first frame is 1; nblabel's ``frame`` column counts from
0), ``active`` is 1 for an object that counts and 0 for one to ignore (such lines are skipped
on reading), ``class`` is the 1-based line of ``labels.txt``. Only tracked objects (with a
``track`` id, see :mod:`nblabel.tracks`) are written: MOT has no place for an object without
one.

Example:
    >>> rows = [{"key": "a", "image": "f0.jpg", "width": 64, "height": 48, "frame": 0,
    ...          "annotations": [{"label": "car", "bbox": [1, 2, 11, 22], "track": 3}]}]
    >>> print(mot_lines(rows, ["car"]))
    1,3,1.00,2.00,10.00,20.00,1,1,1.0
    >>> read_mot_lines("1,3,1,2,10,20,1,1,1.0", ["car"])[1][0]  # frame 1 is frame 0
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'label': 'car', 'bbox': [1.0, 2.0, 11.0, 22.0], 'track': 3, 'source': 'human',
      'keyframe': True}]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.sources import HUMAN
from ._atomic import write_atomic
from ._common import FormatError, check_classes, prepare_rows

GT_FILE = "gt.txt"
LABELS_FILE = "labels.txt"


def mot_lines(rows: Iterable[dict], classes: Sequence[str]) -> str:
    """The ``gt.txt`` text of ``rows`` (dicts with ``frame`` and ``annotations``)."""
    classes = check_classes(classes)
    lines = []
    for row in prepare_rows(rows, classes, include_unlabeled=False):
        if row.get("frame") is None:
            raise ValueError(f"row {row['key']!r} has no 'frame': MOT needs video rows")
        f = int(row["frame"]) + 1
        for rec in row["annotations"]:
            if rec.get("track") is None:
                continue
            x1, y1, x2, y2 = rec["bbox"]
            cls = classes.index(rec["label"]) + 1
            lines.append(
                (f, int(rec["track"]), f"{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f}", cls)
            )
    lines.sort(key=lambda line: (line[1], line[0]))  # by track, then frame, as MOT files are
    return "\n".join(f"{f},{t},{box},1,{c},1.0" for f, t, box, c in lines)


def write_mot(rows: Iterable[dict], classes: Sequence[str], out_dir: str | os.PathLike) -> Path:
    """Write ``<out_dir>/gt/gt.txt`` and ``<out_dir>/gt/labels.txt``; returns the gt.txt path.

    Example:
        >>> from nblabel.tracks import video_rows
        >>> write_mot(video_rows(ds), ds.classes, "export/mot")
        PosixPath('export/mot/gt/gt.txt')
    """
    classes = check_classes(classes)
    gt = Path(out_dir).expanduser() / "gt"
    gt.mkdir(parents=True, exist_ok=True)
    text = mot_lines(rows, classes)
    write_atomic(gt / LABELS_FILE, "\n".join(classes) + "\n")
    write_atomic(gt / GT_FILE, text + "\n" if text else "")
    return gt / GT_FILE


def read_mot(
    path: str | os.PathLike, classes: Sequence[str] | None = None
) -> tuple[list[str], dict[int, list[dict]]]:
    """Read a MOT ``gt.txt`` (or the folder holding ``gt/gt.txt``).

    Class names come from ``labels.txt`` next to the file, else from ``classes`` (1-based),
    else ``"object"`` for every line (files with ``-1`` as class are detections of one kind).

    Returns:
        ``(classes, {frame: [records]})`` with frames counted from 0 and every record a
        keyframe of its ``track`` (a ground-truth file lists what a person placed).

    Raises:
        FormatError: a missing file, or a line that is not MOT; the message names the line.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "gt" / GT_FILE if (p / "gt" / GT_FILE).is_file() else p / GT_FILE
    if not p.is_file():
        raise FormatError(p, "no MOT gt.txt here (give the file or the folder holding gt/)")
    names = list(classes) if classes else None
    labels = p.with_name(LABELS_FILE)
    if labels.is_file():
        names = [n.strip() for n in labels.read_text(encoding="utf-8").splitlines() if n.strip()]
    try:
        return read_mot_lines(p.read_text(encoding="utf-8"), names)
    except ValueError as e:
        raise FormatError(p, str(e)) from None


def read_mot_lines(
    text: str, classes: Sequence[str] | None = None
) -> tuple[list[str], dict[int, list[dict]]]:
    """Parse ``gt.txt`` text; see :func:`read_mot`."""
    found: list[str] = []
    frames: dict[int, list[dict]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = [v.strip() for v in line.replace(" ", ",").split(",") if v.strip()]
        try:
            f, tid = int(float(parts[0])), int(float(parts[1]))
            x, y, w, h = (float(v) for v in parts[2:6])
            active = float(parts[6]) if len(parts) > 6 else 1.0
            cls = int(float(parts[7])) if len(parts) > 7 else -1
        except (IndexError, ValueError):
            raise ValueError(
                f"line {n} is not '<frame>,<id>,<left>,<top>,<width>,<height>,...': {line[:80]!r}"
            ) from None
        if active == 0:
            continue  # MOT's "ignore this object"
        if f < 1 or tid < 0:
            raise ValueError(f"line {n}: frames count from 1 and ids are not negative: {line!r}")
        if classes and 1 <= cls <= len(classes):
            label = classes[cls - 1]
        elif cls > 0 and classes:
            raise ValueError(f"line {n}: class {cls} but labels.txt names {len(classes)} classes")
        else:
            label = "object"
        if label not in found:
            found.append(label)
        rec = {
            "label": label,
            "bbox": [x, y, x + w, y + h],
            "track": tid,
            "source": HUMAN,
            "keyframe": True,
        }
        frames.setdefault(f - 1, []).append(rec)
    ordered = [c for c in classes or [] if c in found] + [
        c for c in found if c not in (classes or [])
    ]
    return ordered, dict(sorted(frames.items()))
