"""Rectangle to polygon: the user draws a box, nblabel proposes the object's outline.

Two back ends:

- **GrabCut** (OpenCV, no weights): colour models of the object (inside the box) and of the
  background (a margin around it) are refined by graph cuts. It runs on a crop around the
  box, scaled down so a 1080p photo still answers in a fraction of a second.
- **SAM** (ultralytics, when a checkpoint is available): the box is the prompt.

Either way the mask becomes one polygon: the largest outer contour, simplified with
Douglas-Peucker at the smallest tolerance that keeps at most ``max_vertices`` corners.

The quality score (``return_score=True``) tells the user whether to trust the outline or
check it. For GrabCut it is ``box_fit * stability * min(1, separation / 0.4)``, each in
``[0, 1]``:

- **box fit**: IoU between the polygon's bounding box and the drawn box. A user draws the
  box around the object, so a good outline touches (nearly) all four sides; a blob in the
  middle or a sliver means GrabCut found no object there.
- **stability**: IoU between the mask after two GrabCut iterations and after four. When the
  colour models have converged the mask stops moving; a mask that still moves is a guess.
- **separation**: 1 minus the overlap of the colour histograms of the object and of the
  rest of the crop. Where object and background look alike the cut has nothing to go on.
  Natural photos overlap a lot even when the cut is right (raccoon crops: median 0.58,
  5th percentile 0.33), so only values below 0.4 lower the score.

Box fit being a factor, an outline whose bounding box misses the drawn box (IoU < 0.7)
always scores below 0.7; on the 200 raccoon boxes, 94% of the outlines that do match score
0.7 or more. A box on plain texture, or around an object coloured like its background,
scores below 0.1.

For SAM the score is SAM's own predicted mask quality times the box fit.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..images import load_rgb
from ..records import bbox_of_points, iou

METHODS = ("auto", "grabcut", "sam")

# Work size of the GrabCut crop (long side, pixels). The cut's cost grows with the pixel
# count; at this size a box on a 1080p image is cut in well under a second on one core while
# the outline, scaled back, is still within a few pixels of a full-resolution cut.
WORK_SIDE = 224
# GrabCut iterations before the stability check, and the total.
EARLY_ITERS = 2
TOTAL_ITERS = 4
# Below this share of the box the first cut is taken to have lost the object; SEED is the
# half-axis of the central ellipse (share of the box side) then marked as foreground.
MIN_FILL = 0.15
SEED = 0.15
# Margin around the box, as a share of its longer side, from which the background colour
# model learns.
MARGIN = 0.25
# Axes of the "maybe object" ellipse relative to the box: sqrt(2) passes through the box's
# corners (see _grabcut_mask).
BULGE = math.sqrt(2.0)


# Colour-histogram separation at and above which the score is not lowered (module docs).
SEPARATION_OK = 0.4

# SAM checkpoints ultralytics knows, in the order "auto" prefers them when several are found.
SAM_CHECKPOINTS = (
    "sam2.1_b.pt",
    "sam2.1_s.pt",
    "sam2.1_t.pt",
    "sam2.1_l.pt",
    "sam2_b.pt",
    "sam2_s.pt",
    "sam2_t.pt",
    "sam2_l.pt",
    "mobile_sam.pt",
    "sam_b.pt",
    "sam_l.pt",
    "sam_h.pt",
)

# What method="sam" loads when no checkpoint is named: the smallest SAM, usable on a CPU.
DEFAULT_SAM = "mobile_sam.pt"

_SAM_CACHE: dict[str, object] = {}
_SAM_LOCK = threading.Lock()


def rect_to_polygon(
    image,
    box: Sequence[float],
    method: str = "auto",
    return_score: bool = False,
    max_vertices: int = 64,
    sam_weights: str | os.PathLike | None = None,
):
    """Outline the object inside ``box`` as a polygon in image pixels.

    Args:
        image: a path or an RGB array (any form :func:`nblabel.images.load_rgb` reads).
        box: ``[x1, y1, x2, y2]`` in image pixels; parts outside the image are clipped.
        method: ``"grabcut"`` (no weights), ``"sam"`` (a SAM checkpoint: ``sam_weights``, else
            ``mobile_sam.pt``, downloaded if missing and online) or ``"auto"`` (SAM when
            ``sam_weights`` is given or :func:`find_sam_weights` finds one, else GrabCut).
        return_score: also return a quality score in ``[0, 1]`` (see the module docs); below
            about 0.7 the outline deserves a look.
        max_vertices: the most corners the polygon may have (at least 3).
        sam_weights: a SAM checkpoint path or standard name (``mobile_sam.pt``,
            ``sam2.1_b.pt`` ...); the file name tells ultralytics the architecture.

    Returns:
        ``[[x, y], ...]`` (float pixels, clockwise or not, not closed), or
        ``(polygon, score)`` when ``return_score`` is true. When no object can be separated
        the polygon is the box itself and the score is 0.

    Raises:
        ValueError: the box is malformed, lies outside the image or is too small, or
            ``method`` is unknown.
        ImageError: the image cannot be read.
        FileNotFoundError: ``sam_weights`` names a file that does not exist.
        WeightsUnavailableError: ``method="sam"`` needs a standard checkpoint that is not
            on this machine and cannot be downloaded (the message says where to get it).

    Example:
        >>> import numpy as np, cv2
        >>> img = np.full((120, 160, 3), 40, np.uint8)
        >>> _ = cv2.circle(img, (80, 60), 30, (230, 200, 40), -1)
        >>> poly, score = rect_to_polygon(img, [48, 28, 112, 92], return_score=True)
        >>> len(poly) >= 8 and score > 0.7
        True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(max_vertices, (int, np.integer)) or max_vertices < 3:
        raise ValueError(f"max_vertices must be at least 3, got {max_vertices!r}")
    rgb = load_rgb(image)
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = _check_box(box, w, h)

    weights = None
    if method == "sam":
        weights = _require_sam_weights(sam_weights)
    elif method == "auto":
        weights = _require_sam_weights(sam_weights) if sam_weights else find_sam_weights()

    if weights is not None:
        mask, offset, scale, base = _sam_mask(rgb, (x1, y1, x2, y2), weights)
    else:
        mask, offset, scale, base = _grabcut_mask(rgb, (x1, y1, x2, y2))

    poly = _mask_to_polygon(mask, offset, scale, int(max_vertices), (w, h))
    if poly is None:
        poly, score = _box_polygon(x1, y1, x2, y2), 0.0
    else:
        score = base * _box_fit(poly, (x1, y1, x2, y2))
    score = float(min(1.0, max(0.0, score)))
    return (poly, score) if return_score else poly


# -- input checks ---------------------------------------------------------------------------
def _check_box(box, w: int, h: int) -> tuple[float, float, float, float]:
    try:
        vals = [float(v) for v in box]
    except (TypeError, ValueError):
        raise ValueError(f"box must be [x1, y1, x2, y2] numbers, got {box!r}") from None
    if len(vals) != 4:
        raise ValueError(f"box must have 4 numbers [x1, y1, x2, y2], got {len(vals)}: {box!r}")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"box coordinates must be finite, got {box!r}")
    x1, x2 = sorted(vals[0::2])
    y1, y2 = sorted(vals[1::2])
    if x2 == x1 or y2 == y1:
        raise ValueError(
            f"box {list(box)} has zero width or height; drag a rectangle around the object"
        )
    cx1, cy1 = max(0.0, x1), max(0.0, y1)
    cx2, cy2 = min(float(w), x2), min(float(h), y2)
    if cx2 <= cx1 or cy2 <= cy1:
        raise ValueError(
            f"box {list(box)} does not overlap the {w}x{h} image; give [x1, y1, x2, y2] in "
            "pixels of the original image"
        )
    if cx2 - cx1 < 4 or cy2 - cy1 < 4:
        raise ValueError(
            f"box {list(box)} is {cx2 - cx1:g}x{cy2 - cy1:g} px inside the image; draw a box "
            "at least 4 px wide and high around the object"
        )
    return cx1, cy1, cx2, cy2


def _box_polygon(x1, y1, x2, y2) -> list[list[float]]:
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


# -- GrabCut --------------------------------------------------------------------------------
def _grabcut_mask(rgb: np.ndarray, box):
    """GrabCut on a margin-padded, downscaled crop.

    Returns ``(mask, offset, scale, quality)``: a uint8 0/1 mask of the crop at work size,
    the crop's top-left corner in the image, the work-size/image-pixel scale, and the
    stability x separation part of the score.
    """
    import cv2

    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    # The margin is where the background colour model learns from; a quarter of the box
    # side (at least 8 px) gives enough samples without drowning them in unrelated scenery.
    m = max(8.0, MARGIN * max(bw, bh))
    cx1, cy1 = int(max(0, math.floor(x1 - m))), int(max(0, math.floor(y1 - m)))
    cx2, cy2 = int(min(w, math.ceil(x2 + m))), int(min(h, math.ceil(y2 + m)))
    crop = rgb[cy1:cy2, cx1:cx2]
    scale = min(1.0, WORK_SIDE / max(crop.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    ch, cw = crop.shape[:2]
    # The box in work pixels; kept at least one pixel inside the crop on every side.
    rx1 = int(np.clip(round((x1 - cx1) * scale), 0, cw - 1))
    ry1 = int(np.clip(round((y1 - cy1) * scale), 0, ch - 1))
    rx2 = int(np.clip(round((x2 - cx1) * scale), rx1 + 1, cw))
    ry2 = int(np.clip(round((y2 - cy1) * scale), ry1 + 1, ch))
    inside = np.zeros((ch, cw), bool)
    inside[ry1:ry2, rx1:rx2] = True

    # A drawn box is tight: the object touches its sides. Marking everything outside the
    # box as certain background would put a hard wall right against the object, and the
    # cut's smoothness term then pulls the outline inwards, losing paws, ears and tails.
    # So the "maybe object" region is the ellipse through the box's corners: it holds the
    # whole box and bulges about a fifth of the box past the middle of each side, where
    # objects usually touch it; only beyond that is certain background. The result is
    # clipped to the box. On the raccoon boxes this lifts outlines whose bounding box
    # matches the drawn one (IoU >= 0.7) from about 60% to about 85% of images.
    mask = np.full((ch, cw), cv2.GC_BGD, np.uint8)
    centre = ((rx1 + rx2) / 2.0, (ry1 + ry2) / 2.0)
    axes = (BULGE * (rx2 - rx1), BULGE * (ry2 - ry1))
    cv2.ellipse(mask, (centre, axes, 0.0), int(cv2.GC_PR_FGD), -1)
    mask[inside] = cv2.GC_PR_FGD
    if np.count_nonzero(mask == cv2.GC_BGD) < 64:
        # The box covers (nearly) the whole image: no background to learn from outside it,
        # so let its outer ring stand in as probable background.
        ring = max(2, round(0.06 * min(rx2 - rx1, ry2 - ry1)))
        mask[:] = cv2.GC_PR_BGD
        mask[ry1 + ring : ry2 - ring, rx1 + ring : rx2 - ring] = cv2.GC_PR_FGD

    if float(crop.reshape(-1, 3).std(axis=0).max()) < 1.0:
        # One flat colour: nothing to separate, and GrabCut's k-means takes seconds to
        # give up on identical samples.
        return np.zeros((ch, cw), np.uint8), (cx1, cy1), scale, 0.0
    bgr = np.ascontiguousarray(crop[:, :, ::-1])
    early, final = _run_grabcut(bgr, mask.copy())
    if np.count_nonzero(final & inside) < MIN_FILL * np.count_nonzero(inside):
        # The background model swallowed the object (it shares colours with the scene).
        # Users centre boxes on objects, so seed the box's central ellipse as certain
        # foreground and cut again; a good first cut never gets here, so shapes whose
        # centre is background (rings, L-shapes) are not harmed.
        seeded = mask.copy()
        axes = (max(1.0, 2 * SEED * (rx2 - rx1)), max(1.0, 2 * SEED * (ry2 - ry1)))
        cv2.ellipse(seeded, (centre, axes, 0.0), int(cv2.GC_FGD), -1)
        early, final = _run_grabcut(bgr, seeded)
    early &= inside
    final &= inside
    stability = _mask_iou(early, final)
    separation = _separation(crop, final)
    return final, (cx1, cy1), scale, stability * min(1.0, separation / SEPARATION_OK)


def _run_grabcut(bgr: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foreground after EARLY_ITERS and after TOTAL_ITERS iterations (empty on failure)."""
    import cv2

    # GrabCut seeds its colour models with k-means on OpenCV's global random generator;
    # a fixed seed makes the same box give the same polygon every time.
    cv2.setRNGSeed(12345)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(bgr, mask, None, bgd, fgd, EARLY_ITERS, cv2.GC_INIT_WITH_MASK)
        early = _fg(mask)
        cv2.grabCut(bgr, mask, None, bgd, fgd, TOTAL_ITERS - EARLY_ITERS, cv2.GC_EVAL)
    except cv2.error:
        # Too few distinct colours to fit the colour models (e.g. a flat image).
        empty = np.zeros(mask.shape, np.uint8)
        return empty, empty
    return early, _fg(mask)


def _fg(mask: np.ndarray) -> np.ndarray:
    return ((mask == 1) | (mask == 3)).astype(np.uint8)


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def _separation(crop: np.ndarray, fg: np.ndarray) -> float:
    """1 - overlap of the colour histograms of the object and of the rest of the crop."""
    obj = fg.astype(bool)
    bg = ~obj
    if obj.sum() < 16 or bg.sum() < 16:
        return 0.0
    # 8 levels per channel: coarse enough that texture noise falls into the same bins.
    q = (crop >> 5).astype(np.int32)
    codes = (q[:, :, 0] << 6) | (q[:, :, 1] << 3) | q[:, :, 2]
    h_obj = np.bincount(codes[obj], minlength=512) / obj.sum()
    h_bg = np.bincount(codes[bg], minlength=512) / bg.sum()
    return float(1.0 - np.minimum(h_obj, h_bg).sum())


# -- SAM ------------------------------------------------------------------------------------
def find_sam_weights() -> Path | None:
    """A SAM checkpoint already on this machine, or ``None``; never downloads.

    Looks in ``$NBLABEL_WEIGHTS_DIR`` and, when ultralytics is already imported, its weights
    folder (importing it just to look would cost seconds). Never in the current folder: a
    checkpoint is a pickle, and a file that happens to sit beside a notebook is used only
    when given as ``sam_weights="./mobile_sam.pt"`` (see :mod:`nblabel.models.weights`).

    Example:
        >>> find_sam_weights() is None or find_sam_weights().suffix == ".pt"
        True
    """
    from .weights import WEIGHTS_DIR_ENV

    dirs = []
    if os.environ.get(WEIGHTS_DIR_ENV):
        dirs.append(Path(os.environ[WEIGHTS_DIR_ENV]).expanduser())
    if "ultralytics" in sys.modules:
        try:
            from ultralytics.utils import SETTINGS

            dirs.append(Path(SETTINGS["weights_dir"]))
        except Exception:  # an odd ultralytics install must not break GrabCut
            pass
    for name in SAM_CHECKPOINTS:
        for d in dirs:
            if (d / name).is_file():
                return (d / name).resolve()
    return None


def _require_sam_weights(weights) -> Path:
    """Resolve ``weights`` (a path, or a standard name downloaded when online)."""
    from .weights import resolve_weights

    p = resolve_weights(weights if weights is not None else DEFAULT_SAM)
    if not any(p.name.endswith(n) for n in SAM_CHECKPOINTS):
        raise ValueError(
            f"cannot tell which SAM architecture {p.name!r} holds; name the file like the "
            f"official checkpoint it came from (one of {', '.join(SAM_CHECKPOINTS)})"
        )
    return p


def _sam_model(weights: Path):
    key = str(weights.resolve())
    with _SAM_LOCK:
        model = _SAM_CACHE.get(key)
        if model is None:
            from .checkpoints import load_sam

            model = load_sam(key)  # the allow-list unpickler: a checkpoint cannot run code
            _SAM_CACHE[key] = model
    return model


def _sam_mask(rgb: np.ndarray, box, weights: Path):
    """Mask of the object in ``box`` from SAM: ``(mask, offset, scale, quality)``."""
    model = _sam_model(weights)
    # ultralytics reads numpy images as BGR (OpenCV order).
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    with _SAM_LOCK:  # the predictor keeps per-image state; one prompt at a time
        # conf=0: the user asked for this object, so keep its mask however unsure SAM is;
        # the uncertainty goes into the score instead.
        results = model.predict(bgr, bboxes=[list(map(float, box))], conf=0.0, verbose=False)
    res = results[0]
    h, w = rgb.shape[:2]
    if res.masks is None or len(res.masks.data) == 0:
        return np.zeros((h, w), np.uint8), (0, 0), 1.0, 0.0
    data = res.masks.data.cpu().numpy()
    conf = res.boxes.conf.cpu().numpy() if res.boxes is not None else np.ones(len(data))
    best = int(np.argmax(conf)) if len(conf) else 0
    mask = (data[best] > 0.5).astype(np.uint8)
    if mask.shape != (h, w):
        import cv2

        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    # SAM may spill past the box (or, unsure, return half the scene); the user's box says
    # where the object is, so keep what lies within it plus a little slack.
    x1, y1, x2, y2 = box
    slack = 0.05 * max(x2 - x1, y2 - y1)
    ox, oy = int(max(0, math.floor(x1 - slack))), int(max(0, math.floor(y1 - slack)))
    ex, ey = int(min(w, math.ceil(x2 + slack))), int(min(h, math.ceil(y2 + slack)))
    quality = float(conf[best]) if len(conf) else 1.0
    return mask[oy:ey, ox:ex], (ox, oy), 1.0, min(1.0, max(0.0, quality))


# -- mask to polygon ------------------------------------------------------------------------
def _mask_to_polygon(mask, offset, scale, max_vertices, size) -> list[list[float]] | None:
    """Largest outer contour of ``mask``, simplified, in image pixels (``None`` if empty)."""
    import cv2

    if mask.sum() == 0:
        return None
    # Smooth the work-size mask's staircase before tracing: upsampling the 0/1 mask
    # bilinearly and thresholding at one half puts the outline between work pixels.
    up = 4 if scale < 1.0 else 1
    m = mask.astype(np.float32)
    if up > 1:
        m = cv2.resize(m, (mask.shape[1] * up, mask.shape[0] * up), interpolation=cv2.INTER_LINEAR)
    binary = (m > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    if cv2.contourArea(contour) < 4 * up * up:
        return None
    # Douglas-Peucker tolerance, in traced-grid units. Its floor: one image pixel, half a
    # work pixel (finer detail is resampling noise) and 0.4% of the outline's length (so a
    # circle gets ~16 corners a user can still drag, not 50). Above the floor it is searched
    # for the finest value that keeps the vertex budget.
    perimeter = cv2.arcLength(contour, True)
    lo = max(0.5 * up, scale * up, 0.004 * perimeter)
    approx = cv2.approxPolyDP(contour, lo, True)
    if len(approx) > max_vertices:
        hi = lo
        while len(cv2.approxPolyDP(contour, hi, True)) > max_vertices:
            hi *= 2.0
        for _ in range(12):
            mid = 0.5 * (lo + hi)
            if len(cv2.approxPolyDP(contour, mid, True)) > max_vertices:
                lo = mid
            else:
                hi = mid
        approx = cv2.approxPolyDP(contour, hi, True)
    if len(approx) < 3:
        return None
    pts = approx.reshape(-1, 2).astype(np.float64)
    # Pixel (i, j) of the traced grid covers [i, i+1) work pixels / up; its centre maps back.
    pts = (pts + 0.5) / (up * scale) + np.asarray(offset, np.float64)
    w, h = size
    pts[:, 0] = np.clip(pts[:, 0], 0, w)
    pts[:, 1] = np.clip(pts[:, 1], 0, h)
    return [[round(float(x), 2), round(float(y), 2)] for x, y in pts]


def _box_fit(poly, box) -> float:
    return iou(bbox_of_points(poly), box)
