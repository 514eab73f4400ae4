"""rect_to_polygon: real raccoon boxes, synthetic shapes with known masks, scores, errors, SAM."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nblabel as nbl
from nblabel.images import load_rgb
from nblabel.records import bbox_of_points, iou

# -- synthetic scenes with known masks (also used by benchmarks/polygon.py) ------------------
BACKGROUNDS = [(90, 120, 70), (140, 130, 120), (60, 80, 140), (170, 150, 110)]
OBJECTS = [(220, 60, 50), (240, 200, 40), (60, 200, 220), (200, 80, 200)]
SHAPES = ("ellipse", "star", "L")


def texture(rng, h: int, w: int, base, spread: float = 35.0, scale: int = 8) -> np.ndarray:
    """Colour texture: smooth blotches around ``base`` plus fine grain, like fur or grass."""
    import cv2

    low = rng.normal(0, 1, (max(2, h // scale), max(2, w // scale), 3))
    low = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 0.35, (h, w, 3))
    return np.clip(np.asarray(base, float) + spread * (low + grain), 0, 255).astype(np.uint8)


def shape_mask(kind: str, h: int, w: int, rng, centre=None, radius=None) -> np.ndarray:
    import cv2

    m = np.zeros((h, w), np.uint8)
    cx, cy = (
        centre
        if centre is not None
        else (w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.1, 0.1) * h)
    )
    r = radius if radius is not None else min(h, w) * rng.uniform(0.22, 0.32)
    if kind == "ellipse":
        axes = (int(r * rng.uniform(1.0, 1.4)), int(r * rng.uniform(0.55, 0.9)))
        cv2.ellipse(m, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    elif kind == "star":
        n, a0 = int(rng.integers(5, 8)), rng.uniform(0, np.pi)
        pts = [
            (
                cx + (r if i % 2 == 0 else 0.5 * r) * np.cos(a0 + i * np.pi / n),
                cy + (r if i % 2 == 0 else 0.5 * r) * np.sin(a0 + i * np.pi / n),
            )
            for i in range(2 * n)
        ]
        cv2.fillPoly(m, [np.round(np.array(pts)).astype(np.int32)], 1)
    else:  # an L: its bounding box holds a large background corner
        t = int(r * rng.uniform(0.6, 0.8))
        x0, y0, x1, y1 = int(cx - r), int(cy - r), int(cx + r), int(cy + r)
        cv2.rectangle(m, (x0, y0), (x0 + t, y1), 1, -1)
        cv2.rectangle(m, (x0, y1 - t), (x1, y1), 1, -1)
    return m


def synthetic_scene(i: int, h: int = 300, w: int = 400, object_colors=OBJECTS):
    """Scene ``i``: a textured shape on a textured background, its mask and a drawn box."""
    rng = np.random.default_rng(1000 + i)
    kind = SHAPES[i % 3]
    bg = texture(rng, h, w, BACKGROUNDS[i % 4], scale=int(rng.integers(4, 16)))
    fg = texture(rng, h, w, object_colors[(i // 3) % 4], 30, scale=int(rng.integers(4, 16)))
    m = shape_mask(kind, h, w, rng)
    img = np.where(m[:, :, None] == 1, fg, bg)
    return img, m, drawn_box(m, rng), kind


def drawn_box(mask: np.ndarray, rng) -> list[float]:
    """The box a user would draw: the mask's extent plus 0-6 px of slack."""
    ys, xs = np.nonzero(mask)
    pad = rng.uniform(0, 6)
    return [xs.min() - pad, ys.min() - pad, xs.max() + 1 + pad, ys.max() + 1 + pad]


def polygon_mask(poly, h: int, w: int) -> np.ndarray:
    import cv2

    m = np.zeros((h, w), np.uint8)
    # vertices are continuous pixel coordinates; fillPoly samples pixel centres (1/16 px)
    pts = np.round((np.asarray(poly) - 0.5) * 16).astype(np.int32)
    cv2.fillPoly(m, [pts], 1, shift=4)
    return m


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


# -- real images ----------------------------------------------------------------------------
def voc_boxes(xml_path) -> tuple[str, list[list[float]]]:
    root = ET.parse(xml_path).getroot()
    boxes = [
        [float(o.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
        for o in root.iter("bndbox")
    ]
    return root.findtext("filename"), boxes


def test_raccoon_outlines_fit_the_labelled_boxes(raccoon_dir):
    # Every 7th image (29 of 200), first labelled raccoon in each. On all 200 images the
    # outline's bounding box matches the VOC box (IoU >= 0.7) for 175 (87.5%).
    files = sorted((raccoon_dir / "annotations").glob("*.xml"))[::7]
    good, scores = 0, []
    for xml in files:
        name, boxes = voc_boxes(xml)
        img = load_rgb(raccoon_dir / "images" / name)
        h, w = img.shape[:2]
        poly, score = nbl.rect_to_polygon(img, boxes[0], return_score=True)
        assert 3 <= len(poly) <= 64
        assert all(0 <= x <= w and 0 <= y <= h for x, y in poly)
        assert 0.0 <= score <= 1.0
        # a fallback (the box itself, score 0) does not count as an outline
        if score > 0 and iou(bbox_of_points(poly), boxes[0]) >= 0.7:
            good += 1
        scores.append(score)
    assert good >= 0.8 * len(files), f"{good}/{len(files)} outlines fit their box"
    assert np.median(scores) >= 0.7


@pytest.mark.parametrize("i", range(12))
def test_synthetic_shapes_are_outlined(i):
    img, mask, box, kind = synthetic_scene(i)
    poly, score = nbl.rect_to_polygon(img, box, method="grabcut", return_score=True)
    got = polygon_mask(poly, *mask.shape)
    assert mask_iou(got, mask) >= 0.9, kind
    assert score >= 0.7
    assert len(poly) <= (8 if kind == "L" else 40)  # simplified, not a pixel staircase


def test_score_is_low_when_there_is_nothing_to_separate():
    rng = np.random.default_rng(0)
    flat = np.full((200, 300, 3), 128, np.uint8)
    assert nbl.rect_to_polygon(flat, [50, 50, 200, 150], return_score=True)[1] < 0.2
    plain = texture(rng, 300, 400, BACKGROUNDS[0])
    assert nbl.rect_to_polygon(plain, [100, 80, 300, 220], return_score=True)[1] < 0.2
    # an object with the very colours of its background
    _, mask, box, _ = synthetic_scene(4)
    same = np.where(
        mask[:, :, None] == 1,
        texture(rng, 300, 400, BACKGROUNDS[1]),
        texture(rng, 300, 400, BACKGROUNDS[1]),
    )
    assert nbl.rect_to_polygon(same, box, return_score=True)[1] < 0.2
    # a box drawn beside the object, on background only
    img, mask, _, _ = synthetic_scene(0)
    xs = np.nonzero(mask)[1]
    assert nbl.rect_to_polygon(img, [5, 5, xs.min() - 10, 120], return_score=True)[1] < 0.2


def test_1080p_photo_and_path_input_map_back_to_image_pixels(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(7)
    h, w = 1080, 1920
    bg = texture(rng, h, w, BACKGROUNDS[2], scale=24)
    mask = shape_mask("star", h, w, rng, centre=(1450, 700), radius=220)
    img = np.where(mask[:, :, None] == 1, texture(rng, h, w, OBJECTS[1], 30, 24), bg)
    box = drawn_box(mask, rng)
    poly = nbl.rect_to_polygon(img, box)
    assert mask_iou(polygon_mask(poly, h, w), mask) >= 0.9
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    assert nbl.rect_to_polygon(path, box) == poly  # same pixels, same answer
    # clipping: a box hanging over the image edge is cut to the image
    edge = nbl.rect_to_polygon(img, [box[0], box[1], w + 300, box[3]])
    assert max(x for x, _ in edge) <= w


def test_vertex_budget_and_whole_image_boxes():
    img, mask, box, _ = synthetic_scene(0)
    poly = nbl.rect_to_polygon(img, box, max_vertices=8)
    assert 3 <= len(poly) <= 8
    assert mask_iou(polygon_mask(poly, *mask.shape), mask) >= 0.8
    # an object filling the frame: no background outside the box to learn from
    rng = np.random.default_rng(3)
    full = shape_mask("ellipse", 200, 260, rng, centre=(130, 100), radius=95)
    img = np.where(
        full[:, :, None] == 1,
        texture(rng, 200, 260, OBJECTS[0]),
        texture(rng, 200, 260, BACKGROUNDS[0]),
    )
    poly, score = nbl.rect_to_polygon(img, [0, 0, 260, 200], return_score=True)
    assert mask_iou(polygon_mask(poly, 200, 260), full) >= 0.8
    assert score > 0


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ([500, 500, 600, 600], "does not overlap the 400x300 image"),
        ([10, 10, 10, 50], "zero width or height"),
        ([10, 10, 12, 50], "at least 4 px"),
        ([10, float("nan"), 50, 50], "finite"),
        ([10, 10, 50], "4 numbers"),
        (["a", 1, 2, 3], "numbers"),
        (None, "must be"),
    ],
)
def test_bad_boxes_are_refused_clearly(box, message):
    img = np.zeros((300, 400, 3), np.uint8)
    with pytest.raises(ValueError, match=message):
        nbl.rect_to_polygon(img, box)


def test_bad_options_are_refused_clearly():
    img = np.zeros((300, 400, 3), np.uint8)
    with pytest.raises(ValueError, match="method must be one of"):
        nbl.rect_to_polygon(img, [10, 10, 90, 90], method="magic")
    with pytest.raises(ValueError, match="max_vertices must be at least 3"):
        nbl.rect_to_polygon(img, [10, 10, 90, 90], max_vertices=2)
    with pytest.raises(nbl.ImageError, match="missing.jpg"):
        nbl.rect_to_polygon("missing.jpg", [10, 10, 90, 90])


def test_sam_without_weights_says_what_to_do(tmp_path, monkeypatch):
    from nblabel.models.weights import WeightsUnavailableError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBLABEL_OFFLINE", "1")
    monkeypatch.delenv("NBLABEL_WEIGHTS_DIR", raising=False)
    img, _, box, _ = synthetic_scene(1)
    with pytest.raises(WeightsUnavailableError, match="mobile_sam.pt"):
        nbl.rect_to_polygon(img, box, method="sam")
    with pytest.raises(FileNotFoundError, match="nowhere/sam_b.pt"):
        nbl.rect_to_polygon(img, box, method="sam", sam_weights=tmp_path / "nowhere/sam_b.pt")
    odd = tmp_path / "weights.pt"
    odd.write_bytes(b"")
    with pytest.raises(ValueError, match="cannot tell which SAM architecture"):
        nbl.rect_to_polygon(img, box, method="sam", sam_weights=odd)
    # "auto" with no checkpoint around is GrabCut
    assert nbl.rect_to_polygon(img, box) == nbl.rect_to_polygon(img, box, method="grabcut")


def test_sam_checkpoint_runs_through_ultralytics(tmp_path, monkeypatch):
    """A MobileSAM built here (random weights; its quality head biased to keep the mask)
    exercises the real ultralytics SAM path offline: prompt, mask, polygon, score."""
    import torch
    from ultralytics.models.sam.build import build_mobile_sam

    from nblabel.models.polygon import find_sam_weights

    torch.manual_seed(0)
    model = build_mobile_sam()
    head = [
        m
        for m in model.mask_decoder.iou_prediction_head.modules()
        if isinstance(m, torch.nn.Linear)
    ][-1]
    with torch.no_grad():
        head.weight.mul_(0.01)
        head.bias.fill_(0.8)
    ckpt = tmp_path / "mobile_sam.pt"
    torch.save(model.state_dict(), ckpt)

    img, _, box, _ = synthetic_scene(2)
    poly, score = nbl.rect_to_polygon(img, box, method="sam", sam_weights=ckpt, return_score=True)
    assert len(poly) >= 3 and 0.0 <= score <= 1.0
    slack = 0.05 * max(box[2] - box[0], box[3] - box[1]) + 1
    x1, y1, x2, y2 = bbox_of_points(poly)
    assert x1 >= box[0] - slack and y1 >= box[1] - slack
    assert x2 <= box[2] + slack and y2 <= box[3] + slack
    # "auto" picks up a checkpoint in $NBLABEL_WEIGHTS_DIR (never one in the working folder)
    monkeypatch.setenv("NBLABEL_WEIGHTS_DIR", str(tmp_path))
    assert find_sam_weights() == ckpt.resolve()
