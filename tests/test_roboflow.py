"""Roboflow's download layouts (YOLO, COCO, VOC) from Datumaro's test assets.

A Roboflow YOLO download has ``data.yaml`` beside ``train/`` and ``valid/`` but says
``train: ../train/images``; ultralytics resolves that, so nblabel must too. Datumaro's copy
names the folder ``val/`` while keeping ``val: ../valid/images``: nblabel reads it and says
on every such image that ultralytics will not.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import nblabel as nbl
from nblabel.formats import FormatError, read_coco, read_voc, read_yolo


@pytest.fixture(scope="module")
def roboflow_dir(shared_dir) -> Path:
    return shared_dir / "fixtures" / "datumaro" / "roboflow_dataset"


@pytest.fixture()
def roboflow_download(roboflow_dir, tmp_path) -> Path:
    """The YOLO fixture in the layout Roboflow's zip has: ``valid/``, as data.yaml says."""
    out = tmp_path / "download"
    shutil.copytree(roboflow_dir / "yolo", out)
    for p in [out, *out.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)  # the shared copy is read-only
    (out / "val").rename(out / "valid")
    return out


def _label_lines(image: Path) -> list[list[float]]:
    label = image.parent.parent / "labels" / (image.stem + ".txt")
    return [[float(v) for v in ln.split()] for ln in label.read_text().splitlines() if ln.strip()]


def _check_against_labels(items, names):
    assert items
    for item in items:
        lines = _label_lines(Path(item["image"]))
        assert len(item["annotations"]) == len(lines), item["key"]
        w, h = item["width"], item["height"]
        for rec, (cls, cx, cy, bw, bh) in zip(item["annotations"], lines):
            assert rec["label"] == names[int(cls)]
            want = [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
            assert max(abs(a - b) for a, b in zip(rec["bbox"], want)) < 1e-6


def test_data_yaml_resolves_like_ultralytics(roboflow_download):
    from ultralytics.data.utils import check_det_dataset

    resolved = check_det_dataset(str(roboflow_download / "data.yaml"), autodownload=False)
    classes, items = read_yolo(roboflow_download)
    assert classes == list(resolved["names"].values()) == ["label_0", "label_1"]
    by_folder: dict[str, set] = {}
    for it in items:
        by_folder.setdefault(str(Path(it["image"]).parent), set()).add(Path(it["image"]).name)
        assert it["issues"] == []
    for split in ("train", "val"):
        folder = Path(resolved[split])
        assert by_folder[str(folder)] == {p.name for p in folder.iterdir()}
    _check_against_labels(items, classes)


def test_renamed_val_folder_is_read_and_said(roboflow_dir):
    classes, items = read_yolo(roboflow_dir / "yolo")
    _check_against_labels(items, classes)
    assert [it["key"] for it in items] == ["train_001", "train_002", "val_001"]
    for it in items:
        renamed = Path(it["image"]).parent.parent.name == "val"
        said = any("ultralytics will not find it" in s for s in it["issues"])
        assert renamed == said, it


def test_a_missing_split_or_none_at_all_is_an_error(roboflow_download):
    shutil.rmtree(roboflow_download / "valid")
    with pytest.raises(FormatError, match="valid/images"):
        read_yolo(roboflow_download)
    (roboflow_download / "data.yaml").write_text("nc: 2\nnames: ['a', 'b']\n")
    with pytest.raises(FormatError, match="'train' or 'val'"):
        read_yolo(roboflow_download)


def test_roboflow_yolo_through_the_dataset_trains_as_exported(roboflow_download, tmp_path):
    from ultralytics.data.utils import check_det_dataset

    ds = nbl.Dataset.from_yolo(roboflow_download, db=tmp_path / "rf.db")
    data = ds.to_yolo(tmp_path / "export")
    check_det_dataset(str(data), autodownload=False)
    _, again = read_yolo(data)
    before = {k: ds.row(k)["annotations"] for k in ds.keys()}
    assert {it["key"]: len(it["annotations"]) for it in again} == {
        k: len(v) for k, v in before.items()
    }
    for it in again:
        for a, b in zip(before[it["key"]], it["annotations"]):
            assert a["label"] == b["label"]
            assert max(abs(p - q) for p, q in zip(a["bbox"], b["bbox"])) <= 1


def test_roboflow_coco_split_files(roboflow_dir):
    for split in ("train", "val"):
        path = roboflow_dir / "coco" / split / "_annotations.coco.json"
        data = json.loads(path.read_text())
        classes, items = read_coco(path)
        assert classes == [c["name"] for c in sorted(data["categories"], key=lambda c: c["id"])]
        per_image = {im["file_name"]: 0 for im in data["images"]}
        by_id = {im["id"]: im["file_name"] for im in data["images"]}
        for a in data["annotations"]:
            per_image[by_id[a["image_id"]]] += 1
        assert {Path(it["image"]).name: len(it["annotations"]) for it in items} == per_image
        for it in items:
            assert Path(it["image"]).is_file() and it["width"] == 10


def test_roboflow_empty_super_category_is_not_a_class(roboflow_dir, tmp_path):
    # Roboflow's exports name the project as category 0 ("supercategory": "none") with the
    # real classes under it, e.g. SaadAbdulla/roboflow-test's train/_annotations.coco.json:
    # [{"id": 0, "name": "badminton", "supercategory": "none"},
    #  {"id": 1, "name": "shuttlecock", "supercategory": "badminton"}]. The Datumaro asset
    # lacks it, so it is added here to the fixture's own images and annotations.
    src = roboflow_dir / "coco" / "train" / "_annotations.coco.json"
    data = json.loads(src.read_text())
    data["categories"] = [{"id": 0, "name": "shapes", "supercategory": "none"}] + [
        dict(c, supercategory="shapes") for c in data["categories"]
    ]
    path = tmp_path / "_annotations.coco.json"
    path.write_text(json.dumps(data))
    classes, items = read_coco(path, src.parent)
    assert classes == ["label_0", "label_1"]
    assert sum(len(it["annotations"]) for it in items) == len(data["annotations"])
    # a category that an annotation uses is a class, whatever its super-category
    data["annotations"][0]["category_id"] = 0
    path.write_text(json.dumps(data))
    classes, _ = read_coco(path, src.parent)
    assert classes == ["shapes", "label_0", "label_1"]


def test_roboflow_voc_keeps_xml_and_images_together(roboflow_dir):
    folder = roboflow_dir / "voc" / "train"
    classes, items = read_voc(folder)
    want = {}
    for xml in folder.glob("*.xml"):
        root = ET.parse(xml).getroot()
        want[root.findtext("filename")] = [
            (o.findtext("name"), *(float(o.findtext(f"bndbox/{k}")) for k in
                                   ("xmin", "ymin", "xmax", "ymax")))
            for o in root.iter("object")
        ]  # fmt: skip
    got = {
        Path(it["image"]).name: [(r["label"], *r["bbox"]) for r in it["annotations"]]
        for it in items
    }
    assert got == want
    assert all(Path(it["image"]).parent == folder and not it["issues"] for it in items)
