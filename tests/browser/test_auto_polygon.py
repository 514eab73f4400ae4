"""The auto polygon tool in a real JupyterLab and Chromium, on a real raccoon photo.

The user drags a rectangle around the raccoon; the kernel outlines it (GrabCut, no weights)
and the Dataset holds a polygon that fits the raccoon's known box. The user then drags one
vertex, and the Dataset holds exactly that correction. The photo is a 1920x1080 copy
(make_images), so original pixels, the downscaled display copy and the canvas all differ.
"""

from __future__ import annotations

import math

import pytest
from support.annotator_page import H, W, close, kinds, open_annotator, wait_objects
from support.browser import make_images, wait_for

from nblabel.records import bbox_of_points, iou

pytestmark = pytest.mark.browser

KEY = "img_003"  # a raccoon well inside the frame, on a busy background
MOVE = 40  # CSS pixels the vertex is dragged


@pytest.fixture(scope="module")
def photos(raccoon_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("auto-polygon-images")
    items = make_images(raccoon_dir, folder, 4, size=(W, H))
    return folder, {it["key"]: it for it in items}


def loneliest(points, view) -> int:
    """The vertex farthest (on screen) from every other vertex: unambiguous to grab."""

    def gap(k):
        x, y = view.at(*points[k])
        return min(math.dist((x, y), view.at(*q)) for j, q in enumerate(points) if j != k)

    return max(range(len(points)), key=gap)


def test_auto_polygon_then_drag_a_vertex(lab, photos, db):
    folder, items = photos
    truth = items[KEY]["boxes"][0]
    page, view = open_annotator(lab, folder, db, options=f", start={KEY!r}")
    root = page.locator("[data-testid=annotator]").last
    root.locator("[data-testid=tool-auto]").click()
    wait_for(lambda: lab.eval("w.tool") == "auto", what="the auto polygon tool")
    view.painted(KEY)

    # A rectangle a little larger than the raccoon, as a user draws it.
    mx, my = 0.04 * (truth[2] - truth[0]), 0.04 * (truth[3] - truth[1])
    rect = [
        max(0, truth[0] - mx),
        max(0, truth[1] - my),
        min(W, truth[2] + mx),
        min(H, truth[3] + my),
    ]
    view.drag(rect[:2], rect[2:])
    recs = wait_objects(
        db, lambda r: len(r) == 1 and r[0]["points"], key=KEY, what="the outline", timeout=60
    )
    poly = recs[0]
    assert poly["label"] == "raccoon" and poly["source"] == "human"
    assert len(poly["points"]) >= 4
    fit = iou(bbox_of_points(poly["points"]), truth)
    assert fit >= 0.6, (fit, bbox_of_points(poly["points"]), truth)

    # The new outline is selected, ready to correct: drag one of its vertices.
    selection = root.locator("[data-testid=selection]")
    wait_for(lambda: "vertices" in selection.inner_text(), what="the outline selected")
    # its quality score is on the record and on screen (score stays None: a person's object)
    quality = poly["polygon_score"]
    assert poly["score"] is None and 0.0 <= quality <= 1.0
    assert f"outline quality {quality:.2f}" in selection.inner_text()
    message = root.locator("[data-testid=message]").inner_text()
    assert f"{quality:.2f}" in message, message
    points = poly["points"]
    k = loneliest(points, view)
    x, y = points[k]
    step = MOVE / view.s  # the drag in original pixels
    dx = step if x + step <= W else -step  # stay on the image
    view.drag((x, y), (x + dx, y))

    edited = wait_objects(
        db, lambda r: abs(r[0]["points"][k][0] - x) > step / 2, key=KEY, what="the moved vertex"
    )[0]
    assert close(edited["points"][k], [x + dx, y], tol=3), (edited["points"][k], [x + dx, y])
    others = [p for j, p in enumerate(edited["points"]) if j != k]
    assert others == [p for j, p in enumerate(points) if j != k], "only that vertex moved"
    assert close(edited["bbox"], bbox_of_points(edited["points"]), tol=0.01)
    assert kinds(db)[-2:] == ["added", "resized"]
