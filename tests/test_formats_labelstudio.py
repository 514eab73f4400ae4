"""Label Studio: rotated boxes both ways, every annotation of a task kept, task ids written."""

from __future__ import annotations

import json
import math

import pytest
from PIL import Image

from nblabel.formats import read_labelstudio, write_labelstudio

OBB = "fixtures/label-studio-sdk/test_export_yolo/data_obb.json"


def _corners(v: dict, w: int, h: int) -> list[tuple[float, float]]:
    """Corners of a Label Studio rectangle in pixels, turned about its top-left corner."""
    x, y = v["x"] * w / 100, v["y"] * h / 100
    bw, bh = v["width"] * w / 100, v["height"] * h / 100
    a = math.radians(v.get("rotation") or 0)
    return [
        (x + dx * math.cos(a) - dy * math.sin(a), y + dx * math.sin(a) + dy * math.cos(a))
        for dx, dy in ((0, 0), (bw, 0), (bw, bh), (0, bh))
    ]


def _record_corners(rec: dict) -> list[tuple[float, float]]:
    x1, y1, x2, y2 = rec["bbox"]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a = math.radians(rec.get("rotation") or 0)
    return [
        (cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a))
        for dx, dy in (
            (x1 - cx, y1 - cy),
            (x2 - cx, y1 - cy),
            (x2 - cx, y2 - cy),
            (x1 - cx, y2 - cy),
        )
    ]


def test_rotated_boxes_keep_their_shape_both_ways(shared_dir, tmp_path):
    src = shared_dir / OBB
    tasks = json.loads(src.read_text())
    classes, items = read_labelstudio(src)
    assert [it["labelstudio_id"] for it in items] == [t["id"] for t in tasks]
    for task, item in zip(tasks, items):
        results = task["annotations"][0]["result"]
        assert len(item["annotations"]) == len(results)
        for r, rec in zip(results, item["annotations"]):
            w, h = r["original_width"], r["original_height"]
            # the same four corners, not an upright envelope
            for p, q in zip(_corners(r["value"], w, h), _record_corners(rec)):
                assert p == pytest.approx(q, abs=1e-6)
            assert not any("envelope" in s for s in item["issues"])

    out = write_labelstudio(items, classes, tmp_path / "back.json")
    written = json.loads(out.read_text())
    assert [t["id"] for t in written] == [t["id"] for t in tasks]
    for task, back in zip(tasks, written):
        for r, b in zip(task["annotations"][0]["result"], back["annotations"][-1]["result"]):
            for k in ("x", "y", "width", "height", "rotation"):
                assert b["value"][k] == pytest.approx(r["value"][k], abs=1e-6), k


def _task(tmp_path):
    Image.new("RGB", (200, 100)).save(tmp_path / "a.png")

    def box(label, x):
        return {"id": f"r{x}", "type": "rectanglelabels", "original_width": 200,
                "original_height": 100,
                "value": {"x": x, "y": 10, "width": 20, "height": 30, "rectanglelabels": [label]}}  # fmt: skip

    task = {
        "id": 77,
        "data": {"image": "a.png"},
        "annotations": [
            {"id": 1, "completed_by": 5, "ground_truth": True, "result": [box("cat", 10)]},
            {"id": 2, "completed_by": 9, "result": [box("dog", 40), box("dog", 70)]},
            {"id": 3, "completed_by": 5, "was_cancelled": True, "result": []},
        ],
        "predictions": [{"model_version": "v3", "score": 0.5, "result": [box("cat", 12)]}],
    }
    (tmp_path / "t.json").write_text(json.dumps([task]))
    return tmp_path / "t.json"


def test_every_annotation_is_kept_and_you_choose_which_wins(tmp_path):
    path = _task(tmp_path)
    classes, (item,) = read_labelstudio(path)
    assert classes == ["cat", "dog"] and item["labelstudio_id"] == 77
    assert [r["label"] for r in item["annotations"]] == ["dog", "dog"]  # the latest
    others = item["labelstudio_others"]
    assert [(o["kind"], o.get("id"), o.get("completed_by")) for o in others] == [
        ("annotation", 1, 5),
        ("prediction", None, None),
    ]
    assert others[1]["annotations"][0]["source"] == "v3"
    for which, label in (("first", "cat"), ("ground_truth", "cat"), (5, "cat"), (9, "dog")):
        _, (it,) = read_labelstudio(path, annotation=which)
        assert it["annotations"][0]["label"] == label, which
    with pytest.raises(ValueError, match="annotation must be"):
        read_labelstudio(path, annotation="best")

    row = {**item, "status": "verified"}
    out = write_labelstudio([row], classes, tmp_path / "out.json")
    (task,) = json.loads(out.read_text())
    assert task["id"] == 77
    # the winner last, under its own id and annotator
    assert [(a.get("id"), a.get("completed_by")) for a in task["annotations"]] == [(1, 5), (2, 9)]
    assert len(task["predictions"]) == 1
    _, (again,) = read_labelstudio(out, tmp_path)
    assert [r["label"] for r in again["annotations"]] == ["dog", "dog"]
    assert [o.get("id") for o in again["labelstudio_others"]] == [1, None]
    assert again["labelstudio_entry"]["id"] == 2

    # objects edited in nblabel are a new annotation: no id, no annotator of its own
    edited = {**row, "annotations": row["annotations"][:1]}
    (task,) = json.loads(write_labelstudio([edited], classes, tmp_path / "e.json").read_text())
    assert [a.get("id") for a in task["annotations"]] == [1, None]
    assert "completed_by" not in task["annotations"][-1]


def test_a_keypoint_without_a_parent_is_a_point_object(tmp_path):
    Image.new("RGB", (200, 100)).save(tmp_path / "a.png")
    kp = {"id": "k", "type": "keypointlabels", "original_width": 200, "original_height": 100,
          "value": {"x": 50, "y": 50, "width": 1, "keypointlabels": ["nest"]}}  # fmt: skip
    (tmp_path / "t.json").write_text(
        json.dumps([{"data": {"image": "a.png"}, "annotations": [{"result": [kp]}]}])
    )
    classes, (item,) = read_labelstudio(tmp_path / "t.json")
    (rec,) = item["annotations"]
    assert classes == ["nest"] and rec["shape"] == "points"
    assert rec["keypoints"] == [[100.0, 50.0, 2]] and not item["issues"]


def test_brush_masks_are_kept_pixel_for_pixel_both_ways(tmp_path):
    import numpy as np
    from pycocotools import mask as mask_utils

    from nblabel.formats import read_coco, write_coco
    from nblabel.formats._masks import brush_rle

    Image.new("RGB", (53, 37)).save(tmp_path / "a.png")
    m = np.zeros((37, 53), np.uint8)
    m[5:20, 3:30] = 1
    m[25:35, 40:50] = 1  # two parts
    brush = {"id": "b", "type": "brushlabels", "original_width": 53, "original_height": 37,
             "value": {"format": "rle", "rle": brush_rle(m), "brushlabels": ["blob"]}}  # fmt: skip
    (tmp_path / "t.json").write_text(
        json.dumps([{"data": {"image": "a.png"}, "annotations": [{"result": [brush]}]}])
    )
    classes, (item,) = read_labelstudio(tmp_path / "t.json")
    (rec,) = item["annotations"]
    assert rec["bbox"] == [3.0, 5.0, 50.0, 35.0] and not item["issues"]
    assert np.array_equal(
        mask_utils.decode(rec["mask"] | {"counts": rec["mask"]["counts"].encode()}), m
    )

    # through COCO and back to Label Studio: the same pixels all the way
    coco = write_coco([item], classes, tmp_path / "c.json")
    _, (via,) = read_coco(coco)
    out = write_labelstudio([via], classes, tmp_path / "back.json")
    (region,) = json.loads(out.read_text())[0]["annotations"][0]["result"]
    assert region["type"] == "brushlabels"
    _, (again,) = read_labelstudio(out, tmp_path)
    assert again["annotations"][0]["mask"]["counts"] == rec["mask"]["counts"]
