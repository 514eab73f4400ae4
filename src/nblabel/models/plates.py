"""Licence-plate detection: a YOLO plate model when one is given, else a classical fallback.

The fallback needs no weights. It looks for what every plate has: a row of 3 or more
characters of equal height, dark on a light panel (or light on dark), inside a box between
1.5 and 8 times wider than high. It runs on OpenCV morphology only, so it works offline,
but it is a heuristic: it finds clear, roughly frontal plates and misses small, blurred or
steeply angled ones, and text on signs and shirts looks like a plate to it. For real
de-identification work pass a trained plate detector as ``plate_model``; the quality the
fallback reaches is measured by ``benchmarks/deidentify.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from nblabel.core.geometry import box_iou, greedy_suppress
from nblabel.core.protocols import Predictor
from nblabel.images import load_rgb

# Work resolution of the fallback: plates are searched at this long side and at half of it.
_WORK_SIDE = 1280
# Plate text heights (pixels at a pyramid level) the morphology kernels are tuned for.
_MIN_TEXT_H, _MAX_TEXT_H = 8, 48
_MIN_ASPECT, _MAX_ASPECT = 1.5, 8.0


class PlateDetector:
    """Licence plates as ``[{"bbox": [x1, y1, x2, y2], "score": float}, ...]``.

    Args:
        model: ``None`` for the classical fallback; a path to a YOLO checkpoint trained on
            plates (loaded with ultralytics); an ultralytics ``YOLO`` object; or any
            predictor with ``predict(images) -> list[list[record]]``.
        score_threshold: minimum confidence kept; ``None`` uses 0.5 for the classical
            fallback (its scores are calibrated so) and 0.25 for a model.
        classes: labels that count as plates when the model knows other classes too
            (``None``: every class of the model).

    Example:
        >>> found = PlateDetector().detect("bus.jpg")  # the classical fallback
        >>> [round(v) for v in found[0]["bbox"]], round(found[0]["score"], 2)
        ([650, 834, 672, 843], 0.72)

        With a plate model (a checkpoint of your own; none ships with nblabel, so this line
        does not run with the examples):

        >>> PlateDetector("plates_yolo.pt").detect("street.jpg")  # doctest: +SKIP
        [{'bbox': [410.2, 630.9, 543.7, 664.0], 'score': 0.93}]
    """

    label = "plate"

    def __init__(
        self,
        model: Any = None,
        score_threshold: float | None = None,
        classes: list[str] | None = None,
    ):
        if score_threshold is not None and not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be between 0 and 1, got {score_threshold!r}")
        self.model = model
        self.score_threshold = score_threshold
        self.classes = classes

    @property
    def method(self) -> str:
        """``"classical"`` for the fallback, else ``"model"``."""
        return "classical" if self.model is None else "model"

    @property
    def threshold(self) -> float:
        """The score threshold in effect."""
        if self.score_threshold is not None:
            return float(self.score_threshold)
        return 0.5 if self.model is None else 0.25

    def load(self):
        """Load the plate model now (so a bad path fails before any image is processed)."""
        if self.model is None or hasattr(self, "model_"):
            return getattr(self, "model_", None)
        m = self.model
        if isinstance(m, (str, os.PathLike)):
            p = Path(m).expanduser()
            if not p.is_file():
                raise FileNotFoundError(
                    f"plate model {p} not found; pass plate_model= the path of a YOLO "
                    "checkpoint trained on licence plates, or plate_model=None for the "
                    "built-in classical detector"
                )
            from .checkpoints import load_ultralytics

            m = load_ultralytics(p)
        elif not isinstance(m, Predictor):
            raise TypeError(
                f"plate_model must be a path, a YOLO model or an object with predict(images), "
                f"got {type(m).__name__}"
            )
        self.model_ = m
        return m

    def detect(self, image: str | os.PathLike | np.ndarray) -> list[dict]:
        """Plates in ``image`` (path or array), best first, in its pixel coordinates."""
        rgb = load_rgb(image)
        found = detect_plates_classical(rgb) if self.model is None else self._detect_model(rgb)
        found = [f for f in found if f["score"] >= self.threshold]
        return sorted(found, key=lambda f: -f["score"])

    def _detect_model(self, rgb: np.ndarray) -> list[dict]:
        m = self.load()
        if type(m).__module__.startswith("ultralytics"):
            from .ultralytics_records import records_from_result

            # ultralytics takes BGR arrays (OpenCV order)
            res = m.predict(
                np.ascontiguousarray(rgb[:, :, ::-1]), conf=self.threshold, verbose=False
            )[0]
            h, w = rgb.shape[:2]
            recs = records_from_result(res, res.names, width=w, height=h, source="plate")
            return [
                {"bbox": r["bbox"], "score": r["score"]}
                for r in recs
                if self.classes is None or r["label"] in self.classes
            ]
        records = m.predict([rgb])[0]
        return [
            {
                "bbox": [float(v) for v in r["bbox"]],
                "score": 1.0 if r.get("score") is None else float(r["score"]),
            }
            for r in records
            if self.classes is None or r.get("label") in self.classes
        ]


# -- classical fallback ----------------------------------------------------------------------
def _text_rows(gray: np.ndarray, dark_text: bool, text_h: int) -> list[tuple[int, int, int, int]]:
    """Boxes of horizontal runs of character-sized strokes, for text about ``text_h`` high."""
    import cv2

    # Black-hat (or top-hat) keeps strokes thinner than the kernel and drops the panel and
    # the scene's slow shading, so the threshold below does not depend on lighting.
    k = max(3, text_h // 2) | 1
    op = cv2.MORPH_BLACKHAT if dark_text else cv2.MORPH_TOPHAT
    strokes = cv2.morphologyEx(gray, op, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    # Characters are mostly vertical strokes: horizontal gradients, many of them in a row.
    gx = np.abs(cv2.Sobel(strokes, cv2.CV_32F, 1, 0, ksize=3))
    gx = cv2.GaussianBlur(gx, (0, 0), max(1.0, text_h / 8))
    bar = cv2.morphologyEx(
        gx,
        cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (text_h, max(3, text_h // 4))),
    )
    hi = float(bar.max())
    if hi <= 0:
        return []
    bar8 = np.clip(bar * (255.0 / hi), 0, 255).astype(np.uint8)
    t, _ = cv2.threshold(bar8, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # at least a clear stroke contrast, so flat images yield nothing
    t = max(t, 40.0 * 255.0 / hi)
    mask = (bar8 > t).astype(np.uint8)
    mask = cv2.morphologyEx(
        mask,
        cv2.MORPH_OPEN,
        cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, text_h // 2), max(3, text_h // 3))),
    )
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    rows = []
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        if 0.5 * text_h <= h <= 2.0 * text_h and _MIN_ASPECT <= w / h <= _MAX_ASPECT + 2:
            rows.append((x, y, w, h))
    return rows


def _verify(
    gray: np.ndarray, box: tuple[int, int, int, int], dark_text: bool
) -> tuple[float, tuple]:
    """Score a candidate by its characters: count, equal heights, one baseline, contrast.

    Returns ``(score, plate box)``; the plate box spans the characters found, grown to the
    size of the panel around them.
    """
    import cv2

    x, y, w, h = box
    H, W = gray.shape
    # look a little around the candidate: the bar may clip the character tops
    px, py = int(0.1 * w), int(0.35 * h)
    x0, y0, x1, y1 = max(0, x - px), max(0, y - py), min(W, x + w + px), min(H, y + h + py)
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0 or crop.shape[0] < 6:
        return 0.0, box
    scale = 64.0 / crop.shape[0]
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    flag = cv2.THRESH_BINARY_INV if dark_text else cv2.THRESH_BINARY
    _, ink = cv2.threshold(crop, 0, 255, flag | cv2.THRESH_OTSU)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    ch, cw_all = crop.shape
    chars = []
    for i in range(1, n):
        cx, cy, cw, chh, area = (int(v) for v in stats[i])
        if cx == 0 or cy == 0 or cx + cw >= cw_all or cy + chh >= ch:
            continue  # touches the crop edge: scene or panel border, not a character
        # up to 2.5 heights wide: neighbouring glyphs of a blurred plate touch
        tall_enough = 0.15 * ch <= chh <= 0.9 * ch
        if tall_enough and 0.08 * chh <= cw <= 2.5 * chh and area >= 0.15 * cw * chh:
            chars.append((cx, cy, cw, chh))
    if len(chars) < 2:
        return 0.0, box
    med = float(np.median([c[3] for c in chars]))
    chars = sorted(c for c in chars if abs(c[3] - med) <= 0.2 * med)
    # glyphs per component: merged neighbours count for as many as their width holds
    n_glyphs = sum(max(1, round(c[2] / (0.65 * c[3]))) for c in chars)
    if len(chars) < 2 or n_glyphs < 3:
        return 0.0, box
    # a plate is one row: no hole wider than a couple of characters inside it
    if max(b[0] - (a[0] + a[2]) for a, b in zip(chars, chars[1:])) > 1.5 * med:
        return 0.0, box
    # characters sit on one (possibly tilted) line: residuals of a straight-line fit
    xs = np.array([c[0] + c[2] / 2 for c in chars], float)
    if np.ptp(xs) < 1.0:
        return 0.0, box
    resid = 0.0
    for edge in ([c[1] for c in chars], [c[1] + c[3] for c in chars]):
        fit = np.polyfit(xs, edge, 1)
        resid += float(np.abs(np.asarray(edge) - np.polyval(fit, xs)).mean())
        if abs(fit[0]) > 0.35:  # steeper than ~20 degrees: not a plate to trust
            return 0.0, box
    align = 1.0 - min(1.0, resid / (0.3 * med))
    ink_mask = ink > 0
    contrast = abs(float(crop[ink_mask].mean()) - float(crop[~ink_mask].mean())) / 255.0
    count = min(1.0, (n_glyphs - 2) / 4.0)
    score = float(np.clip(count * (0.4 + 0.6 * align) * min(1.0, 2.5 * contrast), 0.0, 1.0))
    # characters' extent back in gray coordinates, grown to the plate panel around them
    cx0 = min(c[0] for c in chars) / scale + x0
    cx1 = max(c[0] + c[2] for c in chars) / scale + x0
    cy0 = min(c[1] for c in chars) / scale + y0
    cy1 = max(c[1] + c[3] for c in chars) / scale + y0
    th = cy1 - cy0
    return score, (cx0 - 0.6 * th, cy0 - 0.35 * th, cx1 + 0.6 * th, cy1 + 0.35 * th)


def detect_plates_classical(rgb: np.ndarray, min_score: float = 0.0) -> list[dict]:
    """Weight-free plate finder (morphology + character checks); see the module notes.

    Example:
        >>> detect_plates_classical(np.full((100, 100, 3), 255, np.uint8))
        []
    """
    import cv2

    H, W = rgb.shape[:2]
    s = min(1.0, _WORK_SIDE / max(H, W))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if s < 1.0:
        gray = cv2.resize(
            gray, (max(1, round(W * s)), max(1, round(H * s))), interpolation=cv2.INTER_AREA
        )
    found: list[dict] = []
    level, f = gray, 1.0
    while min(level.shape) >= 2 * _MIN_TEXT_H:
        for text_h in (12, 24):
            for dark in (True, False):
                for box in _text_rows(level, dark, text_h):
                    score, (x1, y1, x2, y2) = _verify(level, box, dark)
                    if score > min_score:
                        k = 1.0 / (f * s)
                        found.append(
                            {
                                "bbox": [
                                    min(max(x1 * k, 0.0), W),
                                    min(max(y1 * k, 0.0), H),
                                    min(max(x2 * k, 0.0), W),
                                    min(max(y2 * k, 0.0), H),
                                ],
                                "score": score,
                            }
                        )
        if max(level.shape) <= 320:
            break
        level = cv2.pyrDown(level)
        f /= 2.0
    found.sort(key=lambda d: -d["score"])
    boxes = [d["bbox"] for d in found]
    # a plate found at two scales (or as dark and light text) is kept once, the better one
    return [found[i] for i in greedy_suppress(box_iou(boxes, boxes) >= 0.3)]


# -- synthetic plates (tests, benchmarks, offline demos) --------------------------------------
def render_plate(text: str, height: int = 40, style: str = "eu") -> np.ndarray:
    """Draw a plain licence plate as an RGB array (for testing a detector offline).

    Args:
        text: the characters, e.g. ``"AB 123 CD"``.
        height: plate height in pixels (the width follows from the text).
        style: ``"eu"`` (white, blue strip on the left), ``"yellow"`` or ``"dark"``
            (light characters on a dark panel).

    Example:
        >>> render_plate("AB 123 CD", height=40).shape[0]
        40
    """
    import cv2

    if height < 8:
        raise ValueError(f"height must be at least 8 pixels, got {height}")
    styles = {
        "eu": ((250, 250, 250), (20, 20, 20)),
        "yellow": ((245, 200, 30), (20, 20, 20)),
        "dark": ((30, 30, 40), (235, 235, 235)),
    }
    if style not in styles:
        raise ValueError(f"style must be one of {list(styles)}, got {style!r}")
    panel, ink = styles[style]
    font = cv2.FONT_HERSHEY_SIMPLEX
    th = int(height * 0.62)
    fs = cv2.getFontScaleFromHeight(font, th, max(1, th // 7))
    (tw, _), _ = cv2.getTextSize(text, font, fs, max(1, th // 7))
    strip = int(height * 0.4) if style == "eu" else 0
    pad = int(height * 0.25)
    w = strip + tw + 2 * pad
    img = np.full((height, w, 3), panel, np.uint8)
    if strip:
        img[:, :strip] = (20, 60, 170)
    cv2.putText(
        img, text, (strip + pad, (height + th) // 2), font, fs, ink, max(1, th // 7), cv2.LINE_AA
    )
    cv2.rectangle(
        img,
        (0, 0),
        (w - 1, height - 1),
        (ink if style != "dark" else (200, 200, 200)),
        max(1, height // 20),
    )
    return img


def place_plate(
    rgb: np.ndarray, plate: np.ndarray, x: int, y: int, angle: float = 0.0
) -> tuple[np.ndarray, list[float]]:
    """Paste ``plate`` into a copy of ``rgb`` with its top-left near ``(x, y)``, rotated by
    ``angle`` degrees; returns the new image and the plate's bounding box.

    Example:
        >>> out, box = place_plate(np.zeros((100, 200, 3), np.uint8), render_plate("AB1"), 10, 20)
        >>> box[:2]
        [10.0, 20.0]
    """
    import cv2

    ph, pw = plate.shape[:2]
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
    corners = np.array([[0, 0, 1], [pw, 0, 1], [pw, ph, 1], [0, ph, 1]], float) @ m.T
    m[:, 2] += [x - corners[:, 0].min(), y - corners[:, 1].min()]
    h, w = rgb.shape[:2]
    warped = cv2.warpAffine(plate, m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full((ph, pw), 255, np.uint8), m, (w, h), flags=cv2.INTER_LINEAR)
    a = (mask.astype(np.float32) / 255.0)[:, :, None]
    out = np.rint(warped * a + rgb * (1.0 - a)).astype(np.uint8)
    quad = np.array([[0, 0, 1], [pw, 0, 1], [pw, ph, 1], [0, ph, 1]], float) @ m.T
    box = [
        float(max(0.0, quad[:, 0].min())),
        float(max(0.0, quad[:, 1].min())),
        float(min(w, quad[:, 0].max())),
        float(min(h, quad[:, 1].max())),
    ]
    return out, box
