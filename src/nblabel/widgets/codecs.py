"""What the Annotator sends to the browser: JPEGs, records, skeletons, regions, a snapshot.

Images cross to the browser as raw JPEG bytes in binary buffers (never base64), downscaled so
their long side is at most ``display_size``; coordinates always stay in original pixels and the
browser receives the ``scale`` between the two. The snapshot is a PNG of the current image with
its objects drawn, carried in the widget's MIME bundle so a notebook viewed without a kernel
(or by a renderer that does not know widgets) still shows the last picture.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np

from ..core.jsonsafe import json_safe
from ..core.palette import (
    ERROR_COLOR,
    REGION_COLOR,
    STATUS_COLORS,
    UNKNOWN_COLOR,
    class_color,
    ink_on,
)
from ..core.palette import PALETTE as PALETTE  # the class colours, imported from here too
from ..core.skeletons import COCO17, FACE5, HAND21, SKELETONS, get_skeleton
from ..core.statuses import STATUSES
from ..images import encode_image, fit_long_side

# Where each point of a built-in skeleton starts inside a freshly drawn box, by skeleton
# name (see Skeleton.layout; kept under these names for code that imported them from here).
LAYOUTS = {name: sk.layout for name, sk in SKELETONS.items()}
COCO17_LAYOUT, FACE5_LAYOUT, HAND21_LAYOUT = COCO17.layout, FACE5.layout, HAND21.layout


def _grid_layout(n: int) -> list[list[float]]:
    """Spread ``n`` points over a box when a skeleton comes without a layout."""
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    return [[(i % cols + 0.5) / cols, (i // cols + 0.5) / rows] for i in range(n)]


def skeleton_payload(skeleton=None) -> dict:
    """Turn a skeleton into the plain dict the browser draws: ``name``, ``names``, ``edges``,
    ``layout``.

    Accepts ``None`` (COCO-17 body), a name known to
    :func:`nblabel.core.skeletons.get_skeleton` (``"coco17"``/``"body"``, ``"face5"``/
    ``"face"``, ``"hand21"``/``"hand"``), a :class:`~nblabel.core.skeletons.Skeleton`, or a
    dict (or object) with ``names`` (or ``keypoints``) and optional ``edges`` (or
    ``skeleton``) and ``layout``. A built-in skeleton brings its own layout; other skeletons
    without one get their points spread on a grid.

    Raises:
        ValueError: an unknown name, no point names, or an edge that points outside the list
            of names.

    Example:
        >>> skeleton_payload({"names": ["a", "b", "c"], "edges": [[0, 1]]})["layout"][0]
        [0.25, 0.25]
        >>> skeleton_payload("face")["names"][2]
        'nose_tip'
    """
    if skeleton is None:
        skeleton = COCO17
    elif isinstance(skeleton, str):
        skeleton = get_skeleton(skeleton)

    def get(*names):
        for n in names:
            v = skeleton.get(n) if isinstance(skeleton, dict) else getattr(skeleton, n, None)
            if v is not None:
                return v
        return None

    names = get("names", "keypoints", "keypoint_names")
    if not names:
        raise ValueError(
            f"a keypoint skeleton needs a list of point names, got {skeleton!r}; "
            "pass e.g. {'names': ['nose', 'left_eye', ...], 'edges': [[0, 1], ...]} "
            "or a name: 'coco17', 'face5', 'hand21'"
        )
    names = [str(n) for n in names]
    edges = [[int(a), int(b)] for a, b in (get("edges", "skeleton", "connections") or [])]
    for a, b in edges:
        if not (0 <= a < len(names) and 0 <= b < len(names)):
            raise ValueError(f"skeleton edge {[a, b]} refers to a point outside {len(names)} names")
    name = str(get("name") or "custom")
    layout = get("layout")
    if layout is None or len(layout) != len(names):
        # a built-in layout only where the points really are that skeleton's points
        builtin = SKELETONS.get(name)
        if builtin is not None and list(builtin.names) == names and name in LAYOUTS:
            layout = LAYOUTS[name]
        else:
            layout = _grid_layout(len(names))
    return {
        "name": name,
        "names": names,
        "edges": edges,
        "layout": [[float(x), float(y)] for x, y in layout],
    }


def builtin_skeletons() -> dict[str, dict]:
    """Every built-in skeleton (body 17, face 5, hand 21) as browser payloads, by name.

    The browser draws each keypoint object with the one whose point count matches it.

    Example:
        >>> {k: len(v["names"]) for k, v in builtin_skeletons().items()}
        {'coco17': 17, 'face5': 5, 'hand21': 21}
    """
    return {name: skeleton_payload(sk) for name, sk in SKELETONS.items()}


def widget_constants(tools: Sequence[Sequence[str]], jumps: Sequence[Sequence[str]] = ()) -> dict:
    """The facts the browser draws with, sent once when an Annotator is built.

    Their one definition is in :mod:`nblabel.core` (and the tools in the Annotator); the
    browser code declares none of them, so the canvas cannot drift from the saved snapshot.

    Args:
        tools: ``(name, button label, key)`` of each drawing tool.
        jumps: ``(status, key)`` of each "next image with this status" button and key.

    Returns:
        ``palette`` (class and track colours), ``unknown_color`` (a label not among the
        classes), ``region_color`` (de-identification regions), ``error_color`` (the error
        box), ``statuses``, ``status_colors`` (each status's ``fill`` and the ``text`` that
        reads on it), ``tools`` and ``jumps`` (as lists) and ``skeletons`` (see
        :func:`builtin_skeletons`).

    Example:
        >>> c = widget_constants([("box", "Box", "b")], [("review", "r")])
        >>> c["palette"][0], c["tools"], c["jumps"], sorted(c["skeletons"])
        ('#4e79a7', [['box', 'Box', 'b']], [['review', 'r']], ['coco17', 'face5', 'hand21'])
        >>> c["status_colors"]["review"]
        {'fill': '#e15759', 'text': '#ffffff'}
    """
    return {
        "palette": list(PALETTE),
        "unknown_color": UNKNOWN_COLOR,
        "region_color": REGION_COLOR,
        "error_color": ERROR_COLOR,
        "statuses": list(STATUSES),
        "status_colors": {s: {"fill": c, "text": ink_on(c)} for s, c in STATUS_COLORS.items()},
        "tools": [[str(part) for part in tool] for tool in tools],
        "jumps": [[str(part) for part in jump] for jump in jumps],
        "skeletons": builtin_skeletons(),
    }


def skeleton_for_record(rec: dict, skeletons: Sequence[dict]) -> dict | None:
    """The skeleton that draws a keypoint record: the one its ``skeleton`` key names, else the
    first in ``skeletons`` with as many points as the record has.

    The browser picks the same way (``skeletonOf`` in annotator.js).

    Example:
        >>> sks = list(builtin_skeletons().values())
        >>> skeleton_for_record({"keypoints": [[0, 0, 2]] * 5}, sks)["name"]
        'face5'
    """
    n = len(rec.get("keypoints") or [])
    named = rec.get("skeleton")
    for sk in skeletons:
        if named and sk.get("name") == named and len(sk["names"]) == n:
            return sk
    for sk in skeletons:
        if len(sk["names"]) == n:
            return sk
    return None


def display_jpeg(rgb: np.ndarray, display_size: int, quality: int = 85) -> tuple[bytes, float]:
    """Downscale ``rgb`` to ``display_size`` on its long side and encode it as JPEG.

    Returns the bytes and the scale (display pixels per original pixel, at most 1).

    Example:
        >>> data, scale = display_jpeg(np.zeros((400, 1000, 3), np.uint8), 500)
        >>> scale, data[:2]
        (0.5, b'\\xff\\xd8')
    """
    from PIL import Image

    h, w = rgb.shape[:2]
    dw, dh, scale = fit_long_side(w, h, display_size)
    if scale < 1.0:
        rgb = np.asarray(Image.fromarray(rgb).resize((dw, dh), Image.Resampling.BILINEAR))
    return encode_image(rgb, "jpeg", quality=quality), scale


def clean_records(records: Sequence[dict]) -> list[dict]:
    """JSON-safe copies of records (numpy numbers become floats, tuples become lists).

    Example:
        >>> clean_records([{"bbox": (np.float32(1.0), 2, 3, 4), "score": float("nan")}])
        [{'bbox': [1.0, 2, 3, 4], 'score': None}]
    """
    return [json_safe(dict(r)) for r in records]


def _number(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def clean_regions(value) -> tuple[list[dict], int]:
    """The de-identification regions of a row as the browser draws them, and how many of the
    given entries could not be drawn.

    ``value`` is the row's ``deid_regions`` (see :func:`nblabel.models.deidentify.deidentify`):
    a list of dicts with ``bbox`` and ``kind`` (or ``label``), optionally ``score`` and
    ``method``. A row without the column (``None``, NaN) has no regions. An entry without a
    4-number ``bbox`` of positive size is left out and counted, not raised: the layer is a
    view of data a tool wrote, and one bad entry must not keep the image from showing.

    Example:
        >>> clean_regions([{"kind": "face", "bbox": [1, 2, 30, 40], "score": 0.9},
        ...                {"kind": "plate", "bbox": [5, 5]}])
        ([{'kind': 'face', 'bbox': [1.0, 2.0, 30.0, 40.0], 'score': 0.9, 'method': None}], 1)
    """
    if value is None or isinstance(value, (float, str, bytes)):
        return [], 0  # no column, a missing value (NaN) or nothing list-like
    try:
        entries = list(value)
    except TypeError:
        return [], 1
    out, bad = [], 0
    for r in entries:
        bbox = r.get("bbox") if isinstance(r, dict) else None
        box = [_number(v) for v in bbox] if isinstance(bbox, (list, tuple, np.ndarray)) else []
        if len(box) != 4 or None in box or box[2] <= box[0] or box[3] <= box[1]:
            bad += 1
            continue
        kind = r.get("kind") or r.get("label") or "region"
        method = r.get("method")
        out.append(
            {
                "kind": str(kind),
                "bbox": box,
                "score": _number(r.get("score")),
                "method": None if method is None else str(method),
            }
        )
    return out, bad


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def _draw_keypoints(draw, rec, edges, s, color, lw) -> None:
    kps = rec["keypoints"]
    for a, b in edges:
        if a < len(kps) and b < len(kps) and kps[a][2] and kps[b][2]:
            draw.line(
                [(kps[a][0] * s, kps[a][1] * s), (kps[b][0] * s, kps[b][1] * s)],
                fill=color,
                width=max(1, lw - 1),
            )
    for x, y, v in kps:
        if v:
            r = 3
            draw.ellipse([x * s - r, y * s - r, x * s + r, y * s + r], fill=color)


def _draw_tag(draw, text, x, y, color, font) -> None:
    """A filled tag like the canvas draws, readable on any background."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    th = bottom - top + 4
    ty = y - th if y >= th else y
    draw.rectangle([x, ty, x + right - left + 6, ty + th], fill=color)
    draw.text((x + 3, ty + 2 - top), text, fill=(255, 255, 255), font=font)


def _draw_region(draw, region, s, font) -> None:
    """A de-identification region: hatched and outlined, labelled with its kind."""
    color = _hex_rgb(REGION_COLOR)
    x1, y1, x2, y2 = (float(v) * s for v in region["bbox"])
    step = 10
    for off in np.arange(0.0, (x2 - x1) + (y2 - y1), step):
        # a 45-degree line x - x1 + (y - y1) = off, cut to the rectangle
        ax, ay = x1 + min(off, x2 - x1), y1 + max(0.0, off - (x2 - x1))
        bx, by = x1 + max(0.0, off - (y2 - y1)), y1 + min(off, y2 - y1)
        draw.line([(ax, ay), (bx, by)], fill=color, width=1)
    draw.rectangle([x1, y1, x2, y2], outline=color, width=2)
    _draw_tag(draw, str(region.get("kind", "region")), x1, y1, color, font)


def snapshot_png(
    rgb: np.ndarray | None,
    records: Sequence[dict],
    classes: Sequence[str],
    *,
    width: int,
    height: int,
    threshold: float = 0.0,
    skeleton: dict | None = None,
    skeletons: Sequence[dict] = (),
    regions: Sequence[dict] = (),
    long_side: int = 800,
) -> bytes:
    """A PNG of the image with its objects drawn: what the widget showed, as a still picture.

    Predictions below ``threshold`` are left out; predictions are drawn thin with their score,
    human labels thick. Keypoint objects are joined by the skeleton that matches them
    (``skeleton`` first, then ``skeletons``; see :func:`skeleton_for_record`).
    ``regions`` (de-identification regions, see :func:`clean_regions`) are drawn hatched.
    ``rgb=None`` (an unreadable image) gives a grey canvas of the image size.

    Example:
        >>> png = snapshot_png(np.zeros((40, 60, 3), np.uint8),
        ...                    [{"label": "cat", "bbox": [5, 5, 30, 30]}], ["cat"],
        ...                    width=60, height=40)
        >>> png[:4]
        b'\\x89PNG'
    """
    from PIL import Image, ImageDraw, ImageFont

    if rgb is None:
        w, h = max(1, int(width or 320)), max(1, int(height or 240))
        im = Image.new("RGB", (w, h), (128, 128, 128))
    else:
        im = Image.fromarray(rgb)
        w, h = im.size
    dw, dh, s = fit_long_side(w, h, long_side)
    if s < 1.0:
        im = im.resize((dw, dh), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(im)
    try:
        font = ImageFont.load_default(size=max(12, round(max(dw, dh) / 50)))
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        font = ImageFont.load_default()
    candidates = [skeleton, *skeletons] if skeleton else list(skeletons)
    for region in regions:
        _draw_region(draw, region, s, font)
    for rec in records:
        score = rec.get("score")
        if score is not None and score < threshold:
            continue
        color = _hex_rgb(class_color(rec.get("label", ""), classes))
        lw = 1 if score is not None else 3
        x1, y1, x2, y2 = (float(v) * s for v in rec["bbox"])
        if rec.get("points"):
            pts = [(float(p[0]) * s, float(p[1]) * s) for p in rec["points"]]
            draw.line([*pts, pts[0]], fill=color, width=lw)
        elif rec.get("keypoints"):
            sk = skeleton_for_record(rec, candidates) or {}
            draw.rectangle([x1, y1, x2, y2], outline=color, width=1)  # as the canvas does
            _draw_keypoints(draw, rec, sk.get("edges") or [], s, color, lw)
        else:
            draw.rectangle([x1, y1, x2, y2], outline=color, width=lw)
        text = str(rec.get("label", ""))
        if score is not None:
            text += f" {score:.2f}"
        _draw_tag(draw, text, x1, y1, color, font)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()
