"""Negatives: an image someone said has nothing in it is ``verified`` with no objects.

Every export writes it as an image without objects, and reading the export back keeps it a
negative; images nobody looked at stay out unless ``include_unlabeled=True``, and come back
``unlabeled`` when they are written.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

import nblabel as nbl


@pytest.fixture(scope="module")
def fixtures(shared_dir) -> Path:
    return shared_dir / "fixtures"


def _status(ds) -> dict:
    return {
        Path(r["image"]).name: (r["status"], len(r["annotations"] or []))
        for _, r in ds.df.iterrows()
    }


def test_coco_image_without_annotations_is_a_negative(fixtures, tmp_path):
    src = fixtures / "datumaro/roboflow_dataset/coco/train/_annotations.coco.json"
    data = json.loads(src.read_text())
    empty = data["images"][1]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != empty["id"]]
    path = tmp_path / "_annotations.coco.json"
    path.write_text(json.dumps(data))
    ds = nbl.Dataset.from_coco(path, images=src.parent, db=tmp_path / "c.db")
    assert _status(ds) == {"train_001.jpg": ("verified", 1), empty["file_name"]: ("verified", 0)}
    assert ds.df.loc[Path(empty["file_name"]).stem, "source"] == "human"


def test_a_coco_image_list_says_nothing_about_its_images(fixtures, tmp_path):
    # COCO's image_info files (test-dev) list images and no annotations at all
    root = fixtures / "datumaro/coco_dataset/coco_image_info"
    ds = nbl.Dataset.from_coco(
        root / "annotations/image_info_train.json",
        images=root / "images/train",
        db=tmp_path / "i.db",
    )
    assert _status(ds) == {"a.jpg": ("unlabeled", 0)}


def test_voc_file_without_objects_is_a_negative(fixtures, tmp_path):
    ann = fixtures / "datumaro/voc_dataset/voc_dataset2/Annotations"
    ds = nbl.Dataset.from_voc(ann, db=tmp_path / "v.db")
    counts = {Path(x).stem: len(ET.parse(x).getroot().findall("object")) for x in ann.glob("*.xml")}
    assert counts["@"] == 0
    for key, n in counts.items():
        assert ds.df.loc[key, "status"] == "verified" and len(ds.df.loc[key, "annotations"]) == n


def test_yolo_empty_label_file_is_a_negative_missing_one_is_not(fixtures, tmp_path):
    src = fixtures / "label-studio-sdk/test_import_yolo_data"
    root = tmp_path / "yolo"
    shutil.copytree(src, root)
    (root / "labels").chmod(0o755)
    (root / "labels" / "img_4.txt").write_text("")  # what a tool writes for "nothing here"
    ds = nbl.Dataset.from_yolo(root, db=tmp_path / "y.db")
    got = _status(ds)
    for image in sorted((root / "images").iterdir()):
        label = root / "labels" / f"{image.stem}.txt"
        if not label.exists():
            assert got[image.name] == ("unlabeled", 0), image.name
        else:
            n = sum(1 for ln in label.read_text().splitlines() if ln.strip())
            assert got[image.name] == ("verified", n), image.name
    assert got["img_4.png"] == ("verified", 0)


@pytest.fixture()
def mixed(raccoon_dir, tmp_path):
    """Three raccoon photos: one labeled, one a person marked empty, one nobody looked at."""
    images = [raccoon_dir / "images" / f"raccoon-{i}.jpg" for i in (1, 2, 3)]
    df = pd.DataFrame({"path": [str(p) for p in images]}, index=["labeled", "empty", "untouched"])
    ds = nbl.Dataset.from_dataframe(df, db=tmp_path / "m.db", classes=["raccoon"])
    ds.annotate("labeled", [{"label": "raccoon", "bbox": [81, 88, 522, 408]}])
    ds.annotate("empty", [])
    return ds


def _reimport(fmt, out, raccoon_dir, db):
    images = raccoon_dir / "images"  # outside the export: readers follow it only when given
    if fmt == "coco":
        return nbl.Dataset.from_coco(out, images=images, db=db)
    if fmt == "yolo":
        return nbl.Dataset.from_yolo(out, db=db)
    if fmt == "voc":
        return nbl.Dataset.from_voc(out, images=images, db=db)
    if fmt == "cvat":
        return nbl.Dataset.from_cvat(out, images=images, db=db)
    if fmt == "labelme":
        return nbl.Dataset.from_labelme(out, images=images, db=db)
    return nbl.Dataset.from_labelstudio(out, images=images, db=db)


def _written(fmt, out) -> dict:
    """Image name -> object count, parsed from the export without nblabel's readers."""
    if fmt == "coco":
        data = json.loads(out.read_text())
        n = {im["id"]: 0 for im in data["images"]}
        for a in data["annotations"]:
            n[a["image_id"]] += 1
        return {Path(im["file_name"]).name: n[im["id"]] for im in data["images"]}
    if fmt == "yolo":
        root = out.parent
        return {
            img.name: len(
                (root / "labels" / img.parent.name / f"{img.stem}.txt").read_text().split()
            )
            // 5
            for img in (root / "images").rglob("*.jpg")
        }
    if fmt == "voc":
        return {
            ET.parse(x).getroot().findtext("filename"): len(ET.parse(x).getroot().findall("object"))
            for x in out.glob("Annotations/*.xml")
        }
    if fmt == "cvat":
        return {Path(im.get("name")).name: len(im) for im in ET.parse(out).getroot().iter("image")}
    if fmt == "labelme":
        return {
            Path(json.loads(p.read_text())["imagePath"]).name: len(
                json.loads(p.read_text())["shapes"]
            )
            for p in out.glob("*.json")
        }
    tasks = json.loads(out.read_text())
    return {
        Path(t["data"]["image"]).name: sum(len(a["result"]) for a in t.get("annotations", []))
        for t in tasks
    }


FORMATS = {
    "coco": lambda ds, d, **kw: ds.to_coco(d / "instances.json", **kw),
    "yolo": lambda ds, d, **kw: ds.to_yolo(d / "yolo", **kw),
    "voc": lambda ds, d, **kw: ds.to_voc(d / "voc", **kw),
    "cvat": lambda ds, d, **kw: ds.to_cvat(d / "annotations.xml", **kw),
    "labelme": lambda ds, d, **kw: ds.to_labelme(d / "labelme", **kw),
    "labelstudio": lambda ds, d, **kw: ds.to_labelstudio(d / "tasks.json", **kw),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_export_keeps_negatives_and_leaves_out_untouched_images(
    fmt, mixed, raccoon_dir, tmp_path
):
    out = FORMATS[fmt](mixed, tmp_path / "default")
    written = _written(fmt, out)
    assert written["raccoon-1.jpg"] == 1 and written["raccoon-2.jpg"] == 0
    # Label Studio is where unlabeled images go to be labeled, so it keeps them
    assert ("raccoon-3.jpg" in written) == (fmt == "labelstudio")
    back = _status(_reimport(fmt, out, raccoon_dir, tmp_path / "back.db"))
    assert back["raccoon-1.jpg"] == ("verified", 1)
    assert back["raccoon-2.jpg"] == ("verified", 0)
    assert back.get("raccoon-3.jpg", ("unlabeled", 0)) == ("unlabeled", 0)


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"labelstudio"}))
def test_include_unlabeled_writes_them_and_they_stay_unlabeled(fmt, mixed, raccoon_dir, tmp_path):
    out = FORMATS[fmt](mixed, tmp_path / "all", include_unlabeled=True)
    assert _written(fmt, out)["raccoon-3.jpg"] == 0
    back = _status(_reimport(fmt, out, raccoon_dir, tmp_path / "back.db"))
    assert back == {
        "raccoon-1.jpg": ("verified", 1),
        "raccoon-2.jpg": ("verified", 0),
        "raccoon-3.jpg": ("unlabeled", 0),
    }
