"""COCO category ids survive import -> export: Datumaro's ids 1, 2, 4 and COCO's own 1..90.

The 1..90 check goes through ultralytics' ``convert_coco(cls91to80=True)``, which maps
COCO's ids to its 80 classes: only an export with the original ids gives back the coco128
label files it started from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

import nblabel as nbl
from nblabel.formats import read_coco, read_yolo, write_coco


def _names_by_id(path: Path) -> dict:
    return {c["id"]: c["name"] for c in json.loads(Path(path).read_text())["categories"]}


def _objects_by_id(path: Path) -> dict:
    data = json.loads(Path(path).read_text())
    files = {im["id"]: Path(im["file_name"]).name for im in data["images"]}
    out: dict = {}
    for a in data["annotations"]:
        out.setdefault(files[a["image_id"]], []).append((a["category_id"], *a["bbox"]))
    return {k: sorted(v) for k, v in out.items()}


@pytest.mark.parametrize("split", ["train", "val"])
def test_datumaro_ids_with_a_gap_are_kept(shared_dir, tmp_path, split):
    src = (
        shared_dir
        / f"fixtures/datumaro/coco_dataset/coco_instances/annotations/instances_{split}.json"
    )
    images = src.parent.parent / "images" / split
    assert sorted(_names_by_id(src)) == [1, 2, 4]
    ds = nbl.Dataset.from_coco(src, images=images, db=tmp_path / "c.db")
    out = ds.to_coco(tmp_path / "out.json")
    assert _names_by_id(out) == _names_by_id(src)
    before, after = _objects_by_id(src), _objects_by_id(out)
    assert before.keys() == after.keys()
    for name in before:
        assert [b[0] for b in before[name]] == [a[0] for a in after[name]]
        for b, a in zip(before[name], after[name]):
            assert max(abs(p - q) for p, q in zip(b[1:], a[1:])) <= 1
    # reopening the journal keeps the ids; a class added later gets the next free one
    reopened = nbl.Dataset.open(tmp_path / "c.db")
    reopened.add_classes(["added"])
    ids = {v: k for k, v in _names_by_id(reopened.to_coco(tmp_path / "again.json")).items()}
    assert ids == {**{v: k for k, v in _names_by_id(src).items()}, "added": 5}


def test_zero_based_ids_stay_zero_based(tmp_path):
    img = tmp_path / "a.png"
    Image.new("RGB", (20, 10)).save(img)
    src = tmp_path / "in.json"
    src.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 10}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 0, "bbox": [1, 1, 5, 5]}],
        "categories": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}],
    }))  # fmt: skip
    meta: dict = {}
    classes, items = read_coco(src, meta=meta)
    assert meta["category_ids"] == {"cat": 0, "dog": 1}
    out = write_coco(items, classes, tmp_path / "out.json", category_ids=meta["category_ids"])
    assert _names_by_id(out) == {0: "cat", 1: "dog"}
    assert json.loads(out.read_text())["annotations"][0]["category_id"] == 0
    with pytest.raises(ValueError, match="same id"):
        write_coco(items, classes, tmp_path / "x.json", category_ids={"cat": 3, "dog": 3})
    with pytest.raises(ValueError, match="non-negative int"):
        write_coco(items, classes, tmp_path / "x.json", category_ids={"cat": "3"})


def test_coco_91_ids_round_trip_through_ultralytics_convert_coco(shared_dir, tmp_path):
    from ultralytics.data.converter import coco80_to_coco91_class, convert_coco

    coco128 = shared_dir / "datasets" / "coco128"
    names, items = read_yolo(coco128)
    items = [it for it in items if it["annotations"]][:12]
    ids91 = coco80_to_coco91_class()  # COCO's category id of each of the 80 classes
    assert max(ids91) == 90
    rows = [dict(it, key=Path(it["image"]).stem, status="verified") for it in items]
    src = tmp_path / "instances_src.json"
    write_coco(rows, names, src, category_ids=dict(zip(names, ids91)))

    ds = nbl.Dataset.from_coco(src, db=tmp_path / "c.db")
    ann_dir = tmp_path / "annotations"
    out = ds.to_coco(ann_dir / "instances_val.json")
    assert _names_by_id(out) == _names_by_id(src)
    assert sorted(_names_by_id(out)) == sorted(ids91)

    convert_coco(str(ann_dir), save_dir=str(tmp_path / "converted"), cls91to80=True)
    converted = tmp_path / "converted" / "labels" / "val"
    for it in items:
        stem = Path(it["image"]).stem
        original = (coco128 / "labels" / f"{stem}.txt").read_text().split("\n")
        original = sorted(tuple(map(float, ln.split())) for ln in original if ln.strip())
        got = (converted / f"{stem}.txt").read_text().split("\n")
        got = sorted(tuple(map(float, ln.split())) for ln in got if ln.strip())
        assert [g[0] for g in got] == [o[0] for o in original], stem
        for g, o in zip(got, original):
            assert max(abs(a - b) for a, b in zip(g[1:], o[1:])) < 1e-3, stem
