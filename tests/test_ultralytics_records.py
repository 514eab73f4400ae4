"""The one ultralytics adapter: real ``Results`` objects (built from known tensors, and from
a real COCO detector) turned into records by the rules every predictor now shares."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ultralytics.engine.results import Results

from nblabel.models import custom, general, plates
from nblabel.models.ultralytics_records import (
    VISIBLE_KEYPOINT_SCORE,
    keypoint_fields,
    records_from_result,
    scores,
)

W, H = 200, 100
NAMES = {0: "person", 1: "dog"}


def _result(boxes, keypoints=None, masks=None, names=NAMES):
    img = np.zeros((H, W, 3), np.uint8)
    return Results(
        img,
        path="made.jpg",
        names=names,
        boxes=torch.tensor(boxes, dtype=torch.float32),
        keypoints=None if keypoints is None else torch.tensor(keypoints, dtype=torch.float32),
        masks=None if masks is None else torch.tensor(masks, dtype=torch.float32),
    )


def test_boxes_become_records_best_first_with_the_models_float32_scores():
    res = _result(
        [
            [10, 10, 50, 60, 0.3, 0],
            [60, 10, 90, 40, 0.8734567165374756, 1],
            [198, 10, 260, 40, 0.5, 7],  # hangs over the right edge; class 7 is unnamed
            [-20, 5, 0, 30, 0.9, 0],  # entirely left of the image: nothing left once clipped
        ]
    )
    recs = records_from_result(res, NAMES, width=W, height=H, source="m@1")
    assert [r["label"] for r in recs] == ["dog", "7", "person"]
    assert [r["score"] for r in recs] == [0.8734567, 0.5, 0.3]
    assert np.float32(recs[0]["score"]) == res.boxes.conf[1].numpy()  # nothing lost
    assert recs[1]["bbox"] == [198.0, 10.0, 200.0, 40.0]  # clipped to the image
    assert {r["source"] for r in recs} == {"m@1"}
    assert all(r["points"] is None and r["keypoints"] is None for r in recs)
    # a list of class names works like the model's {id: name}
    by_list = records_from_result(res, ["person", "dog"], width=W, height=H, source="m@1")
    assert by_list == recs


def test_no_boxes_is_no_records():
    res = _result(np.zeros((0, 6)))
    assert records_from_result(res, NAMES, width=W, height=H, source="m@1") == []


def test_keypoints_below_the_cut_are_absent_with_position_and_score_kept():
    below = float(np.nextafter(np.float32(VISIBLE_KEYPOINT_SCORE), np.float32(0)))
    kps = [[[20, 20, 0.9], [30, 30, VISIBLE_KEYPOINT_SCORE], [40, 40, below], [250, 50, 0.99]]]
    res = _result([[10, 10, 60, 60, 0.7, 0]], keypoints=kps)
    (rec,) = records_from_result(res, NAMES, width=W, height=H, source="pose@1")
    assert rec["keypoints"] == [[20.0, 20.0, 2], [30.0, 30.0, 2], [40.0, 40.0, 0], [250.0, 50.0, 0]]
    # the unsure point keeps where the model put it and how sure it was; the point off the
    # image is absent however sure the model is
    assert rec["keypoint_scores"] == scores([0.9, 0.5, below, 0.99])
    assert rec["keypoint_scores"][2] < VISIBLE_KEYPOINT_SCORE


def test_keypoints_without_scores_are_visible_and_carry_no_scores():
    assert keypoint_fields(np.array([[1.0, 2.0], [3.0, 4.0]])) == {
        "keypoints": [[1.0, 2.0, 2], [3.0, 4.0, 2]]
    }


def test_mask_outlines_become_simplified_polygons_in_image_pixels():
    mask = np.zeros((1, H, W), np.float32)
    mask[0, 20:70, 30:130] = 1
    res = _result([[30, 20, 130, 70, 0.6, 1]], masks=mask)
    (rec,) = records_from_result(res, NAMES, width=W, height=H, source="seg@1")
    pts = np.asarray(rec["points"])
    assert 4 <= len(pts) <= 8  # the traced stair steps merged into the rectangle's corners
    assert pts[:, 0].min() == pytest.approx(30, abs=1.5) and pts[:, 0].max() == pytest.approx(
        129, abs=1.5
    )
    assert pts[:, 1].min() == pytest.approx(20, abs=1.5) and pts[:, 1].max() == pytest.approx(
        69, abs=1.5
    )


def test_scores_read_back_as_the_same_float32_and_keep_their_order():
    x = np.random.default_rng(0).random(20000).astype(np.float32)
    x[::7] = x[3]  # ties stay ties
    s = np.asarray(scores(x))
    assert (s.astype(np.float32) == x).all()
    order = np.argsort(x, kind="stable")
    assert (np.diff(s[order]) >= 0).all() and (np.argsort(s, kind="stable") == order).all()
    # the float64 of a float32 prints 17 or so digits; its shortest form at most 9
    long = np.mean([len(repr(v)) for v in x.astype(np.float64).tolist()])
    short = np.mean([len(repr(v)) for v in s.tolist()])
    assert long > 17 and short < 11


def test_every_predictor_uses_the_one_adapter():
    for module in (general, custom):
        assert module.records_from_result is records_from_result
        assert not hasattr(module, "_from_result") and not hasattr(module, "_records_from_result")
    assert "records_from_result" in plates.PlateDetector._detect_model.__code__.co_names


def test_a_real_detector_gives_the_adapters_records(shared_dir):
    from ultralytics.utils import ASSETS

    from nblabel import GeneralAI
    from nblabel.images import load_rgb
    from nblabel.models.yolov5 import YOLOv5Model

    weights = shared_dir / "models" / "yolov5n.pt"
    ai = GeneralAI("all", weights=weights, imgsz=320)
    (recs,) = ai.predict(ASSETS / "bus.jpg")
    assert recs and [r["score"] for r in recs] == sorted((r["score"] for r in recs), reverse=True)
    assert {"bus", "person"} <= {r["label"] for r in recs}
    # the same image through ultralytics' own predictor, converted directly
    rgb = load_rgb(ASSETS / "bus.jpg")
    model = YOLOv5Model(weights)
    (res,) = model.predict(np.ascontiguousarray(rgb[:, :, ::-1]), imgsz=320, conf=ai.conf)
    h, w = rgb.shape[:2]
    direct = records_from_result(res, model.names, width=w, height=h, source=ai.version)
    assert direct == recs
    assert sorted(r["score"] for r in recs) == sorted(scores(res.boxes.conf.numpy()))
