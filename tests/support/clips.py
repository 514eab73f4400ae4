"""Video clips with exact ground truth for the tracks tests: real raccoon crops moving
along known paths over a real COCO photo, and detector-like output made from them."""

from __future__ import annotations

import numpy as np

from nblabel.formats.voc import read_voc
from nblabel.images import load_rgb
from nblabel.video import compose_clip

T = 30
SIZE = (320, 240)
SPRITE = 80
# Two raccoons crossing: A walks right and a little down, B walks left; they overlap
# around frame 14 (B is drawn over A).
STARTS = np.array([[6.0, 60.0], [234.0, 90.0]])
STEPS = np.array([[8.0, 1.0], [-8.0, 0.0]])
DETECTOR = "detector@0000abcd"


def crop(raccoon_dir, name: str) -> np.ndarray:
    """The first labelled raccoon of image ``name``, cut out and resized to SPRITE px."""
    import cv2

    _, items = read_voc(raccoon_dir / "annotations", raccoon_dir / "images")
    item = next(i for i in items if i["key"] == name)
    x1, y1, x2, y2 = (int(v) for v in item["annotations"][0]["bbox"])
    sprite = load_rgb(item["image"])[y1:y2, x1:x2]
    return cv2.resize(sprite, (SPRITE, SPRITE), interpolation=cv2.INTER_AREA)


def crossing_clip(raccoon_dir, shared_dir, folder):
    """``(path, truth)`` of a 30-frame clip of two raccoons crossing."""
    import cv2

    bg = load_rgb(sorted((shared_dir / "datasets" / "coco128" / "images").rglob("*.jpg"))[3])
    bg = cv2.resize(bg, SIZE, interpolation=cv2.INTER_AREA)
    sprites = [crop(raccoon_dir, "raccoon-1"), crop(raccoon_dir, "raccoon-12")]
    paths = [s + STEPS[i] * np.arange(T)[:, None] for i, s in enumerate(STARTS)]
    path = folder / "crossing.mp4"
    truth = compose_clip(path, bg, sprites, paths, fps=10)
    return path, truth


def detections(ds, truth, *, jitter=2.0, miss=(), seed=0):
    """Model output per frame: the true boxes jittered, in shuffled order, some missed."""
    rng = np.random.default_rng(seed)
    keys = list(ds.df.sort_values("frame").index)
    writes = []
    for t, key in enumerate(keys):
        recs = []
        for obj, box in truth[t]:
            if (t, obj) in miss:
                continue
            b = np.asarray(box) + rng.normal(0, jitter, 4)
            recs.append({"label": "raccoon", "bbox": b.tolist(), "score": 0.8, "source": DETECTOR})
        rng.shuffle(recs)
        writes.append((key, recs, {"source": DETECTOR}))
    ds.annotate_many(writes)
    return keys


def truth_tracks(truth):
    return {t: [(obj + 1, box) for obj, box in boxes] for t, boxes in enumerate(truth)}


def face(center, noise=0.0, rng=None):
    offsets = np.array([[-12, -8], [12, -8], [0, 2], [-9, 12], [9, 12]], float)
    pts = np.asarray(center) + offsets
    if rng is not None:
        pts = pts + rng.normal(0, noise, pts.shape)
    return {
        "label": "raccoon",
        "bbox": [*(pts.min(0) - 10), *(pts.max(0) + 10)],
        "keypoints": [[float(x), float(y), 2] for x, y in pts],
    }
