"""Pascal VOC XML: one file per image, axis-aligned boxes.

VOC stores boxes, flags (truncated, difficult, occluded), poses, actions, layout parts and
(Datumaro's) free attributes; all of them are read and written. Polygons go in a
``<polygon>`` element that VOC tools ignore; keypoints are left out. Scores and non-human
sources are kept in extra ``<score>`` and ``<source>`` elements inside each ``<object>``;
other VOC readers ignore them, and :func:`read_voc` restores them.

Coordinates are read and written as they are in the file (no 1-based shift), which is what
labelImg, CVAT and torchvision do.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.sources import HUMAN
from ._atomic import folder_export
from ._common import (
    FormatError,
    check_classes,
    find_image,
    make_record,
    name_variants,
    natural_key,
    prepare_rows,
    real_size,
    unique_stem,
    xml_name,
)
from ._xml import parse_xml
from .limits import check_file_size, label_problem

# VOC flags kept in a record's ``attributes`` when they say something (not the default).
_FLAGS = ("difficult", "truncated", "occluded")


def read_voc(
    annotations_dir: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    *,
    errors: str = "raise",
    allow_outside: bool = False,
) -> tuple[list[str], list[dict]]:
    """Read a folder of Pascal VOC XML files.

    Args:
        annotations_dir: folder holding ``*.xml`` files (one per image, in subfolders too),
            a VOC devkit folder (with ``Annotations/``), or a single XML file.
        images_dir: where the images are; each file's ``<filename>`` is looked up here. Without
            it, the XML's ``<path>`` is used when it exists, else ``<filename>`` next to the XML,
            else in a sibling ``images/`` folder.
        errors: ``"raise"`` (default) stops at the first XML file that is not well-formed with a
            :class:`FormatError` naming the file and line; ``"flag"`` keeps going and returns
            an item for that file whose ``issues`` say what is wrong.
        allow_outside: follow a ``<path>`` or ``<filename>`` that leads out of ``images_dir``
            (without it: out of the annotations folder and its sibling ``images/`` or
            ``JPEGImages/``). Off by default, so a file from elsewhere cannot pull other
            files into a dataset and its exports; such a row gets an issue instead.

    Returns:
        ``(classes, items)``: classes in ``labelmap.txt`` order when the folder has one,
        else sorted by name; one item per XML file with ``image``,
        ``width``, ``height`` (from the image header, EXIF applied; the XML ``<size>`` is only
        a fallback), ``annotations`` and ``issues``.

    Example:
        >>> classes, items = read_voc("raccoon/annotations", "raccoon/images")
        >>> classes, len(items)
        (['raccoon'], 200)
    """
    if errors not in ("raise", "flag"):
        raise ValueError(f"errors must be 'raise' or 'flag', got {errors!r}")
    src = Path(annotations_dir).expanduser()
    declared: list[str] = []
    if src.is_dir() and (src / "Annotations").is_dir():
        declared = _read_labelmap(src / "labelmap.txt")
        src = src / "Annotations"  # the VOC devkit layout (what write_voc and Datumaro write)
    if src.is_file():
        files = [src]
    elif src.is_dir():
        # nested folders too (one per subset or per camera); the file list is sorted as a
        # person counts (img-2 before img-10)
        files = sorted(src.rglob("*.xml"), key=lambda p: natural_key(str(p.relative_to(src))))
        if not files:
            raise FileNotFoundError(f"{src}: no .xml files found; is this the annotations folder?")
    else:
        raise FileNotFoundError(f"{src}: no such file or folder")
    images = Path(images_dir).expanduser() if images_dir is not None else None
    if images is not None and not images.is_dir():
        raise FileNotFoundError(f"{images}: images folder not found")

    base = src.parent if src.is_file() else src
    if allow_outside:
        allowed = None
    elif images is not None:
        allowed = [images]
    else:
        allowed = [base, base.parent / "images", base.parent / "JPEGImages"]
    classes: set[str] = set()
    items = []
    for xml_path in files:
        item = _read_one(xml_path, images, errors, allowed)
        classes.update(r["label"] for r in item["annotations"])
        items.append(item)
    # labelmap.txt's order, then any class it does not declare; its "background" is VOC's
    # segmentation convention, a class only when an object uses it
    first = [c for c in declared if c != "background" or c in classes]
    return first + sorted(classes - set(first), key=natural_key), items


def _read_labelmap(path: Path) -> list[str]:
    if not path.is_file():
        return []
    check_file_size(path, item=True)
    names = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = line.split(":", 1)[0].strip()
        if name and name not in names and not label_problem(name):
            names.append(name)
    return names


def _read_one(xml_path: Path, images: Path | None, errors: str, allowed) -> dict:
    issues: list[str] = []
    try:
        check_file_size(xml_path, item=True)
        root = parse_xml(xml_path)
    except FormatError as e:
        err = FormatError(xml_path, f"{e.problem}, or pass errors='flag'", e.line)
        if errors == "raise":
            raise err from None
        guess = find_image(_candidates(xml_path, xml_path.stem, None, images), allowed)
        return {
            "image": str(guess),
            "width": 0,
            "height": 0,
            "annotations": [],
            "issues": [str(err)],
            "key": xml_path.stem,
        }
    if root.tag != "annotation":
        err = FormatError(xml_path, f"root element is <{root.tag}>, not <annotation>")
        if errors == "raise":
            raise err
        return {
            "image": "",
            "width": 0,
            "height": 0,
            "annotations": [],
            "issues": [str(err)],
            "key": xml_path.stem,
        }

    filename = (root.findtext("filename") or "").strip()
    xml_image_path = (root.findtext("path") or "").strip()
    image = find_image(
        _candidates(xml_path, filename, xml_image_path, images), allowed, issues, xml_path.name
    )
    declared = (root.findtext("size/width"), root.findtext("size/height"))
    width, height = real_size(image, declared, f"{xml_path.name} <size>", issues)

    annotations = []
    for n, obj in enumerate(root.findall("object"), start=1):
        where = f"{xml_path.name} object {n}"
        raw = _object_record(obj, where, issues)
        if raw is None:
            continue
        rec = make_record(raw, width, height, f"{where} ({raw['label']})", issues)
        if rec is not None:
            annotations.append(rec)
    item = {
        "image": str(image) if image is not None else "",
        "width": width,
        "height": height,
        "annotations": annotations,
        "issues": issues,
        "key": Path(filename).stem if filename else xml_path.stem,
    }
    if root.find("object") is None and (root.findtext("nblabel_status") or "") != "unlabeled":
        item["negative"] = True  # a file without objects: someone said "nothing here"
    return item


def _candidates(xml_path: Path, filename: str, xml_image_path: str | None, images: Path | None):
    # every lookup also under the name a non-UTF-8 file name was written as (see xml_name)
    for fname in name_variants(filename) if filename else [""]:
        name = Path(fname).name if fname else xml_path.stem
        if images is not None:
            yield images / fname if fname else images / name
            yield images / name
            continue
        for p in name_variants(xml_image_path) if xml_image_path else []:
            yield Path(p)
        yield xml_path.parent / name
        yield xml_path.parent.parent / "images" / name
        yield xml_path.parent.parent / "JPEGImages" / name  # the layout of the VOC devkit


def _object_record(obj: ET.Element, where: str, issues: list[str]) -> dict | None:
    label = (obj.findtext("name") or "").strip()
    if not label:
        issues.append(f"{where}: <object> has no <name>; object left out")
        return None
    box = obj.find("bndbox")
    if box is None:
        issues.append(f"{where} ({label}): <object> has no <bndbox>; object left out")
        return None
    try:
        bbox = [float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
    except (TypeError, ValueError):
        texts = [box.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")]
        issues.append(f"{where} ({label}): <bndbox> values {texts} are not numbers; left out")
        return None
    rec: dict = {"label": label, "bbox": bbox}
    attributes: dict = {}
    for flag in _FLAGS:
        text = (obj.findtext(flag) or "").strip()
        if text.lower() not in ("", "0", "false"):
            attributes[flag] = (
                1 if text.lower() == "true" else int(text) if text.isdigit() else text
            )
    pose = (obj.findtext("pose") or "").strip()
    if pose and pose != "Unspecified":
        attributes["pose"] = pose
    # Datumaro / CVAT: <attributes><attribute><name>n</name><value>v</value></attribute>
    for a in obj.findall("attributes/attribute"):
        name = (a.findtext("name") or "").strip()
        if name:
            attributes[name] = a.findtext("value") or ""
    actions = {}
    for a in obj.findall("actions/*"):
        text = (a.text or "").strip()
        actions[a.tag] = int(text) if text.lstrip("-").isdigit() else text
    if actions:
        attributes["actions"] = actions
    if attributes:
        rec["attributes"] = attributes
    parts = []
    for n, part in enumerate(obj.findall("part"), start=1):
        try:
            pbox = [float(part.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
        except (TypeError, ValueError):
            issues.append(f"{where} ({label}): <part> {n} has no numeric <bndbox>; ignored")
            continue
        parts.append({"name": (part.findtext("name") or "").strip(), "bbox": pbox})
    if parts:
        rec["voc_parts"] = parts  # layout parts (head, hand, foot), written back as <part>
    polygon = obj.find("polygon")
    if polygon is not None:
        points = _polygon_points(polygon)
        if points is None:
            issues.append(
                f"{where} ({label}): <polygon> is not a list of <x1><y1><x2><y2>...; ignored, "
                "the box is kept"
            )
        else:
            rec["points"] = points
    score = obj.findtext("score")
    if score is not None:
        try:
            rec["score"] = float(score)
        except ValueError:
            issues.append(f"{where} ({label}): <score> {score!r} is not a number; ignored")
    source = (obj.findtext("source") or "").strip()
    if source:
        rec["source"] = source
    return rec


def _polygon_points(el: ET.Element) -> list[list[float]] | None:
    # <polygon><x1>..</x1><y1>..</y1><x2>..</x2>...</polygon> (Roboflow and labelImg forks)
    values = {c.tag: c.text for c in el}
    pts = []
    i = 1
    while f"x{i}" in values and f"y{i}" in values:
        try:
            pts.append([float(values[f"x{i}"]), float(values[f"y{i}"])])
        except (TypeError, ValueError):
            return None
        i += 1
    return pts if len(pts) >= 3 and len(pts) * 2 == len(values) else None


def write_voc(
    rows: Iterable[dict],
    classes: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    include_unlabeled: bool = False,
    layout: str = "devkit",
) -> Path:
    """Write one Pascal VOC XML file per row, in the layout Datumaro and CVAT import.

    ``layout="devkit"`` (default) writes ``Annotations/<name>.xml``, the subset list
    ``ImageSets/Main/default.txt`` and ``labelmap.txt`` (every class, with its colour,
    layout parts and actions); ``layout="flat"`` writes only the XML files, into
    ``out_dir`` itself. Files are named after the image (``raccoon-1.jpg`` ->
    ``raccoon-1.xml``; a clash gets a ``_2`` suffix). Boxes are written as whole pixels,
    clipped to the image; ``truncated``, ``difficult`` and ``occluded`` as ``0`` / ``1``.
    Other attributes go to ``<attributes>``, actions to ``<actions>``, layout parts to
    ``<part>``, a polygon to ``<polygon>`` (``x1 y1 x2 ...``, which VOC tools ignore);
    keypoints are not part of VOC and are left out.

    Args:
        rows: dicts with ``key``, ``image``, ``width``, ``height``, ``annotations``.
        classes: the dataset's class names; every record's label must be one of them.
        out_dir: folder to write into (created when missing).
        include_unlabeled: also write rows whose ``status`` is ``"unlabeled"`` (as images
            without objects). Off by default: nobody has said those images are empty.
        layout: ``"devkit"`` or ``"flat"``.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`; :func:`read_voc` reads it back.

    Example:
        >>> write_voc(rows, ["raccoon"], "export/voc")
        PosixPath('export/voc')
    """
    if layout not in ("devkit", "flat"):
        raise ValueError(f"layout must be 'devkit' or 'flat', got {layout!r}")
    classes = check_classes(classes)
    prepared = prepare_rows(rows, classes, include_unlabeled)
    out = Path(out_dir).expanduser()
    used: set[str] = set()
    stems = []
    # built whole beside out_dir and swapped in: a killed export leaves the earlier one
    with folder_export(out) as tmp:
        xml_dir = tmp / "Annotations" if layout == "devkit" else tmp
        xml_dir.mkdir(exist_ok=True)
        for row in prepared:
            image = Path(row["image"])
            root = _annotation_xml(row, image)
            ET.indent(root, space="\t")
            stem = unique_stem(image.stem, used)
            stems.append(stem)
            text = ET.tostring(root, encoding="unicode") + "\n"
            (xml_dir / f"{stem}.xml").write_text(text, encoding="utf-8")
        if layout == "devkit":
            (tmp / "ImageSets" / "Main").mkdir(parents=True)
            subset = "".join(f"{s}\n" for s in stems)
            (tmp / "ImageSets" / "Main" / "default.txt").write_text(subset, encoding="utf-8")
            (tmp / "labelmap.txt").write_text(_labelmap(classes, prepared), encoding="utf-8")
    return out


def _labelmap(classes: Sequence[str], rows: list[dict]) -> str:
    """Datumaro's ``labelmap.txt``: ``name:r,g,b:parts:actions``, background first."""
    parts: dict[str, list[str]] = {c: [] for c in classes}
    actions: dict[str, list[str]] = {c: [] for c in classes}
    for row in rows:
        for rec in row["annotations"]:
            for p in rec.get("voc_parts") or []:
                name = str(p.get("name") or "") if isinstance(p, dict) else ""
                if name and name not in parts[rec["label"]]:
                    parts[rec["label"]].append(name)
            attrs = rec.get("attributes") if isinstance(rec.get("attributes"), dict) else {}
            for name in attrs.get("actions") or {}:
                if name not in actions[rec["label"]]:
                    actions[rec["label"]].append(str(name))
    names = ([] if "background" in classes else ["background"]) + list(classes)
    lines = ["# label:color_rgb:parts:actions"]
    for i, name in enumerate(names):
        r, g, b = _voc_color(i)
        lines.append(
            f"{name}:{r},{g},{b}:{','.join(parts.get(name, []))}:{','.join(actions.get(name, []))}"
        )
    return "\n".join(lines) + "\n"


def _voc_color(index: int) -> tuple[int, int, int]:
    # the VOC devkit's palette: the bits of the index spread over r, g and b, high bits first
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= ((index >> 0) & 1) << shift
        g |= ((index >> 1) & 1) << shift
        b |= ((index >> 2) & 1) << shift
        index >>= 3
    return r, g, b


def _flag(value) -> int:
    # VOC flags are 0 / 1; Datumaro rejects "True" / "False"
    if isinstance(value, str):
        return int(value.strip().lower() in ("1", "true", "yes"))
    try:
        return int(bool(float(value)))
    except (TypeError, ValueError):
        return 0


def _annotation_xml(row: dict, image: Path) -> ET.Element:
    w, h = row["width"], row["height"]
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = xml_name(image.parent.name)
    ET.SubElement(root, "filename").text = xml_name(image.name)
    ET.SubElement(root, "path").text = xml_name(str(image.resolve()))
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "nblabel"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(w)
    ET.SubElement(size, "height").text = str(h)
    ET.SubElement(size, "depth").text = "3"  # images are always read as RGB
    ET.SubElement(root, "segmented").text = "0"
    if row.get("status") == "unlabeled":
        ET.SubElement(root, "nblabel_status").text = "unlabeled"
    for rec in row["annotations"]:
        attrs = rec.get("attributes") if isinstance(rec.get("attributes"), dict) else {}
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = rec["label"]
        ET.SubElement(obj, "pose").text = str(attrs.get("pose", "Unspecified"))
        for flag in _FLAGS:
            ET.SubElement(obj, flag).text = str(_flag(attrs.get(flag, 0)))
        x1, y1, x2, y2 = _pixel_box(rec["bbox"], w, h)
        box = ET.SubElement(obj, "bndbox")
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), (x1, y1, x2, y2)):
            ET.SubElement(box, tag).text = str(v)
        for part in rec.get("voc_parts") or []:
            if not isinstance(part, dict) or len(part.get("bbox") or []) != 4:
                continue
            el = ET.SubElement(obj, "part")
            ET.SubElement(el, "name").text = str(part.get("name") or "")
            pb = ET.SubElement(el, "bndbox")
            for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), part["bbox"]):
                ET.SubElement(pb, tag).text = f"{float(v):g}"
        if isinstance(attrs.get("actions"), dict):
            el = ET.SubElement(obj, "actions")
            for name, v in attrs["actions"].items():
                ET.SubElement(el, str(name)).text = str(_flag(v))
        rest = {k: v for k, v in attrs.items() if k not in (*_FLAGS, "pose", "actions")}
        if rest:
            el = ET.SubElement(obj, "attributes")
            for name, v in rest.items():
                a = ET.SubElement(el, "attribute")
                ET.SubElement(a, "name").text = str(name)
                ET.SubElement(a, "value").text = str(v)
        if rec.get("points"):
            el = ET.SubElement(obj, "polygon")
            for i, (x, y) in enumerate(rec["points"], start=1):
                ET.SubElement(el, f"x{i}").text = f"{x:.2f}"
                ET.SubElement(el, f"y{i}").text = f"{y:.2f}"
        if rec.get("score") is not None:
            ET.SubElement(obj, "score").text = f"{rec['score']:.6g}"
        if rec.get("source") and rec["source"] != HUMAN:
            ET.SubElement(obj, "source").text = rec["source"]
    return root


def _pixel_box(bbox: Sequence[float], w: int, h: int) -> tuple[int, int, int, int]:
    # Many VOC readers parse coordinates with int(); rounding keeps every edge within half a
    # pixel, and a box thinner than a pixel is widened so it does not vanish.
    x1, y1, x2, y2 = (round(float(v)) for v in bbox)
    if x2 <= x1:
        x1, x2 = (x1, x1 + 1) if x1 + 1 <= w else (x2 - 1, x2)
    if y2 <= y1:
        y1, y2 = (y1, y1 + 1) if y1 + 1 <= h else (y2 - 1, y2)
    return x1, y1, x2, y2
