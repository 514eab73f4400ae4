"""Masks, multi-part objects and ellipses through CVAT and LabelMe, pixel for pixel.

Each object's mask is compared with pycocotools' ``annToMask`` before and after
COCO -> CVAT (or LabelMe) -> COCO: every pixel the same (mask IoU 1.0), the box the source
gave kept. The CVAT and LabelMe inputs the readers are checked on are built here by the
formats' own definitions (CVAT: runs over the crop row by row, background first; LabelMe: a
PNG placed between two inside corners), independently of the writers.
"""

from __future__ import annotations

import base64
import io
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_formats_masks import _by_image

from nblabel.formats import (
    read_coco,
    read_cvat,
    read_labelme,
    write_coco,
    write_cvat,
    write_labelme,
)

MASK_FILES = [
    "datumaro/coco_dataset/coco/annotations/instances_val.json",
    "datumaro/coco_dataset/coco/annotations/person_keypoints_val.json",
    "datumaro/coco_dataset/coco_instances/annotations/instances_val.json",
    "datumaro/coco_dataset/mmdet_coco/annotations/instances_val.json",
    "datumaro/coco_dataset/coco_roboflow/val/_annotations.coco.json",
    "label-studio-sdk/test_import_coco/coco_import_input.json",
]
IMAGE = "datasets/coco128/images/000000000009.jpg"  # 640 x 480
ORANGES = "datasets/coco128/labels/000000000009.txt"


def _coco128_parts(shared_dir: Path, tmp_path: Path) -> Path:
    """A COCO file on a COCO128 image: the oranges (class 49) as one object of four parts,
    at COCO's two decimals, and the bowls (class 45) as one crowd RLE."""
    from pycocotools import mask as mask_utils

    w, h = Image.open(shared_dir / IMAGE).size
    rows = [line.split() for line in (shared_dir / ORANGES).read_text().splitlines()]
    parts, bowls = [], np.zeros((h, w), np.uint8)
    for cls, cx, cy, bw, bh in rows:
        x1, y1 = (float(cx) - float(bw) / 2) * w, (float(cy) - float(bh) / 2) * h
        x2, y2 = x1 + float(bw) * w, y1 + float(bh) * h
        if cls == "49":  # a diamond in each box: four parts of one object
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            parts.append([round(v, 2) for v in (mx, y1, x2, my, mx, y2, x1, my)])
        elif cls == "45":
            bowls[int(y1) : int(y2), int(x1) : int(x2)] = 1
    rle = mask_utils.encode(np.asfortranarray(bowls))
    xs = [v for p in parts for v in p[0::2]]
    ys = [v for p in parts for v in p[1::2]]
    data = {
        "images": [{"id": 1, "file_name": Path(IMAGE).name, "width": w, "height": h}],
        "categories": [{"id": 45, "name": "bowl"}, {"id": 49, "name": "orange"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 49, "segmentation": parts, "iscrowd": 0,
             "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]},
            {"id": 2, "image_id": 1, "category_id": 45, "iscrowd": 1,
             "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
             "bbox": [float(v) for v in mask_utils.toBbox(rle)]},
        ],
    }  # fmt: skip
    assert len(parts) == 4
    out = tmp_path / "parts.json"
    out.write_text(json.dumps(data))
    return out


def _masks(path: Path) -> dict:
    """file name -> [(category, bbox, mask)] by pycocotools."""
    from pycocotools.coco import COCO

    return _by_image(COCO(str(path)))


def _through(fmt: str, src: Path, images: Path | None, tmp_path: Path) -> Path:
    meta: dict = {}
    classes, items = read_coco(src, images, meta=meta)
    items = [{**it, "status": "verified"} for it in items]
    if fmt == "cvat":
        out = write_cvat(items, classes, tmp_path / "cvat.xml")
        classes, back = read_cvat(out, images, allow_outside=True)  # our own export
    else:
        out = write_labelme(items, classes, tmp_path / "labelme")
        classes, back = read_labelme(out, images, allow_outside=True)
    assert not [s for it in back for s in it["issues"] if "not found" not in s]
    return write_coco(back, classes, tmp_path / "back.json", category_ids=meta["category_ids"])


def _same_masks(src: Path, out: Path) -> int:
    before, after = _masks(src), _masks(out)
    assert sorted(before) == sorted(after)
    compared = 0
    for name, anns in before.items():
        assert [a[0] for a in after[name]] == [a[0] for a in anns], name
        for (_, box_a, mask_a), (_, box_b, mask_b) in zip(anns, after[name]):
            assert box_b == pytest.approx(box_a, abs=1e-3)  # the source's box, kept
            iou = (mask_a & mask_b).sum() / max(1, (mask_a | mask_b).sum())
            assert iou == 1.0 and np.array_equal(mask_a, mask_b), name
            compared += 1
    return compared


@pytest.mark.parametrize("fmt", ["cvat", "labelme"])
def test_a_coco128_object_of_four_parts_and_a_crowd_mask_survive(fmt, shared_dir, tmp_path):
    src = _coco128_parts(shared_dir, tmp_path)
    out = _through(fmt, src, shared_dir / IMAGE.rsplit("/", 1)[0], tmp_path)
    assert _same_masks(src, out) == 2
    if fmt == "cvat":
        image = ET.parse(tmp_path / "cvat.xml").getroot().find("image")
        polygons = image.findall("polygon")
        # every part written, one <polygon> each, in one group; the crowd region as a <mask>
        assert len(polygons) == 4 and len({p.get("group_id") for p in polygons}) == 1
        assert polygons[0].get("group_id") not in (None, "0")
        assert len(image.findall("mask")) == 1
    else:
        (data,) = [json.loads(p.read_text()) for p in (tmp_path / "labelme").glob("0*.json")]
        kinds = [(s["shape_type"], s["group_id"]) for s in data["shapes"]]
        assert sorted(k for k, _ in kinds) == ["mask"] + ["polygon"] * 4
        assert len({g for k, g in kinds if k == "polygon"}) == 1
    (item,) = read_coco(out)[1]
    orange = next(r for r in item["annotations"] if r["label"] == "orange")
    assert len(orange["parts"]) == 4  # read back as one object


@pytest.mark.parametrize("fmt", ["cvat", "labelme"])
@pytest.mark.parametrize("rel", MASK_FILES, ids=lambda r: r.split("/")[-3] + "/" + Path(r).stem)
def test_fixture_masks_survive(fmt, rel, shared_dir, tmp_path):
    src = shared_dir / "fixtures" / rel
    assert _same_masks(src, _through(fmt, src, None, tmp_path)) > 0


def _cvat_file(tmp_path: Path, shapes: str, w: int = 40, h: int = 30) -> Path:
    Image.new("RGB", (w, h)).save(tmp_path / "a.png")
    (tmp_path / "a.xml").write_text(
        f'<annotations><version>1.1</version><image id="0" name="a.png" width="{w}" '
        f'height="{h}">{shapes}</image></annotations>'
    )
    return tmp_path / "a.xml"


def test_cvat_masks_are_read_exactly(tmp_path):
    crop = np.zeros((6, 9), np.uint8)  # at left 12, top 7
    crop[1:5, 2:8] = 1
    crop[0, 0] = 1  # the crop starts with foreground: a first background run of 0
    crop[5, 8] = 1
    flat = crop.reshape(-1).tolist()  # row by row, as CVAT runs its masks
    runs, value, n = [], 0, 0
    for v in flat:
        if v != value:
            runs.append(n)
            value, n = v, 0
        n += 1
    runs.append(n)
    rle = ", ".join(map(str, runs))
    path = _cvat_file(tmp_path, f'<mask label="blob" source="manual" occluded="0" rle="{rle}" '
                                f'left="12" top="7" width="9" height="6" z_order="0"/>')  # fmt: skip
    classes, (item,) = read_cvat(path)
    (rec,) = item["annotations"]
    assert classes == ["blob"] and not item["issues"]
    full = np.zeros((30, 40), np.uint8)
    full[7:13, 12:21] = crop
    from pycocotools import mask as mask_utils

    got = mask_utils.decode({"size": rec["mask"]["size"], "counts": rec["mask"]["counts"].encode()})
    assert np.array_equal(got, full)
    assert rec["bbox"] == [12.0, 7.0, 21.0, 13.0]

    # written back: the same element, run for run
    out = write_cvat([{**item, "status": "verified"}], classes, tmp_path / "out.xml")
    mask = ET.parse(out).getroot().find("image/mask")
    assert [mask.get(k) for k in ("left", "top", "width", "height")] == ["12", "7", "9", "6"]
    assert mask.get("rle") == rle

    bad = _cvat_file(tmp_path, '<mask label="blob" rle="3, 4" left="0" top="0" width="9" '
                               'height="6"/>')  # fmt: skip
    _, (item,) = read_cvat(bad)
    assert not item["annotations"] and "rle runs cover 7 pixels" in item["issues"][0]


def test_cvat_ellipses_become_polygons_and_go_back_as_ellipses(tmp_path):
    path = _cvat_file(
        tmp_path,
        '<ellipse label="ball" source="manual" occluded="0" cx="20" cy="15" rx="8" ry="4" '
        'rotation="90" z_order="0"/><polyline label="ball" points="1,2;3,4"/>',
    )
    classes, (item,) = read_cvat(path)
    (rec,) = item["annotations"]
    # turned by 90 degrees: 4 wide and 8 tall, its own box (not the polygon's, a bit smaller)
    assert rec["bbox"] == pytest.approx([16, 7, 24, 23])
    assert len(rec["points"]) == 64
    for x, y in rec["points"]:
        assert ((x - 20) / 4) ** 2 + ((y - 15) / 8) ** 2 == pytest.approx(1)
    area = abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(rec["points"], rec["points"][1:] + rec["points"][:1]))) / 2  # fmt: skip
    assert area == pytest.approx(math.pi * 8 * 4, rel=0.002)
    # a polyline has no record form: said so, and kept for the CVAT export
    assert len(item["issues"]) == 1 and "polyline" in item["issues"][0]

    out = write_cvat([{**item, "status": "verified"}], classes, tmp_path / "out.xml")
    el, line = ET.parse(out).getroot().find("image")
    assert el.tag == "ellipse"
    assert (line.tag, line.get("points")) == ("polyline", "1,2;3,4")
    assert [el.get(k) for k in ("cx", "cy", "rx", "ry", "rotation")] == [
        "20.00", "15.00", "8.00", "4.00", "90.00"
    ]  # fmt: skip

    # once the outline is redrawn, the drawing wins
    moved = {**rec, "points": [[1, 1], [9, 1], [9, 9]], "bbox": [1, 1, 9, 9]}
    out = write_cvat([{**item, "annotations": [moved], "status": "verified"}], classes, out)
    assert ET.parse(out).getroot().find("image")[0].tag == "polygon"


def test_labelme_mask_shapes_are_read_exactly(tmp_path):
    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    crop = np.zeros((6, 9), np.uint8)
    crop[1:5, 2:8] = 1
    crop[0, 0] = crop[5, 8] = 1  # corner to corner: the crop is the mask's tight box
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, format="PNG")  # as LabelMe's img_arr_to_b64 saves it
    shape = {"label": "blob", "points": [[12, 7], [20, 12]], "group_id": None,
             "description": "", "shape_type": "mask", "flags": {},
             "mask": base64.b64encode(buf.getvalue()).decode()}  # fmt: skip
    doc = {"version": "5.5.0", "flags": {}, "shapes": [shape], "imagePath": "a.png",
           "imageData": None, "imageHeight": 30, "imageWidth": 40}  # fmt: skip
    (tmp_path / "a.json").write_text(json.dumps(doc))
    classes, (item,) = read_labelme(tmp_path / "a.json")
    (rec,) = item["annotations"]
    assert not item["issues"] and rec["bbox"] == [12.0, 7.0, 21.0, 13.0]
    from pycocotools import mask as mask_utils

    got = mask_utils.decode({"size": rec["mask"]["size"], "counts": rec["mask"]["counts"].encode()})
    full = np.zeros((30, 40), np.uint8)
    full[7:13, 12:21] = crop
    assert np.array_equal(got, full)

    out = write_labelme([{**item, "status": "verified"}], classes, tmp_path / "out")
    (back,) = json.loads((out / "a.json").read_text())["shapes"]
    assert back["shape_type"] == "mask" and back["points"] == [[12, 7], [20, 12]]
    with Image.open(io.BytesIO(base64.b64decode(back["mask"]))) as im:
        assert np.array_equal(np.asarray(im) > 0, crop > 0)

    shape["points"] = [[12, 7], [22, 12]]  # corners that do not match the PNG
    (tmp_path / "a.json").write_text(json.dumps(doc))
    _, (item,) = read_labelme(tmp_path / "a.json")
    assert not item["annotations"] and "its corners say 11x6" in item["issues"][0]
