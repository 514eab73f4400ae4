"""Format readers and writers on real files: the raccoon VOC set, pycocotools, ultralytics."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from nblabel.formats import (
    FormatError,
    label_config,
    read_coco,
    read_labelstudio,
    read_voc,
    read_yolo,
    write_coco,
    write_labelstudio,
    write_voc,
    write_yolo,
)
from nblabel.formats._common import COCO17_KEYPOINTS

VOC_XML = """<annotation>
  <filename>{filename}</filename>
  <size><width>{w}</width><height>{h}</height><depth>3</depth></size>
  {objects}
</annotation>
"""
VOC_OBJECT = (
    "<object><name>{name}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
    "<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
)


def voc_xml(filename, w, h, boxes, name="raccoon"):
    objects = "\n  ".join(VOC_OBJECT.format(name=name, b=b) for b in boxes)
    return VOC_XML.format(filename=filename, w=w, h=h, objects=objects)


def make_image(path: Path, size=(64, 48), exif_orientation=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, (120, 80, 40))
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(path, exif=exif)
    else:
        im.save(path)
    return path


@pytest.fixture(scope="module")
def raccoon(raccoon_dir):
    return read_voc(raccoon_dir / "annotations", raccoon_dir / "images")


def boxes_by_key(items):
    return {it["key"]: sorted(tuple(r["bbox"]) for r in it["annotations"]) for it in items}


def flat(nested):
    return [v for part in nested for v in part]


def close_boxes(a, b, tol):
    assert a.keys() == b.keys()
    for k in a:
        assert len(a[k]) == len(b[k]), k
        for x, y in zip(a[k], b[k]):
            assert max(abs(p - q) for p, q in zip(x, y)) <= tol, (k, x, y)


def rich_rows(raccoon_dir):
    """Three raccoon images with a polygon, 17 keypoints, scores, sources and extras."""
    img = raccoon_dir / "images"
    kps = [[100.0 + 5 * i, 120.0 + 4 * i, 2 if i % 5 else 1] for i in range(17)]
    kps[3] = [0.0, 0.0, 0]  # an absent point keeps its slot
    return [
        {
            "key": "raccoon-1",
            "image": str(img / "raccoon-1.jpg"),
            "width": 650,
            "height": 417,
            "status": "verified",
            "annotations": [
                {"label": "raccoon", "bbox": [81, 88, 522, 408], "keypoints": kps},
                {"label": "cat", "bbox": [10, 10, 60, 50], "attributes": {"difficult": 1}},
            ],
        },
        {
            "key": "raccoon-2",
            "image": str(img / "raccoon-2.jpg"),
            "width": 800,
            "height": 573,
            "status": "predicted",
            "annotations": [
                {
                    "label": "raccoon",
                    "points": [[20.5, 30], [300, 40], [310, 400], [25, 380]],
                    "score": 0.42,
                    "source": "yolo11n@abc123",
                }
            ],
        },
        {
            "key": "raccoon-3",
            "image": str(img / "raccoon-3.jpg"),
            "width": 720,
            "height": 480,
            "status": "unlabeled",
            "annotations": [],
        },
    ]


# -- Pascal VOC ----------------------------------------------------------------------------------


def test_read_voc_raccoon(raccoon, raccoon_dir):
    classes, items = raccoon
    assert classes == ["raccoon"]
    assert len(items) == 200
    assert sum(len(it["annotations"]) for it in items) == 217
    assert not any(it["issues"] for it in items)
    first = items[0]  # natural order: raccoon-1, raccoon-2, ... raccoon-10
    assert [it["key"] for it in items[:3]] == ["raccoon-1", "raccoon-2", "raccoon-3"]
    assert first["image"] == str(raccoon_dir / "images" / "raccoon-1.jpg")
    assert (first["width"], first["height"]) == (650, 417)
    rec = first["annotations"][0]
    assert rec["bbox"] == [81.0, 88.0, 522.0, 408.0]
    assert rec["label"] == "raccoon" and rec["score"] is None and rec["source"] == "human"
    # the three grayscale JPEGs read like the rest
    gray = [it for it in items if Image.open(it["image"]).mode == "L"]
    assert len(gray) == 3 and all(it["annotations"] and it["width"] for it in gray)


def test_voc_size_comes_from_the_image_header_with_exif(tmp_path):
    make_image(tmp_path / "img" / "rot.jpg", size=(80, 40), exif_orientation=6)
    ann = tmp_path / "ann"
    ann.mkdir()
    # the XML claims the stored (unrotated) size; a viewer shows 40x80
    (ann / "rot.xml").write_text(voc_xml("rot.jpg", 80, 40, [[5, 5, 30, 70]]))
    _, (item,) = read_voc(ann, tmp_path / "img")
    assert (item["width"], item["height"]) == (40, 80)
    assert item["annotations"][0]["bbox"] == [5.0, 5.0, 30.0, 70.0]
    assert any("80x40" in s and "40x80" in s for s in item["issues"])


def test_voc_box_outside_and_zero_area_are_reported(tmp_path):
    make_image(tmp_path / "img" / "a.png", size=(64, 48))
    ann = tmp_path / "ann"
    ann.mkdir()
    boxes = [[-10, 5, 30, 60], [100, 100, 120, 130], [10, 10, 10, 30], [1, 2, 20, 22]]
    (ann / "a.xml").write_text(voc_xml("a.png", 64, 48, boxes))
    classes, (item,) = read_voc(ann, tmp_path / "img")
    assert classes == ["raccoon"]
    got = [r["bbox"] for r in item["annotations"]]
    assert got == [[0.0, 5.0, 30.0, 48.0], [1.0, 2.0, 20.0, 22.0]]  # clipped, kept
    issues = "\n".join(item["issues"])
    assert "a.xml object 1" in issues and "clipped" in issues
    assert "a.xml object 2" in issues and "[100.0, 100.0, 120.0, 130.0]" in issues
    assert "a.xml object 3" in issues and "zero area" in issues
    assert "object 4" not in issues
    assert len(item["issues"]) == 3


def test_voc_malformed_xml_raises_naming_file_and_line(tmp_path):
    make_image(tmp_path / "img" / "ok.jpg")
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "ok.xml").write_text(voc_xml("ok.jpg", 64, 48, [[1, 1, 20, 20]]))
    (ann / "broken.xml").write_text("<annotation>\n  <filename>x.jpg</filename>\n  <size>\n")
    with pytest.raises(FormatError) as err:
        read_voc(ann, tmp_path / "img")
    assert isinstance(err.value, ValueError)
    assert "broken.xml" in str(err.value) and err.value.line == 4
    assert "line 4" in str(err.value)
    # errors="flag" keeps the good file and reports the bad one as an item
    _, items = read_voc(ann, tmp_path / "img", errors="flag")
    by_key = {it["key"]: it for it in items}
    assert len(by_key["ok"]["annotations"]) == 1 and not by_key["ok"]["issues"]
    assert by_key["broken"]["annotations"] == [] and "broken.xml" in by_key["broken"]["issues"][0]


def test_voc_missing_image_keeps_labels_and_says_so(tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "gone.xml").write_text(voc_xml("gone.jpg", 64, 48, [[1, 1, 20, 20]]))
    (tmp_path / "img").mkdir()
    _, (item,) = read_voc(ann, tmp_path / "img")
    assert item["image"] == str(tmp_path / "img" / "gone.jpg")
    assert (item["width"], item["height"]) == (64, 48)  # the XML's size is all there is
    assert item["annotations"][0]["bbox"] == [1.0, 1.0, 20.0, 20.0]
    assert any("not found" in s and "gone.jpg" in s for s in item["issues"])


def test_write_voc_round_trip_keeps_scores_sources_and_flags(tmp_path, raccoon_dir):
    rows = rich_rows(raccoon_dir)
    out = write_voc(rows, ["raccoon", "cat"], tmp_path / "voc")
    # an unlabeled image is not an image without objects: left out unless asked for
    assert sorted(p.name for p in out.glob("Annotations/*.xml")) == [
        "raccoon-1.xml",
        "raccoon-2.xml",
    ]
    write_voc(rows, ["raccoon", "cat"], tmp_path / "voc", include_unlabeled=True)
    assert (out / "Annotations" / "raccoon-3.xml").is_file()
    classes, items = read_voc(out, allow_outside=True)  # images found through <path>
    assert classes == ["raccoon", "cat"]  # labelmap.txt's order
    by_key = {it["key"]: it for it in items}
    assert not any(it["issues"] for it in items)
    r1 = by_key["raccoon-1"]["annotations"]
    assert r1[1]["label"] == "cat" and r1[1]["attributes"] == {"difficult": 1}
    (pred,) = by_key["raccoon-2"]["annotations"]
    assert pred["score"] == pytest.approx(0.42) and pred["source"] == "yolo11n@abc123"
    assert pred["bbox"] == [20.0, 30.0, 310.0, 400.0]  # the polygon's box, whole pixels
    assert by_key["raccoon-3"]["annotations"] == []


# -- COCO ----------------------------------------------------------------------------------------


def test_coco_export_loads_in_pycocotools(raccoon, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    classes, items = raccoon
    path = write_coco(items, classes, tmp_path / "coco" / "instances.json")
    gt = COCO(str(path))
    assert len(gt.getImgIds()) == 200 and len(gt.getAnnIds()) == 217
    assert [c["name"] for c in gt.loadCats(gt.getCatIds())] == ["raccoon"]
    img = gt.loadImgs(gt.getImgIds())[0]
    assert img["file_name"] == "raccoon-1.jpg" and (img["width"], img["height"]) == (650, 417)
    ann = gt.loadAnns(gt.getAnnIds(imgIds=[img["id"]]))[0]
    assert ann["bbox"] == [81.0, 88.0, 441.0, 320.0] and ann["area"] == 441.0 * 320.0

    # the same boxes as scored detections must evaluate to a perfect AP
    dets = [dict(a, score=1.0) for a in gt.loadAnns(gt.getAnnIds())]
    ev = COCOeval(gt, gt.loadRes(dets), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)

    # and it reads back with no images_dir: names resolve through info.image_root, a folder
    # outside the JSON file's, so only when allowed
    _, refused = read_coco(path)
    assert all("outside" in it["issues"][0] for it in refused)
    classes2, items2 = read_coco(path, allow_outside=True)
    assert classes2 == ["raccoon"]
    close_boxes(boxes_by_key(items), boxes_by_key(items2), 1e-6)
    assert not any(it["issues"] for it in items2)


def test_coco_polygons_keypoints_scores_round_trip(tmp_path, raccoon_dir):
    from pycocotools.coco import COCO

    rows = rich_rows(raccoon_dir)
    path = write_coco(rows, ["raccoon", "cat"], tmp_path / "out.json")
    gt = COCO(str(path))
    cats = {c["name"]: c for c in gt.loadCats(gt.getCatIds())}
    assert cats["raccoon"]["keypoints"] == list(COCO17_KEYPOINTS)
    assert len(cats["raccoon"]["skeleton"]) == 19 and "keypoints" not in cats["cat"]
    poly = gt.loadAnns(gt.getAnnIds(imgIds=[2]))[0]
    mask = gt.annToMask(poly)  # pycocotools rasterizes the exported polygon
    assert mask.shape == (573, 800) and 0.9 < mask.sum() / poly["area"] < 1.1
    assert poly["score"] == 0.42 and poly["source"] == "yolo11n@abc123"

    classes, items = read_coco(path)
    assert classes == ["raccoon", "cat"]
    by_key = {it["key"]: it for it in items}
    person, cat = by_key["raccoon-1"]["annotations"]
    assert person["keypoints"][3] == [0.0, 0.0, 0]
    assert person["keypoints"][0] == [100.0, 120.0, 1] and person["keypoints"][1][2] == 2
    assert person["score"] is None and person["source"] == "human"
    assert cat["attributes"] == {"difficult": 1}
    (p,) = by_key["raccoon-2"]["annotations"]
    assert p["points"] == [[20.5, 30.0], [300.0, 40.0], [310.0, 400.0], [25.0, 380.0]]
    assert p["score"] == 0.42 and p["source"] == "yolo11n@abc123"
    assert "raccoon-3" not in by_key  # unlabeled


def test_coco_rle_masks_are_kept_with_an_outline_on_pixel_edges(tmp_path):
    import numpy as np
    from pycocotools import mask as mask_utils

    make_image(tmp_path / "m.png", size=(60, 40))
    m = np.zeros((40, 60), np.uint8)
    m[10:30, 15:45] = 1
    compressed = mask_utils.encode(np.asfortranarray(m))
    compressed["counts"] = compressed["counts"].decode()
    # uncompressed counts, column by column: 15 empty columns, then 30 columns of 10/20/10
    counts = [15 * 40 + 10] + [20, 20] * 29 + [20, 10 + 15 * 40]
    data = {
        "images": [{"id": 7, "file_name": "m.png", "width": 60, "height": 40}],
        "categories": [{"id": 3, "name": "blob"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [15, 10, 30, 20],
             "iscrowd": 1, "segmentation": compressed},
            {"id": 2, "image_id": 7, "category_id": 3, "bbox": [15, 10, 30, 20],
             "iscrowd": 1, "segmentation": {"size": [40, 60], "counts": counts}},
        ],
    }  # fmt: skip
    (tmp_path / "rle.json").write_text(json.dumps(data))
    classes, (item,) = read_coco(tmp_path / "rle.json")
    assert classes == ["blob"] and not item["issues"]
    for rec in item["annotations"]:
        xs = [p[0] for p in rec["points"]]
        ys = [p[1] for p in rec["points"]]
        # the outline runs along pixel borders, so it covers all 30x20 pixels
        assert (min(xs), min(ys), max(xs), max(ys)) == (15, 10, 45, 30)
        assert rec["iscrowd"] == 1 and rec["bbox"] == [15.0, 10.0, 45.0, 30.0]
        assert rec["mask"]["counts"] == compressed["counts"]  # the runs, as the file gave


def test_coco_bad_input_outcomes(tmp_path):
    make_image(tmp_path / "a.jpg")
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "images": [\n    {"id": 1,, }\n  ]\n}\n')
    with pytest.raises(FormatError, match=r"bad\.json, line 3: not valid JSON"):
        read_coco(bad)
    results = tmp_path / "results.json"
    results.write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]')
    with pytest.raises(FormatError, match="results"):
        read_coco(results)

    base = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
            {"id": 2, "file_name": "missing.jpg", "width": 10, "height": 10},
        ],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 9, "bbox": [1, 1, 5, 5]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [70, 1, 5, 5]},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [4, 4, 0, 9]},
            {"id": 4, "image_id": 1, "category_id": 1, "bbox": [60, 40, 10, 10]},
            {"id": 5, "image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2]},
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(base))
    _, (a, missing) = read_coco(tmp_path / "c.json")
    issues = "\n".join(a["issues"])
    assert "annotation 1: category_id 9" in issues
    assert "annotation 2" in issues and "left out" in issues  # entirely outside
    assert "annotation 3" in issues and "zero area" in issues
    assert "annotation 4" in issues and "clipped" in issues
    assert [r["bbox"] for r in a["annotations"]] == [[60.0, 40.0, 64.0, 48.0]]
    assert any("missing.jpg" in s and "not found" in s for s in missing["issues"])
    assert missing["annotations"][0]["bbox"] == [1.0, 1.0, 3.0, 3.0]

    base["annotations"].append({"id": 9, "image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]})
    (tmp_path / "d.json").write_text(json.dumps(base))
    with pytest.raises(FormatError, match="annotation id 9 refers to image_id 99"):
        read_coco(tmp_path / "d.json")


# -- YOLO ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_yolo_export_trains_in_ultralytics(raccoon, raccoon_dir, tmp_path):
    from ultralytics import YOLO

    classes, items = raccoon
    before = sorted(os.listdir(raccoon_dir / "images"))
    data = write_yolo(items[:16], classes, tmp_path / "yolo", val_fraction=0.25)
    model = YOLO("yolo11n.yaml")
    model.train(data=str(data), epochs=1, imgsz=64, batch=8, workers=0, plots=False,
                device="cpu", project=str(tmp_path / "runs"), name="t", amp=False,
                verbose=False)  # fmt: skip
    assert (tmp_path / "runs" / "t" / "weights" / "last.pt").is_file()
    # ultralytics read every label file: 12 train images with all their boxes, none corrupt
    labels = model.trainer.train_loader.dataset.labels
    train_boxes = sum(
        len(it["annotations"])
        for it in items[:16]
        if (tmp_path / "yolo" / "labels" / "train" / f"{it['key']}.txt").exists()
    )
    assert len(labels) == 12 and sum(len(lb["cls"]) for lb in labels) == train_boxes
    assert sorted(os.listdir(raccoon_dir / "images")) == before  # nothing written there


def test_yolo_layout_split_and_links(raccoon, raccoon_dir, tmp_path):
    import yaml

    classes, items = raccoon
    data = write_yolo(items[:20], classes, tmp_path / "y")
    cfg = yaml.safe_load(data.read_text())
    assert cfg["names"] == {0: "raccoon"} and cfg["path"] == str((tmp_path / "y").resolve())
    train = sorted((tmp_path / "y" / "images" / "train").iterdir())
    val = sorted((tmp_path / "y" / "images" / "val").iterdir())
    assert (len(train), len(val)) == (16, 4)
    for p in train + val:
        assert p.is_symlink() and p.resolve().parent == (raccoon_dir / "images").resolve()
    # the same seed gives the same split; another seed another one
    again = write_yolo(items[:20], classes, tmp_path / "y2")
    assert sorted(p.name for p in (again.parent / "images" / "val").iterdir()) == [
        p.name for p in val
    ]
    other = write_yolo(items[:20], classes, tmp_path / "y3", seed=1)
    assert sorted(p.name for p in (other.parent / "images" / "val").iterdir()) != [
        p.name for p in val
    ]
    line = tmp_path / "y" / "labels" / _split_of(tmp_path / "y", "raccoon-1") / "raccoon-1.txt"
    cls, cx, cy, w, h = line.read_text().split()
    assert cls == "0"
    assert float(cx) == pytest.approx((81 + 522) / 2 / 650, abs=1e-6)
    assert float(h) == pytest.approx((408 - 88) / 417, abs=1e-6)


def _split_of(root: Path, stem: str) -> str:
    return "train" if (root / "labels" / "train" / f"{stem}.txt").exists() else "val"


def test_yolo_pose_and_segment_exports_parse_back(tmp_path, raccoon_dir):
    from ultralytics.data.utils import verify_image_label

    rows = rich_rows(raccoon_dir)
    # pose: inferred from the keypoints; ultralytics' own label check accepts every file
    data = write_yolo(rows, ["raccoon", "cat"], tmp_path / "pose", val_fraction=0)
    import yaml

    cfg = yaml.safe_load(data.read_text())
    assert cfg["kpt_shape"] == [17, 3] and cfg["val"] == "images/train"
    assert cfg["flip_idx"][1:3] == [2, 1] and cfg["flip_idx"][0] == 0
    for img in (tmp_path / "pose" / "images" / "train").iterdir():
        lbl = tmp_path / "pose" / "labels" / "train" / f"{img.stem}.txt"
        res = verify_image_label((str(img), str(lbl), "", True, 2, 17, 3, False))
        assert res[0] is not None and res[8] == 0, res[-1]  # not corrupt
    classes, items = read_yolo(tmp_path / "pose")
    assert classes == ["raccoon", "cat"]
    by_key = {it["key"]: it for it in items}
    person = by_key["raccoon-1"]["annotations"][0]
    assert person["keypoints"][3] == [0.0, 0.0, 0]
    assert person["keypoints"][5][:2] == pytest.approx([125.0, 140.0], abs=1e-3)
    assert person["keypoints"][5][2] == 1
    (pred,) = by_key["raccoon-2"]["annotations"]
    assert pred["score"] == 0.42 and pred["source"] == "yolo11n@abc123"  # from nblabel.json
    assert by_key["raccoon-1"]["annotations"][1]["attributes"] == {"difficult": 1}

    # segment: boxes without a polygon become 4-corner polygons
    write_yolo(rows, ["raccoon", "cat"], tmp_path / "seg", task="segment", val_fraction=0)
    for img in (tmp_path / "seg" / "images" / "train").iterdir():
        lbl = tmp_path / "seg" / "labels" / "train" / f"{img.stem}.txt"
        res = verify_image_label((str(img), str(lbl), "", False, 2, 0, 0, False))
        assert res[0] is not None and res[8] == 0, res[-1]
    _, items = read_yolo(tmp_path / "seg")
    by_key = {it["key"]: it for it in items}
    (poly,) = by_key["raccoon-2"]["annotations"]
    assert flat(poly["points"]) == pytest.approx(
        [20.5, 30.0, 300.0, 40.0, 310.0, 400.0, 25.0, 380.0], abs=1e-3
    )
    cat = by_key["raccoon-1"]["annotations"][1]
    assert cat["bbox"] == pytest.approx([10, 10, 60, 50], abs=1e-3) and len(cat["points"]) == 4


def test_yolo_bad_lines_become_issues(tmp_path):
    root = tmp_path / "ds"
    make_image(root / "images" / "train" / "a.jpg", size=(100, 50))
    make_image(root / "images" / "train" / "b.jpg", size=(100, 50))
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text(
        "0 0.5 0.5 0.2 0.2\n3 0.5 0.5 0.2 0.2\n0 0.5 0.5\n0 x 0.5 0.2 0.2\n0 0.95 0.5 0.2 0.2\n"
    )
    (root / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [dog]\n")
    classes, items = read_yolo(root)
    assert classes == ["dog"] and len(items) == 2  # b.jpg has no labels: a background image
    a = next(it for it in items if it["key"] == "a")
    issues = "\n".join(a["issues"])
    assert "a.txt:2: class id 3 is not in names (0..0)" in issues
    assert "a.txt:3:" in issues and "a.txt:4:" in issues and "a.txt:5:" in issues
    assert flat(r["bbox"] for r in a["annotations"]) == pytest.approx(
        [40, 20, 60, 30, 85, 20, 100, 30]
    )
    (root / "data.yaml").write_text("names: [dog\n")
    with pytest.raises(FormatError, match="data.yaml"):
        read_yolo(root)


def test_yolo_reexport_removes_stale_files_and_refuses_foreign_folders(raccoon, tmp_path):
    classes, items = raccoon
    out = tmp_path / "y"
    write_yolo(items[:6], classes, out)
    write_yolo(items[:3], classes, out)
    labels = sorted(p.stem for p in (out / "labels").rglob("*.txt"))
    assert labels == ["raccoon-1", "raccoon-2", "raccoon-3"]
    assert len(list((out / "images").rglob("*.jpg"))) == 3
    _, back = read_yolo(out)
    assert sorted(it["key"] for it in back) == labels

    foreign = tmp_path / "theirs"
    make_image(foreign / "images" / "x.jpg")
    with pytest.raises(ValueError, match="did not write"):
        write_yolo(items[:2], classes, foreign)


# -- Label Studio --------------------------------------------------------------------------------


def test_labelstudio_export_reimports_with_scores(tmp_path, raccoon_dir):
    rows = rich_rows(raccoon_dir)
    path = write_labelstudio(rows, ["raccoon", "cat"], tmp_path / "ls" / "tasks.json",
                             image_root=raccoon_dir)  # fmt: skip
    tasks = json.loads(path.read_text())
    assert tasks[0]["data"]["image"] == "/data/local-files/?d=images/raccoon-1.jpg"
    assert "annotations" in tasks[0] and "predictions" not in tasks[0]
    (pred,) = tasks[1]["predictions"]
    assert pred["model_version"] == "yolo11n@abc123" and pred["score"] == 0.42
    region = pred["result"][0]
    assert region["type"] == "polygonlabels" and region["original_width"] == 800
    assert region["value"]["points"][0] == pytest.approx([20.5 / 8, 30 / 5.73])
    kps = [r for r in tasks[0]["annotations"][0]["result"] if r["type"] == "keypointlabels"]
    assert len(kps) == 16 and all(r["parentID"] == "n0r0" for r in kps)
    assert "annotations" not in tasks[2] and "predictions" not in tasks[2]
    config = label_config(["raccoon", "cat"], COCO17_KEYPOINTS)
    assert '<Label value="nose" model_index="0" />' in config

    classes, items = read_labelstudio(path, raccoon_dir)
    assert classes == ["cat", "raccoon"]
    by_key = {it["key"]: it for it in items}
    assert not any(it["issues"] for it in items)
    assert by_key["raccoon-1"]["image"] == str(raccoon_dir / "images" / "raccoon-1.jpg")
    person, cat = by_key["raccoon-1"]["annotations"]
    assert person["source"] == "human" and person["score"] is None
    assert person["bbox"] == pytest.approx([81, 88, 522, 408])
    assert person["keypoints"][3] == [0.0, 0.0, 0] and person["keypoints"][0][2] == 1
    assert person["keypoints"][7][:2] == pytest.approx([135.0, 148.0])
    assert cat["attributes"] == {"difficult": 1}
    (p,) = by_key["raccoon-2"]["annotations"]
    assert p["score"] == 0.42 and p["source"] == "yolo11n@abc123"
    assert flat(p["points"]) == pytest.approx([20.5, 30, 300, 40, 310, 400, 25, 380])


def test_labelstudio_reads_label_studio_exports(tmp_path):
    make_image(tmp_path / "imgs" / "dog.jpg", size=(200, 100))
    region = {"id": "r1", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
              "original_width": 200, "original_height": 100,
              "value": {"x": 10, "y": 20, "width": 25, "height": 50, "rotation": 0,
                        "rectanglelabels": ["dog"]}}  # fmt: skip
    rotated = json.loads(json.dumps(region))
    rotated["value"].update(rotation=90, x=50, y=10)
    tasks = [
        {  # an uploaded file: Label Studio prefixes its name with 8 hex digits
            "id": 1,
            "data": {"image": "/data/upload/3/0a1b2c3d-dog.jpg"},
            "annotations": [
                {"was_cancelled": True, "result": []},
                {"result": [region, {**region, "id": "r2", "type": "choices"}]},
            ],
            "predictions": [{"model_version": "m1", "score": 0.3, "result": [rotated]}],
        },
        {
            "id": 2,
            "data": {"image": "https://example.com/a/dog.jpg"},
            "predictions": [{"model_version": "m1", "score": 0.3, "result": [rotated]}],
        },
    ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    classes, (human, model) = read_labelstudio(tmp_path / "export.json", tmp_path / "imgs")
    assert classes == ["dog"]
    assert human["image"] == str(tmp_path / "imgs" / "dog.jpg")
    (rec,) = human["annotations"]
    assert rec["bbox"] == pytest.approx([20, 20, 70, 70]) and rec["source"] == "human"
    assert any("'choices'" in s for s in human["issues"])
    (rec,) = model["annotations"]
    # a 50x50 box turned 90 degrees about its top-left corner (100, 10): x 50..100, y 10..60
    # (kept as that box, unturned, and its rotation about the centre)
    assert rec["bbox"] == pytest.approx([50, 10, 100, 60]) and rec["rotation"] == 90
    assert rec["score"] == 0.3 and rec["source"] == "m1"

    (tmp_path / "bad.json").write_text('[\n{"data": }\n]')
    with pytest.raises(FormatError, match=r"bad\.json, line 2"):
        read_labelstudio(tmp_path / "bad.json")


# -- writers refuse rows they cannot write -------------------------------------------------------


@pytest.mark.parametrize("writer", [write_voc, write_coco, write_yolo, write_labelstudio])
def test_writers_name_the_bad_row(writer, tmp_path, raccoon_dir):
    rows = rich_rows(raccoon_dir)
    dest = tmp_path / ("out.json" if writer in (write_coco, write_labelstudio) else "out")
    with pytest.raises(ValueError, match=r"row 'raccoon-1' object 1: unknown class 'cat'"):
        writer(rows, ["raccoon"], dest)
    rows[1]["width"] = 0
    with pytest.raises(ValueError, match="row 'raccoon-2'.*no image size"):
        writer(rows, ["raccoon", "cat"], dest)


def test_yolo_export_needs_the_image_files(tmp_path, raccoon_dir):
    src = tmp_path / "copy.jpg"
    shutil.copy(raccoon_dir / "images" / "raccoon-1.jpg", src)
    rows = [{"key": "k", "image": str(src), "width": 650, "height": 417, "annotations": []}]
    src.unlink()
    with pytest.raises(ValueError, match=r"row 'k': image .*copy\.jpg not found"):
        write_yolo(rows, ["raccoon"], tmp_path / "y")
    rows[0].update(image=str(raccoon_dir / "images" / "raccoon-1.jpg"), status="unlabeled")
    with pytest.raises(ValueError, match="nothing to export: 1 row"):
        write_yolo(rows, ["raccoon"], tmp_path / "y")
    data = write_yolo(rows, ["raccoon"], tmp_path / "y", include_unlabeled=True)
    assert (data.parent / "labels" / "train" / "raccoon-1.txt").read_text() == ""
