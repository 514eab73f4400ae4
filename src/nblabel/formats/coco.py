"""COCO instances JSON: boxes, polygons (``segmentation``) and keypoints in one file.

Written files load in ``pycocotools.COCO``. Two fields beyond the COCO spec carry what a
round trip needs: each annotation's ``score`` (as in COCO results files) and ``source`` (who
or which model wrote it); any other extra key of a record is written as an annotation field
of the same name. Each image entry carries the row key as ``nblabel_key``.

RLE masks (``iscrowd`` regions, or mask exports) are turned into their largest outline with
OpenCV on import, since nblabel stores one polygon per object.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ._common import (
    COCO17_KEYPOINTS,
    COCO17_SKELETON,
    FormatError,
    check_classes,
    extras,
    find_image,
    json_safe,
    make_record,
    polygon_area,
    prepare_rows,
    real_size,
    write_text_atomic,
)
from ._common import keypoint_names as _keypoint_names

# Annotation fields with a meaning in COCO; everything else on an annotation is a record extra.
_COCO_ANN_KEYS = frozenset(
    {"id", "image_id", "category_id", "bbox", "area", "segmentation", "iscrowd", "keypoints",
     "num_keypoints", "score", "source"}
)  # fmt: skip


def read_coco(
    json_path: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    meta: dict | None = None,
) -> tuple[list[str], list[dict]]:
    """Read a COCO instances (or person-keypoints) JSON file.

    Args:
        json_path: the ``instances_*.json`` file.
        images_dir: folder the images' ``file_name`` is relative to. Without it, names are
            looked up next to the JSON file, then under the ``image_root`` nblabel records in
            ``info``.
        meta: a dict to receive what the file says beyond classes and items:
            ``meta["category_ids"]`` is ``{class name: category id}``, which
            :func:`write_coco` takes back so ids survive a round trip (evaluation against the
            original ground truth and ``convert_coco(cls91to80=True)`` need COCO's 1..90).

    Returns:
        ``(classes, items)``: classes in category-id order; one item per image entry (images
        without annotations included) with ``key`` (``nblabel_key`` or the file stem).

    Raises:
        FormatError: the file is not JSON (the message gives the line), or lacks the COCO
            structure (``images`` / ``categories`` lists, annotations pointing at unknown
            images). Problems with single annotations become item ``issues`` instead.

    Example:
        >>> meta = {}
        >>> classes, items = read_coco("instances.json", "images/", meta=meta)  # doctest: +SKIP
        >>> meta["category_ids"]["person"]  # doctest: +SKIP
        1
    """
    path = Path(json_path).expanduser()
    data = _load_json(path)
    if isinstance(data, list):
        raise FormatError(
            path,
            "top level is a list: this looks like a COCO *results* file (detections only); "
            "nblabel reads instances files with 'images', 'annotations' and 'categories'",
        )
    if not isinstance(data, dict):
        raise FormatError(path, "top level must be a JSON object with 'images' and 'categories'")
    for key in ("images", "categories"):
        if not isinstance(data.get(key), list):
            raise FormatError(path, f"missing the {key!r} list; is this a COCO instances file?")
    anns = data.get("annotations", [])
    if not isinstance(anns, list):
        raise FormatError(path, "'annotations' must be a list")

    cats: dict = {}
    for c in data["categories"]:
        if not isinstance(c, dict) or "id" not in c or not str(c.get("name", "")).strip():
            raise FormatError(path, f"category entry {c!r} needs an 'id' and a 'name'")
        cats[c["id"]] = str(c["name"])
    for cid in _umbrella_categories(data["categories"], anns):
        del cats[cid]
    classes = []
    category_ids: dict[str, Any] = {}
    for cid in sorted(cats, key=lambda v: (str(type(v)), v)):
        if cats[cid] not in classes:
            classes.append(cats[cid])
            category_ids[cats[cid]] = cid  # a name listed twice keeps its first id
    if meta is not None:
        meta["category_ids"] = category_ids

    roots = _image_roots(path, images_dir, data.get("info"))
    items, by_id = [], {}
    for entry in data["images"]:
        if not isinstance(entry, dict) or "id" not in entry or not entry.get("file_name"):
            raise FormatError(path, f"image entry {entry!r} needs an 'id' and a 'file_name'")
        issues: list[str] = []
        name = str(entry["file_name"])
        image = find_image(_image_candidates(name, roots))
        w, h = real_size(
            image,
            (entry.get("width"), entry.get("height")),
            f"{path.name} image {entry['id']}",
            issues,
        )
        item = {
            "image": str(image),
            "width": w,
            "height": h,
            "annotations": [],
            "issues": issues,
            "key": entry.get("nblabel_key", Path(name).stem),
        }
        items.append(item)
        by_id[entry["id"]] = item

    status = {e["id"]: e.get("nblabel_status") for e in data["images"]}
    annotated = set()
    for n, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise FormatError(path, f"annotation #{n} is not an object: {ann!r}")
        item = by_id.get(ann.get("image_id"))
        if item is None:
            raise FormatError(
                path,
                f"annotation id {ann.get('id', n)} refers to image_id "
                f"{ann.get('image_id')!r}, which is not in 'images'",
            )
        annotated.add(ann.get("image_id"))
        rec = _record(ann, cats, item, path.name)
        if rec is not None:
            item["annotations"].append(rec)
    for image_id, item in by_id.items():
        # In a file with annotations, an image listed without any is its "nothing here". A
        # file with none at all is a list of images (COCO's image_info files for test-dev)
        # and says nothing. nblabel's own export says which empty images were looked at.
        if image_id in annotated or status[image_id] == "unlabeled":
            continue
        if annotated or status[image_id] == "verified":
            item["negative"] = True
    return classes, items


def _umbrella_categories(categories: list[dict], anns: list) -> list:
    """Ids of categories that only name the others' super-category (Roboflow's id 0).

    Roboflow exports put the project's name first (``{"id": 0, "name": "cells",
    "supercategory": "none"}``) with every real class under it (``"supercategory":
    "cells"``) and no annotation using it. Kept, it would become a class that shifts every
    class id by one. A category that any annotation uses is always kept.
    """
    used = {a.get("category_id") for a in anns if isinstance(a, dict)}
    out = []
    for c in categories:
        others = [o for o in categories if o is not c]
        if (
            c["id"] not in used
            and others
            and str(c.get("supercategory") or "none").lower() == "none"
            and all(str(o.get("supercategory") or "") == str(c["name"]) for o in others)
        ):
            out.append(c["id"])
    return out


def _load_json(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise FormatError(path, f"not valid JSON: {e.msg} (column {e.colno})", e.lineno) from None
    except UnicodeDecodeError as e:
        raise FormatError(
            path, f"not UTF-8 text ({e.reason}); is this really a JSON file?"
        ) from None


def _image_roots(path: Path, images_dir, info) -> list[Path]:
    if images_dir is not None:
        root = Path(images_dir).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: images folder not found")
        return [root]
    roots = [path.parent]
    if isinstance(info, dict) and isinstance(info.get("image_root"), str):
        roots.append(Path(info["image_root"]))
    return roots


def _image_candidates(name: str, roots: Sequence[Path]):
    for root in roots:
        yield root / name
    for root in roots:
        yield root / Path(name).name  # exports often keep a folder prefix the user flattened
    yield Path(name)


def _record(ann: dict, cats: dict, item: dict, fname: str) -> dict | None:
    issues = item["issues"]
    where = f"{fname} annotation {ann.get('id', '?')}"
    if ann.get("category_id") not in cats:
        issues.append(
            f"{where}: category_id {ann.get('category_id')!r} is not in 'categories'; "
            "object left out"
        )
        return None
    label = cats[ann["category_id"]]
    raw: dict = {"label": label}
    bbox = ann.get("bbox")
    if bbox is not None:
        try:
            x, y, bw, bh = (float(v) for v in bbox)
        except (TypeError, ValueError):
            issues.append(f"{where} ({label}): bbox {bbox!r} is not [x, y, w, h]; object left out")
            return None
        raw["bbox"] = [x, y, x + bw, y + bh]
    seg = ann.get("segmentation")
    if seg:
        points = _segmentation_polygon(seg, item, where, issues)
        if points:
            raw["points"] = points
    kps = ann.get("keypoints")
    if kps:
        if len(kps) % 3:
            issues.append(
                f"{where} ({label}): keypoints length {len(kps)} is not a multiple "
                "of 3; keypoints ignored"
            )
        else:
            triples = [list(kps[i : i + 3]) for i in range(0, len(kps), 3)]
            if any(t[2] for t in triples):  # an all-invisible list says nothing
                raw["keypoints"] = triples
    if ann.get("score") is not None:
        raw["score"] = ann["score"]
    if ann.get("source"):
        raw["source"] = str(ann["source"])
    if ann.get("iscrowd"):
        raw["iscrowd"] = 1
    for k, v in ann.items():
        if k not in _COCO_ANN_KEYS:
            raw[k] = v
    return make_record(raw, item["width"], item["height"], f"{where} ({label})", issues)


def _segmentation_polygon(seg, item: dict, where: str, issues: list[str]):
    if isinstance(seg, dict):  # RLE
        return _rle_polygon(seg, item, where, issues)
    if not isinstance(seg, list):
        issues.append(f"{where}: segmentation of type {type(seg).__name__} ignored")
        return None
    polys = []
    for part in seg:
        try:
            flat = [float(v) for v in part]
        except (TypeError, ValueError):
            issues.append(f"{where}: segmentation part is not a list of numbers; ignored")
            continue
        if len(flat) >= 6 and len(flat) % 2 == 0:
            polys.append([[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)])
    if not polys:
        return None
    if len(polys) > 1:
        issues.append(
            f"{where}: polygon has {len(polys)} parts; kept the largest (nblabel "
            "stores one outline per object)"
        )
    return max(polys, key=polygon_area)


def _rle_polygon(rle: dict, item: dict, where: str, issues: list[str]):
    import numpy as np

    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
        if isinstance(counts, str):
            counts = _decode_compressed_counts(counts)
        counts = [int(c) for c in counts]
    except (KeyError, TypeError, ValueError):
        issues.append(f"{where}: RLE segmentation is malformed; mask ignored")
        return None
    if sum(counts) != h * w:
        issues.append(f"{where}: RLE counts cover {sum(counts)} pixels, not {h}x{w}; mask ignored")
        return None
    flat = np.zeros(h * w, dtype=np.uint8)
    pos = 0
    for i, c in enumerate(counts):  # runs alternate background, foreground, ...
        if i % 2:
            flat[pos : pos + c] = 1
        pos += c
    mask = flat.reshape((w, h)).T  # COCO masks are stored column by column
    return _mask_polygon(mask, where, issues)


def _decode_compressed_counts(s: str) -> list[int]:
    # COCO's compact RLE string: each count is a run of 5-bit groups (offset by 48 to be
    # printable); bit 0x20 says another group follows, bit 0x10 of the last group is the sign.
    # From the third count on, values are stored as differences to the count two back.
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _mask_polygon(mask, where: str, issues: list[str]):
    import cv2

    contours, _ = cv2.findContours(mask.astype("uint8"), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = [c for c in contours if len(c) >= 3]
    if not contours:
        issues.append(f"{where}: RLE mask is empty; mask ignored")
        return None
    if len(contours) > 1:
        issues.append(f"{where}: RLE mask has {len(contours)} parts; kept the largest outline")
    biggest = max(contours, key=cv2.contourArea)
    return [[float(p[0][0]), float(p[0][1])] for p in biggest]


def write_coco(
    rows: Iterable[dict],
    classes: Sequence[str],
    path: str | os.PathLike,
    *,
    image_root: str | os.PathLike | None = None,
    keypoint_names: Sequence[str] | dict | None = None,
    skeleton: Sequence[Sequence[int]] | None = None,
    include_unlabeled: bool = False,
    category_ids: dict[str, int] | None = None,
) -> Path:
    """Write a COCO instances JSON file.

    Args:
        rows: dicts with ``key``, ``image``, ``width``, ``height``, ``annotations``.
        classes: category names; without ``category_ids`` their ids are ``1..len(classes)``
            in this order.
        path: the JSON file to write (its folder is created when missing).
        image_root: folder that ``file_name`` entries are relative to. Default: the deepest
            folder holding all images (so one image folder gives bare file names, as in COCO);
            it is also recorded as ``info.image_root`` so :func:`read_coco` finds the images.
        keypoint_names: names for the keypoints of categories that have them (a list for all,
            or ``{class: [names]}``). Default: COCO's 17 names for 17 points, else ``kp0..``.
        skeleton: 1-based pairs of keypoint indices (default: COCO's for 17 points).
        include_unlabeled: also write rows whose ``status`` is ``"unlabeled"`` (as images
            without objects). Off by default: nobody has said those images are empty.
        category_ids: ``{class name: id}`` to keep the ids of an imported file (what
            ``read_coco(..., meta=...)`` gives; ``Dataset.to_coco`` passes the ids its
            ``from_coco`` import recorded). Classes not in it get the ids after the largest.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> write_coco(rows, ["raccoon"], "export/instances.json")  # doctest: +SKIP
        >>> write_coco(rows, ["person", "car"], "out.json",
        ...            category_ids={"person": 1, "car": 3})  # doctest: +SKIP
    """
    classes = check_classes(classes)
    ids = _category_ids(classes, category_ids)
    prepared = prepare_rows(rows, classes, include_unlabeled)
    out = Path(path).expanduser()
    images = [Path(r["image"]).resolve() for r in prepared]
    if image_root is not None:
        root = Path(image_root).expanduser().resolve()
    elif images:
        root = Path(os.path.commonpath([str(p.parent) for p in images]))
    else:
        root = out.parent.resolve()

    coco_images, coco_anns = [], []
    kp_counts: dict[str, int] = {}
    for image_id, (row, image) in enumerate(zip(prepared, images), start=1):
        coco_images.append(
            {
                "id": image_id,
                "file_name": Path(os.path.relpath(image, root)).as_posix(),
                "width": row["width"],
                "height": row["height"],
                "nblabel_key": json_safe(row["key"]),
            }
        )
        if not row["annotations"] and row.get("status"):
            coco_images[-1]["nblabel_status"] = row["status"]
        for rec in row["annotations"]:
            ann = _annotation(rec, len(coco_anns) + 1, image_id, ids[rec["label"]])
            if rec.get("keypoints"):
                n = len(rec["keypoints"])
                if kp_counts.setdefault(rec["label"], n) != n:
                    raise ValueError(
                        f"row {row['key']!r}: class {rec['label']!r} has objects with "
                        f"{kp_counts[rec['label']]} and with {n} keypoints; COCO needs one count"
                    )
            coco_anns.append(ann)

    categories = []
    for name in sorted(classes, key=ids.__getitem__):
        cat = {"id": ids[name], "name": name, "supercategory": name}
        if name in kp_counts:
            given = keypoint_names.get(name) if isinstance(keypoint_names, dict) else keypoint_names
            names = _keypoint_names(kp_counts[name], given)
            cat["keypoints"] = names
            if skeleton is not None:
                cat["skeleton"] = [list(map(int, pair)) for pair in skeleton]
            elif names == list(COCO17_KEYPOINTS):
                cat["skeleton"] = [list(pair) for pair in COCO17_SKELETON]
            else:
                cat["skeleton"] = []
        categories.append(cat)

    data = {
        "info": {
            "description": "exported by nblabel",
            "date_created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "image_root": str(root),
        },
        "licenses": [],
        "images": coco_images,
        "annotations": coco_anns,
        "categories": categories,
    }
    write_text_atomic(out, json.dumps(data, ensure_ascii=False))
    return out


def _category_ids(classes: list[str], given: dict | None) -> dict[str, int]:
    if not given:
        return {name: i for i, name in enumerate(classes, start=1)}
    ids: dict[str, int] = {}
    for name, cid in given.items():
        if name not in classes:
            continue  # a class dropped since the import
        if isinstance(cid, bool) or not isinstance(cid, int) or cid < 0:
            raise ValueError(
                f"category_ids[{name!r}] must be a non-negative int, got {cid!r}; pass "
                "category_ids=None to number the classes 1..N"
            )
        ids[name] = cid
    clash = sorted({c for c in ids.values() if list(ids.values()).count(c) > 1})
    if clash:
        raise ValueError(f"category_ids gives the same id to several classes: ids {clash}")
    nxt = max(ids.values(), default=0) + 1
    for name in classes:
        if name not in ids:
            ids[name], nxt = nxt, nxt + 1
    return ids


def _annotation(rec: dict, ann_id: int, image_id: int, category_id: int) -> dict:
    x1, y1, x2, y2 = rec["bbox"]
    ann = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category_id,
        "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
        "area": round((x2 - x1) * (y2 - y1), 3),
        "iscrowd": int(bool(rec.get("iscrowd", 0))),
        "segmentation": [],
    }
    if rec.get("points"):
        ann["segmentation"] = [[round(v, 3) for p in rec["points"] for v in p[:2]]]
        ann["area"] = round(polygon_area(rec["points"]), 3)
    if rec.get("keypoints"):
        ann["keypoints"] = [
            v
            for x, y, vis in rec["keypoints"]
            for v in ((round(x, 3), round(y, 3), int(vis)) if vis else (0, 0, 0))
        ]
        ann["num_keypoints"] = sum(1 for k in rec["keypoints"] if k[2])
    if rec.get("score") is not None:
        ann["score"] = float(rec["score"])
    ann["source"] = rec.get("source") or "human"
    for k, v in extras(rec, _COCO_ANN_KEYS).items():
        ann[k] = json_safe(v)
    return ann
