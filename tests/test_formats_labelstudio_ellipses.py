"""Label Studio ellipses: read by the rule CVAT ellipses and LabelMe circles follow.

An ``ellipselabels`` region (centre ``x, y`` and ``radiusX`` / ``radiusY`` in percent of the
image's width and height, as Label Studio's own example task has it) becomes the polygon
every format can hold, with the ellipse kept beside it; it goes back to Label Studio as the
same ellipse, to CVAT as an ``<ellipse>`` and, when round, to LabelMe as a ``circle``.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from nblabel.formats import label_config, read_labelstudio, write_cvat, write_labelstudio

W, H = 224, 280
# Label Studio's example ellipse (label-studio-frontend e2e/examples/image-ellipses.js)
VALUE = {"x": 50.4, "y": 50.763073639274279, "ellipselabels": ["Planet"], "rotation": 30,
         "radiusY": 10.672358591248665, "radiusX": 13.333333333333334}  # fmt: skip


def _task(tmp_path):
    Image.new("RGB", (W, H)).save(tmp_path / "a.png")
    region = {"id": "CPnIaS1e7v", "from_name": "tag", "to_name": "img", "type": "ellipselabels",
              "original_width": W, "original_height": H, "image_rotation": 0,
              "origin": "manual", "value": VALUE}  # fmt: skip
    task = {"id": 5, "data": {"image": "a.png"}, "annotations": [{"id": 9, "result": [region]}]}
    (tmp_path / "t.json").write_text(json.dumps([task]))
    return tmp_path / "t.json"


def test_an_ellipse_is_a_polygon_through_it_and_goes_back_as_itself(tmp_path):
    classes, (item,) = read_labelstudio(_task(tmp_path))
    assert item["issues"] == []
    (rec,) = item["annotations"]
    cx, cy = VALUE["x"] * W / 100, VALUE["y"] * H / 100
    rx, ry = VALUE["radiusX"] * W / 100, VALUE["radiusY"] * H / 100
    a = math.radians(30)
    for x, y in rec["points"]:
        # turned back by the rotation (clockwise on screen), each point lies on the ellipse
        dx, dy = x - cx, y - cy
        u, v = dx * math.cos(a) + dy * math.sin(a), -dx * math.sin(a) + dy * math.cos(a)
        assert (u / rx) ** 2 + (v / ry) ** 2 == pytest.approx(1)

    out = write_labelstudio([{**item, "status": "verified"}], classes, tmp_path / "o.json")
    (region,) = json.loads(out.read_text())[0]["annotations"][-1]["result"]
    assert region["type"] == "ellipselabels"
    for k in ("x", "y", "radiusX", "radiusY", "rotation"):
        assert region["value"][k] == pytest.approx(VALUE[k], abs=1e-9), k
    assert "ellipse" not in region["nblabel"]  # the region is the ellipse
    assert "EllipseLabels" in label_config(classes, ellipses=True)

    # to CVAT: the same ellipse, in pixels
    xml = write_cvat([{**item, "status": "verified"}], classes, tmp_path / "a.xml")
    (el,) = ET.parse(xml).getroot().iter("ellipse")
    assert [float(el.get(k)) for k in ("cx", "cy", "rx", "ry", "rotation")] == pytest.approx(
        [cx, cy, rx, ry, 30], abs=0.005
    )


def test_a_redrawn_ellipse_is_written_as_the_polygon_drawn(tmp_path):
    classes, (item,) = read_labelstudio(_task(tmp_path))
    moved = {
        **item["annotations"][0],
        "points": [[1, 1], [90, 1], [90, 90]],
        "bbox": [1, 1, 90, 90],
    }
    out = write_labelstudio([{**item, "annotations": [moved]}], classes, tmp_path / "o.json")
    (region,) = json.loads(out.read_text())[0]["annotations"][-1]["result"]
    assert region["type"] == "polygonlabels"
