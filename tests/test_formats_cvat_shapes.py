"""CVAT skeletons, polylines, cuboids and tags: carried through nblabel, none dropped.

A skeleton is a pose: its elements become the record's keypoints (``outside`` absent,
``occluded`` hidden) with their names and edges in ``skeleton``, and go back as a
``<skeleton>``. Polylines, cuboids and tags have no record form; each is kept as it was in
the row's ``cvat_shapes`` (with an issue saying so) and written back unchanged. Counts are
checked against the files parsed here with ``xml.etree``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

import nblabel as nbl
from nblabel.formats import read_cvat, write_cvat

CVAT = "fixtures/datumaro/cvat_dataset/for_images"
FIXTURES = ["export_project/annotations.xml", "export_task/train.xml"]
KEPT = ("polyline", "cuboid", "tag")


def _kept(xml: Path) -> list[tuple[str, dict]]:
    """Each polyline / cuboid / tag of a file with its XML attributes, in file order."""
    root = ET.parse(xml).getroot()
    return [(s.tag, dict(s.attrib)) for im in root.iter("image") for s in im if s.tag in KEPT]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_polylines_go_back_unchanged(shared_dir, tmp_path, name):
    src = shared_dir / CVAT / name
    expected = _kept(src)
    assert [t for t, _ in expected].count("polyline") >= 1
    classes, items = read_cvat(src)
    assert sum(len(it.get("cvat_shapes", [])) for it in items) == len(expected)
    notes = [s for it in items for s in it["issues"] if "has no nblabel record form" in s]
    assert len(notes) == len(expected) and all("4 points" in s for s in notes)

    out = write_cvat([{**it, "status": "verified"} for it in items], classes, tmp_path / "o.xml")
    assert _kept(out) == expected
    declared = [el.findtext("name") for el in ET.parse(out).getroot().iter("label")]
    assert {a["label"] for _, a in expected if a.get("label")} <= set(declared)
    # and once more: nothing grows or shrinks on a second trip
    classes2, again = read_cvat(out, shared_dir / CVAT / Path(name).parent / "images")
    assert [it.get("cvat_shapes") for it in again] == [it.get("cvat_shapes") for it in items]


# A task as CVAT 2.x writes a skeleton label: its drawing in <svg>, one <points> sublabel per
# element with <parent>; and on the image a <skeleton> of <points>, a cuboid and a tag.
SVG = (
    '&lt;line x1="30" y1="20" x2="70" y2="20" stroke="black" data-type="edge" '
    'data-node-from="1" stroke-width="0.5" data-node-to="2"&gt;&lt;/line&gt;'
    '&lt;line x1="70" y1="20" x2="50" y2="80" stroke="black" data-type="edge" '
    'data-node-from="2" stroke-width="0.5" data-node-to="3"&gt;&lt;/line&gt;'
    + "".join(
        f'&lt;circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x}" cy="{y}" '
        f'stroke-width="0.1" data-type="element node" data-element-id="{i}" '
        f'data-node-id="{i}" data-label-id="{10 + i}" data-label-name="{n}"&gt;&lt;/circle&gt;'
        for i, (n, x, y) in enumerate((("head", 30, 20), ("tail", 70, 20), ("paw", 50, 80)), 1)
    )
)
META = f"""<meta><task><labels>
<label><name>cat</name><type>skeleton</type><attributes/><svg>{SVG}</svg></label>
<label><name>head</name><type>points</type><attributes/><parent>cat</parent></label>
<label><name>tail</name><type>points</type><attributes/><parent>cat</parent></label>
<label><name>paw</name><type>points</type><attributes/><parent>cat</parent></label>
<label><name>car</name><type>cuboid</type><attributes/></label>
<label><name>indoor</name><type>tag</type><attributes/></label>
</labels></task></meta>"""
SHAPES = """
<skeleton label="cat" source="manual" z_order="0">
  <points label="tail" source="manual" outside="0" occluded="1" points="30.50,12.00"/>
  <points label="head" source="manual" outside="0" occluded="0" points="10.00,8.25"/>
  <points label="paw" source="manual" outside="1" occluded="0" points="20.00,25.00"/>
  <attribute name="pose">sitting</attribute>
</skeleton>
<cuboid label="car" source="manual" occluded="0" xtl1="1" ytl1="2" xbl1="1" ybl1="9"
  xtr1="8" ytr1="2" xbr1="8" ybr1="9" xtl2="3" ytl2="1" xbl2="3" ybl2="8" xtr2="10"
  ytr2="1" xbr2="10" ybr2="8" z_order="0"/>
<tag label="indoor" source="manual"><attribute name="light">dim</attribute></tag>
"""


def _task(tmp_path: Path) -> Path:
    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    xml = tmp_path / "a.xml"
    xml.write_text(
        f'<annotations><version>1.1</version>{META}<image id="0" name="a.png" width="40" '
        f'height="30">{SHAPES}</image></annotations>'
    )
    return xml


def test_skeletons_are_poses_and_go_back_as_skeletons(tmp_path):
    src = _task(tmp_path)
    classes, (item,) = read_cvat(src)
    assert classes == ["cat", "car", "indoor"]  # a skeleton's elements are not classes
    (rec,) = item["annotations"]
    # one slot per declared element, in the label's order, whatever order the shape has
    assert rec["label"] == "cat"
    assert rec["keypoints"] == [[10.0, 8.25, 2], [30.5, 12.0, 1], [20.0, 25.0, 0]]
    assert rec["skeleton"]["names"] == ["head", "tail", "paw"]
    assert rec["skeleton"]["edges"] == [[0, 1], [1, 2]]
    assert rec["attributes"] == {"pose": "sitting"}
    assert rec["bbox"][0] <= 10.0 and rec["bbox"][2] >= 30.5  # around the points it sees
    assert [s["tag"] for s in item["cvat_shapes"]] == ["cuboid", "tag"]

    out = write_cvat([{**item, "status": "verified"}], classes, tmp_path / "out.xml")
    root = ET.parse(out).getroot()
    labels = {el.findtext("name"): el for el in root.iter("label")}
    assert labels["cat"].findtext("type") == "skeleton"
    assert [n for n, el in labels.items() if el.findtext("parent") == "cat"] == [
        "head", "tail", "paw"
    ]  # fmt: skip
    assert labels["cat"].findtext("svg").count('data-type="edge"') == 2
    (skeleton,) = root.iter("skeleton")
    parts = [(p.get("label"), p.get("points"), p.get("outside"), p.get("occluded"))
             for p in skeleton.iter("points")]  # fmt: skip
    assert parts == [
        ("head", "10.00,8.25", "0", "0"),
        ("tail", "30.50,12.00", "0", "1"),
        ("paw", "20.00,25.00", "1", "0"),
    ]
    assert skeleton.find("attribute").text == "sitting"
    # the cuboid and the tag, exactly as read
    before = ET.parse(src).getroot().find("image")
    after = root.find("image")
    for tag in ("cuboid", "tag"):
        assert after.find(tag).attrib == before.find(tag).attrib
    assert after.find("tag/attribute").text == "dim"

    # read back: the same pose, names, edges and drawing
    _, (again,) = read_cvat(out)
    assert again["annotations"][0]["keypoints"] == rec["keypoints"]
    assert again["annotations"][0]["skeleton"] == rec["skeleton"]


def test_a_skeleton_survives_the_dataset(tmp_path):
    src = _task(tmp_path)
    ds = nbl.Dataset.from_cvat(src, db=tmp_path / "cvat.db")
    out = nbl.Dataset.open(tmp_path / "cvat.db").to_cvat(tmp_path / "out.xml")
    _, (item,) = read_cvat(out)
    (rec,) = item["annotations"]
    assert rec["keypoints"] == ds.df.iloc[0]["annotations"][0]["keypoints"]
    assert rec["skeleton"]["names"] == ["head", "tail", "paw"]


def test_a_skeleton_without_a_visible_element_says_so(tmp_path):
    xml = tmp_path / "a.xml"
    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    xml.write_text(
        '<annotations><version>1.1</version><image id="0" name="a.png" width="40" height="30">'
        '<skeleton label="cat"><points label="head" outside="1" points="1,1"/></skeleton>'
        "</image></annotations>"
    )
    _, (item,) = read_cvat(xml)
    assert item["annotations"] == []
    assert any("skeleton has no visible element" in s for s in item["issues"])


def test_polylines_survive_the_dataset(shared_dir, tmp_path):
    """``ds.to_cvat`` writes back what the import kept, after a reopen too."""
    src = shared_dir / CVAT / FIXTURES[0]
    expected = _kept(src)
    images = shared_dir / CVAT / Path(FIXTURES[0]).parent / "images"
    nbl.Dataset.from_cvat(src, images, db=tmp_path / "p.db")
    out = nbl.Dataset.open(tmp_path / "p.db").to_cvat(tmp_path / "out.xml")
    assert _kept(out) == expected
