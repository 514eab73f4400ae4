"""Paths in annotation files stay inside the folder given; names that are not UTF-8 travel.

A downloaded annotation file must not pull ``/etc/passwd`` or the user's photos into a
dataset and from there into an export. And on Linux a file name is any bytes: every
exporter writes such a name so that reading the export back opens the same file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

import nblabel as nbl
from nblabel.formats import (
    FormatError,
    read_coco,
    read_cvat,
    read_labelme,
    read_labelstudio,
    read_voc,
    read_yolo,
    write_coco,
    write_cvat,
    write_labelme,
    write_labelstudio,
    write_voc,
    write_yolo,
)


def _image(path: Path, size=(60, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (30, 60, 90)).save(path)
    return path


@pytest.fixture()
def layout(tmp_path):
    """A dataset folder with one image, and a private photo beside it, outside it."""
    data = tmp_path / "download"
    _image(data / "images" / "a.png")
    private = _image(tmp_path / "private" / "me.png")
    return data, private


def _coco(names):
    return {
        "images": [
            {"id": i, "file_name": n, "width": 60, "height": 40} for i, n in enumerate(names)
        ],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "bbox": [1, 1, 9, 9]}],
    }


def test_coco_names_that_climb_out_are_not_followed_nor_exported(layout, tmp_path):
    data, private = layout
    path = data / "instances.json"
    path.write_text(
        json.dumps(_coco(["images/a.png", "../../../../../../etc/passwd", "../private/me.png"]))
    )
    _, (ok, passwd, photo) = read_coco(path)
    assert ok["image"] == str(data / "images" / "a.png") and not ok["issues"]
    for item, name in ((passwd, "passwd"), (photo, "me.png")):
        assert str(data) in item["image"] and Path(item["image"]).name == name
        assert "outside" in item["issues"][0] and "allow_outside=True" in item["issues"][0]
    assert (photo["width"], photo["height"]) == (60, 40)  # only the file's word for it

    # the rows cannot bring the files into an export either
    ds = nbl.Dataset.from_coco(path, db=tmp_path / "c.db")
    with pytest.raises(ValueError, match="not found"):
        ds.to_yolo(tmp_path / "yolo")
    assert not (tmp_path / "yolo").exists()
    # and an explicit images folder bounds them the same way
    _, items = read_coco(path, data)
    assert not any(Path(it["image"]).is_file() and "private" in it["image"] for it in items)

    # unless the user says the file is trusted
    _, (_, _, photo) = read_coco(path, allow_outside=True)
    assert photo["image"] == str(private.parent.parent / "download" / ".." / "private" / "me.png")
    assert Path(photo["image"]).resolve() == private


def test_yolo_export_never_links_a_file_that_is_not_an_image(tmp_path):
    rows = [{"key": "p", "image": "/etc/passwd", "width": 10, "height": 10,
             "annotations": [{"label": "x", "bbox": [1, 1, 5, 5]}], "status": "verified"}]  # fmt: skip
    with pytest.raises(ValueError, match="not an image file"):
        write_yolo(rows, ["x"], tmp_path / "y")
    assert not (tmp_path / "y").exists()


def test_voc_path_and_filename_outside_are_refused(layout):
    data, private = layout
    ann = data / "annotations"
    ann.mkdir()
    xml = (
        "<annotation><filename>{f}</filename><path>{p}</path>"
        "<size><width>60</width><height>40</height></size></annotation>"
    )
    (ann / "a.xml").write_text(xml.format(f="a.png", p=private))  # found by name instead
    (ann / "b.xml").write_text(xml.format(f="../../private/me.png", p=private))
    _, items = read_voc(ann)
    by_key = {it["key"]: it for it in items}
    assert by_key["a"]["image"] == str(data / "images" / "a.png")
    assert "private" not in by_key["me"]["image"]
    assert any("outside" in s for s in by_key["me"]["issues"])
    _, items = read_voc(ann, allow_outside=True)
    assert {it["key"]: it for it in items}["a"]["image"] == str(private)


def test_labelme_cvat_and_label_studio_references_outside_are_refused(layout):
    data, private = layout
    (data / "lm.json").write_text(json.dumps({"shapes": [], "imagePath": "../private/me.png"}))
    _, (item,) = read_labelme(data / "lm.json")
    assert "private" not in item["image"] and "outside" in item["issues"][0]
    assert (
        Path(read_labelme(data / "lm.json", allow_outside=True)[1][0]["image"]).resolve() == private
    )

    (data / "cvat.xml").write_text(  # names are relative to images/ beside the XML
        '<annotations><image id="0" name="../../private/me.png" width="60" height="40"/>'
        "</annotations>"
    )
    _, (item,) = read_cvat(data / "cvat.xml")
    assert "private" not in item["image"] and "outside" in item["issues"][0]

    (data / "ls.json").write_text(json.dumps([{"data": {"image": str(private)}}]))
    _, (item,) = read_labelstudio(data / "ls.json")
    assert "private" not in item["image"] and "outside" in item["issues"][0]
    _, (item,) = read_labelstudio(data / "ls.json", allow_outside=True)
    assert item["image"] == str(private)


def test_a_yolo_data_yaml_cannot_point_outside_its_folder(layout):
    data, private = layout
    (data / "labels").mkdir()
    for yaml_text, what in (
        (f"path: {private.parent}\ntrain: .\nval: .\nnames: [x]\n", "path:"),
        ("train: ../../private\nval: images\nnames: [x]\n", "train:"),
    ):
        (data / "data.yaml").write_text(yaml_text)
        with pytest.raises(FormatError, match=f"{what}.*allow_outside=True"):
            read_yolo(data)
        _, items = read_yolo(data, allow_outside=True)
        assert any(Path(it["image"]).resolve() == private for it in items)
    (data / "list.txt").write_text(f"images/a.png\n{private}\n")
    (data / "data.yaml").write_text("train: list.txt\nval: list.txt\nnames: [x]\n")
    with pytest.raises(FormatError, match="1 image.*outside"):
        read_yolo(data)


# -- names that are not UTF-8 ---------------------------------------------------------------


NAME = os.fsdecode(b"caf\xe9-\xff.png")  # Latin-1 bytes: not UTF-8


@pytest.fixture()
def odd_rows(tmp_path):
    images = tmp_path / "imgs"
    img = _image(images / NAME)
    _image(images / "plain.png")
    rows = [
        {"key": "odd", "image": str(img), "width": 60, "height": 40, "status": "verified",
         "annotations": [{"label": "x", "bbox": [2.0, 3.0, 20.0, 30.0]}]},
        {"key": "plain", "image": str(images / "plain.png"), "width": 60, "height": 40,
         "status": "verified", "annotations": [{"label": "x", "bbox": [5.0, 5.0, 9.0, 9.0]}]},
    ]  # fmt: skip
    return images, rows


@pytest.mark.parametrize("fmt", ["coco", "labelstudio", "cvat", "voc", "labelme", "yolo"])
def test_names_that_are_not_utf8_travel_through_every_export(fmt, odd_rows, tmp_path):
    images, rows = odd_rows
    out = tmp_path / "out"
    if fmt == "coco":
        _, items = read_coco(write_coco(rows, ["x"], out / "c.json"), images)
    elif fmt == "labelstudio":
        dst = write_labelstudio(rows, ["x"], out / "t.json", image_root=images)
        _, items = read_labelstudio(dst, images)
    elif fmt == "cvat":
        _, items = read_cvat(write_cvat(rows, ["x"], out / "a.xml"), images)
    elif fmt == "voc":
        _, items = read_voc(write_voc(rows, ["x"], out), images)
    elif fmt == "labelme":
        _, items = read_labelme(write_labelme(rows, ["x"], out), images)
    else:
        _, items = read_yolo(write_yolo(rows, ["x"], out, val_fraction=0))
    # every file written is UTF-8 text, and nothing half-written is left behind
    for p in out.rglob("*"):
        if p.is_file() and not p.is_symlink():
            p.read_bytes().decode("utf-8")
    assert not [p for p in tmp_path.rglob("*") if "tmp" in p.name]
    (odd,) = [it for it in items if "caf" in it["image"]]
    assert os.fsencode(Path(odd["image"]).name) == b"caf\xe9-\xff.png", odd["issues"]
    assert Path(odd["image"]).resolve() == (images / NAME).resolve()
    (rec,) = odd["annotations"]
    assert rec["bbox"] == pytest.approx([2.0, 3.0, 20.0, 30.0], abs=1e-3)
    assert (odd["width"], odd["height"]) == (60, 40) and not odd["issues"]
