"""COCO instances JSON: boxes, polygons (``segmentation``) and keypoints in one file.

Written files load in ``pycocotools.COCO``. Two fields beyond the COCO spec carry what a
round trip needs: each annotation's ``score`` (as in COCO results files) and ``source`` (who
or which model wrote it); any other extra key of a record is written as an annotation field
of the same name. Each image entry carries the row key as ``nblabel_key``.

Multi-part polygons and RLE masks (``iscrowd`` regions, mask exports) are kept exactly and
written back as they were read (see :mod:`nblabel.formats._masks`): ``annToMask`` of the
export equals the source's pixel for pixel, unless the outline was redrawn since.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core.sources import HUMAN
from ..records import bbox_of_points
from . import limits
from ._atomic import write_atomic
from ._common import (
    COCO17_KEYPOINTS,
    COCO17_SKELETON,
    FormatError,
    check_classes,
    extras,
    find_image,
    json_safe,
    json_text,
    make_record,
    polygon_area,
    prepare_rows,
    real_size,
)
from ._common import keypoint_names as _keypoint_names
from ._masks import (
    decode_counts,
    encode_counts,
    exact_mask,
    exact_parts,
    mask_outline,
    outline_tag,
    rle_area,
    rle_box,
    rle_counts,
    rle_mask,
)
from .limits import check_file_size, keypoint_count_problem, label_problem

# Annotation fields with a meaning in COCO; everything else on an annotation is a record extra.
_COCO_ANN_KEYS = frozenset(
    {"id", "image_id", "category_id", "bbox", "area", "segmentation", "iscrowd", "keypoints",
     "num_keypoints", "score", "source", "mask", "parts"}
)  # fmt: skip


def read_coco(
    json_path: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    meta: dict | None = None,
    allow_outside: bool = False,
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
        allow_outside: follow image names that lead out of ``images_dir`` (or, without it,
            out of the JSON file's folder): ``../`` names, absolute paths, ``info.image_root``.
            Off by default, so a file from elsewhere cannot pull ``/etc/passwd`` or your
            photos into a dataset and its exports; such a row gets an issue instead.

    Returns:
        ``(classes, items)``: classes in category-id order; one item per image entry (images
        without annotations included) with ``key`` (``nblabel_key`` or the file stem).
        Multi-part polygons keep every part (``parts``) and RLE masks their exact runs
        (``mask``), with ``points`` the largest outline; boxes are the file's ``bbox``.

    Raises:
        FormatError: the file is not JSON (the message gives the line), or lacks the COCO
            structure (``images`` / ``categories`` lists, annotations pointing at unknown
            images). Problems with single annotations become item ``issues`` instead.

    Example:
        >>> _ = write_coco(rows, ["raccoon"], "instances.json", category_ids={"raccoon": 7})
        >>> meta = {}
        >>> classes, items = read_coco("instances.json", "raccoon/images/", meta=meta)
        >>> meta["category_ids"]["raccoon"]
        7
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
        problem = label_problem(str(c["name"]), "category name")
        if problem:
            raise FormatError(path, f"category id {c['id']!r}: {problem}")
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
    allowed = None if allow_outside else roots[:1]
    items, by_id = [], {}
    for entry in data["images"]:
        if not isinstance(entry, dict) or "id" not in entry or not entry.get("file_name"):
            raise FormatError(path, f"image entry {entry!r} needs an 'id' and a 'file_name'")
        issues: list[str] = []
        name = str(entry["file_name"])
        where = f"{path.name} image {entry['id']}"
        image = find_image(_image_candidates(name, roots), allowed, issues, where)
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
    check_file_size(path)
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
        raw.update(_segmentation(seg, item, where, issues))
        if "bbox" not in raw and raw.get("parts"):
            raw["bbox"] = bbox_of_points([p for part in raw["parts"] for p in part])
        elif "bbox" not in raw and raw.get("mask"):
            m = raw["mask"]
            raw["bbox"] = rle_box(decode_counts(m["counts"]), m["size"][0])
    kps = ann.get("keypoints")
    if kps:
        problem = keypoint_count_problem(len(kps) // 3) if isinstance(kps, list) else None
        if problem:
            issues.append(f"{where} ({label}): {problem}; keypoints ignored")
        elif not isinstance(kps, list) or len(kps) % 3:
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
    if str(ann.get("iscrowd", 0)).lower() not in ("0", "false", "", "none"):
        raw["iscrowd"] = 1  # Label Studio's converter writes "false" as text
    for k, v in ann.items():
        if k not in _COCO_ANN_KEYS:
            raw[k] = v
    return make_record(raw, item["width"], item["height"], f"{where} ({label})", issues)


def _segmentation(seg, item: dict, where: str, issues: list[str]) -> dict:
    """Record keys for a COCO segmentation: ``points``, and ``parts`` or ``mask``."""
    if isinstance(seg, dict):  # RLE
        return _rle(seg, item, where, issues)
    if not isinstance(seg, list):
        issues.append(f"{where}: segmentation of type {type(seg).__name__} ignored")
        return {}
    if sum(len(p) for p in seg if isinstance(p, list)) > 2 * limits.MAX_POLYGON_POINTS:
        issues.append(
            f"{where}: segmentation has more than {limits.MAX_POLYGON_POINTS} points "
            "(nblabel.formats.limits.MAX_POLYGON_POINTS); outline ignored"
        )
        return {}
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
        return {}
    out: dict = {"points": max(polys, key=polygon_area)}
    if len(polys) > 1:
        out["parts"] = polys
    return out


def _rle(rle: dict, item: dict, where: str, issues: list[str]) -> dict:
    try:
        counts, h, w = rle_counts(rle, where, item["width"], item["height"])
    except ValueError as e:
        issues.append(f"{where}: {e}; mask ignored")
        return {}
    if not rle_area(counts):
        issues.append(f"{where}: RLE mask is empty; mask ignored")
        return {}
    points = mask_outline(rle_mask(counts, h, w))
    mask = {"size": [h, w], "counts": encode_counts(counts), "outline": outline_tag(points)}
    out: dict = {"mask": mask}
    if points and len(points) >= 3:
        out["points"] = points
    return out


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
        >>> write_coco(rows, ["raccoon"], "export/instances.json")
        PosixPath('export/instances.json')
        >>> write_coco(rows, ["raccoon"], "out.json", category_ids={"raccoon": 7})
        PosixPath('out.json')
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
    write_atomic(out, json_text(data))
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
    mask, parts = exact_mask(rec), exact_parts(rec)
    if mask is not None:  # the RLE as it was read: pixel for pixel
        ann["segmentation"] = mask
        ann["area"] = rle_area(decode_counts(mask["counts"]))
    elif parts is not None:
        ann["segmentation"] = [[round(v, 3) for p in part for v in p[:2]] for part in parts]
        ann["area"] = round(sum(polygon_area(part) for part in parts), 3)
    elif rec.get("points"):
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
    ann["source"] = rec.get("source") or HUMAN
    for k, v in extras(rec, _COCO_ANN_KEYS).items():
        ann[k] = json_safe(v)
    return ann
