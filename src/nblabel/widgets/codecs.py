"""What the Annotator sends to the browser: display JPEGs, clean records, a skeleton, a snapshot.

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

from ..images import encode_image, fit_long_side

# COCO-17 body keypoints, the default skeleton when nblabel.models.keypoints offers none.
COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
COCO17_EDGES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip
# Where each point starts inside a freshly drawn box (x, y as fractions of the box): a person
# facing the camera, so the user drags points a short way instead of placing 17 from nothing.
COCO17_LAYOUT = (
    (0.50, 0.08), (0.46, 0.05), (0.54, 0.05), (0.41, 0.07), (0.59, 0.07),
    (0.33, 0.22), (0.67, 0.22), (0.25, 0.38), (0.75, 0.38), (0.20, 0.52), (0.80, 0.52),
    (0.39, 0.55), (0.61, 0.55), (0.38, 0.76), (0.62, 0.76), (0.37, 0.96), (0.63, 0.96),
)  # fmt: skip

# Class colours (Tableau 10); the browser uses the same list so the snapshot matches the canvas.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip


def default_skeleton() -> dict:
    """The COCO-17 skeleton as the browser expects it: ``names``, ``edges``, ``layout``."""
    return {
        "name": "coco17",
        "names": list(COCO17_NAMES),
        "edges": [list(e) for e in COCO17_EDGES],
        "layout": [list(p) for p in COCO17_LAYOUT],
    }


def _grid_layout(n: int) -> list[list[float]]:
    """Spread ``n`` points over a box when a skeleton comes without a layout."""
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    return [[(i % cols + 0.5) / cols, (i // cols + 0.5) / rows] for i in range(n)]


def skeleton_payload(skeleton) -> dict:
    """Turn a skeleton given by the user or by ``nblabel.models.keypoints`` into a plain dict.

    Accepts a dict with ``names`` (or ``keypoints``) and optional ``edges`` (or ``skeleton``)
    and ``layout``, or an object with those attributes.

    Raises:
        ValueError: no names, or an edge that points outside the list of names.

    Example:
        >>> skeleton_payload({"names": ["a", "b", "c"], "edges": [[0, 1]]})["layout"][0]
        [0.25, 0.25]
    """
    if skeleton is None:
        return default_skeleton()

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
            "pass e.g. {'names': ['nose', 'left_eye', ...], 'edges': [[0, 1], ...]}"
        )
    names = [str(n) for n in names]
    edges = [[int(a), int(b)] for a, b in (get("edges", "skeleton", "connections") or [])]
    for a, b in edges:
        if not (0 <= a < len(names) and 0 <= b < len(names)):
            raise ValueError(f"skeleton edge {[a, b]} refers to a point outside {len(names)} names")
    layout = get("layout")
    if layout is None or len(layout) != len(names):
        layout = _grid_layout(len(names))
    return {
        "name": str(get("name") or "custom"),
        "names": names,
        "edges": edges,
        "layout": [[float(x), float(y)] for x, y in layout],
    }


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
    """JSON-safe copies of records (numpy numbers become floats, tuples become lists)."""

    def plain(v):
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return [plain(dict(r)) for r in records]


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def class_color(label: str, classes: Sequence[str]) -> str:
    """The colour of ``label``: its position in ``classes`` picks from the palette."""
    try:
        return PALETTE[list(classes).index(label) % len(PALETTE)]
    except ValueError:
        return "#888888"


def snapshot_png(
    rgb: np.ndarray | None,
    records: Sequence[dict],
    classes: Sequence[str],
    *,
    width: int,
    height: int,
    threshold: float = 0.0,
    skeleton: dict | None = None,
    long_side: int = 800,
) -> bytes:
    """A PNG of the image with its objects drawn: what the widget showed, as a still picture.

    Predictions below ``threshold`` are left out; predictions are drawn thin with their score,
    human labels thick. ``rgb=None`` (an unreadable image) gives a grey canvas of the image size.

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
    edges = (skeleton or {}).get("edges") or []
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
        else:
            draw.rectangle([x1, y1, x2, y2], outline=color, width=lw)
        text = str(rec.get("label", ""))
        if score is not None:
            text += f" {score:.2f}"
        # a filled tag like the canvas draws, readable on any background
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        th = bottom - top + 4
        ty = y1 - th if y1 >= th else y1
        draw.rectangle([x1, ty, x1 + right - left + 6, ty + th], fill=color)
        draw.text((x1 + 3, ty + 2 - top), text, fill=(255, 255, 255), font=font)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()
