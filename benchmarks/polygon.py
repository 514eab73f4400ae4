"""rect_to_polygon on 1080p images: speed (p50/p95) and outline quality against plain GrabCut.

Baseline: ``cv2.grabCut`` on the full image, initialised with the same rectangle and run for
the same number of iterations, largest contour kept. Both run in this process, one after the
other, on the same images and boxes.

Speed: synthetic 1920x1080 scenes and raccoon photos scaled up to 1080p.
Quality: mask IoU on the synthetic scenes (textured shapes with known masks), and on the
raccoon photos at their own size the share of outlines whose bounding box has IoU >= 0.7
with the labelled VOC box.

Usage:
    python benchmarks/polygon.py [--n 24] [--baseline-n 8] [--raccoon-step 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the synthetic scenes the tests use

from test_polygon import (  # noqa: E402
    BACKGROUNDS,
    OBJECTS,
    SHAPES,
    drawn_box,
    mask_iou,
    polygon_mask,
    shape_mask,
    texture,
    voc_boxes,
)

import nblabel as nbl  # noqa: E402
from nblabel.images import load_rgb  # noqa: E402
from nblabel.models import polygon as poly_mod  # noqa: E402
from nblabel.records import bbox_of_points, iou  # noqa: E402

H, W = 1080, 1920
SHARED = Path(os.environ.get("NBLABEL_SHARED", ROOT.parent / "shared"))


def scene_1080p(i: int):
    rng = np.random.default_rng(5000 + i)
    kind = SHAPES[i % 3]
    radius = rng.uniform(120, 420)
    centre = (rng.uniform(radius + 20, W - radius - 20), rng.uniform(radius + 20, H - radius - 20))
    bg = texture(rng, H, W, BACKGROUNDS[i % 4], scale=int(rng.integers(12, 40)))
    fg = texture(rng, H, W, OBJECTS[(i // 3) % 4], 30, scale=int(rng.integers(12, 40)))
    mask = shape_mask(kind, H, W, rng, centre=centre, radius=radius)
    img = np.where(mask[:, :, None] == 1, fg, bg)
    return img, mask, drawn_box(mask, rng)


def raccoons_1080p(n: int):
    import cv2

    files = sorted((SHARED / "datasets" / "raccoon" / "annotations").glob("*.xml"))
    for xml in files[:: max(1, len(files) // n)][:n]:
        name, boxes = voc_boxes(xml)
        img = load_rgb(SHARED / "datasets" / "raccoon" / "images" / name)
        s = min(W / img.shape[1], H / img.shape[0])
        img = cv2.resize(
            img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_CUBIC
        )
        yield img, [v * s for v in boxes[0]]


def plain_grabcut(img: np.ndarray, box) -> np.ndarray:
    """The obvious approach: cv2.grabCut on the whole image from the rectangle."""
    import cv2

    x1, y1, x2, y2 = (int(round(v)) for v in box)
    mask = np.zeros(img.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(12345)
    cv2.grabCut(
        np.ascontiguousarray(img[:, :, ::-1]),
        mask,
        (x1, y1, x2 - x1, y2 - y1),
        bgd,
        fgd,
        poly_mod.TOTAL_ITERS,
        cv2.GC_INIT_WITH_RECT,
    )
    fg = ((mask == 1) | (mask == 3)).astype(np.uint8)
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(fg)
    if contours:
        cv2.drawContours(out, [max(contours, key=cv2.contourArea)], -1, 1, -1)
    return out


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="images of each kind for rect_to_polygon")
    ap.add_argument(
        "--baseline-n",
        type=int,
        default=8,
        help="images of each kind for full-image GrabCut (slow)",
    )
    ap.add_argument(
        "--raccoon-step",
        type=int,
        default=4,
        help="quality on every k-th raccoon photo (1: all 200)",
    )
    args = ap.parse_args()

    nbl.rect_to_polygon(np.zeros((64, 64, 3), np.uint8), [8, 8, 56, 56])  # warm imports

    ours_t, base_t, ours_iou, base_iou, scores = [], [], [], [], []
    for i in range(args.n):
        img, mask, box = scene_1080p(i)
        (poly, score), dt = timed(nbl.rect_to_polygon, img, box, "grabcut", True)
        ours_t.append(dt)
        scores.append(score)
        ours_iou.append(mask_iou(polygon_mask(poly, H, W), mask))
        if i < args.baseline_n:
            base, dt = timed(plain_grabcut, img, box)
            base_t.append(dt)
            base_iou.append(mask_iou(base, mask))

    for i, (img, box) in enumerate(raccoons_1080p(args.n)):
        _, dt = timed(nbl.rect_to_polygon, img, box, "grabcut", True)
        ours_t.append(dt)
        if i < args.baseline_n:
            base_t.append(timed(plain_grabcut, img, box)[1])

    fit_ours, fit_base = [], []
    files = sorted((SHARED / "datasets" / "raccoon" / "annotations").glob("*.xml"))
    for xml in files[:: args.raccoon_step]:
        name, boxes = voc_boxes(xml)
        img = load_rgb(SHARED / "datasets" / "raccoon" / "images" / name)
        poly, score = nbl.rect_to_polygon(img, boxes[0], "grabcut", True)
        fit_ours.append(score > 0 and iou(bbox_of_points(poly), boxes[0]) >= 0.7)
        base = plain_grabcut(img, boxes[0])
        ys, xs = np.nonzero(base)
        fit_base.append(
            len(xs) > 0 and iou([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], boxes[0]) >= 0.7
        )

    ms = np.asarray(ours_t) * 1000
    bms = np.asarray(base_t) * 1000
    print(
        f"rect_to_polygon, 1080p, CPU ({len(ms)} boxes): p50 {np.percentile(ms, 50):.0f} ms, "
        f"p95 {np.percentile(ms, 95):.0f} ms (target p95 <= 1000 ms)"
    )
    print(
        f"plain cv2.grabCut on the full image ({len(bms)} boxes): p50 "
        f"{np.percentile(bms, 50):.0f} ms, p95 {np.percentile(bms, 95):.0f} ms"
    )
    print(
        f"speed-up (baseline p50 / ours p50): {np.percentile(bms, 50) / np.percentile(ms, 50):.1f}x"
    )
    k = args.baseline_n
    print(
        f"synthetic mask IoU: ours mean {np.mean(ours_iou):.3f} (min {np.min(ours_iou):.3f}, "
        f"n={len(ours_iou)}); on the baseline's {k}: ours {np.mean(ours_iou[:k]):.3f} vs "
        f"baseline {np.mean(base_iou):.3f}"
    )
    print(f"synthetic quality score: mean {np.mean(scores):.2f}, min {np.min(scores):.2f}")
    print(
        f"raccoon photos whose outline fits the VOC box (bbox IoU >= 0.7, n={len(fit_ours)}): "
        f"ours {np.mean(fit_ours):.0%} vs baseline {np.mean(fit_base):.0%}"
    )


if __name__ == "__main__":
    main()
