"""LabelMe JSON (wkentaro/labelme): one ``.json`` per image, next to it or in a folder.

What maps onto a record:

- ``rectangle`` (two corners): ``bbox``;
- ``polygon`` (also files from labelme 3, which have no ``shape_type``): ``points``;
  polygons of one label that share a ``group_id`` (LabelMe's instance id, as its
  ``labelme2coco`` reads it) are the parts of one object (``parts``);
- ``mask`` (a PNG of the pixels inside two corners, LabelMe 5): the record's exact ``mask``,
  outlined for display;
- ``point`` / ``points``: ``keypoints`` with ``shape: "points"`` (see :mod:`.cvat`);
  points of one label that share a ``group_id`` (LabelMe's instance id) are one object;
- ``circle`` (its centre and a point on it): the polygon every format can hold, with the
  circle in the record's ``ellipse`` (the rule CVAT ellipses follow, :mod:`._pieces`),
  written back as a ``circle`` while the polygon is not redrawn;
- ``group_id`` and ``description``: record keys of the same name;
- the shape's ``flags`` and an ``attributes`` dict: the record's ``attributes``.

Lines and line strips (open lines, which no record holds), and shape types this module does
not know, are kept as they are in the row's ``labelme_shapes``, with an issue saying what
each is; :func:`write_labelme` writes them back unchanged, other formats leave them out.
LabelMe keeps keys it does not know on a shape when it saves, so ``score`` and
``source`` of model output, and a pose's keypoint slots (``kp_index``, ``visibility``,
``kp_count``), travel as extra shape keys and survive editing in LabelMe.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.sources import HUMAN
from ..records import bbox_of_points
from ._atomic import MANIFEST, folder_export
from ._common import (
    FormatError,
    check_classes,
    find_image,
    json_text,
    make_record,
    natural_key,
    point_box,
    prepare_rows,
    real_size,
    unique_stem,
)
from ._masks import exact_parts
from ._pieces import crop_record, ellipse_record, exact_ellipse, parts_record, record_crop
from .limits import check_file_size, keypoint_count_problem

LABELME_VERSION = "5.5.0"  # the file layout written here; labelme warns only on a new major
# Shape types that become records; any other (line, linestrip, ...) is kept as it is
_KINDS = ("polygon", "rectangle", "mask", "point", "points", "circle")
#: Row columns a read keeps for the export: shapes no record holds, the image's flags.
ROW_COLUMNS = ("labelme_shapes", "labelme_flags")
# Shape keys with a meaning in LabelMe (or for a pose's slots); other keys are record extras.
_SHAPE_KEYS = frozenset(
    {"label", "points", "group_id", "description", "shape_type", "flags", "mask",
     "line_color", "fill_color", "attributes", "score", "source", "kp_index",
     "visibility", "kp_count", "nblabel_bbox"}
)  # fmt: skip


def read_labelme(
    folder: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    errors: str = "raise",
    allow_outside: bool = False,
) -> tuple[list[str], list[dict]]:
    """Read LabelMe JSON files.

    Args:
        folder: a folder searched (with its subfolders) for LabelMe ``.json`` files, or one
            such file.
        images_dir: where the images are. Without it each file's ``imagePath`` is followed
            from the JSON file's folder, then the same name is looked for next to it.
        errors: ``"raise"`` (default) stops at a file that is not JSON or not a LabelMe file
            with a :class:`FormatError` naming it; ``"flag"`` returns an item for it whose
            ``issues`` say what is wrong.
        allow_outside: follow an ``imagePath`` that leads out of ``images_dir`` (without
            it: out of ``folder``), e.g. ``../../photos/x.jpg``. Off by default, so a file
            from elsewhere cannot pull other files into a dataset and its exports; such a
            row gets an issue instead.

    Returns:
        ``(classes, items)``: labels in order of first use; one item per JSON file with
        ``key`` (the JSON file's path below ``folder``, without extension), ``width`` and
        ``height`` from the image header (the file's ``imageWidth`` / ``imageHeight`` only
        when the image is missing), ``annotations`` and ``issues``. Image-level ``flags``
        that are set become the ``labelme_flags`` column.

    Example:
        >>> _ = write_labelme(rows, ["raccoon"], "labelme_dir/")  # or LabelMe's own files
        >>> classes, items = read_labelme("labelme_dir/")
        >>> items[0]["annotations"][0]["bbox"]
        [81.0, 88.0, 522.0, 408.0]
    """
    if errors not in ("raise", "flag"):
        raise ValueError(f"errors must be 'raise' or 'flag', got {errors!r}")
    src = Path(folder).expanduser()
    if src.is_file():
        files, base = [src], src.parent
    elif src.is_dir():
        files = sorted(
            (p for p in src.rglob("*.json") if p.name != MANIFEST),  # an export's own list
            key=lambda p: natural_key(str(p.relative_to(src))),
        )
        base = src
        if not files:
            raise FileNotFoundError(f"{src}: no .json files found; is this the LabelMe folder?")
    else:
        raise FileNotFoundError(f"{src}: no such file or folder")
    images = Path(images_dir).expanduser() if images_dir is not None else None
    if images is not None and not images.is_dir():
        raise FileNotFoundError(f"{images}: images folder not found")

    allowed = None if allow_outside else [images if images is not None else base]
    classes: list[str] = []
    items = []
    for path in files:
        key = path.relative_to(base).with_suffix("").as_posix()
        try:
            data = _load(path)
        except FormatError as e:
            if errors == "raise":
                raise
            items.append(
                {"image": "", "width": 0, "height": 0, "annotations": [], "issues": [str(e)],
                 "key": key}
            )  # fmt: skip
            continue
        item = _read_one(path, data, images, key, allowed)
        for rec in item["annotations"]:
            if rec["label"] not in classes:
                classes.append(rec["label"])
        items.append(item)
    return classes, items


def _load(path: Path) -> dict:
    check_file_size(path, item=True)
    try:
        with open(path, encoding="utf-8-sig") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise FormatError(path, f"not valid JSON: {e.msg} (column {e.colno})", e.lineno) from None
    except UnicodeDecodeError as e:
        raise FormatError(path, f"not UTF-8 text ({e.reason}); is this a JSON file?") from None
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise FormatError(
            path,
            "not a LabelMe file (no 'shapes' list); keep only LabelMe .json files in the "
            "folder, pass errors='flag', or read the file with the matching reader",
        )
    return data


def _read_one(path: Path, data: dict, images: Path | None, key: str, allowed) -> dict:
    issues: list[str] = []
    image_path = str(data.get("imagePath") or "").replace("\\", "/")  # written on Windows
    name = Path(image_path).name if image_path else None
    candidates: list[Path | None] = []
    if images is not None:
        candidates += [images / image_path, images / name] if name else [images / path.stem]
    else:
        if image_path:
            candidates += [path.parent / image_path, path.parent / name]
        candidates.append(path.parent / path.stem)  # "stem.<ext>" next to the JSON
    image = find_image(candidates, allowed, issues, path.name)
    if image is not None:
        image = Path(os.path.abspath(image))  # "json_dir/../images/x.jpg" reads as "images/x.jpg"
    w, h = real_size(
        image, (data.get("imageWidth"), data.get("imageHeight")), f"{path.name} imageWidth/Height",
        issues,
    )  # fmt: skip
    if image is not None and not Path(image).is_file() and data.get("imageData"):
        issues.append(
            f"{path.name}: the image is only embedded (imageData); save it as a file "
            "(labelme_export_json, or File > Save in LabelMe with the image beside the JSON)"
        )

    annotations, grouped, polygons, passed = [], {}, {}, []
    for n, shape in enumerate(data["shapes"], start=1):
        where = f"{path.name} shape {n}"
        if not isinstance(shape, dict):
            issues.append(f"{where}: not an object; left out")
            continue
        kind = shape.get("shape_type") or "polygon"  # labelme 3 files have polygons only
        if kind not in _KINDS:
            passed.append(shape)
            count = len(shape["points"]) if isinstance(shape.get("points"), list) else 0
            issues.append(
                f"{where} ({shape.get('label') or 'no label'}, {count} points): a LabelMe "
                f"{kind} has no nblabel record form; kept unchanged in the row's "
                "labelme_shapes, which write_labelme writes back; other formats leave it out"
            )
            continue
        raw = _shape_record(shape, where, w, h, issues)
        if raw is None:
            continue
        rec = make_record(raw, w, h, f"{where} ({raw['label']})", issues)
        if rec is None:
            continue
        if rec.get("kp_index") is not None and rec.get("group_id") is not None:
            grouped.setdefault((rec["label"], rec["group_id"]), []).append(rec)
            continue
        annotations.append(rec)
        if shape.get("shape_type") in ("polygon", None) and rec.get("group_id") is not None:
            polygons.setdefault((rec["label"], rec["group_id"]), []).append((rec, shape))
    annotations = _merge_parts(annotations, polygons)
    annotations = _merge_poses(annotations, grouped, path.name, issues)
    annotations = _merge_point_sets(annotations, w, h, path.name, issues)
    item = {
        "image": str(image) if image is not None else "",
        "width": w,
        "height": h,
        "annotations": annotations,
        "issues": issues,
        "key": key,
    }
    if passed:
        item["labelme_shapes"] = passed
    if not data["shapes"] and data.get("nblabel_status") != "unlabeled":
        item["negative"] = True  # saved without shapes: the file's "nothing here"
    flags = data.get("flags")
    if isinstance(flags, dict) and any(flags.values()):
        item["labelme_flags"] = {k: v for k, v in flags.items() if v}
    return item


def _shape_record(shape: dict, where: str, w: int, h: int, issues: list[str]) -> dict | None:
    label = str(shape.get("label") or "").strip()
    kind = shape.get("shape_type") or "polygon"  # labelme 3 files have polygons only
    if not label:
        issues.append(f"{where}: {kind} has no label; left out")
        return None
    try:
        pts = [[float(p[0]), float(p[1])] for p in shape.get("points") or []]
    except (TypeError, ValueError, IndexError):
        issues.append(f"{where} ({label}): points are not [x, y] numbers; left out")
        return None
    raw: dict = {"label": label}
    if kind == "mask":
        try:
            raw.update(_read_mask(shape, pts, w, h))
        except ValueError as e:
            issues.append(f"{where} ({label}): {e}; mask left out")
            return None
    elif kind == "rectangle":
        if len(pts) != 2:
            issues.append(f"{where} ({label}): a rectangle needs 2 corners, got {len(pts)}")
            return None
        (x1, y1), (x2, y2) = pts
        raw["bbox"] = [x1, y1, x2, y2]
    elif kind == "polygon":
        if len(pts) < 3:
            issues.append(f"{where} ({label}): a polygon needs 3 points, got {len(pts)}")
            return None
        raw["points"] = pts
    elif kind == "circle":
        if len(pts) != 2:
            issues.append(f"{where} ({label}): a circle needs its centre and a point on it")
            return None
        (cx, cy), (px, py) = pts
        r = math.hypot(px - cx, py - cy)
        if not r > 0:
            issues.append(f"{where} ({label}): a circle of radius 0; left out")
            return None
        raw.update(ellipse_record(cx, cy, r, r))
    elif kind in ("point", "points"):
        if not pts:
            issues.append(f"{where} ({label}): a {kind} shape without points; left out")
            return None
        raw["keypoints"] = [[x, y, 2] for x, y in pts]
        raw["bbox"] = point_box(pts, w, h)
        raw["shape"] = "points"
    else:
        issues.append(f"{where} ({label}): unknown shape_type {kind!r}; left out")
        return None

    attributes = dict(shape["attributes"]) if isinstance(shape.get("attributes"), dict) else {}
    if isinstance(shape.get("flags"), dict):
        attributes.update(shape["flags"])
    if attributes:
        raw["attributes"] = attributes
    if shape.get("group_id") is not None:
        raw["group_id"] = shape["group_id"]
    if shape.get("description"):
        raw["description"] = str(shape["description"])
    if shape.get("score") is not None:
        raw["score"] = shape["score"]
    if shape.get("source"):
        raw["source"] = str(shape["source"])
    for k in ("kp_index", "visibility", "kp_count"):
        if shape.get(k) is not None:
            raw[k] = shape[k]
    box = shape.get("nblabel_bbox")
    if kind in ("polygon", "mask") and isinstance(box, list) and len(box) == 4:
        raw["bbox"] = box  # the object's own box (write_labelme), not its outline's
    for k, v in shape.items():
        if k not in _SHAPE_KEYS:
            raw[k] = v
    return raw


def _read_mask(shape: dict, pts: list, w: int, h: int) -> dict:
    """Record keys of a LabelMe ``mask`` shape: a PNG of the pixels from corner ``points[0]``
    to corner ``points[1]`` (both inside), as LabelMe's ``shapes_to_label`` places it."""
    import numpy as np
    from PIL import Image

    if not (w and h):
        raise ValueError("the image size is unknown")
    if len(pts) != 2 or not isinstance(shape.get("mask"), str):
        raise ValueError("a mask needs 2 corners and its PNG ('mask')")
    try:
        with Image.open(io.BytesIO(base64.b64decode(shape["mask"], validate=True))) as im:
            if im.width * im.height > w * h:
                raise ValueError(f"mask PNG of {im.width}x{im.height} is larger than the image")
            crop = np.asarray(im.convert("L")) > 0
    except (OSError, ValueError, SyntaxError) as e:
        raise ValueError(f"'mask' is not a base64 PNG ({e})") from None
    x1, y1 = (int(v) for v in pts[0])
    x2, y2 = (int(v) for v in pts[1])
    if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise ValueError(
            f"mask PNG is {crop.shape[1]}x{crop.shape[0]}, its corners say "
            f"{x2 - x1 + 1}x{y2 - y1 + 1}"
        )
    rec = crop_record(crop.astype(np.uint8), x1, y1, w, h)
    if rec is None:
        raise ValueError("mask is empty")
    return rec


def _merge_parts(annotations: list[dict], polygons: dict) -> list[dict]:
    # LabelMe's instance id: the polygons of one label in one group are one object's parts
    swap: dict[int, dict] = {}
    drop: set[int] = set()
    for members in polygons.values():
        if len(members) < 2:
            continue
        recs = [r for r, _ in members]
        owner = parts_record(recs)
        if members[0][1].get("nblabel_bbox"):
            owner["bbox"] = recs[0]["bbox"]
        swap[id(recs[0])] = owner
        drop.update(id(r) for r in recs[1:])
    return [swap.get(id(r), r) for r in annotations if id(r) not in drop]


def _merge_poses(annotations: list[dict], grouped: dict, fname: str, issues: list[str]):
    # write_labelme writes a pose as a rectangle plus one point per visible keypoint, all in
    # one group, each point with its slot (kp_index); the rectangle says how many slots.
    for (label, group), points in grouped.items():
        owners = [
            r
            for r in annotations
            if r["label"] == label and r.get("group_id") == group and r.get("kp_count")
        ]
        if len(owners) != 1:
            issues.append(
                f"{fname}: points of group {group} ({label}) have no single rectangle to "
                "belong to; kept as separate points"
            )
            for p in points:
                for k in ("kp_index", "visibility"):
                    p.pop(k, None)
            annotations.extend(points)
            continue
        box = owners[0]
        n = box.pop("kp_count")
        problem = (
            keypoint_count_problem(n)
            if isinstance(n, int) and not isinstance(n, bool) and n > 0
            else f"kp_count {n!r} is not a positive whole number"
        )
        if problem:
            issues.append(f"{fname}: group {group} ({label}): {problem}; keypoints left out")
            continue
        kps = [[0.0, 0.0, 0] for _ in range(n)]
        for p in points:
            i = int(p["kp_index"])
            if 0 <= i < n:
                x, y = p["keypoints"][0][:2]
                kps[i] = [x, y, int(p.get("visibility") or 2)]
        box["keypoints"] = kps
    for r in annotations:
        r.pop("kp_count", None)
    return annotations


def _merge_point_sets(
    annotations: list[dict], w: int, h: int, fname: str, issues: list[str]
) -> list[dict]:
    # LabelMe has one point per shape; points of one label in one group are one object (the
    # group is LabelMe's instance id), which is how write_labelme writes a point set.
    firsts: dict = {}
    out = []
    for r in annotations:
        gid = r.get("group_id")
        if r.get("shape") != "points" or not isinstance(gid, (int, str)):
            out.append(r)
            continue
        first = firsts.get((r["label"], gid))
        if first is None:
            firsts[(r["label"], gid)] = r
            out.append(r)
            continue
        first["keypoints"].extend(r["keypoints"])
    kept = []
    for r in out:
        if (r["label"], r.get("group_id")) in firsts and firsts[(r["label"], r["group_id"])] is r:
            problem = keypoint_count_problem(len(r["keypoints"]))
            if problem:
                issues.append(
                    f"{fname}: points of group {r['group_id']} ({r['label']}): {problem}; left out"
                )
                continue
            r["bbox"] = point_box([k[:2] for k in r["keypoints"]], w, h)
        kept.append(r)
    return kept


# -- writing -------------------------------------------------------------------------------------


def write_labelme(
    rows: Iterable[dict],
    classes: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    include_unlabeled: bool = False,
) -> Path:
    """Write one LabelMe JSON file per row into ``out_dir``.

    Files are named after the image (``img.jpg`` -> ``img.json``; a clash gets ``_2``) and
    point at the image with a relative ``imagePath`` (``imageData`` is ``null``), so LabelMe
    opens them with ``labelme out_dir``. Boxes become rectangles, polygons polygons, point
    sets one ``point`` each (grouped), and a pose a rectangle plus its visible keypoints as
    points in one group. A mask becomes a ``mask`` shape of the same pixels and a multi-part
    object one polygon per part in one group (while the outline is not redrawn); a box
    LabelMe would derive differently from the outline rides along as ``nblabel_bbox``. Boolean attributes become the shape's ``flags``; other attributes
    an ``attributes`` dict on the shape.

    Args:
        rows: dicts with ``key``, ``image``, ``width``, ``height``, ``annotations``.
        classes: the dataset's class names; every record's label must be one of them.
        out_dir: folder to write into (created when missing).
        include_unlabeled: also write rows whose ``status`` is ``"unlabeled"`` (as files
            without shapes). Off by default: nobody has said those images are empty.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Example:
        >>> out = write_labelme(rows, ["raccoon"], "export/labelme")
        >>> out.name, sorted(p.name for p in out.glob("*.json"))
        ('labelme', ['raccoon-1.json', 'raccoon-2.json', 'raccoon-3.json'])
    """
    classes = check_classes(classes)
    prepared = prepare_rows(rows, classes, include_unlabeled)
    out = Path(os.path.abspath(Path(out_dir).expanduser()))
    used: set[str] = set()
    with folder_export(out) as tmp:  # built whole beside out_dir, then swapped in
        for row in prepared:
            image = Path(row["image"])
            stem = unique_stem(image.stem, used)
            groups = [int(r["group_id"]) for r in row["annotations"] if _is_int(r.get("group_id"))]
            next_group = max(groups, default=0) + 1
            shapes: list[dict] = []
            for rec in row["annotations"]:
                next_group = _shapes(rec, shapes, next_group)
            shapes += _kept_shapes(row)
            flags = row.get("labelme_flags")
            data = {
                "version": LABELME_VERSION,
                "flags": dict(flags) if isinstance(flags, dict) else {},
                "shapes": shapes,
                "imagePath": Path(os.path.relpath(image.resolve(), out.resolve())).as_posix(),
                "imageData": None,
                "imageHeight": row["height"],
                "imageWidth": row["width"],
            }
            if row.get("status") == "unlabeled":
                data["nblabel_status"] = "unlabeled"  # LabelMe keeps keys it does not know
            (tmp / f"{stem}.json").write_text(json_text(data, indent=2) + "\n", encoding="utf-8")
    return out


def _kept_shapes(row: dict) -> list[dict]:
    """The shapes no record holds that :func:`read_labelme` kept (``labelme_shapes``)."""
    kept = row.get("labelme_shapes") or []
    if not isinstance(kept, list) or not all(isinstance(s, dict) for s in kept):
        raise ValueError(f"row {row.get('key')!r}: labelme_shapes must be a list of shape dicts")
    return [dict(s) for s in kept]


def _png(pixels) -> str:
    """Base64 PNG of a binary crop, as LabelMe saves a mask shape (0 / 1 bytes)."""
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.asarray(pixels) > 0).astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _keep_box(shape: dict, rec: dict, outline_box: list[float]) -> None:
    # LabelMe derives a polygon's or a mask's box from its outline; the record's own box (a
    # COCO bbox, say) rides along in a key LabelMe keeps and other readers ignore
    if any(abs(float(a) - float(b)) > 1e-3 for a, b in zip(rec["bbox"], outline_box)):
        shape["nblabel_bbox"] = [float(v) for v in rec["bbox"]]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _shapes(rec: dict, shapes: list[dict], next_group: int) -> int:
    attrs = rec.get("attributes") if isinstance(rec.get("attributes"), dict) else {}
    base = {
        "label": rec["label"],
        "group_id": rec.get("group_id"),
        "description": rec.get("description") or "",
        "flags": {k: v for k, v in attrs.items() if isinstance(v, bool)},
        "mask": None,
    }
    other = {k: v for k, v in attrs.items() if not isinstance(v, bool)}
    if other:
        base["attributes"] = other
    if rec.get("score") is not None:
        base["score"] = float(rec["score"])
    if rec.get("source") and rec["source"] != HUMAN:
        base["source"] = rec["source"]
    for k, v in rec.items():
        if k not in _SHAPE_KEYS and k not in ("bbox", "keypoints", "shape", "attributes", "parts"):
            base[k] = v
    kps = rec.get("keypoints") or []
    crop = record_crop(rec)
    parts = exact_parts(rec) if crop is None else None
    ellipse = exact_ellipse(rec) if crop is None and not parts else None
    if ellipse is not None and math.isclose(ellipse["rx"], ellipse["ry"]):
        # a circle, as read (or a round CVAT ellipse): LabelMe's centre and a point on it
        base.pop("ellipse", None)
        cx, cy, r = ellipse["cx"], ellipse["cy"], ellipse["rx"]
        shape = {**base, "points": [[cx, cy], [cx + r, cy]], "shape_type": "circle"}
        _keep_box(shape, rec, [cx - r, cy - r, cx + r, cy + r])
        shapes.append(shape)
        return next_group
    if crop is not None:
        left, top, pixels = crop
        ch, cw = pixels.shape
        corners = [[left, top], [left + cw - 1, top + ch - 1]]  # both inside, as LabelMe's
        shape = {**base, "points": corners, "shape_type": "mask", "mask": _png(pixels)}
        _keep_box(shape, rec, [left, top, left + cw, top + ch])
        shapes.append(shape)
        return next_group
    if parts:
        # one polygon per part in one group: LabelMe's own way to draw an object of parts
        if base["group_id"] is None:
            base["group_id"], next_group = next_group, next_group + 1
        for part in parts:
            shape = {**base, "points": part, "shape_type": "polygon"}
            _keep_box(shape, rec, bbox_of_points([p for q in parts for p in q]))
            shapes.append(shape)
        return next_group
    if rec.get("points"):
        shape = {**base, "points": rec["points"], "shape_type": "polygon"}
        _keep_box(shape, rec, bbox_of_points(rec["points"]))
        shapes.append(shape)
        return next_group
    if rec.get("shape") == "points" and kps:
        visible = [k for k in kps if k[2]]
        if len(visible) > 1 and base["group_id"] is None:
            base["group_id"], next_group = next_group, next_group + 1
        for x, y, _ in visible:
            shapes.append({**base, "points": [[x, y]], "shape_type": "point"})
        return next_group
    x1, y1, x2, y2 = rec["bbox"]
    box = {**base, "points": [[x1, y1], [x2, y2]], "shape_type": "rectangle"}
    shapes.append(box)
    if kps:
        if box["group_id"] is None:
            box["group_id"], next_group = next_group, next_group + 1
        box["kp_count"] = len(kps)
        for i, (x, y, v) in enumerate(kps):
            if v:
                shapes.append(
                    {"label": rec["label"], "group_id": box["group_id"], "description": "",
                     "flags": {}, "mask": None, "points": [[x, y]], "shape_type": "point",
                     "kp_index": i, "visibility": int(v)}
                )  # fmt: skip
    return next_group
