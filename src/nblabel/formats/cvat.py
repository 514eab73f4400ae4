"""CVAT for images 1.1 XML: one ``annotations.xml`` for a task or project.

Each ``<image>`` holds its shapes. What maps onto a record:

- ``<box>``: ``bbox`` (a ``rotation`` other than 0 is kept as the record's ``rotation``);
- ``<polygon>``: ``points``; polygons of one label that share a ``group_id`` are the parts
  of one object (``parts``, as Datumaro writes a COCO multi-part polygon), and a ``<points>``
  in the group is its keypoints;
- ``<points>``: ``keypoints`` (all visible), with ``shape: "points"`` so writers know the
  object is a point set and not a box with keypoints;
- ``<mask>``: the record's exact ``mask`` (CVAT's ``rle`` runs over the ``width x height``
  crop at ``left, top``, row by row, starting with background), outlined for display;
- ``<ellipse>``: a polygon of :data:`ELLIPSE_POINTS` points through it (what every other
  format can hold), with the ellipse itself in the record's ``ellipse``
  (``{"cx", "cy", "rx", "ry", "rotation", "outline"}``), written back as an ``<ellipse>``
  while the polygon is not redrawn;
- ``<skeleton>``: a pose: its ``<points>`` elements are the record's ``keypoints``, one slot
  per element its label declares (``outside`` absent, ``occluded`` hidden), with the element
  names, edges (0-based pairs) and CVAT's drawing of them in ``skeleton``
  (``{"names", "edges", "layout"}``); written back as a ``<skeleton>`` of the same label;
- ``<attribute>`` children: the record's ``attributes`` (text, as CVAT writes it), plus
  ``occluded: 1`` for occluded shapes (the key VOC uses for the same flag);
- ``z_order`` and ``group_id`` (when not 0) stay as record keys of the same name.

Polylines (a record has no open-line form), cuboids and tags are kept as they are, as
plain data in the row's ``cvat_shapes``, with an issue saying what each is; :func:`write_cvat`
writes them back unchanged, other formats leave them out. ``<track>`` elements (CVAT for
video) are refused with what to export instead. CVAT has no score: records written by a model carry ``score`` and
``nblabel_source`` XML attributes, which CVAT and Datumaro ignore and :func:`read_cvat`
restores; their CVAT ``source`` is ``auto``.
"""

from __future__ import annotations

import contextlib
import html
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.sources import HUMAN
from ..records import bbox_of_points
from . import limits
from ._atomic import write_atomic
from ._common import (
    FormatError,
    check_classes,
    find_image,
    make_record,
    name_variants,
    point_box,
    prepare_rows,
    real_size,
    xml_name,
)
from ._masks import exact_parts
from ._pieces import ELLIPSE_POINTS as ELLIPSE_POINTS  # its one home; named here too
from ._pieces import (
    crop_record,
    ellipse_box,
    ellipse_record,
    exact_ellipse,
    parts_record,
    record_crop,
)
from ._xml import parse_xml
from .limits import check_file_size, label_problem

# Shapes CVAT can hold that a record cannot: an open line, a 3-d cuboid, an image-level tag.
# Each is kept as it is in the row's ``cvat_shapes`` and written back by write_cvat.
PASSED = ("polyline", "cuboid", "tag")
_SHAPES = ("box", "polygon", "points", "mask", "ellipse", "skeleton")
#: Row columns a read keeps for the export: the shapes no record can hold, as they were.
ROW_COLUMNS = ("cvat_shapes",)
# CVAT's ``source`` values for shapes a person drew (older versions write none).
_HUMAN_SOURCES = ("manual", "")


def read_cvat(
    xml_path: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    errors: str = "raise",
    allow_outside: bool = False,
) -> tuple[list[str], list[dict]]:
    """Read a CVAT for images 1.1 ``annotations.xml`` (task or project export).

    Args:
        xml_path: the XML file.
        images_dir: where the images are. Each ``<image name=...>`` is looked up there, then
            under its ``subset`` folder (the layout of a project export:
            ``images/<subset>/<name>``). Without it, the ``images/`` folder next to the XML
            is used, then the XML's own folder.
        errors: ``"raise"`` (default) raises :class:`FormatError` for a file that is not
            well-formed; ``"flag"`` returns no items and the problem in a single item's
            ``issues`` instead.
        allow_outside: follow image names that lead out of the folders above (``../``
            names, absolute paths). Off by default, so a file from elsewhere cannot pull
            other files into a dataset and its exports; such a row gets an issue instead.

    Returns:
        ``(classes, items)``: the labels the file declares (in its order), then any label used
        but not declared; one item per ``<image>`` with ``key`` (the name without extension,
        prefixed with the subset when two subsets hold the same name), ``subset`` when the
        file gives one, and ``issues`` for every shape that could not be kept.

    Raises:
        FormatError: not well-formed XML, a DTD, a root other than ``<annotations>``, or a
            CVAT *for video* file (tracks).

    Example:
        >>> _ = write_cvat(rows, ["raccoon"], "task/annotations.xml")  # or CVAT's export
        >>> classes, items = read_cvat("task/annotations.xml", "raccoon/images")
        >>> classes
        ['raccoon']
    """
    if errors not in ("raise", "flag"):
        raise ValueError(f"errors must be 'raise' or 'flag', got {errors!r}")
    path = Path(xml_path).expanduser()
    if path.is_dir():
        found = sorted(path.glob("*.xml"))
        if len(found) != 1:
            raise FileNotFoundError(
                f"{path}: expected the CVAT annotations.xml (or a folder with exactly one "
                f".xml file), found {len(found)}"
            )
        path = found[0]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    images = Path(images_dir).expanduser() if images_dir is not None else None
    if images is not None and not images.is_dir():
        raise FileNotFoundError(f"{images}: images folder not found")
    try:
        check_file_size(path)
        root = parse_xml(path)
        _check_root(root, path)
        classes, skeletons = _declared_labels(root, path)
    except FormatError as e:
        if errors == "raise":
            raise
        return [], [
            {"image": "", "width": 0, "height": 0, "annotations": [], "issues": [str(e)],
             "key": path.stem}
        ]  # fmt: skip
    entries = root.findall("image")
    stems: dict[str, int] = {}
    for el in entries:
        stem = _stem(el.get("name", ""))
        stems[stem] = stems.get(stem, 0) + 1
    roots = [images] if images is not None else [path.parent / "images", path.parent]
    allowed = None if allow_outside else roots
    # A file without a single shape is a list of images (a task nobody has labeled yet);
    # in a file with shapes, an image without any is its "nothing here".
    any_shapes = any(len(el) for el in entries)
    items = []
    for n, el in enumerate(entries, start=1):
        item = _read_image(el, n, path, roots, allowed, stems, any_shapes, skeletons)
        for rec in item["annotations"]:
            if rec["label"] not in classes:
                classes.append(rec["label"])
        items.append(item)
    return classes, items


def _check_root(root: ET.Element, path: Path) -> None:
    if root.tag != "annotations":
        raise FormatError(
            path, f"root element is <{root.tag}>, not <annotations>; is this a CVAT XML export?"
        )
    if root.find("track") is not None:
        raise FormatError(
            path,
            "holds <track> elements: this is 'CVAT for video 1.1'. Read it into a video "
            "dataset with nblabel.tracks.import_tracks(ds, path, 'cvat') (ds from "
            "Dataset.from_video), or export the task as 'CVAT for images 1.1'",
        )


def _declared_labels(root: ET.Element, path: Path) -> tuple[list[str], dict[str, dict]]:
    """The label names a file declares (a skeleton's elements are not classes of their own)
    and each skeleton's layout: ``{label: {"names", "edges", "layout"}}``."""
    out: list[str] = []
    elements: dict[str, list[str]] = {}
    drawings: dict[str, str] = {}
    for meta in ("meta/task/labels", "meta/project/labels", "meta/job/labels"):
        for label in root.findall(f"{meta}/label"):
            name = (label.findtext("name") or "").strip()
            problem = label_problem(name, "label name")
            if problem:
                raise FormatError(path, f"<label>: {problem}")
            parent = (label.findtext("parent") or "").strip()
            if parent:
                elements.setdefault(parent, []).append(name)
                continue
            if (label.findtext("type") or "").strip() == "skeleton":
                drawings[name] = label.findtext("svg") or ""
            if name and name not in out:
                out.append(name)
    skeletons = {
        name: _skeleton_layout(elements.get(name, []), drawings[name]) for name in drawings
    }
    return out, skeletons


_SVG_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def _skeleton_layout(names: list[str], svg: str) -> dict:
    """A skeleton label's element names (in declared order), its edges as pairs of 0-based
    element indices and where CVAT draws each element in its label editor, from the
    label's ``<svg>`` (circles with ``data-node-id`` / ``data-label-name``, lines with
    ``data-node-from`` / ``data-node-to``)."""
    nodes: dict[str, str] = {}
    layout: dict[str, list[float]] = {}
    edges = []
    for tag, body in re.findall(r"<(circle|line)\b([^>]*)>", svg):
        attrs = dict(_SVG_ATTR.findall(body))
        if tag == "circle" and attrs.get("data-node-id"):
            label = html.unescape(attrs.get("data-label-name", ""))
            nodes[attrs["data-node-id"]] = label
            with contextlib.suppress(KeyError, ValueError):  # a node without a place
                layout[label] = [float(attrs["cx"]), float(attrs["cy"])]
        elif tag == "line":
            edges.append((attrs.get("data-node-from"), attrs.get("data-node-to")))
    names = list(names) or [n for n in nodes.values() if n]
    index = {n: i for i, n in enumerate(names)}
    pairs = [
        [index[nodes[a]], index[nodes[b]]]
        for a, b in edges
        if nodes.get(a) in index and nodes.get(b) in index
    ]
    out: dict = {"names": names, "edges": pairs}
    if names and all(n in layout for n in names):
        out["layout"] = [layout[n] for n in names]
    return out


def _stem(name: str) -> str:
    p = Path(name)
    return p.with_suffix("").as_posix() if p.suffix else p.as_posix()


def _read_image(
    el: ET.Element,
    n: int,
    path: Path,
    roots: list[Path],
    allowed,
    stems: dict,
    any_shapes: bool,
    skeletons: dict,
) -> dict:
    issues: list[str] = []
    name = el.get("name", "").strip()
    subset = el.get("subset")
    where_image = f"{path.name} <image> {n} ({name or 'no name'})"
    if not name:
        issues.append(f"{where_image}: no name attribute; the image cannot be found")
    candidates = []
    for r in roots:
        for variant in name_variants(name) if name else []:  # see xml_name
            candidates.append(r / variant)
            if subset:
                candidates.append(r / subset / variant)
            candidates.append(r / Path(variant).name)
    image = find_image(candidates, allowed, issues, where_image) if candidates else None
    w, h = real_size(image, (el.get("width"), el.get("height")), where_image, issues)
    stem = _stem(name) if name else f"image-{n}"
    key = f"{subset}/{stem}" if subset and stems.get(stem, 0) > 1 else stem

    grouped: dict[str, list[tuple[str, dict]]] = {}
    given: set[int] = set()  # records whose box the file gives (nblabel_bbox)
    annotations = []
    passed: list[dict] = []
    for k, shape in enumerate(el, start=1):
        tag = shape.tag
        where = f"{path.name} image {name or n} {tag} {k}"
        if tag in PASSED:
            passed.append(_element_dict(shape))
            issues.append(_passed_note(where, shape))
            continue
        if tag not in _SHAPES:
            issues.append(f"{where}: unknown element <{tag}>; left out")
            continue
        raw = _shape_record(shape, tag, where, w, h, issues, skeletons)
        if raw is None:
            continue
        rec = make_record(raw, w, h, f"{where} ({raw['label']})", issues)
        if rec is None:
            continue
        annotations.append(rec)
        if shape.get("nblabel_bbox") and "bbox" in raw:
            given.add(id(rec))
        if rec.get("group_id") and tag in ("box", "points", "polygon", "mask"):
            grouped.setdefault(f"{rec['label']}/{rec['group_id']}", []).append((tag, rec))
    annotations = _merge_groups(annotations, grouped, given)
    item = {
        "image": str(image) if image is not None else "",
        "width": w,
        "height": h,
        "annotations": annotations,
        "issues": issues,
        "key": key,
    }
    if subset:
        item["subset"] = subset
    if passed:
        item["cvat_shapes"] = passed
    said = el.get("nblabel_status")
    if len(el) == 0 and said != "unlabeled" and (any_shapes or said == "verified"):
        item["negative"] = True
    return item


def _element_dict(el: ET.Element) -> dict:
    """An XML element as plain data (``tag``, ``attrib``, ``text``, ``children``), which a
    row column holds and :func:`_add_element` writes back as it was."""
    out: dict = {"tag": el.tag, "attrib": dict(el.attrib)}
    if el.text and el.text.strip():
        out["text"] = el.text
    if len(el):
        out["children"] = [_element_dict(c) for c in el]
    return out


def _add_element(parent: ET.Element, data, where: str) -> None:
    if not (isinstance(data, dict) and isinstance(data.get("tag"), str)):
        raise ValueError(f"{where}: cvat_shapes entries must be {{'tag', 'attrib', ...}} dicts")
    attrib = data.get("attrib") or {}
    if not isinstance(attrib, dict):
        raise ValueError(f"{where}: the attrib of a kept <{data['tag']}> must be a dict")
    el = ET.SubElement(parent, data["tag"], {str(k): str(v) for k, v in attrib.items()})
    if data.get("text") is not None:
        el.text = str(data["text"])
    for child in data.get("children") or []:
        _add_element(el, child, where)


def _passed_note(where: str, shape: ET.Element) -> str:
    """What a shape no record can hold is, and where it went (an issue on its row)."""
    label = shape.get("label") or "no label"
    points = shape.get("points")
    size = f", {points.count(';') + 1} points" if points else ""
    return (
        f"{where} ({label}{size}): a CVAT {shape.tag} has no nblabel record form; kept "
        "unchanged in the row's cvat_shapes, which write_cvat writes back; other formats "
        "leave it out"
    )


def _shape_record(shape, tag, where, w, h, issues, skeletons=None) -> dict | None:
    label = (shape.get("label") or "").strip()
    if not label:
        issues.append(f"{where}: shape has no label; left out")
        return None
    raw: dict = {"label": label}
    try:
        if tag == "box":
            raw["bbox"] = [float(shape.get(a)) for a in ("xtl", "ytl", "xbr", "ybr")]
            rotation = float(shape.get("rotation") or 0.0)
            if rotation % 360:
                raw["rotation"] = rotation
                issues.append(
                    f"{where} ({label}): box rotated by {rotation:g} degrees; the rotation is "
                    "kept as the record's 'rotation' (written back to CVAT), other formats "
                    "get the unrotated box"
                )
        elif tag == "mask":
            if not (w and h):
                issues.append(f"{where} ({label}): the image size is unknown; mask left out")
                return None
            try:
                raw.update(_read_mask(shape, w, h))
            except ValueError as e:
                issues.append(f"{where} ({label}): {e}; mask left out")
                return None
        elif tag == "ellipse":
            raw.update(_read_ellipse(shape))
        elif tag == "skeleton":
            found = _read_skeleton(shape, (skeletons or {}).get(label), w, h, where, issues)
            if found is None:
                return None
            raw.update(found)
        else:
            n_points = (shape.get("points") or "").count(";") + 1
            if n_points > limits.MAX_POLYGON_POINTS:
                issues.append(
                    f"{where} ({label}): {n_points} points is above the limit of "
                    f"{limits.MAX_POLYGON_POINTS} (nblabel.formats.limits.MAX_POLYGON_POINTS); "
                    "left out"
                )
                return None
            pts = _parse_points(shape.get("points"))
            if tag == "polygon":
                raw["points"] = pts
            else:
                raw["keypoints"] = [[x, y, 2] for x, y in pts]
                raw["bbox"] = point_box(pts, w, h)
                raw["shape"] = "points"
    except (TypeError, ValueError):
        issues.append(f"{where} ({label}): coordinates are not numbers; left out")
        return None
    attributes: dict = {}
    for a in shape.findall("attribute"):
        if a.get("name"):
            attributes[a.get("name")] = a.text or ""
    if _flag(shape.get("occluded")):
        attributes["occluded"] = 1
    if attributes:
        raw["attributes"] = attributes
    for key in ("z_order", "group_id"):
        try:
            value = int(float(shape.get(key) or 0))
        except ValueError:
            issues.append(f"{where} ({label}): {key}={shape.get(key)!r} is not a number; ignored")
            continue
        if value:
            raw[key] = value
    if shape.get("score") is not None:
        try:
            raw["score"] = float(shape.get("score"))
        except ValueError:
            issues.append(f"{where} ({label}): score {shape.get('score')!r} ignored")
    if shape.get("nblabel_bbox") and tag != "box":
        try:  # the box the object had where it came from (write_cvat), not its outline's
            raw["bbox"] = [float(v) for v in shape.get("nblabel_bbox").split(",")]
        except ValueError:
            issues.append(f"{where} ({label}): nblabel_bbox {shape.get('nblabel_bbox')!r} ignored")
    if shape.get("nblabel_source"):
        raw["source"] = shape.get("nblabel_source")
    elif (shape.get("source") or "") not in _HUMAN_SOURCES:
        # e.g. "auto" or "semi-auto": CVAT's own record of how the shape was made
        raw["cvat_source"] = shape.get("source")
    return raw


def _read_skeleton(shape, layout, w, h, where, issues) -> dict | None:
    """Record keys of a ``<skeleton>``: its ``<points>`` elements as keypoints, one slot per
    element the label declares (in its order), ``outside`` as absent (0), ``occluded`` as
    hidden (1), and the element names, edges and drawing in ``skeleton``."""
    label = shape.get("label")
    names = list((layout or {}).get("names") or [])
    seen: dict[str, list[float]] = {}
    for part in shape:
        if part.tag == "attribute":
            continue
        name = (part.get("label") or "").strip()
        if part.tag != "points" or not name:
            issues.append(f"{where} ({label}): skeleton element <{part.tag} {name}> left out")
            continue
        x, y = _parse_points(part.get("points"))[0]
        v = 0 if _flag(part.get("outside")) else 1 if _flag(part.get("occluded")) else 2
        seen[name] = [x, y, v]
        if name not in names:
            names.append(name)  # an element the file does not declare: kept, after the others
    if len(names) > limits.MAX_KEYPOINTS:
        issues.append(
            f"{where} ({label}): {len(names)} skeleton elements is above the limit of "
            f"{limits.MAX_KEYPOINTS} (nblabel.formats.limits.MAX_KEYPOINTS); left out"
        )
        return None
    kps = [seen.get(n, [0.0, 0.0, 0]) for n in names]
    shown = [k[:2] for k in kps if k[2]]
    if not shown:
        issues.append(f"{where} ({label}): skeleton has no visible element; left out")
        return None
    spec = {**(layout or {}), "names": names, "edges": list((layout or {}).get("edges") or [])}
    if "layout" in spec and len(spec["layout"]) != len(names):
        del spec["layout"]
    return {"keypoints": kps, "bbox": point_box(shown, w, h), "skeleton": spec}


def _read_mask(shape: ET.Element, w: int, h: int) -> dict:
    """Record keys of a ``<mask>``: ``rle`` runs over the crop row by row, background first."""
    import numpy as np

    left, top, cw, ch = (int(float(shape.get(a))) for a in ("left", "top", "width", "height"))
    if cw <= 0 or ch <= 0 or limits.mask_problem(ch, cw):
        raise ValueError(f"mask crop of {cw}x{ch} is empty or too large")
    counts = [int(c) for c in (shape.get("rle") or "").replace(" ", "").split(",") if c]
    if any(c < 0 for c in counts) or sum(counts) != cw * ch:
        raise ValueError(f"rle runs cover {sum(counts)} pixels, not the {cw}x{ch} crop")
    values = (np.arange(len(counts)) % 2).astype(np.uint8)
    crop = np.repeat(values, counts).reshape(ch, cw)
    rec = crop_record(crop, left, top, w, h)
    if rec is None:
        raise ValueError("mask is empty")
    return rec


def _read_ellipse(shape: ET.Element) -> dict:
    cx, cy, rx, ry = (float(shape.get(a)) for a in ("cx", "cy", "rx", "ry"))
    return ellipse_record(cx, cy, rx, ry, float(shape.get("rotation") or 0.0))


def _parse_points(text: str | None) -> list[list[float]]:
    if not text:
        raise ValueError("no points")
    pts = []
    for pair in text.strip().split(";"):
        x, y = pair.split(",")
        pts.append([float(x), float(y)])
    return pts


def _flag(text) -> bool:
    return str(text or "").strip().lower() in ("1", "true", "yes")


def _merge_groups(annotations: list[dict], grouped: dict, given: set) -> list[dict]:
    # One object, several CVAT shapes in one group (of one label): the polygons of a
    # multi-part object, and a <points> with the keypoints of a box, a mask or those polygons.
    # write_cvat writes objects that way; a group of anything else stays as it is.
    swap: dict[int, dict] = {}
    drop = set()
    for members in grouped.values():
        polys = [r for tag, r in members if tag == "polygon" and not r.get("ellipse")]
        boxes = [r for tag, r in members if tag in ("box", "mask")]
        sets = [r for tag, r in members if tag == "points"]
        if polys and len(polys) == sum(1 for tag, _ in members if tag == "polygon") and not boxes:
            owner = parts_record(polys) if len(polys) > 1 else polys[0]
            if id(polys[0]) in given:
                owner["bbox"] = polys[0]["bbox"]
            swap[id(polys[0])] = owner
            drop.update(id(r) for r in polys[1:])
        elif len(boxes) == 1 and not polys:
            owner = boxes[0]
        else:
            continue
        if len(sets) == 1 and owner.get("keypoints") is None:
            owner["keypoints"] = _restore_visibility(sets[0])
            drop.add(id(sets[0]))
    return [swap.get(id(r), r) for r in annotations if id(r) not in drop]


def _restore_visibility(points_rec: dict) -> list:
    # Absent keypoints were written at (0, 0) after the visible ones with an attribute that
    # holds each slot's visibility, so the order and the hidden points survive.
    kps = points_rec["keypoints"]
    vis = (points_rec.get("attributes") or {}).get("visibility")
    if not vis:
        return kps
    flags = [int(v) for v in str(vis).split()]
    if len(flags) != len(kps):
        return kps
    return [[x, y, v] if v else [0.0, 0.0, 0] for (x, y, _), v in zip(kps, flags)]


# -- writing -------------------------------------------------------------------------------------


def write_cvat(
    rows: Iterable[dict],
    classes: Sequence[str],
    path: str | os.PathLike,
    *,
    image_root: str | os.PathLike | None = None,
    include_unlabeled: bool = False,
) -> Path:
    """Write a CVAT for images 1.1 ``annotations.xml`` that CVAT and Datumaro import.

    Polygons become ``<polygon>``, point sets (``shape: "points"``) ``<points>``, other
    records ``<box>``. A record with a box *and* keypoints (a pose) becomes a ``<box>`` and a
    ``<points>`` sharing a ``group_id``; a pose read from a CVAT skeleton (its ``skeleton``)
    goes back as a ``<skeleton>``, its label declared as one with its elements. Exactly as
    read, while the outline is not redrawn: a mask becomes a ``<mask>`` of the same pixels,
    each part of a multi-part object its own ``<polygon>`` in one group, an ellipse an
    ``<ellipse>``; a box CVAT would derive differently from the outline (a COCO ``bbox``,
    say) rides along as ``nblabel_bbox``. A row's ``cvat_shapes`` (polylines, cuboids, tags
    kept by :func:`read_cvat`) are written back unchanged. Attributes are written as
    ``<attribute>`` children and declared on their label (as text attributes); ``occluded``
    becomes the shape's flag.

    Args:
        rows: dicts with ``key``, ``image``, ``width``, ``height``, ``annotations``.
        classes: the label names, declared in this order.
        path: the XML file to write (its folder is created when missing).
        image_root: folder image names are relative to (default: the deepest folder that
            holds all images), which is what CVAT matches names against when the
            annotations are uploaded to a task with the same images.
        include_unlabeled: also write rows whose ``status`` is ``"unlabeled"`` (as images
            without shapes). Off by default: nobody has said those images are empty.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> write_cvat(rows, ["raccoon"], "export/annotations.xml")
        PosixPath('export/annotations.xml')
    """
    classes = check_classes(classes)
    prepared = prepare_rows(rows, classes, include_unlabeled)
    out = Path(path).expanduser()
    images = [Path(r["image"]).resolve() for r in prepared]
    if image_root is not None:
        base = Path(image_root).expanduser().resolve()
    elif images:
        base = Path(os.path.commonpath([str(p.parent) for p in images]))
    else:
        base = out.parent.resolve()

    attr_names: dict[str, list[str]] = {c: [] for c in classes}
    skeletons: dict[str, dict] = {}  # the first skeleton of each label gives its elements
    for row in prepared:
        for shape in row.get("cvat_shapes") or []:
            label = shape.get("attrib", {}).get("label") if isinstance(shape, dict) else None
            if label and label not in attr_names:
                attr_names[label] = []  # a kept shape's label is declared like the others
        for rec in row["annotations"]:
            spec = _skeleton_spec(rec)
            if spec is not None:
                skeletons.setdefault(rec["label"], spec)
            names = attr_names[rec["label"]]
            pose = rec.get("keypoints") and rec.get("shape") != "points"
            for a in _user_attributes(rec) + (["visibility"] if pose else []):
                if a not in names:
                    names.append(a)

    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    meta = ET.SubElement(root, "meta")
    task = ET.SubElement(meta, "task")
    ET.SubElement(task, "name").text = out.parent.name or "nblabel"
    ET.SubElement(task, "size").text = str(len(prepared))
    ET.SubElement(task, "mode").text = "annotation"
    labels = ET.SubElement(task, "labels")
    for c in attr_names:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = c
        if c in skeletons:
            ET.SubElement(label, "type").text = "skeleton"
        attrs = ET.SubElement(label, "attributes")
        for a in attr_names[c]:
            attr = ET.SubElement(attrs, "attribute")
            ET.SubElement(attr, "name").text = a
            ET.SubElement(attr, "mutable").text = "False"
            ET.SubElement(attr, "input_type").text = "text"
            ET.SubElement(attr, "default_value").text = ""
            ET.SubElement(attr, "values").text = ""
        if c in skeletons:
            _declare_skeleton(labels, label, c, skeletons[c])
    ET.SubElement(meta, "dumped").text = time.strftime("%Y-%m-%d %H:%M:%S")

    for image_id, (row, image) in enumerate(zip(prepared, images)):
        el = ET.SubElement(
            root,
            "image",
            {
                "id": str(image_id),
                "name": xml_name(Path(os.path.relpath(image, base)).as_posix()),
                "width": str(row["width"]),
                "height": str(row["height"]),
            },
        )
        next_group = 1 + max((int(r.get("group_id") or 0) for r in row["annotations"]), default=0)
        if not row["annotations"] and row.get("status"):
            el.set("nblabel_status", row["status"])  # CVAT and Datumaro ignore it
        for rec in row["annotations"]:
            spec = _skeleton_spec(rec)
            if spec is not None and spec["names"] == skeletons[rec["label"]]["names"]:
                _write_skeleton(el, rec, spec)
            else:
                next_group = _write_shapes(el, rec, next_group)
        for shape in row.get("cvat_shapes") or []:
            _add_element(el, shape, f"row {row['key']!r}")  # as read, unchanged
    ET.indent(root, space="  ")
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
    write_atomic(out, text + "\n")
    return out


def _skeleton_spec(rec: dict) -> dict | None:
    """The record's CVAT skeleton (element names, edges, drawing) while it has one name per
    keypoint; ``None`` for every other record."""
    spec = rec.get("skeleton")
    kps = rec.get("keypoints")
    if not isinstance(spec, dict) or not kps or rec.get("points") or rec.get("mask"):
        return None
    names = spec.get("names")
    if (
        not isinstance(names, list)
        or len(names) != len(kps)
        or len(set(map(str, names))) < len(names)
    ):
        return None
    return {**spec, "names": [str(n) for n in names]}


def _declare_skeleton(labels: ET.Element, label: ET.Element, name: str, spec: dict) -> None:
    """A skeleton label: its drawing (``<svg>``: one circle per element, one line per edge,
    as CVAT's label editor writes it) and one ``points`` sublabel per element."""
    names = spec["names"]
    layout = spec.get("layout")
    if not (isinstance(layout, list) and len(layout) == len(names)):
        # no drawing to keep: the elements on a circle, in order
        layout = [
            [50 + 40 * math.cos(2 * math.pi * i / len(names)),
             50 + 40 * math.sin(2 * math.pi * i / len(names))]
            for i in range(len(names))
        ]  # fmt: skip
    svg = []
    for a, b in spec.get("edges") or []:
        try:
            (x1, y1), (x2, y2) = layout[int(a)], layout[int(b)]
        except (IndexError, TypeError, ValueError):
            continue
        svg.append(
            f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" data-type="edge" '
            f'data-node-from="{int(a) + 1}" data-node-to="{int(b) + 1}"></line>'
        )
    for i, (n, (x, y)) in enumerate(zip(names, layout), start=1):
        svg.append(
            f'<circle r="1.5" cx="{float(x):g}" cy="{float(y):g}" data-type="element node" '
            f'data-element-id="{i}" data-node-id="{i}" data-label-name="{_attr_text(n)}">'
            "</circle>"
        )
    ET.SubElement(label, "svg").text = "".join(svg)
    for n in names:
        element = ET.SubElement(labels, "label")
        ET.SubElement(element, "name").text = n
        ET.SubElement(element, "type").text = "points"
        ET.SubElement(element, "attributes")
        ET.SubElement(element, "parent").text = name


def _attr_text(text: str) -> str:
    # the <svg> text is markup of its own: a name in it is escaped once more
    return html.escape(text, quote=True)


def _write_skeleton(parent: ET.Element, rec: dict, spec: dict) -> None:
    """A ``<skeleton>`` with one ``<points>`` per element: absent points ``outside``,
    hidden ones ``occluded`` (how CVAT says both)."""
    el = _shape(parent, "skeleton", rec, {})
    del el.attrib["occluded"]  # a skeleton's elements are occluded, not the skeleton
    source = el.get("source")
    for name, (x, y, v) in zip(spec["names"], rec["keypoints"]):
        ET.SubElement(
            el,
            "points",
            {"label": name, "source": source, "outside": "0" if v else "1",
             "occluded": "1" if v == 1 else "0", "points": _fmt_points([[x, y]])},
        )  # fmt: skip


def _user_attributes(rec: dict) -> list[str]:
    attrs = rec.get("attributes") if isinstance(rec.get("attributes"), dict) else {}
    return [a for a in attrs if a != "occluded"]


def _write_shapes(parent: ET.Element, rec: dict, next_group: int) -> int:
    points_only = rec.get("shape") == "points" and rec.get("keypoints")
    crop = record_crop(rec)
    ellipse = exact_ellipse(rec) if crop is None else None
    parts = exact_parts(rec) if crop is None and ellipse is None else None
    pose = rec.get("keypoints") and not points_only and any(k[2] for k in rec["keypoints"])
    group = int(rec.get("group_id") or 0)
    if not group and (parts or pose):
        group, next_group = next_group, next_group + 1  # the shapes of one object, together
    outline_box = None  # the box CVAT derives from the shape, where it derives one
    shapes: list[ET.Element] = []
    if crop is not None:
        left, top, pixels = crop
        ch, cw = pixels.shape
        geometry = {"rle": ", ".join(map(str, _row_runs(pixels))), "left": str(left),
                    "top": str(top), "width": str(cw), "height": str(ch)}  # fmt: skip
        el = _shape(parent, "mask", rec, geometry)
        outline_box = [left, top, left + cw, top + ch]
    elif ellipse is not None:
        geometry = {k: _num(ellipse[k]) for k in ("cx", "cy", "rx", "ry")}
        if ellipse["rotation"] % 360:
            geometry["rotation"] = _num(ellipse["rotation"])
        el = _shape(parent, "ellipse", rec, geometry)
        outline_box = ellipse_box(**ellipse)
    elif parts:
        # one <polygon> per part in one group: how CVAT and Datumaro hold a multi-part object
        for part in parts:
            el = _shape(parent, "polygon", rec, {"points": _fmt_points(part)})
            el.set("group_id", str(group))
            shapes.append(el)
        outline_box = bbox_of_points([p for part in parts for p in part])
    elif rec.get("points"):
        el = _shape(parent, "polygon", rec, {"points": _fmt_points(rec["points"])})
        outline_box = bbox_of_points(rec["points"])
    elif points_only:
        pts = [k[:2] for k in rec["keypoints"] if k[2]]
        el = _shape(parent, "points", rec, {"points": _fmt_points(pts)})
    else:
        x1, y1, x2, y2 = rec["bbox"]
        geometry = {"xtl": _num(x1), "ytl": _num(y1), "xbr": _num(x2), "ybr": _num(y2)}
        if rec.get("rotation"):
            geometry["rotation"] = _num(float(rec["rotation"]))
        el = _shape(parent, "box", rec, geometry)
    shapes = shapes or [el]
    if outline_box is not None and _num_box(rec["bbox"]) != _num_box(outline_box):
        # CVAT derives a polygon's or a mask's box from its outline; the record's own box (a
        # COCO bbox, say) rides along in an attribute CVAT and Datumaro ignore
        for shown in shapes:
            shown.set("nblabel_bbox", ",".join(_num_box(rec["bbox"])))
    if pose:
        el.set("group_id", str(group))
        # Visible points first at their place, absent ones at (0, 0): CVAT points carry no
        # visibility, so an attribute keeps each slot's flag and the slot order.
        pts = [k[:2] if k[2] else [0.0, 0.0] for k in rec["keypoints"]]
        kp_el = _shape(parent, "points", {**rec, "attributes": {}}, {"points": _fmt_points(pts)})
        kp_el.set("group_id", str(group))
        ET.SubElement(kp_el, "attribute", {"name": "visibility"}).text = " ".join(
            str(int(k[2])) for k in rec["keypoints"]
        )
    return next_group


def _shape(parent: ET.Element, tag: str, rec: dict, geometry: dict) -> ET.Element:
    attrs = rec.get("attributes") if isinstance(rec.get("attributes"), dict) else {}
    human = (rec.get("source") or HUMAN) == HUMAN
    xml = {
        "label": rec["label"],
        "source": rec.get("cvat_source") or ("manual" if human else "auto"),
        "occluded": "1" if _flag(attrs.get("occluded")) else "0",
        **geometry,
        "z_order": str(int(rec.get("z_order") or 0)),
    }
    if rec.get("group_id"):
        xml["group_id"] = str(int(rec["group_id"]))
    if rec.get("score") is not None:
        xml["score"] = f"{float(rec['score']):.6g}"
    if not human:
        xml["nblabel_source"] = str(rec["source"])
    el = ET.SubElement(parent, tag, xml)
    for name in _user_attributes(rec):
        ET.SubElement(el, "attribute", {"name": str(name)}).text = str(attrs[name])
    return el


def _num_box(box) -> list[str]:
    return [_num(v) for v in box]


def _row_runs(pixels) -> list[int]:
    """CVAT's mask runs: the crop row by row, alternating background and foreground, starting
    with a (maybe empty) background run."""
    import numpy as np

    flat = (np.asarray(pixels).reshape(-1) > 0).astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], edges, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] if flat[0] else []) + runs


def _num(v: float) -> str:
    # CVAT writes two decimals; more would only add noise, fewer could move an edge.
    return f"{float(v):.2f}"


def _fmt_points(pts) -> str:
    return ";".join(f"{_num(x)},{_num(y)}" for x, y in pts)
