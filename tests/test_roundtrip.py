"""Through the Dataset: VOC -> COCO -> YOLO -> VOC keeps every box (within 1 px) and class."""

from __future__ import annotations

import nblabel as nbl
from nblabel.formats import read_voc


def _objects(ds_or_items):
    rows = ds_or_items.df.iterrows() if hasattr(ds_or_items, "df") else (
        (it["key"], it) for it in ds_or_items
    )  # fmt: skip
    return {
        key: sorted((r["label"], *r["bbox"]) for r in (row["annotations"] or []))
        for key, row in rows
    }


def _assert_same(a, b, tol):
    assert a.keys() == b.keys()
    for key in a:
        assert len(a[key]) == len(b[key]), key
        for x, y in zip(a[key], b[key]):
            assert x[0] == y[0], (key, x, y)
            assert max(abs(p - q) for p, q in zip(x[1:], y[1:])) <= tol, (key, x, y)


def test_voc_coco_yolo_voc_round_trip(raccoon_dir, tmp_path):
    ds = nbl.Dataset.from_voc(
        raccoon_dir / "annotations", images=raccoon_dir / "images", db=tmp_path / "voc.db"
    )
    assert len(ds) == 200 and ds.classes == ["raccoon"]
    original = _objects(ds)
    assert sum(len(v) for v in original.values()) == 217
    # a model's output on one image must survive too (score and source)
    key = "raccoon-1"
    pred = {"label": "raccoon", "bbox": [10.4, 20.6, 200.2, 300.8], "score": 0.61,
            "source": "yolo11n@test"}  # fmt: skip
    ds.annotate(key, ds.row(key)["annotations"] + [pred], source="yolo11n@test",
                status="predicted")  # fmt: skip
    original = _objects(ds)

    coco = ds.to_coco(tmp_path / "coco" / "instances.json")
    ds2 = nbl.Dataset.from_coco(coco, images=raccoon_dir / "images", db=tmp_path / "coco.db")
    assert ds2.classes == ["raccoon"]
    _assert_same(original, _objects(ds2), 1e-6)

    data = ds2.to_yolo(tmp_path / "yolo")
    ds3 = nbl.Dataset.from_yolo(data.parent, db=tmp_path / "yolo.db")
    assert ds3.classes == ["raccoon"]
    _assert_same(original, _objects(ds3), 1e-3)
    scored = [r for r in ds3.row(key)["annotations"] if r["score"] is not None]
    assert [(r["score"], r["source"]) for r in scored] == [(0.61, "yolo11n@test")]

    out = ds3.to_voc(tmp_path / "voc")
    classes, items = read_voc(out, raccoon_dir / "images")
    assert classes == ["raccoon"] and not any(it["issues"] for it in items)
    _assert_same(original, _objects(items), 1.0)
    assert {it["image"] for it in items} == {str(p) for p in ds.df["image"]}
