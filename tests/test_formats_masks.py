"""Masks and multi-part polygons survive exactly; boxes stay what the source said.

Checked against pycocotools: ``annToMask`` of the export equals the source's pixel for
pixel, for every annotation of every COCO file in the fixtures that has an RLE mask or a
polygon of several parts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nblabel.formats import FormatError, read_coco, read_yolo, write_coco, write_yolo

MASK_FILES = [
    "datumaro/coco_dataset/coco/annotations/instances_val.json",
    "datumaro/coco_dataset/coco/annotations/person_keypoints_val.json",
    "datumaro/coco_dataset/coco/annotations/stuff_val.json",
    "datumaro/coco_dataset/coco_instances/annotations/instances_val.json",
    "datumaro/coco_dataset/coco_stuff/annotations/stuff_train.json",
    "datumaro/coco_dataset/mmdet_coco/annotations/instances_val.json",
    "datumaro/coco_dataset/coco_roboflow/val/_annotations.coco.json",
    "label-studio-sdk/test_import_coco/coco_import_input.json",
]


def _by_image(coco):
    """file name -> [(category name, bbox, mask)] in file order."""
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    out = {}
    for img in coco.loadImgs(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        out[Path(img["file_name"]).name] = [
            (names[a["category_id"]], a["bbox"], coco.annToMask(a)) for a in anns
        ]
    return out


@pytest.mark.parametrize("rel", MASK_FILES, ids=lambda r: r.split("/")[-3] + "/" + Path(r).stem)
def test_coco_masks_and_parts_round_trip_pixel_for_pixel(rel, shared_dir, tmp_path):
    from pycocotools.coco import COCO

    src = shared_dir / "fixtures" / rel
    meta: dict = {}
    classes, items = read_coco(src, meta=meta)
    out = write_coco(items, classes, tmp_path / "out.json", category_ids=meta["category_ids"])
    before, after = _by_image(COCO(str(src))), _by_image(COCO(str(out)))
    assert sorted(before) == sorted(after)
    compared = 0
    for name, anns in before.items():
        assert [a[0] for a in after[name]] == [a[0] for a in anns], name
        for (_, box_a, mask_a), (_, box_b, mask_b) in zip(anns, after[name]):
            assert box_b == pytest.approx(box_a, abs=1e-3)  # the file's box, not re-derived
            assert mask_a.shape == mask_b.shape and np.array_equal(mask_a, mask_b), name
            compared += 1
    assert compared == sum(len(a) for a in before.values()) > 0


def _parts_file(tmp_path: Path) -> Path:
    Image.new("RGB", (100, 80)).save(tmp_path / "two.png")
    left = [10, 10, 30, 10, 30, 40, 10, 40]
    right = [60, 50, 90, 50, 90, 70, 60, 70]
    data = {
        "images": [{"id": 1, "file_name": "two.png", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 80, 60],
             "segmentation": [left, right], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 1,
             "segmentation": {"size": [80, 100], "counts": [0, 5, 75, 5, 75, 5, 75, 5, 75, 5,
                                                             7675]}},
        ],
    }  # fmt: skip
    (tmp_path / "parts.json").write_text(json.dumps(data))
    return tmp_path / "parts.json"


def test_a_redrawn_outline_wins_over_the_parts_it_was_read_with(tmp_path):
    from pycocotools.coco import COCO

    classes, (item,) = read_coco(_parts_file(tmp_path))
    car, crowd = item["annotations"]
    assert len(car["parts"]) == 2 and car["bbox"] == [10.0, 10.0, 90.0, 70.0]
    assert crowd["mask"]["size"] == [80, 100] and crowd["iscrowd"] == 1
    redrawn = {**car, "points": [[12.0, 12.0], [28.0, 12.0], [28.0, 38.0]]}
    out = write_coco([{**item, "annotations": [redrawn]}], classes, tmp_path / "o.json")
    (ann,) = COCO(str(out)).dataset["annotations"]
    assert ann["segmentation"] == [[12.0, 12.0, 28.0, 12.0, 28.0, 38.0]]
    assert "parts" not in ann and "mask" not in ann


def test_yolo_segment_export_keeps_every_part_and_leaves_crowds_out_of_training(tmp_path):
    classes, (item,) = read_coco(_parts_file(tmp_path))
    data = write_yolo([item], classes, tmp_path / "y", task="segment", val_fraction=0)
    (label,) = (data.parent / "labels" / "train").glob("*.txt")
    (line,) = label.read_text().splitlines()  # the crowd region is no training object
    xy = np.array([float(v) for v in line.split()[1:]]).reshape(-1, 2) * [100, 80]
    # the outline runs through both parts, so the box ultralytics derives is the object's
    assert [xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()] == pytest.approx(
        [10, 10, 90, 70], abs=1e-3
    )
    _, (back,) = read_yolo(data.parent)
    assert [r.get("iscrowd") for r in back["annotations"]] == [None, 1]
    assert back["annotations"][1]["mask"] == item["annotations"][1]["mask"]


def test_yolo_names_with_gaps_say_how_to_renumber(tmp_path):
    root = tmp_path / "y"
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (10, 10)).save(root / "images" / "a.png")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: {0: a, 2: b, 5: c}\n")
    with pytest.raises(FormatError, match=r"change the ids 2 -> 1, 5 -> 2 in 'names' and in"):
        read_yolo(root)
    (root / "data.yaml").write_text("names: [a]\n")
    with pytest.raises(FormatError, match="no 'train' or 'val'"):
        read_yolo(root)
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("nan 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: [a]\n")
    (item,) = read_yolo(root)[1]  # a class id 'nan' is one bad line, not a failed import
    assert len(item["annotations"]) == 1 and "class id nan" in item["issues"][0]


def test_yolo_pose_and_detect_exports_keep_outlines_and_points_for_the_way_back(tmp_path):
    Image.new("RGB", (100, 80)).save(tmp_path / "p.png")
    pose = {"label": "p", "bbox": [10.0, 10.0, 50.0, 70.0],
            "points": [[10.0, 10.0], [50.0, 10.0], [30.0, 70.0]],
            "keypoints": [[20.0, 20.0, 2], [40.0, 20.0, 2]]}  # fmt: skip
    row = {"key": "p", "image": str(tmp_path / "p.png"), "width": 100, "height": 80,
           "annotations": [pose], "status": "verified"}  # fmt: skip
    for task in ("pose", "detect"):
        data = write_yolo([row], ["p"], tmp_path / task, task=task, val_fraction=0)
        _, (back,) = read_yolo(data.parent)
        (rec,) = back["annotations"]
        assert rec["points"] == pose["points"], task
        got = [v for k in rec["keypoints"] for v in k[:2]]
        assert got == pytest.approx([20.0, 20.0, 40.0, 20.0], abs=1e-3), task
