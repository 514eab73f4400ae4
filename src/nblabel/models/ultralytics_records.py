"""One ultralytics ``Results`` -> annotation records: the adapter every predictor uses.

GeneralAI, CustomAI, a YOLOv5-repository checkpoint (whose predictor is ultralytics' own)
and a YOLO plate model all get their objects out of ultralytics here, so a box, a polygon,
a keypoint and a score mean the same thing whichever model wrote them. The rules:

**Keypoint visibility.** A point scored at least :data:`VISIBLE_KEYPOINT_SCORE` (0.5) is
visible (COCO ``v=2``); a point scored below it is *absent* (``v=0``), with its position and
score kept in the record (``keypoints`` and ``keypoint_scores``). COCO's ``v=1`` means "a
person labelled it and it is occluded": a claim about where a hidden point is, which a
model that is unsure of the point has not made. What each value does downstream decides it:

- exports: COCO's ``num_keypoints`` counts ``v > 0`` and ultralytics' pose training (the
  YOLO export, and :class:`~nblabel.models.custom.CustomAI`'s retrain) takes every ``v > 0``
  point as a target, so ``v=1`` would teach the next model the last one's guesses;
- the temporal smoother (:mod:`nblabel.models.smoothing`) treats ``v=0`` as a gap to bridge
  from the frames around it and ``v > 0`` as a measurement;
- the widget draws no skeleton edge to a ``v=0`` point and shows it (dashed) only while its
  object is selected; dragging it makes it visible and the person's, as for any point;
- ultralytics' own plotting skips points scored below 0.5, and supervision's keypoints keep
  the per-point confidence apart from the positions: the score is data, not a label.

A model without per-point confidences (``kpt_shape [K, 2]``) marks every point visible and
writes no ``keypoint_scores`` (there are none to show). :func:`~nblabel.records.normalize_record`
then marks a point off the image absent too.

**Scores.** An object's ``score`` and each ``keypoint_scores`` entry is the model's float32
value written with the fewest digits that read back as that same float32
(``0.8734567165374756`` is stored as ``0.8734567``): nothing the model said is lost, and the
mapping is strictly increasing, so ranking and thresholds on a score are exactly those on
the model's number (rounding to a few decimals would make ties and move scores across an
auto-accept threshold), while each score takes about half the characters in the journal.

**Order.** Records come best score first (ties in the model's order); a box with no area
once clipped to the image is dropped; mask outlines are simplified to within
:data:`POLYGON_TOLERANCE_PX` of the traced outline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..records import AnnotationError, normalize_record

# A predicted keypoint is visible (v=2) from this score on, below it absent (v=0); the same
# cut ultralytics' plotting uses for "this point is there".
VISIBLE_KEYPOINT_SCORE = 0.5
# Mask outlines are traced pixel by pixel; merging points closer than this to the outline
# keeps the shape while cutting hundreds of stair-step vertices the editor would have to draw.
POLYGON_TOLERANCE_PX = 1.0

__all__ = [
    "POLYGON_TOLERANCE_PX",
    "VISIBLE_KEYPOINT_SCORE",
    "finish_records",
    "keypoint_fields",
    "records_from_result",
    "scores",
]


def scores(values) -> list[float]:
    """Model scores as stored: each float32 value in its shortest exact decimal form.

    Example:
        >>> scores([0.8734567165374756, 1.0, 0.0])
        [0.8734567, 1.0, 0.0]
    """
    return [float(str(v)) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def _label(names: Mapping[int, str] | Sequence[str], c: int) -> str:
    if isinstance(names, Mapping):
        return str(names.get(c, c))
    return str(names[c]) if 0 <= c < len(names) else str(c)


def keypoint_fields(kp: np.ndarray) -> dict:
    """``keypoints`` (and ``keypoint_scores`` when the model scores points) of one object.

    Args:
        kp: ``(K, 2)`` positions or ``(K, 3)`` positions and scores, in image pixels.

    Example:
        >>> keypoint_fields(np.array([[10.0, 20.0, 0.9], [30.0, 40.0, 0.2]]))
        {'keypoints': [[10.0, 20.0, 2], [30.0, 40.0, 0]], 'keypoint_scores': [0.9, 0.2]}
    """
    kp = np.asarray(kp, dtype=np.float64)
    xy = kp[:, :2].tolist()
    if kp.shape[-1] < 3:  # a model without keypoint confidences
        return {"keypoints": [[x, y, 2] for x, y in xy]}
    s = scores(kp[:, 2])
    vis = [2 if v >= VISIBLE_KEYPOINT_SCORE else 0 for v in s]
    return {"keypoints": [[x, y, v] for (x, y), v in zip(xy, vis)], "keypoint_scores": s}


def _polygons(masks, n: int) -> list[list[list[float]] | None]:
    if masks is None:
        return [None] * n
    import cv2

    out: list[list[list[float]] | None] = []
    for xy in list(masks.xy)[:n]:  # outlines already scaled to the original image
        xy = np.asarray(xy, np.float32).reshape(-1, 2)
        if len(xy) >= 3:
            xy = cv2.approxPolyDP(xy, POLYGON_TOLERANCE_PX, True).reshape(-1, 2)
        out.append(xy.astype(np.float64).tolist() if len(xy) >= 3 else None)
    return out + [None] * (n - len(out))


def finish_records(recs: list[dict], width: int, height: int, source: str) -> list[dict]:
    """Validate a predictor's raw records: fill the core keys, set ``source``, clip to the
    image, drop what has no area left, sort best score first (stable)."""
    out = []
    for rec in recs:
        rec.setdefault("points", None)
        rec.setdefault("keypoints", None)
        rec["source"] = source
        try:
            out.append(normalize_record(rec, width=width, height=height, default_source=source))
        except AnnotationError:
            continue  # a sliver of a box on the image border has no area once clipped
    out.sort(key=lambda r: -r["score"] if r.get("score") is not None else 0.0)
    return out


def records_from_result(
    result,
    names: Mapping[int, str] | Sequence[str],
    *,
    width: int,
    height: int,
    source: str,
) -> list[dict]:
    """Annotation records of one ultralytics ``Results``.

    Args:
        result: One element of what an ultralytics ``predict`` returns (detect, segment or
            pose; boxes are required, masks and keypoints are used when present).
        names: Class id -> label, as ``{id: name}`` (a model's ``names``) or a list; an id
            missing from it becomes its number as text.
        width, height: The image's size in pixels (records are clipped to it).
        source: Written to every record's ``source`` (the model version).

    Returns:
        Validated records (see the module notes for keypoints, scores and order).

    Example:
        >>> from nblabel.models.yolov5 import YOLOv5Model  # ultralytics' predictor, YOLOv5 file
        >>> model = YOLOv5Model("../shared/models/yolov5n.pt")
        >>> res = model.predict("bus.jpg", imgsz=320, verbose=False)[0]
        >>> rec = records_from_result(res, res.names, width=810, height=1080, source="yolov5n@1")[0]
        >>> rec["label"], rec["source"], rec["score"] > 0.5, rec["points"]
        ('person', 'yolov5n@1', True, None)
    """
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return []
    xyxy = boxes.xyxy.cpu().numpy().astype(np.float64).tolist()
    conf = scores(boxes.conf.cpu().numpy())
    cls = boxes.cls.cpu().numpy().astype(int).tolist()
    n = len(xyxy)
    masks = getattr(result, "masks", None)
    polygons = _polygons(masks, n) if masks is not None else None
    kps = getattr(result, "keypoints", None)
    kp_data = kps.data.cpu().numpy() if kps is not None else None
    recs = []
    for i, (box, score, c) in enumerate(zip(xyxy, conf, cls)):
        rec: dict = {"label": _label(names, c), "bbox": box, "score": score}
        if polygons is not None:
            rec["points"] = polygons[i]
        if kp_data is not None and i < len(kp_data):
            rec.update(keypoint_fields(kp_data[i]))
        recs.append(rec)
    return finish_records(recs, width, height, source)
