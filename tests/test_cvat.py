"""CVAT for images 1.1 XML on the files Datumaro (CVAT's dataset engine) ships as test assets.

Every count and coordinate is checked against a plain ElementTree parse of the same file, so
the test does not trust the reader it tests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

import nblabel as nbl
from nblabel.formats import FormatError, read_cvat, read_voc, write_cvat

SHAPES = ("box", "polygon", "points")
DROPPED = ("polyline", "ellipse", "cuboid", "mask", "skeleton", "tag")


@pytest.fixture(scope="module")
def cvat_dir(shared_dir) -> Path:
    return shared_dir / "fixtures" / "datumaro" / "cvat_dataset"


@pytest.fixture(scope="module")
def project_xml(cvat_dir) -> Path:
    return cvat_dir / "for_images" / "export_project" / "annotations.xml"


def _expected(xml_path: Path) -> list[dict]:
    """What the file says, image by image: kept shapes (those with a label) and dropped ones."""
    out = []
    for image in ET.parse(xml_path).getroot().iter("image"):
        kept, dropped = [], 0
        for shape in image:
            if shape.tag in DROPPED or not shape.get("label"):
                dropped += 1
                continue
            if shape.tag == "box":
                geometry = [float(shape.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")]
            else:
                geometry = [
                    [float(v) for v in pair.split(",")] for pair in shape.get("points").split(";")
                ]
            attrs = {a.get("name"): a.text for a in shape.findall("attribute")}
            if shape.get("occluded") == "1":
                attrs["occluded"] = 1
            kept.append((shape.tag, shape.get("label"), geometry, attrs))
        out.append(
            {
                "name": image.get("name"),
                "subset": image.get("subset"),
                "size": (int(image.get("width")), int(image.get("height"))),
                "kept": kept,
                "dropped": dropped,
            }
        )
    return out


def _as_shapes(item: dict) -> list[tuple]:
    shapes = []
    for r in item["annotations"]:
        if r.get("points"):
            tag, geometry = "polygon", r["points"]
        elif r.get("shape") == "points":
            tag, geometry = "points", [k[:2] for k in r["keypoints"]]
        else:
            tag, geometry = "box", r["bbox"]
        shapes.append((tag, r["label"], geometry, r.get("attributes") or {}))
    return shapes


def _close(a, b, tol=1.0) -> bool:
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b))
    return abs(float(a) - float(b)) <= tol


def _assert_matches(items, expected, tol=0.0):
    assert len(items) == len(expected)
    for item, exp in zip(items, expected):
        assert Path(item["image"]).name == Path(exp["name"]).name
        assert (item["width"], item["height"]) == exp["size"]
        got = _as_shapes(item)
        assert [g[:2] for g in got] == [e[:2] for e in exp["kept"]], exp["name"]
        for g, e in zip(got, exp["kept"]):
            assert _close(g[2], e[2], tol), (g, e)
            assert g[3] == e[3]
        # every shape that could not be kept is named in an issue, never silently gone
        assert len(item["issues"]) == exp["dropped"], item["issues"]


def test_project_export_reads_every_shape_and_attribute(project_xml):
    classes, items = read_cvat(project_xml)
    declared = [
        el.findtext("name")
        for el in ET.parse(project_xml).getroot().iter("label")
        if el.findtext("name")
    ]
    assert classes == declared == ["label1", "label2"]
    expected = _expected(project_xml)
    _assert_matches(items, expected)
    # three subsets hold img0/img1: keys say which, images come from images/<subset>/
    assert [it["key"] for it in items] == [
        f"{e['subset']}/{Path(e['name']).stem}" for e in expected
    ]
    for it, e in zip(items, expected):
        assert Path(it["image"]).parent.name == e["subset"] and Path(it["image"]).is_file()
        assert it["subset"] == e["subset"]
    box = items[0]["annotations"][0]
    assert box["attributes"] == {"a1": "true", "a2": "v3", "a3": "0003", "a4": "2.4", "occluded": 1}
    assert box["z_order"] == 1
    assert any("polyline" in s for s in items[0]["issues"])


def test_task_export_reports_shapes_without_a_label(cvat_dir):
    xml = cvat_dir / "for_images" / "export_task" / "train.xml"
    classes, items = read_cvat(xml, cvat_dir / "for_images" / "export_task" / "images")
    assert classes == ["label1", "label2"]
    _assert_matches(items, _expected(xml))
    assert [it["key"] for it in items] == ["img0", "img1"]  # one subset: bare stems
    assert any("no label" in s for s in items[1]["issues"])


def test_video_export_is_refused_with_what_to_do(cvat_dir):
    with pytest.raises(FormatError, match="CVAT for images 1.1") as err:
        read_cvat(cvat_dir / "for_video" / "annotations.xml")
    assert "annotations.xml" in str(err.value)


def test_round_trip_through_the_dataset_keeps_shapes_within_a_pixel(project_xml, tmp_path):
    ds = nbl.Dataset.from_cvat(project_xml, db=tmp_path / "cvat.db")
    assert set(ds.df["status"]) == {"verified"}
    assert ds.df["issues"].notna().sum() == 3  # the three polylines
    out = ds.to_cvat(tmp_path / "export" / "annotations.xml")

    root = ET.parse(out).getroot()
    assert root.findtext("version") == "1.1"
    for tag in SHAPES:
        assert len(root.findall(f"image/{tag}")) == len(
            ET.parse(project_xml).findall(f"image/{tag}")
        )
    # the polylines no record holds go back as they came
    assert (
        len(root.findall("image/polyline"))
        == len(ET.parse(project_xml).findall("image/polyline"))
        == 3
    )
    assert {el.get("occluded") for el in root.iter("box")} == {"1"}
    # attributes are declared on their label, as CVAT requires before it accepts them
    declared = {
        a.findtext("name")
        for lab in root.iter("label")
        if lab.findtext("name") == "label1"
        for a in lab.iter("attribute")
    }
    assert declared == {"a1", "a2", "a3", "a4"}

    # the export names images relative to their common folder, as uploaded to CVAT
    classes, items = read_cvat(out, project_xml.parent / "images")
    assert classes == ["label1", "label2"]
    # the polylines are written back, so read back they are said again, one issue each
    _assert_matches(items, _expected(project_xml), tol=1.0)
    # names are written relative to the images' common folder: "Test/img0.jpg" keys "Test/img0"
    again = {it["key"]: it["annotations"] for it in items}
    assert sorted(again) == sorted(ds.keys())
    for key in ds.keys():
        a, b = ds.row(key)["annotations"], again[key]
        assert [(r.get("z_order"), r.get("shape")) for r in a] == [
            (r.get("z_order"), r.get("shape")) for r in b
        ]


def test_model_output_and_poses_survive_a_round_trip(tmp_path):
    img = tmp_path / "images" / "walk.jpg"
    img.parent.mkdir()
    Image.new("RGB", (120, 90), (30, 60, 90)).save(img)
    pose = {
        "label": "person",
        "bbox": [10.0, 5.0, 60.0, 85.0],
        "keypoints": [[20.0, 10.0, 2], [0.0, 0.0, 0], [40.5, 30.25, 1]],
        "attributes": {"pose": "walking"},
    }
    scored = {"label": "dog", "bbox": [70.0, 40.0, 110.0, 80.0], "score": 0.625,
              "source": "yolo11n@3", "rotation": 15.0}  # fmt: skip
    point = {"label": "dog", "bbox": [99.5, 9.5, 100.5, 10.5],
             "keypoints": [[100.0, 10.0, 2]], "shape": "points"}  # fmt: skip
    rows = [{"key": "walk", "image": str(img), "width": 120, "height": 90,
             "annotations": [pose, scored, point], "status": "verified"}]  # fmt: skip
    out = write_cvat(rows, ["person", "dog"], tmp_path / "annotations.xml")

    root = ET.parse(out).getroot()
    assert [el.tag for el in root.find("image")] == ["box", "points", "box", "points"]
    assert root.find("image/box").get("group_id") == root.find("image/points").get("group_id")
    assert root.findall("image/box")[1].get("source") == "auto"  # CVAT accepts only its own names

    _, (item,) = read_cvat(out)
    got_pose, got_scored, got_point = item["annotations"]
    assert got_pose["keypoints"] == [[20.0, 10.0, 2], [0.0, 0.0, 0], [40.5, 30.25, 1]]
    assert got_pose["bbox"] == pose["bbox"] and got_pose["attributes"]["pose"] == "walking"
    assert (got_scored["score"], got_scored["source"]) == (0.625, "yolo11n@3")
    assert got_scored["rotation"] == 15.0
    assert got_point["keypoints"] == [[100.0, 10.0, 2]] and got_point["shape"] == "points"
    assert any("rotated" in s for s in item["issues"])


DOCTYPE_FILES = {
    "xxe": '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    '<annotations><image name="&x;" width="8" height="8"/></annotations>\n',
    "laughs": '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;">]>\n'
    '<annotations><image name="&l2;" width="8" height="8"/></annotations>\n',
}


@pytest.mark.parametrize("kind", sorted(DOCTYPE_FILES))
def test_dtds_and_entities_are_refused(kind, tmp_path):
    xml = tmp_path / f"{kind}.xml"
    xml.write_text(DOCTYPE_FILES[kind])
    with pytest.raises(FormatError, match="DOCTYPE") as err:
        read_cvat(xml)
    assert err.value.line == 2 and f"{kind}.xml" in str(err.value)
    # the VOC reader goes through the same parser
    voc = tmp_path / "voc"
    voc.mkdir()
    (voc / "a.xml").write_text(DOCTYPE_FILES[kind].replace("annotations", "annotation"))
    with pytest.raises(FormatError, match="DOCTYPE"):
        read_voc(voc)


def test_malformed_and_foreign_files_say_what_is_wrong(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text('<annotations>\n  <image name="a.jpg">\n')
    with pytest.raises(FormatError) as err:
        read_cvat(broken)
    assert err.value.line == 3 and "broken.xml" in str(err.value)
    _, (flagged,) = read_cvat(broken, errors="flag")
    assert "broken.xml" in flagged["issues"][0] and flagged["annotations"] == []

    voc = tmp_path / "voc.xml"
    voc.write_text("<annotation><filename>a.jpg</filename></annotation>")
    with pytest.raises(FormatError, match="not <annotations>"):
        read_cvat(voc)

    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<annotations><image name="a.jpg" width="8" height="8">'
        '<box label="x" xtl="one" ytl="0" xbr="4" ybr="4"/>'
        '<polygon label="x" points="1,1;2"/></image></annotations>'
    )
    _, (item,) = read_cvat(bad)
    assert item["annotations"] == []
    assert sum("not numbers" in s for s in item["issues"]) == 2
    assert any("not found" in s for s in item["issues"])  # the image itself is missing
