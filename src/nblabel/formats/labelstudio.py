"""Label Studio JSON tasks: import files for a project, and its JSON exports.

A task is ``{"data": {"image": ...}, "annotations": [...], "predictions": [...]}``; each
annotation / prediction has a ``result`` list of regions in *percent* of the image size:

- ``rectanglelabels``: ``value = {x, y, width, height, rotation, rectanglelabels: [label]}``
- ``polygonlabels``: ``value = {points: [[x, y], ...], polygonlabels: [label]}``
- ``keypointlabels``: ``value = {x, y, width, keypointlabels: [keypoint name]}``, one region
  per point, tied to its object's box by ``parentID`` (Label Studio's own convention).
- ``ellipselabels``: ``value = {x, y, radiusX, radiusY, rotation, ellipselabels: [label]}``,
  the centre and radii: a polygon through the ellipse with the ellipse kept beside it, the
  rule CVAT ellipses and LabelMe circles follow (:func:`._pieces.ellipse_record`).

Verified images are written as ``annotations`` (ground truth); model output as one
``predictions`` entry with ``model_version`` and ``score`` (the least confident object), so
Label Studio can sort tasks by confidence. Each region keeps its own ``score``; the record's
source and extra keys ride along in an ``nblabel`` field that Label Studio ignores.
:func:`label_config` writes the matching labeling interface.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlparse

from ..core.sources import HUMAN
from ..records import AnnotationError, normalize_record
from . import limits
from ._atomic import write_atomic
from ._common import (
    COCO17_KEYPOINTS,
    FormatError,
    check_classes,
    extras,
    find_image,
    json_safe,
    json_text,
    keypoint_index,
    make_record,
    natural_key,
    point_box,
    prepare_rows,
    real_size,
)
from ._common import keypoint_names as _keypoint_names
from ._masks import (
    brush_mask,
    brush_rle,
    decode_counts,
    exact_mask,
    mask_record,
    one_outline,
    rle_mask,
)
from ._pieces import ellipse_record, exact_ellipse
from .limits import check_file_size, label_problem

# label_config()'s tags
RECT, POLY, KP, BRUSH, ELLIPSE = "label", "polygon", "keypoint", "brush", "ellipse"
_GEOMETRY = {
    "ellipselabels": "ellipse",
    "ellipse": "ellipse",
    "rectanglelabels": "rect",
    "rectangle": "rect",
    "polygonlabels": "poly",
    "polygon": "poly",
    "keypointlabels": "kp",
    "keypoint": "kp",
    "brushlabels": "brush",
    "brush": "brush",
}
# Row columns a read keeps for the export: the task id, what the winning annotation says
# besides its regions (who made it, when), and the annotations that did not win
ROW_COLUMNS = ("labelstudio_id", "labelstudio_entry", "labelstudio_others")
# What Label Studio stores per annotation / prediction besides its regions, kept through a
# round trip. created_at is written only where every entry of the task has one: Label
# Studio's converter sorts a task's annotations by it and fails when only some have one.
_ENTRY_KEYS = (
    "id",
    "completed_by",
    "model_version",
    "ground_truth",
    "created_at",
    "updated_at",
    "updated_by",
    "lead_time",
    "unique_id",
)
_SORT_KEY = "created_at"
_LABEL_KEYS = (
    "rectanglelabels",
    "polygonlabels",
    "keypointlabels",
    "brushlabels",
    "ellipselabels",
    "labels",
)


# -- reading -------------------------------------------------------------------------------------


def read_labelstudio(
    json_path: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    keypoint_names: Sequence[str] | None = None,
    allow_outside: bool = False,
    annotation: str | int = "latest",
) -> tuple[list[str], list[dict]]:
    """Read Label Studio tasks (an export in "JSON" format, or an import file).

    For each task one annotation that was not cancelled gives the row's objects (source
    ``"human"``); a task without one uses its latest prediction (source = ``model_version``,
    scores kept). Every other annotation and prediction is kept too, in the item's
    ``labelstudio_others`` (``[{"kind", "id", "completed_by", "annotations": [...]}]``), what
    the winner says besides its regions (``id``, ``completed_by``, ``created_at``,
    ``lead_time``, ``ground_truth`` ...) in ``labelstudio_entry``, and the task id in
    ``labelstudio_id``, so :func:`write_labelstudio` writes them back.
    Rotated boxes keep their ``rotation`` (degrees clockwise about the box centre, as in
    CVAT) with ``bbox`` the box before rotation; a keypoint without a ``parentID`` is a point
    set of its own class; a brush mask is kept pixel for pixel as the record's ``mask``.

    Args:
        json_path: the JSON file (a list of tasks, or one task).
        images_dir: where the images are. ``data.image`` may be a local-files URL
            (``/data/local-files/?d=...``), an upload (``/data/upload/1/ab12cd34-x.jpg``, whose
            random prefix is dropped), a web URL or a path; it is looked up under
            ``images_dir`` by its relative path, then by its file name. Without it, paths are
            taken as they are or relative to the JSON file.
        keypoint_names: the keypoint order (``KeyPointLabels`` values). Default: COCO's 17
            when all names are COCO's, ``kpN`` names by number, else order of appearance.
        allow_outside: follow image references that lead out of ``images_dir`` (without
            it: out of the JSON file's folder), e.g. absolute paths or ``../`` names. Off by
            default, so a file from elsewhere cannot pull other files into a dataset and its
            exports; such a row gets an issue instead.
        annotation: which annotation wins: ``"latest"`` (default), ``"first"``,
            ``"ground_truth"`` (the one marked so, else the latest), or an annotator's user
            id (``completed_by``; the latest when that person did not annotate the task).

    Returns:
        ``(classes, items)``: classes sorted by name; one item per task.

    Raises:
        FormatError: not JSON (with the line), or a task without ``data`` / an image.

    Example:
        >>> _ = write_labelstudio(rows, ["raccoon"], "project.json")  # or Label Studio's export
        >>> classes, items = read_labelstudio("project.json", "raccoon/images")
        >>> classes, [len(item["annotations"]) for item in items]
        (['raccoon'], [1, 1, 1])
    """
    path = Path(json_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    check_file_size(path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            tasks = json.load(f)
    except json.JSONDecodeError as e:
        raise FormatError(path, f"not valid JSON: {e.msg} (column {e.colno})", e.lineno) from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise FormatError(path, "expected a list of Label Studio tasks")
    images = Path(images_dir).expanduser() if images_dir is not None else None
    if images is not None and not images.is_dir():
        raise FileNotFoundError(f"{images}: images folder not found")

    if not (annotation in ("latest", "first", "ground_truth") or isinstance(annotation, int)):
        raise ValueError(
            f"annotation must be 'latest', 'first', 'ground_truth' or an annotator id, "
            f"got {annotation!r}"
        )
    chosen = [_choose(path, n, t, annotation) for n, t in enumerate(tasks)]
    names = _keypoint_order(chosen, keypoint_names)
    allowed = None if allow_outside else [images if images is not None else path.parent]
    classes: set[str] = set()
    items = []
    for n, (task, results, origin, pick) in enumerate(chosen):
        item = _read_task(path, n, task, results, origin, pick, images, names, allowed)
        if origin is None and not results and _submitted(task):
            item["negative"] = True  # a submitted annotation with no regions: "nothing here"
        classes.update(r["label"] for r in item["annotations"])
        for other in item.get("labelstudio_others", []):
            classes.update(r["label"] for r in other["annotations"])
        items.append(item)
    return sorted(classes, key=natural_key), items


def _submitted(task: dict) -> bool:
    return any(
        isinstance(a, dict) and not a.get("was_cancelled")
        for a in task.get("annotations") or task.get("completions") or []
    )


def _choose(path: Path, n: int, task, which) -> tuple[dict, list, dict | None, dict | None]:
    """``(task, result list, prediction or None, the entry chosen)`` for one task."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise FormatError(path, f"task #{n} has no 'data' object; is this a Label Studio file?")
    done = [
        a
        for a in task.get("annotations") or task.get("completions") or []
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if done:
        pick = done[-1]
        if which == "first":
            pick = done[0]
        elif which == "ground_truth":
            pick = next((a for a in reversed(done) if a.get("ground_truth")), done[-1])
        elif isinstance(which, int):
            pick = next((a for a in reversed(done) if _annotator(a) == which), done[-1])
        return task, list(pick.get("result") or []), None, pick
    preds = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    if preds:
        return task, list(preds[-1].get("result") or []), preds[-1], preds[-1]
    return task, [], None, None


def _annotator(annotation: dict):
    who = annotation.get("completed_by")
    return who.get("id") if isinstance(who, dict) else who


def _others(task: dict, chosen: dict | None):
    """Every annotation and prediction of ``task`` besides ``chosen``, with its kind."""
    for a in task.get("annotations") or task.get("completions") or []:
        if isinstance(a, dict) and a is not chosen and not a.get("was_cancelled"):
            yield a, None
    for p in task.get("predictions") or []:
        if isinstance(p, dict) and p is not chosen:
            yield p, "prediction"


def _keypoint_order(chosen, given: Sequence[str] | None) -> list[str] | None:
    if given is not None:
        return [str(n) for n in given]
    # A name can ask for any slot ("kp30000000"): only names within the limits count, the
    # others are left out with an issue where they are used (_read_task).
    seen: dict[str, None] = {}
    for _, results, _, _ in chosen:
        for r in results:
            # a keypoint without a parent is an object of its own class, not a body point
            if isinstance(r, dict) and _GEOMETRY.get(r.get("type")) == "kp" and r.get("parentID"):
                for name in _labels_of(r):
                    if len(seen) >= limits.MAX_KEYPOINTS or label_problem(name):
                        continue
                    idx = keypoint_index(name, None)
                    if idx is None or idx < limits.MAX_KEYPOINTS:
                        seen.setdefault(name)
    if not seen:
        return None
    if all(keypoint_index(s, None) is not None for s in seen):
        if all(s in COCO17_KEYPOINTS for s in seen):
            return list(COCO17_KEYPOINTS)
        top = max(keypoint_index(s, None) for s in seen)
        return [f"kp{i}" for i in range(top + 1)]
    return list(seen)


def _labels_of(result: dict) -> list[str]:
    value = result.get("value") if isinstance(result.get("value"), dict) else {}
    for k in _LABEL_KEYS:
        if isinstance(value.get(k), list) and value[k]:
            return [str(v) for v in value[k]]
    return []


def _image_value(data: dict) -> str | None:
    if isinstance(data.get("image"), str):
        return data["image"]
    for v in data.values():
        if isinstance(v, str) and Path(urlparse(v).path).suffix.lower() in (
            ".jpg",
            ".jpeg",
            ".png",
            ".bmp",
            ".webp",
            ".tif",
            ".tiff",
            ".gif",
        ):
            return v
    return None


def _unquote(text: str) -> str:
    # percent escapes are bytes; a name that is not UTF-8 comes back as the same file name
    return os.fsdecode(unquote_to_bytes(text))


def _image_candidates(value: str, base: Path, images: Path | None):
    url = urlparse(value)
    rel = None
    query = parse_qs(url.query, encoding="latin-1")  # keeps every byte for _unquote
    if "d" in query:  # local-files storage: ?d=<path under the document root>
        rel = _unquote(quote(query["d"][0], safe="/", encoding="latin-1"))
    elif url.scheme in ("http", "https", "s3", "gs", "azure-blob"):
        rel = _unquote(url.path).lstrip("/")
    else:
        rel = _unquote(value)
    name = Path(rel).name
    upload = re.sub(r"^[0-9a-f]{8}-", "", name)  # Label Studio prefixes uploads with a hash
    if images is not None:
        yield images / rel
        yield images / name
        yield images / upload
        return
    p = Path(rel)
    yield p if p.is_absolute() else base / p
    if not p.is_absolute():
        yield Path("/" + rel)  # local-files URLs drop the leading slash of absolute paths
    yield base / name
    yield base / upload


def _read_task(path, n, task, results, origin, pick, images, names, allowed) -> dict:
    issues: list[str] = []
    data = task["data"]
    value = _image_value(data)
    if value is None:
        raise FormatError(path, f"task #{n} has no image in 'data' (keys: {list(data)})")
    image = find_image(_image_candidates(value, path.parent, images), allowed, issues, f"task #{n}")
    declared = (None, None)
    for r in results:
        if isinstance(r, dict) and r.get("original_width"):
            declared = (r.get("original_width"), r.get("original_height"))
            break
    w, h = real_size(image, declared, f"task #{n} original_width/height", issues)
    key = data.get("nblabel_key", Path(str(image)).stem)
    item = {
        "image": str(image),
        "width": w,
        "height": h,
        "annotations": [],
        "issues": issues,
        "key": key,
    }
    if not (w and h) and results:
        issues.append(f"task #{n}: regions not read because the image size is unknown")
        return item
    item["annotations"] = _task_records(n, results, origin, w, h, names, issues)
    if isinstance(task.get("id"), int) and not isinstance(task.get("id"), bool):
        item["labelstudio_id"] = task["id"]
    said = _entry_meta(pick) if pick is not None else {}
    if said:
        # the winner's id, annotator and times, written back while its objects are unchanged
        kind = "prediction" if origin is not None else "annotation"
        item["labelstudio_entry"] = json_safe(
            {"kind": kind, **said, "objects": records_tag(item["annotations"])}
        )
    others = []
    for entry, kind in _others(task, pick):
        recs = _task_records(n, list(entry.get("result") or []), entry if kind else None, w, h,
                             names, issues)  # fmt: skip
        other = {"kind": kind or "annotation", "annotations": recs, **_entry_meta(entry)}
        others.append(json_safe(other))
    if others:
        item["labelstudio_others"] = others  # every other annotation / prediction, kept
    return item


def _entry_meta(entry: dict) -> dict:
    """What an annotation / prediction says besides its regions (:data:`_ENTRY_KEYS`)."""
    return {k: entry[k] for k in _ENTRY_KEYS if entry.get(k) is not None}


def records_tag(records: Sequence[dict]) -> str:
    """Short fingerprint of a list of records' objects (label and geometry, 3 decimals), to
    tell whether they were edited since the import."""
    parts = []
    for r in records:
        geometry = [r.get("bbox") or [], r.get("points") or [], r.get("keypoints") or []]
        nums = ",".join(f"{float(v):.3f}" for g in geometry for p in g for v in _flat(p))
        parts.append(f"{r.get('label')}|{float(r.get('rotation') or 0.0):.3f}|{nums}")
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def _flat(value):
    return value if isinstance(value, (list, tuple)) else [value]


def _task_records(n, results, origin, w, h, names, issues) -> list[dict]:
    """Records of one annotation's (or prediction's) ``result`` list."""
    regions: dict[str, dict] = {}  # geometry and labels may come as separate results per id
    keypoints: list[dict] = []
    for j, r in enumerate(results):
        if not isinstance(r, dict):
            continue
        kind = _GEOMETRY.get(r.get("type"))
        rid = str(r.get("id", f"#{j}"))
        if kind == "kp":
            keypoints.append(r)
        elif kind is not None:
            reg = regions.setdefault(rid, {})
            reg.update(result=r, kind=kind)
            reg.setdefault("labels", _labels_of(r))
        elif r.get("type") == "labels":
            regions.setdefault(rid, {})["labels"] = _labels_of(r)
        elif r.get("type") != "relation":
            issues.append(
                f"task #{n} region {rid}: type {r.get('type')!r} is not read by "
                "nblabel (boxes, polygons, ellipses, brush masks and keypoints are); ignored"
            )

    default_source = HUMAN if origin is None else str(origin.get("model_version") or "model")
    records: dict[str, dict] = {}
    for rid, reg in regions.items():
        where = f"task #{n} region {rid}"
        if "result" not in reg:
            continue  # a label without geometry (e.g. a per-region choice)
        raw = _region_record(reg, w, h, where, issues)
        if raw is None:
            continue
        _score_source(raw, reg["result"], origin, default_source)
        records[rid] = raw

    for kp in keypoints:
        parent = kp.get("parentID")
        label = (_labels_of(kp) or ["?"])[0]
        where = f"task #{n} keypoint {label!r}"
        if parent not in records:
            v = kp.get("value") or {}
            try:  # a keypoint on its own is an object: a point set labelled with its class
                x, y = float(v["x"]) * w / 100.0, float(v["y"]) * h / 100.0
            except (KeyError, TypeError, ValueError):
                issues.append(f"{where}: value has no numeric x/y; left out")
                continue
            rid = str(kp.get("id", f"kp{len(records)}"))
            records[rid] = {"label": label, "keypoints": [[x, y, 2]], "shape": "points",
                            "bbox": point_box([[x, y]], w, h)}  # fmt: skip
            _score_source(records[rid], kp, origin, default_source)
            continue
        idx = keypoint_index(label, names)
        if idx is None or idx >= limits.MAX_KEYPOINTS:
            shown = f"{len(names)} names" if names and len(names) > 20 else names
            issues.append(
                f"{where}: not one of the keypoints ({shown}; at most "
                f"{limits.MAX_KEYPOINTS}, nblabel.formats.limits.MAX_KEYPOINTS); left out"
            )
            continue
        v = kp.get("value") or {}
        try:
            x, y = float(v["x"]) * w / 100.0, float(v["y"]) * h / 100.0
        except (KeyError, TypeError, ValueError):
            issues.append(f"{where}: value has no numeric x/y; left out")
            continue
        rec = records[parent]
        slots = rec.setdefault("keypoints", [[0.0, 0.0, 0] for _ in range(len(names or []))])
        while len(slots) <= idx:
            slots.append([0.0, 0.0, 0])
        vis = (kp.get("nblabel") or {}).get("v", 2) if isinstance(kp.get("nblabel"), dict) else 2
        slots[idx] = [x, y, vis]

    out = []
    for rid, raw in records.items():
        rec = make_record(raw, w, h, f"task #{n} region {rid} ({raw['label']})", issues)
        if rec is not None:
            out.append(rec)
    return out


def _region_record(reg: dict, w: int, h: int, where: str, issues: list[str]) -> dict | None:
    labels = reg.get("labels") or []
    if not labels:
        issues.append(f"{where}: region has no label; left out")
        return None
    if len(labels) > 1:
        issues.append(f"{where}: region has labels {labels}; kept the first")
    v = reg["result"].get("value") or {}
    if reg["kind"] == "brush":
        # kept exactly, as a COCO RLE of the same pixels (see _masks), outlined for display
        if v.get("format", "rle") != "rle" or not isinstance(v.get("rle"), list):
            issues.append(f"{where}: brush mask not in Label Studio's 'rle' format; left out")
            return None
        try:
            rec = mask_record(brush_mask(v["rle"], h, w))
        except ValueError as e:
            issues.append(f"{where}: {e}; brush mask left out")
            return None
        if rec is None:
            issues.append(f"{where}: brush mask is empty; left out")
            return None
        return {"label": labels[0], **rec}
    try:
        if reg["kind"] == "poly":
            pts = [[float(p[0]) * w / 100.0, float(p[1]) * h / 100.0] for p in v["points"]]
            return {"label": labels[0], "points": pts}
        if reg["kind"] == "ellipse":
            # the centre (x, y) and radii in percent of the image's width / height, turned
            # clockwise about the centre: the rule CVAT ellipses and LabelMe circles follow
            cx, cy = float(v["x"]) * w / 100.0, float(v["y"]) * h / 100.0
            rx, ry = float(v["radiusX"]) * w / 100.0, float(v["radiusY"]) * h / 100.0
            return {"label": labels[0], **ellipse_record(cx, cy, rx, ry, v.get("rotation") or 0)}
        x, y = float(v["x"]) * w / 100.0, float(v["y"]) * h / 100.0
        bw, bh = float(v["width"]) * w / 100.0, float(v["height"]) * h / 100.0
    except (KeyError, TypeError, ValueError, IndexError):
        issues.append(f"{where}: value {v!r} lacks numeric coordinates; left out")
        return None
    angle = float(v.get("rotation") or 0.0)
    if angle % 360:
        # Label Studio turns a box about its top-left corner (x, y); records, like CVAT, keep
        # the box before rotation and turn it about its centre, which is the same shape
        cx, cy = _rotate(x, y, bw / 2, bh / 2, angle)
        return {
            "label": labels[0],
            "bbox": [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2],
            "rotation": angle % 360,
        }
    return {"label": labels[0], "bbox": [x, y, x + bw, y + bh]}


def _rotate(x: float, y: float, dx: float, dy: float, angle: float) -> tuple[float, float]:
    """``(x, y) + (dx, dy)`` turned clockwise by ``angle`` degrees (image y points down)."""
    a = math.radians(angle)
    return x + dx * math.cos(a) - dy * math.sin(a), y + dx * math.sin(a) + dy * math.cos(a)


def _score_source(raw: dict, result: dict, origin: dict | None, default_source: str) -> None:
    score = result.get("score")
    if score is None and origin is not None:
        score = origin.get("score")
    if score is not None:
        raw["score"] = score
    meta = result.get("nblabel") if isinstance(result.get("nblabel"), dict) else {}
    raw["source"] = str(meta.get("source") or default_source)
    for k, val in meta.items():
        if k not in ("source", "label", "bbox", "points", "keypoints", "score"):
            raw[k] = val


# -- writing -------------------------------------------------------------------------------------


def write_labelstudio(
    rows: Iterable[dict],
    classes: Sequence[str],
    path: str | os.PathLike,
    image_root: str | os.PathLike | None = None,
    *,
    url_prefix: str = "/data/local-files/?d=",
    keypoint_names: Sequence[str] | None = None,
) -> Path:
    """Write a Label Studio import file (a JSON list of tasks).

    Rows with status ``verified`` (or, without a status, objects by ``"human"``) become an
    ``annotation``; other rows with objects become one ``prediction`` whose ``model_version``
    is the most common source and whose ``score`` is the least confident object's. Unlabeled
    rows are written as tasks without results, ready to be labeled in Label Studio. Every
    task has an ``id`` (the imported one, from ``labelstudio_id``, else the next free
    number), as Label Studio's converter needs; the annotations and predictions an import
    kept in ``labelstudio_others`` are written before the row's own, which comes last. The
    row's own keeps the imported winner's ``id``, ``completed_by``, times and flags
    (``labelstudio_entry``) while its objects are the ones imported; objects edited or made
    in nblabel are written as a new annotation without them.
    Rotated boxes (a record's ``rotation``) are written with Label Studio's ``rotation``,
    objects with a mask as brush masks of the same pixels (``label_config(..., masks=True)``),
    ellipses not redrawn as ellipses (``label_config(..., ellipses=True)``),
    objects of several parts as one polygon through all of them.

    Args:
        rows: dicts with ``key``, ``image``, ``width``, ``height``, ``annotations`` (and
            ``status`` when known).
        classes: class names (Label Studio matches regions to labels by name).
        path: the JSON file to write.
        image_root: the folder Label Studio serves local files from (its
            ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``); images are then referenced as
            ``url_prefix + <path under image_root>``. Without it, ``data.image`` is the
            absolute path, which :func:`read_labelstudio` reads back but Label Studio cannot
            serve.
        url_prefix: what goes before the relative path (a web server's URL works too).
        keypoint_names: ``KeyPointLabels`` values in keypoint order (default: COCO's 17 for
            17 points, else ``kp0..``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`. Create the project with :func:`label_config`.

    Example:
        >>> photos = Path(rows[0]["image"]).resolve().parent  # the folder Label Studio serves
        >>> write_labelstudio(rows, ["raccoon"], "tasks.json", image_root=photos)
        PosixPath('tasks.json')
    """
    classes = check_classes(classes)
    prepared = prepare_rows(_readable(rows), classes)
    root = Path(image_root).expanduser().resolve() if image_root is not None else None
    tasks = []
    ids: set[int] = set()
    for n, row in enumerate(prepared):
        image = Path(row["image"]).resolve()
        if root is not None:
            try:
                rel = image.relative_to(root).as_posix()
            except ValueError:
                raise ValueError(
                    f"row {row['key']!r}: image {image} is not under image_root "
                    f"{root}; Label Studio can only serve files below it"
                ) from None
            ref = url_prefix + quote(os.fsencode(rel))  # bytes: names need not be UTF-8
        else:
            ref = image.as_posix()
        # Label Studio's converter needs task ids; an imported task keeps its own
        tid = row.get("labelstudio_id")
        if not isinstance(tid, int) or isinstance(tid, bool) or tid in ids:
            tid = max(ids, default=0) + 1
        ids.add(tid)
        task = {"id": tid, "data": {"image": ref, "nblabel_key": json_safe(row["key"])}}
        for m, other in enumerate(row.get("labelstudio_others") or []):
            entry = _other_entry(other, f"n{n}o{m}", row, classes, keypoint_names)
            if entry is not None:
                group = "predictions" if other.get("kind") == "prediction" else "annotations"
                task.setdefault(group, []).append(entry)
        records = row["annotations"]
        if not records and row.get("status") == "verified":
            nothing = {**_winner_meta(row, "annotation"), "result": []}  # "nothing here"
            task.setdefault("annotations", []).append(nothing)
        if records:
            result = []
            for j, rec in enumerate(records):
                result += _regions(rec, f"n{n}r{j}", row["width"], row["height"], keypoint_names)
            status = row.get("status")
            human = all((r.get("source") or HUMAN) == HUMAN for r in records)
            if status == "verified" or (status is None and human):
                # last, so that reading it back ("latest") picks the same annotation
                entry = {**_winner_meta(row, "annotation"), "result": result}
                task.setdefault("annotations", []).append(entry)
            else:
                sources = [r.get("source") or HUMAN for r in records]
                scores = [r["score"] for r in records if r.get("score") is not None]
                pred = {"model_version": max(set(sources), key=sources.count), "result": result}
                pred = {**_winner_meta(row, "prediction"), **pred}
                if scores:
                    pred["score"] = min(scores)
                task.setdefault("predictions", []).append(pred)
        _sortable(task.get("annotations") or [])
        tasks.append(task)
    out = Path(path).expanduser()
    write_atomic(out, json_text(tasks, indent=1))
    return out


def _winner_meta(row: dict, kind: str) -> dict:
    """The imported winner's own keys (id, annotator, times) for the entry written from the
    row's objects, while they are the ones imported: objects edited or made in nblabel are
    a new annotation, which Label Studio numbers itself."""
    said = row.get("labelstudio_entry")
    if not isinstance(said, dict) or said.get("kind") != kind:
        return {}
    if said.get("objects") != records_tag(row["annotations"]):
        return {}
    return {k: said[k] for k in _ENTRY_KEYS if said.get(k) is not None}


def _sortable(entries: list[dict]) -> None:
    """Keep ``created_at`` only where every annotation of the task has one (see
    :data:`_ENTRY_KEYS`)."""
    if not all(_SORT_KEY in e for e in entries):
        for e in entries:
            e.pop(_SORT_KEY, None)


def _readable(rows: Iterable[dict]) -> list[dict]:
    """The rows whose image could be read; the others are left out with one warning.

    An image that could not be read has no size (``width``/``height`` 0), and every region
    of a task is placed in proportion to the size; such a row holds no objects anyway (none
    can be drawn on it), so one bad file must not stop the rest of the export.
    """
    import warnings

    kept, left_out = [], []
    for i, row in enumerate(rows):
        sized = _size_known(row.get("width")) and _size_known(row.get("height"))
        if sized or row.get("annotations") or row.get("labelstudio_others"):
            # objects without a size are an error that names the row (prepare_rows)
            kept.append(row)
        else:
            left_out.append(f"{row.get('key', i)!r} ({os.fsdecode(row.get('image') or '?')})")
    if left_out:
        shown = ", ".join(left_out[:5]) + (
            f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""
        )
        warnings.warn(
            f"Label Studio export: left out {len(left_out)} row(s) whose image could not be "
            f"read (no image size): {shown}; see ds.df['issues'], fix or replace the file "
            "and export again",
            stacklevel=3,
        )
    return kept


def _size_known(value) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _other_entry(other, rid: str, row: dict, classes, kp_names) -> dict | None:
    """An annotation / prediction kept from the import (``labelstudio_others``), as written."""
    if not isinstance(other, dict):
        return None
    result = []
    for j, rec in enumerate(other.get("annotations") or []):
        try:
            rec = normalize_record(rec, width=row["width"], height=row["height"], classes=classes)
        except AnnotationError as e:
            raise ValueError(f"row {row['key']!r} labelstudio_others: {e}") from None
        result += _regions(rec, f"{rid}r{j}", row["width"], row["height"], kp_names)
    return {**_entry_meta(other), "result": result}


def _regions(rec: dict, rid: str, w: int, h: int, kp_names) -> list[dict]:
    x1, y1, x2, y2 = rec["bbox"]
    base = {
        "id": rid,
        "to_name": "image",
        "original_width": w,
        "original_height": h,
        "image_rotation": 0,
    }
    mask = exact_mask(rec)
    ellipse = exact_ellipse(rec) if mask is None else None
    if ellipse is not None:
        value = {
            "x": ellipse["cx"] * 100.0 / w,
            "y": ellipse["cy"] * 100.0 / h,
            "radiusX": ellipse["rx"] * 100.0 / w,
            "radiusY": ellipse["ry"] * 100.0 / h,
            "rotation": ellipse["rotation"],
            "ellipselabels": [rec["label"]],
        }
        region = {**base, "from_name": ELLIPSE, "type": "ellipselabels", "value": value}
    elif mask is not None and mask["size"] == [h, w]:
        pixels = rle_mask(decode_counts(mask["counts"]), h, w)
        value = {"format": "rle", "rle": brush_rle(pixels), "brushlabels": [rec["label"]]}
        region = {**base, "from_name": BRUSH, "type": "brushlabels", "value": value}
    elif rec.get("points"):
        # all parts of the object in one outline, so Label Studio's box is the object's
        value = {
            "points": [[x * 100.0 / w, y * 100.0 / h] for x, y in one_outline(rec)],
            "polygonlabels": [rec["label"]],
        }
        region = {**base, "from_name": POLY, "type": "polygonlabels", "value": value}
    else:
        angle = float(rec.get("rotation") or 0.0) % 360
        # the top-left corner of the turned box is Label Studio's pivot (see _region_record)
        bw, bh = x2 - x1, y2 - y1
        px, py = _rotate((x1 + x2) / 2, (y1 + y2) / 2, -bw / 2, -bh / 2, angle)
        value = {
            "x": px * 100.0 / w,
            "y": py * 100.0 / h,
            "width": bw * 100.0 / w,
            "height": bh * 100.0 / h,
            "rotation": angle,
            "rectanglelabels": [rec["label"]],
        }
        region = {**base, "from_name": RECT, "type": "rectanglelabels", "value": value}
    if rec.get("score") is not None:
        region["score"] = float(rec["score"])
    kept = ("rotation",)
    if "brush" in region["type"]:
        kept += ("mask", "parts")
    elif "ellipse" in region["type"]:
        kept += ("ellipse",)  # the region is the ellipse
    meta = {"source": rec.get("source") or HUMAN, **json_safe(extras(rec, kept))}
    region["nblabel"] = meta
    out = [region]
    if rec.get("keypoints"):
        names = _keypoint_names(len(rec["keypoints"]), kp_names)
        for i, (x, y, v) in enumerate(rec["keypoints"]):
            if not v:
                continue  # Label Studio has no "absent" point; leaving it out says the same
            kp = {
                **base,
                "id": f"{rid}k{i}",
                "from_name": KP,
                "type": "keypointlabels",
                "parentID": rid,
                "value": {
                    "x": x * 100.0 / w,
                    "y": y * 100.0 / h,
                    "width": 0.5,
                    "keypointlabels": [names[i]],
                },
            }
            if v == 1:
                kp["nblabel"] = {"v": 1}  # hidden but known position
            out.append(kp)
    return out


def label_config(
    classes: Sequence[str],
    keypoint_names: Sequence[str] | None = None,
    *,
    masks: bool = False,
    ellipses: bool = False,
) -> str:
    """Label Studio labeling interface (XML) matching :func:`write_labelstudio`'s regions.

    Paste it into the project's Settings > Labeling Interface > Code before importing.
    ``masks=True`` adds the ``BrushLabels`` that objects with a mask are written as,
    ``ellipses=True`` the ``EllipseLabels`` of ellipses (a CVAT ``<ellipse>``, a LabelMe
    ``circle``, a Label Studio ellipse) that were not redrawn.

    Example:
        >>> print(label_config(["raccoon"]))  # doctest: +NORMALIZE_WHITESPACE
        <View>
          <Image name="image" value="$image" />
          <RectangleLabels name="label" toName="image">
            <Label value="raccoon" />
          </RectangleLabels>
          <PolygonLabels name="polygon" toName="image">
            <Label value="raccoon" />
          </PolygonLabels>
        </View>
    """
    classes = check_classes(classes)
    view = ET.Element("View")
    ET.SubElement(view, "Image", name="image", value="$image")
    tags = [("RectangleLabels", RECT), ("PolygonLabels", POLY)]
    tags += [("BrushLabels", BRUSH)] if masks else []
    tags += [("EllipseLabels", ELLIPSE)] if ellipses else []
    for tag, name in tags:
        ctl = ET.SubElement(view, tag, name=name, toName="image")
        for c in classes:
            ET.SubElement(ctl, "Label", value=c)
    if keypoint_names:
        ctl = ET.SubElement(view, "KeyPointLabels", name=KP, toName="image")
        for i, k in enumerate(keypoint_names):
            ET.SubElement(ctl, "Label", value=str(k), model_index=str(i))
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode")
