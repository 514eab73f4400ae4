"""Helpers shared by the format readers and writers.

Readers never drop an object silently: every object that cannot be kept, and every fix an
import had to make (a clipped box, a corrected image size), becomes a line in the item's
``issues``. Writers validate their rows up front so a bad row fails with its key named
instead of producing a file that a training tool rejects later.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core.jsonsafe import json_safe as json_safe  # the writers' JSON conversion
from ..core.skeletons import COCO17
from ..images import IMAGE_EXTENSIONS, ImageError, image_size
from ..images import natural_key as natural_key  # the readers' file order
from ..records import CORE_KEYS, AnnotationError, normalize_record
from . import limits
from .errors import FormatError as FormatError  # imported from here by every reader

# The 17 COCO person keypoints, in the order every COCO-trained pose model emits them, and
# COCO's person skeleton as 1-based pairs of keypoint indices (both from the one skeleton).
COCO17_KEYPOINTS = COCO17.names
COCO17_SKELETON = COCO17.one_based_edges()


def keypoint_names(count: int, names: Sequence[str] | None = None) -> list[str]:
    """Names for ``count`` keypoints: the given ones, COCO's 17, or ``kp0..kpN``."""
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != count:
            raise ValueError(
                f"keypoint_names has {len(names)} names but the records have {count} keypoints"
            )
        return names
    if count == len(COCO17_KEYPOINTS):
        return list(COCO17_KEYPOINTS)
    return [f"kp{i}" for i in range(count)]


def keypoint_index(name: str, names: Sequence[str] | None) -> int | None:
    """Position of a keypoint called ``name``: from ``names``, COCO's 17, or a ``kpN`` name."""
    if names is not None and name in names:
        return list(names).index(name)
    if names is None and name in COCO17_KEYPOINTS:
        return COCO17_KEYPOINTS.index(name)
    m = re.fullmatch(r"kp(\d+)", name)
    return int(m.group(1)) if m else None


def make_record(raw: dict, width: int, height: int, where: str, issues: list[str]) -> dict | None:
    """Normalize ``raw`` against the image size; report clipping or rejection in ``issues``.

    Returns ``None`` (and adds an issue naming ``where`` and the box) for an object that cannot
    be kept: zero area, entirely outside the image, or malformed.
    """
    size_known = bool(width) and bool(height)
    raw = _within_limits(raw, where, issues)
    if raw is None:
        return None
    try:
        rec = normalize_record(
            raw, width=width if size_known else None, height=height if size_known else None
        )
    except AnnotationError as e:
        issues.append(f"{where}: {e}; object left out")
        return None
    before = raw.get("bbox")
    if before is not None and size_known:
        try:
            lo = [min(before[0], before[2]), min(before[1], before[3])]
            hi = [max(before[0], before[2]), max(before[1], before[3])]
            if lo[0] < 0 or lo[1] < 0 or hi[0] > width or hi[1] > height:
                shown = [round(float(v), 2) for v in before]
                issues.append(
                    f"{where}: box {shown} reaches outside the {width}x{height} image; clipped"
                )
        except (TypeError, IndexError):
            pass
    return rec


def _within_limits(raw: dict, where: str, issues: list[str]) -> dict | None:
    # Checked before normalize_record copies anything: a hostile file must not make the
    # import allocate what it asks for.
    problem = limits.label_problem(raw.get("label"))
    if problem:
        issues.append(f"{where}: {problem}; object left out")
        return None
    kps = raw.get("keypoints")
    if isinstance(kps, list):
        problem = limits.keypoint_count_problem(len(kps))
        if problem:
            issues.append(f"{where}: {problem}; keypoints left out")
            raw = {k: v for k, v in raw.items() if k != "keypoints"}
    pts = raw.get("points")
    if isinstance(pts, list) and len(pts) > limits.MAX_POLYGON_POINTS:
        issues.append(
            f"{where}: polygon of {len(pts)} points is above the limit of "
            f"{limits.MAX_POLYGON_POINTS} (nblabel.formats.limits.MAX_POLYGON_POINTS); "
            "outline left out"
        )
        raw = {k: v for k, v in raw.items() if k != "points"}
    return raw


def real_size(
    path: Path | None, declared: tuple[Any, Any], what: str, issues: list[str]
) -> tuple[int, int]:
    """Image size from the file header (EXIF applied), checked against the size a file declares.

    The real image wins: coordinates are clipped against what a viewer shows. A missing image
    keeps the declared size (or 0x0 when none is declared) and adds an issue.
    """
    dw, dh = _int_or_zero(declared[0]), _int_or_zero(declared[1])
    if path is None or not Path(path).is_file():
        issues.append(f"image file not found: {path if path is not None else '(no file name)'}")
        return dw, dh
    try:
        w, h = image_size(path)
    except ImageError as e:
        issues.append(f"image unreadable: {e}")
        return dw, dh
    if dw and dh and (dw, dh) != (w, h):
        issues.append(f"{what} gives the size {dw}x{dh} but the image is {w}x{h}; using {w}x{h}")
    return w, h


def _int_or_zero(v: Any) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0
    return int(f) if math.isfinite(f) and f > 0 else 0


def inside(path: str | os.PathLike, roots: Iterable[str | os.PathLike]) -> bool:
    """True when ``path``, with ``..`` resolved but links not followed, lies under a root.

    Links are not followed on purpose: a folder of symlinks the user made is the user's
    folder. What is refused is a name in an annotation file that climbs out of it
    (``../../etc/passwd``) or points elsewhere (an absolute ``<path>``).
    """
    p = os.path.normpath(os.path.abspath(path))
    for r in roots:
        r = os.path.normpath(os.path.abspath(r))
        if p == r or p.startswith(r.rstrip(os.sep) + os.sep):
            return True
    return False


def find_image(
    candidates: Iterable[Path | None],
    roots: Sequence[str | os.PathLike] | None = None,
    issues: list[str] | None = None,
    what: str = "",
) -> Path | None:
    """First candidate that is a file; a candidate without a suffix also matches ``stem.<ext>``.

    With ``roots``, candidates outside them (see :func:`inside`) are never used: when one of
    them exists and nothing inside does, an issue in ``issues`` says how to allow it. The
    path returned is then always inside ``roots`` (or ``None``).
    """
    first = refused = None
    for c in candidates:
        if c is None:
            continue
        c = Path(c)
        if roots is not None and not inside(c, roots):
            if refused is None and (c.exists() or c.is_symlink()):
                refused = c
            continue
        first = first or c
        if c.is_file():
            return c
        if not c.suffix and c.parent.is_dir():
            for ext in sorted(IMAGE_EXTENSIONS):
                alt = c.with_name(c.name + ext)
                if alt.is_file():
                    return alt
    if refused is not None and issues is not None:
        shown = ", ".join(str(r) for r in roots or ())
        issues.append(
            f"{what + ': ' if what else ''}the image path {refused} named by the file is outside "
            f"{shown}; not read. Pass images= the folder that holds the images, or "
            "allow_outside=True if you trust the file"
        )
    return first


def point_box(pts, w: int, h: int) -> list[float]:
    """Box of a point set: its envelope, widened to one pixel where it is flat.

    A point set has no box of its own, but every record needs one with an area; the widened
    box stays inside a ``w`` x ``h`` image so importing it reports no clipping.
    """
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    box = [min(xs), min(ys), max(xs), max(ys)]
    for lo, hi, size in ((0, 2, w), (1, 3, h)):
        if box[hi] - box[lo] < 1:
            c = (box[hi] + box[lo]) / 2
            box[lo], box[hi] = c - 0.5, c + 0.5
            if size:
                shift = max(0.0, -box[lo]) - max(0.0, box[hi] - size)
                box[lo] += shift
                box[hi] += shift
    return box


# -- writers ------------------------------------------------------------------------------------


def check_classes(classes: Sequence[str]) -> list[str]:
    """``classes`` as a list of unique non-empty strings, or a ValueError saying which is wrong."""
    out = [str(c) for c in classes]
    for c in out:
        if not c.strip():
            raise ValueError(f"class names must be non-empty; got {out!r}")
    dupes = sorted({c for c in out if out.count(c) > 1})
    if dupes:
        raise ValueError(f"class names must be unique; repeated: {dupes}")
    return out


def prepare_rows(
    rows: Iterable[dict], classes: Sequence[str], include_unlabeled: bool = True
) -> list[dict]:
    """Validate rows for export: known classes, records clipped to the image, ints for sizes.

    Rows whose ``status`` is ``"unlabeled"`` are left out unless ``include_unlabeled``: in a
    training or evaluation file an image without objects says "nothing here", which is not
    what an image nobody has labeled yet means.

    Raises:
        ValueError: a row without an image path or size, or a record that cannot be exported;
            the message names the row's key.
    """
    out = []
    for i, row in enumerate(rows):
        if not include_unlabeled and row.get("status") == "unlabeled":
            continue
        key = row.get("key", i)
        image = row.get("image")
        if not isinstance(image, (str, os.PathLike)) or not str(image):
            raise ValueError(
                f"row {key!r} has no image path (got {image!r}); it cannot be exported"
            )
        w, h = _int_or_zero(row.get("width")), _int_or_zero(row.get("height"))
        if not (w and h):
            raise ValueError(
                f"row {key!r} ({image}) has no image size (width={row.get('width')!r}, "
                f"height={row.get('height')!r}); fix the image or drop the row before exporting"
            )
        anns = row.get("annotations")
        if anns is None or (isinstance(anns, float) and math.isnan(anns)):
            anns = []
        records = []
        for j, rec in enumerate(anns):
            try:
                records.append(normalize_record(rec, width=w, height=h, classes=classes))
            except AnnotationError as e:
                raise ValueError(f"row {key!r} object {j}: {e}") from None
        out.append(
            {
                **row,
                "key": key,
                "image": str(image),
                "width": w,
                "height": h,
                "annotations": records,
            }
        )
    return out


def unique_stem(stem: str, used: set[str]) -> str:
    """``stem`` made safe as a file name and unique among ``used`` (which it is added to)."""
    safe = re.sub(r"[^\w.\-]+", "_", stem).strip("._") or "image"
    name, i = safe, 2
    while name.lower() in used:
        name = f"{safe}_{i}"
        i += 1
    used.add(name.lower())
    return name


def link_or_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` show ``src``: a symlink where the file system allows, else a copy.

    ``src`` itself is never written to; when ``dst`` already is ``src`` nothing happens.
    """
    src = Path(src).resolve()
    if dst.exists() or dst.is_symlink():
        try:
            if dst.exists() and os.path.samefile(dst, src):
                return
        except OSError:
            pass
        dst.unlink()
    try:
        dst.symlink_to(src)
    except (OSError, NotImplementedError):
        # e.g. Windows without developer mode, or a file system without links
        shutil.copy2(src, dst)


def json_text(data: Any, **options) -> str:
    """``json.dumps(data)`` that also holds names which are not UTF-8.

    On Linux a file name may be any bytes; Python spells the undecodable ones as lone
    surrogates (``\\udcff``), which no UTF-8 file can hold. They are written as JSON
    ``\\udcXX`` escapes instead, which :func:`json.loads` turns back into the same name, so
    the path still opens the same file.

    Example:
        >>> json_text({"file_name": os.fsdecode(b"caf\\xe9.jpg")})
        '{"file_name": "caf\\\\udce9.jpg"}'
    """
    text = json.dumps(json_safe(data), ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # only strings can hold a surrogate, so "\udcff" lands inside a JSON string
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def xml_name(name: str) -> str:
    """``name`` with the bytes that are not UTF-8 written as ``%XX`` (XML cannot hold them).

    :func:`name_variants` gives the reader the original name back.

    Example:
        >>> xml_name(os.fsdecode(b"caf\\xe9.jpg"))
        'caf%E9.jpg'
    """
    return re.sub("[\udc80-\udcff]", lambda m: f"%{ord(m.group()) - 0xDC00:02X}", name)


def name_variants(name: str) -> list[str]:
    """``name`` and, when it holds ``%XX`` escapes of non-UTF-8 bytes, the name they spell."""
    raw = re.sub("%([89A-F][0-9A-F])", lambda m: chr(0xDC00 + int(m.group(1), 16)), name)
    return [name] if raw == name else [name, raw]


def polygon_area(points: Sequence[Sequence[float]]) -> float:
    """Area of a simple polygon (shoelace formula)."""
    n = len(points)
    s = 0.0
    for i in range(n):
        x1, y1 = points[i][0], points[i][1]
        x2, y2 = points[(i + 1) % n][0], points[(i + 1) % n][1]
        s += x1 * y2 - x2 * y1
    return abs(s) / 2.0


CORE = CORE_KEYS


def extras(rec: dict, reserved: Iterable[str] = ()) -> dict:
    """The record's extra keys (anything besides the core fields and ``reserved``)."""
    skip = set(CORE) | set(reserved)
    return {k: v for k, v in rec.items() if k not in skip}
