"""Pascal VOC as Datumaro writes and reads it: devkit layout, labelmap.txt, 0/1 flags,
actions, layout parts and attributes; nested annotation folders."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from nblabel.formats import read_voc, write_voc

DATUMARO_VOC = "fixtures/datumaro/voc_dataset"


def _objects(xml: Path) -> list[dict]:
    """The objects of a VOC file, parsed independently of nblabel."""
    out = []
    for obj in ET.parse(xml).getroot().findall("object"):
        out.append(
            {
                "name": obj.findtext("name"),
                "box": [
                    float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")
                ],
                "parts": [p.findtext("name") for p in obj.findall("part")],
                "actions": {a.tag: a.text for a in obj.findall("actions/*")},
            }
        )
    return out


def test_datumaro_devkit_folders_read_with_parts_actions_and_flags(shared_dir):
    root = shared_dir / DATUMARO_VOC / "voc_dataset1"
    classes, (item,) = read_voc(root)  # the devkit folder itself: Annotations/ is found
    expected = _objects(root / "Annotations" / "2007_000001.xml")
    assert [r["label"] for r in item["annotations"]] == [o["name"] for o in expected]
    cat, person = item["annotations"]
    assert cat["bbox"] == expected[0]["box"] and cat["attributes"] == {"truncated": 1}
    assert person["voc_parts"] == [{"name": "head", "bbox": [5.5, 6.0, 7.5, 8.0]}]
    assert person["attributes"]["actions"] == {k: int(v) for k, v in expected[1]["actions"].items()}
    assert not [s for s in item["issues"] if "part" in s or "action" in s]

    classes, items = read_voc(shared_dir / DATUMARO_VOC / "voc_dataset2")
    assert classes[0] == "background"  # used by an object there, declared first in labelmap.txt
    assert {it["key"] for it in items} == {"@", "a", "b", "c", "d"}
    (a,) = [it for it in items if it["key"] == "a"]
    assert a["annotations"][0]["attributes"] == {"occluded": 1}


def test_export_is_a_devkit_folder_with_labelmap_and_0_1_flags(shared_dir, tmp_path):
    root = shared_dir / DATUMARO_VOC / "voc_dataset1"
    classes, items = read_voc(root)
    items[0]["annotations"][0]["attributes"].update(occluded=True, color="red")
    out = write_voc(items, classes, tmp_path / "voc")
    assert (out / "ImageSets" / "Main" / "default.txt").read_text() == "2007_000001\n"
    labelmap = (out / "labelmap.txt").read_text().splitlines()
    assert labelmap[:2] == ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    person = [ln for ln in labelmap if ln.startswith("person:")][0]
    assert person.split(":")[2] == "head" and "jumping" in person.split(":")[3]
    xml = ET.parse(out / "Annotations" / "2007_000001.xml").getroot()
    flags = [
        (o.findtext("truncated"), o.findtext("difficult"), o.findtext("occluded"))
        for o in xml.iter("object")
    ]
    assert flags == [("1", "0", "1"), ("0", "0", "0")]  # never "True" / "False"
    assert [a.findtext("name") for a in xml.iter("attribute")] == ["color"]

    _, (back,) = read_voc(out)
    before, after = items[0]["annotations"], back["annotations"]
    assert [r["bbox"] for r in after] == [r["bbox"] for r in before]
    assert after[0]["attributes"] == {"truncated": 1, "occluded": 1, "color": "red"}
    assert after[1]["voc_parts"] == before[1]["voc_parts"]
    assert after[1]["attributes"]["actions"] == before[1]["attributes"]["actions"]

    flat = write_voc(items, classes, tmp_path / "flat", layout="flat")
    assert sorted(p.name for p in flat.iterdir() if not p.name.startswith(".")) == [
        "2007_000001.xml"
    ]


def test_nested_annotation_folders_and_polygons(tmp_path):
    ann = tmp_path / "ann"
    for sub, name in (("cam1", "a"), ("cam2/day", "b")):
        (ann / sub).mkdir(parents=True)
        Image.new("RGB", (40, 30)).save(ann / sub / f"{name}.png")
        (ann / sub / f"{name}.xml").write_text(
            f"<annotation><filename>{name}.png</filename><object><name>car</name>"
            "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>20</xmax><ymax>25</ymax></bndbox>"
            "<polygon><x1>1</x1><y1>2</y1><x2>20</x2><y2>2</y2><x3>20</x3><y3>25</y3></polygon>"
            "</object><object><name>car</name><polygon><pt>1</pt></polygon>"
            "<bndbox><xmin>3</xmin><ymin>3</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
            "</annotation>"
        )
    _, items = read_voc(ann)
    assert [it["key"] for it in items] == ["a", "b"]
    for it in items:
        first, second = it["annotations"]
        assert first["points"] == [[1.0, 2.0], [20.0, 2.0], [20.0, 25.0]]
        assert first["bbox"] == [1.0, 2.0, 20.0, 25.0]
        assert second["points"] is None and "<polygon> is not a list" in it["issues"][0]
