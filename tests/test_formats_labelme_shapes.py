"""LabelMe circles, lines and line strips: carried through nblabel, none dropped.

A circle is read by the rule CVAT ellipses follow (one home, ``formats._pieces``): the
polygon every format can hold, with the circle kept beside it and written back as a
``circle`` (and as a round ``<ellipse>`` to CVAT). Lines and line strips have no record
form: each is kept as it was in the row's ``labelme_shapes`` and written back unchanged.
The shared fixtures hold no LabelMe JSON, so the file is written here with the keys labelme
5 saves; counts are checked against a plain ``json`` parse of it.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from nblabel.formats import read_cvat, read_labelme, write_cvat, write_labelme


def _shape(label, points, shape_type, **extra):
    return {"label": label, "points": points, "group_id": None, "description": "",
            "shape_type": shape_type, "flags": {}, "mask": None, **extra}  # fmt: skip


SHAPES = [
    _shape("ball", [[40.0, 30.0], [43.0, 34.0]], "circle"),  # radius 5
    _shape("lane", [[1.0, 2.0], [60.0, 70.0]], "line"),
    _shape("lane", [[1.0, 1.0], [20.0, 5.5], [30.0, 60.0]], "linestrip", group_id=4),
]


def _file(tmp_path: Path) -> Path:
    folder = tmp_path / "lm"
    folder.mkdir()
    Image.new("RGB", (100, 80)).save(folder / "a.png")
    data = {"version": "5.5.0", "flags": {"night": True}, "shapes": SHAPES,
            "imagePath": "a.png", "imageData": None, "imageHeight": 80, "imageWidth": 100}  # fmt: skip
    (folder / "a.json").write_text(json.dumps(data, indent=2))
    return folder


def _kinds(path: Path) -> list[str]:
    return [s["shape_type"] for s in json.loads(path.read_text())["shapes"]]


def test_a_circle_is_a_polygon_that_goes_back_as_a_circle(tmp_path):
    classes, (item,) = read_labelme(_file(tmp_path))
    (rec,) = item["annotations"]
    assert rec["label"] == "ball"
    assert rec["bbox"] == pytest.approx([35, 25, 45, 35])  # the circle's own box
    for x, y in rec["points"]:
        assert math.hypot(x - 40, y - 30) == pytest.approx(5)
    area = abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(rec["points"], rec["points"][1:] + rec["points"][:1]))) / 2  # fmt: skip
    assert area == pytest.approx(math.pi * 25, rel=0.002)

    out = write_labelme([{**item, "status": "verified"}], classes, tmp_path / "out")
    (circle,) = [
        s for s in json.loads((out / "a.json").read_text())["shapes"] if s["shape_type"] == "circle"
    ]
    (cx, cy), (px, py) = circle["points"]
    assert (cx, cy) == (40, 30) and math.hypot(px - cx, py - cy) == pytest.approx(5)
    assert "ellipse" not in circle  # the circle is itself the ellipse
    _, (again,) = read_labelme(out, tmp_path / "lm")
    flat = [v for p in rec["points"] for v in p]
    assert [v for p in again["annotations"][0]["points"] for v in p] == pytest.approx(flat)

    # once the outline is redrawn, the drawing wins
    moved = {**rec, "points": [[1, 1], [9, 1], [9, 9]], "bbox": [1, 1, 9, 9]}
    out = write_labelme([{**item, "annotations": [moved]}], classes, tmp_path / "out2")
    assert "circle" not in _kinds(out / "a.json") and "polygon" in _kinds(out / "a.json")


def test_circles_and_cvat_ellipses_are_one_shape(tmp_path):
    classes, (item,) = read_labelme(_file(tmp_path))
    xml = write_cvat([{**item, "status": "verified"}], classes, tmp_path / "a.xml")
    (el,) = ET.parse(xml).getroot().iter("ellipse")
    assert [el.get(k) for k in ("cx", "cy", "rx", "ry")] == ["40.00", "30.00", "5.00", "5.00"]
    # and back: CVAT's round ellipse is a LabelMe circle again
    classes2, items = read_cvat(xml, tmp_path / "lm")
    out = write_labelme([{**it, "status": "verified"} for it in items], classes2, tmp_path / "o")
    assert _kinds(out / "a.json").count("circle") == 1


def test_lines_and_line_strips_go_back_unchanged(tmp_path):
    folder = _file(tmp_path)
    source = json.loads((folder / "a.json").read_text())
    lines = [s for s in source["shapes"] if s["shape_type"] in ("line", "linestrip")]
    classes, (item,) = read_labelme(folder)
    assert item["labelme_shapes"] == lines
    notes = [s for s in item["issues"] if "has no nblabel record form" in s]
    assert len(notes) == len(lines) == 2
    assert "2 points" in notes[0] and "3 points" in notes[1]
    assert item["labelme_flags"] == {"night": True}

    out = write_labelme([{**item, "status": "verified"}], classes, tmp_path / "out")
    written = json.loads((out / "a.json").read_text())
    assert [s for s in written["shapes"] if s["shape_type"] in ("line", "linestrip")] == lines
    assert written["flags"] == {"night": True}
    _, (again,) = read_labelme(out, folder)
    assert again["labelme_shapes"] == lines


def test_kept_shapes_that_are_not_shapes_are_refused(tmp_path):
    _, (item,) = read_labelme(_file(tmp_path))
    with pytest.raises(ValueError, match="labelme_shapes must be a list of shape dicts"):
        write_labelme([{**item, "labelme_shapes": ["line"]}], ["ball"], tmp_path / "out")


def test_lines_and_flags_survive_the_dataset(tmp_path):
    """``ds.to_labelme`` writes back the kept lines and image flags, after a reopen too."""
    import nblabel as nbl

    folder = _file(tmp_path)
    source = json.loads((folder / "a.json").read_text())
    lines = [s for s in source["shapes"] if s["shape_type"] in ("line", "linestrip")]
    nbl.Dataset.from_labelme(folder, db=tmp_path / "lm.db")
    out = nbl.Dataset.open(tmp_path / "lm.db").to_labelme(tmp_path / "out")
    written = json.loads((out / "a.json").read_text())
    assert [s for s in written["shapes"] if s["shape_type"] in ("line", "linestrip")] == lines
    assert written["flags"] == {"night": True}
