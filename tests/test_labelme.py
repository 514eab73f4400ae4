"""LabelMe JSON: files in the layouts labelme 5 and labelme 3 save, over the raccoon photos.

The shared fixtures hold no LabelMe *JSON* (Datumaro's ``labelme_dataset`` is the older
LabelMe XML), so the files are written here with the keys labelme itself writes
(``version``, ``flags``, ``shapes[label, points, group_id, description, shape_type, flags,
mask]``, ``imagePath``, ``imageData``, ``imageHeight``, ``imageWidth``) and the raccoon set's
real boxes. Counts are checked against a plain ``json`` parse of each file.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

import nblabel as nbl
from nblabel.formats import FormatError, read_cvat, read_labelme, write_labelme

KEPT = ("rectangle", "polygon", "point", "circle")
PASSED = ("line", "linestrip")  # no record holds an open line: kept aside, with an issue


def _voc_box(raccoon_dir: Path, stem: str) -> list[float]:
    obj = ET.parse(raccoon_dir / "annotations" / f"{stem}.xml").find("object/bndbox")
    return [float(obj.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]


def _shape(label, points, shape_type, **extra):
    return {"label": label, "points": points, "group_id": None, "description": "",
            "shape_type": shape_type, "flags": {}, "mask": None, **extra}  # fmt: skip


@pytest.fixture()
def labelme_dir(raccoon_dir, tmp_path) -> Path:
    """Three files as labelme saves them: JSON beside a relative imagePath into images/."""
    out = tmp_path / "labelme"
    images = out / "images"
    images.mkdir(parents=True)
    for n in (1, 10, 100):
        (images / f"raccoon-{n}.jpg").symlink_to(raccoon_dir / "images" / f"raccoon-{n}.jpg")
    x1, y1, x2, y2 = _voc_box(raccoon_dir, "raccoon-1")
    w, h = Image.open(images / "raccoon-1.jpg").size
    shapes = [
        # labelme stores the corners in the order they were dragged
        _shape("raccoon", [[x2, y2], [x1, y1]], "rectangle"),
        _shape(
            "raccoon",
            [[x1, y1], [x2, y1 + 20], [x2 - 30, y2], [x1 + 10, y2 - 5]],
            "polygon",
            flags={"occluded": True},
            description="left paw hidden",
        ),  # fmt: skip
        _shape("nose", [[x1 + 100.5, y1 + 80.25]], "point"),
        _shape("raccoon", [[x1 + 50, y1 + 50], [x1 + 90, y1 + 50]], "circle"),
        _shape("raccoon", [[x1, y1], [x2, y2]], "line"),
    ]
    (out / "raccoon-1.json").write_text(
        json.dumps(
            {
                "version": "5.5.0",
                "flags": {"blurry": False},
                "shapes": shapes,
                "imagePath": os.path.relpath(images / "raccoon-1.jpg", out),
                "imageData": None,
                "imageHeight": h,
                "imageWidth": w,
            },
            indent=2,
        )  # fmt: skip
    )
    # labelme 3: polygons only, no shape_type, colours per shape, no image size
    bx = _voc_box(raccoon_dir, "raccoon-10")
    old = {"label": "raccoon", "line_color": None, "fill_color": None,
           "points": [[bx[0], bx[1]], [bx[2], bx[1]], [bx[2], bx[3]], [bx[0], bx[3]]]}  # fmt: skip
    (out / "raccoon-10.json").write_text(
        json.dumps(
            {
                "flags": {},
                "shapes": [old],
                "lineColor": [0, 255, 0, 128],
                "fillColor": [255, 0, 0, 128],
                "imagePath": str(images / "raccoon-10.jpg"),
                "imageData": None,
            }
        )  # fmt: skip
    )
    sub = out / "more"
    sub.mkdir()
    bx = _voc_box(raccoon_dir, "raccoon-100")
    (sub / "raccoon-100.json").write_text(
        json.dumps(
            {
                "version": "5.2.1",
                "flags": {},
                "imageData": None,
                "shapes": [_shape("raccoon", [bx[:2], bx[2:]], "rectangle", group_id=3)],
                "imagePath": os.path.relpath(images / "raccoon-100.jpg", sub),
            }
        )  # fmt: skip
    )
    return out


def _expected(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.rglob("*.json")):
        data = json.loads(path.read_text())
        kept = []
        for s in data["shapes"]:
            kind = s.get("shape_type") or "polygon"
            if kind in KEPT:
                kept.append((kind, s["label"], s["points"]))
        dropped = sum((s.get("shape_type") or "polygon") in PASSED for s in data["shapes"])
        out[path.relative_to(folder).with_suffix("").as_posix()] = (kept, dropped)
    return out


def _as_shapes(item: dict) -> list[tuple]:
    shapes = []
    for r in item["annotations"]:
        if r.get("ellipse"):  # a circle: its centre and the point on it to the right
            e = r["ellipse"]
            shapes.append(
                ("circle", r["label"], [[e["cx"], e["cy"]], [e["cx"] + e["rx"], e["cy"]]])
            )
        elif r.get("points"):
            shapes.append(("polygon", r["label"], r["points"]))
        elif r.get("shape") == "points":
            shapes.append(("point", r["label"], [k[:2] for k in r["keypoints"]]))
        else:
            x1, y1, x2, y2 = r["bbox"]
            shapes.append(("rectangle", r["label"], [[x1, y1], [x2, y2]]))
    return shapes


def _normalized(kind, points):
    if kind == "rectangle":  # either corner order means the same box
        (a, b), (c, d) = points
        return [[min(a, c), min(b, d)], [max(a, c), max(b, d)]]
    return points


def _assert_matches(items, expected, tol=0.0, check_issues=True):
    assert sorted(it["key"] for it in items) == sorted(expected)
    for item in items:
        kept, dropped = expected[item["key"]]
        got = _as_shapes(item)
        assert [g[:2] for g in got] == [k[:2] for k in kept], item["key"]
        for g, k in zip(got, kept):
            want = _normalized(k[0], k[2])
            assert len(g[2]) == len(want)
            for p, q in zip(g[2], want):
                assert abs(p[0] - q[0]) <= tol and abs(p[1] - q[1]) <= tol, (item["key"], g, k)
        if check_issues:
            assert len(item["issues"]) == dropped, item["issues"]


def test_reads_labelme_5_and_3_files(labelme_dir, raccoon_dir):
    classes, items = read_labelme(labelme_dir)
    assert classes == ["raccoon", "nose"]
    _assert_matches(items, _expected(labelme_dir))
    by_key = {it["key"]: it for it in items}
    first = by_key["raccoon-1"]
    assert Path(first["image"]) == labelme_dir / "images" / "raccoon-1.jpg"
    assert (first["width"], first["height"]) == Image.open(first["image"]).size
    poly = first["annotations"][1]
    assert poly["attributes"] == {"occluded": True}
    assert poly["description"] == "left paw hidden"
    assert first["annotations"][2]["keypoints"] == [
        [first["annotations"][2]["keypoints"][0][0], first["annotations"][2]["keypoints"][0][1], 2]
    ]
    assert {s.split(": ")[1].split(" has")[0] for s in first["issues"]} == {"a LabelMe line"}
    assert [s["shape_type"] for s in first["labelme_shapes"]] == ["line"]
    assert by_key["more/raccoon-100"]["annotations"][0]["group_id"] == 3
    # labelme 3 gives no size: it comes from the image header, with no complaint
    assert by_key["raccoon-10"]["width"] > 0 and by_key["raccoon-10"]["issues"] == []


def test_round_trip_through_the_dataset_within_a_pixel(labelme_dir, tmp_path):
    ds = nbl.Dataset.from_labelme(labelme_dir, db=tmp_path / "lm.db")
    assert set(ds.df["status"]) == {"verified"}
    out = ds.to_labelme(tmp_path / "export")
    written = sorted(p.name for p in out.glob("*.json"))
    assert written == ["raccoon-1.json", "raccoon-10.json", "raccoon-100.json"]
    for p in out.glob("*.json"):
        data = json.loads(p.read_text())
        # labelme resolves imagePath against the JSON's folder
        assert (p.parent / data["imagePath"]).resolve().is_file()
        assert data["imageData"] is None and data["imageWidth"] > 0
        assert {s["shape_type"] for s in data["shapes"]} <= set(KEPT) | set(PASSED)

    _, items = read_labelme(out, labelme_dir / "images")
    # the export is flat; the lines the import kept aside are written back, and said again
    expected = {Path(k).name: v for k, v in _expected(labelme_dir).items()}
    _assert_matches(items, expected, tol=1.0)
    assert sum(len(it.get("labelme_shapes") or []) for it in items) == sum(
        n for _, n in expected.values()
    )
    again = {it["key"]: it for it in items}
    assert again["raccoon-1"]["annotations"][1]["attributes"] == {"occluded": True}
    assert again["raccoon-1"]["annotations"][1]["description"] == "left paw hidden"


def test_cvat_fixture_through_labelme_and_back(shared_dir, tmp_path):
    xml = shared_dir / "fixtures/datumaro/cvat_dataset/for_images/export_task/train.xml"
    images = xml.parent / "images"
    ds = nbl.Dataset.from_cvat(xml, images=images, db=tmp_path / "cvat.db")
    out = ds.to_labelme(tmp_path / "labelme")
    back = nbl.Dataset.from_labelme(out, images=images, db=tmp_path / "back.db")
    cvat_out = back.to_cvat(tmp_path / "cvat" / "annotations.xml")
    _, items = read_cvat(cvat_out, images)
    for item in items:
        before = ds.row(item["key"])["annotations"]
        after = item["annotations"]
        assert [(r["label"], r.get("shape")) for r in before] == [
            (r["label"], r.get("shape")) for r in after
        ]
        for a, b in zip(before, after):
            assert max(abs(p - q) for p, q in zip(a["bbox"], b["bbox"])) <= 1
            assert a.get("attributes") == b.get("attributes")  # CVAT text attributes + occluded
            if a.get("keypoints"):
                assert [k[:2] for k in a["keypoints"]] == [k[:2] for k in b["keypoints"]]


def test_poses_and_model_output_survive(tmp_path):
    img = tmp_path / "img" / "walk.png"
    img.parent.mkdir()
    Image.new("RGB", (100, 80)).save(img)
    pose = {"label": "person", "bbox": [10.0, 5.0, 60.0, 75.0],
            "keypoints": [[20.0, 10.0, 2], [0.0, 0.0, 0], [40.0, 30.0, 1]]}  # fmt: skip
    scored = {"label": "person", "bbox": [61.0, 5.0, 99.0, 70.0], "score": 0.4,
              "source": "yolo11n@2", "attributes": {"occluded": 1}}  # fmt: skip
    rows = [{"key": "walk", "image": str(img), "width": 100, "height": 80,
             "annotations": [pose, scored], "status": "verified"}]  # fmt: skip
    out = write_labelme(rows, ["person"], tmp_path / "out")
    data = json.loads((out / "walk.json").read_text())
    assert [s["shape_type"] for s in data["shapes"]] == ["rectangle", "point", "point", "rectangle"]
    assert len({s["group_id"] for s in data["shapes"][:3]}) == 1
    _, (item,) = read_labelme(out, img.parent)
    got_pose, got_scored = item["annotations"]
    assert got_pose["keypoints"] == pose["keypoints"] and item["issues"] == []
    assert (got_scored["score"], got_scored["source"]) == (0.4, "yolo11n@2")
    assert got_scored["attributes"] == {"occluded": 1}


def test_bad_files_name_the_file_and_say_what_to_do(tmp_path):
    (tmp_path / "broken.json").write_text('{"shapes": [\n  {"label": "a",\n')
    with pytest.raises(FormatError) as err:
        read_labelme(tmp_path)
    assert "broken.json" in str(err.value) and err.value.line == 3
    (tmp_path / "broken.json").unlink()
    (tmp_path / "coco.json").write_text('{"images": [], "annotations": []}')
    with pytest.raises(FormatError, match="not a LabelMe file"):
        read_labelme(tmp_path)
    _, (flagged,) = read_labelme(tmp_path, errors="flag")
    assert "coco.json" in flagged["issues"][0]
    (tmp_path / "coco.json").unlink()
    (tmp_path / "x.json").write_text(
        json.dumps(
            {
                "shapes": [
                    _shape("", [[1, 1], [5, 5]], "rectangle"),
                    _shape("a", [[1, 1], [5, 5]], "polygon"),
                    _shape("a", [["x", 1], [5, 5]], "rectangle"),
                ],
                "imagePath": "x.jpg",
                "imageWidth": 10,
                "imageHeight": 10,
            }
        )  # fmt: skip
    )
    _, (item,) = read_labelme(tmp_path)
    assert item["annotations"] == []
    text = " | ".join(item["issues"])
    for expected in ("no label", "needs 3 points", "not [x, y] numbers", "not found"):
        assert expected in text
