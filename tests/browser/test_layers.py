"""The Annotator's read-only layers in a real JupyterLab and Chromium: de-identification
regions over the photo, and keypoint objects drawn with their own skeleton and per-point
confidence.

Checks read the canvas pixels (what the user sees), the widget's text (names, counts) and the
Dataset written by the kernel (``nblabel.Dataset.open(db)`` in this process).
"""

from __future__ import annotations

import pytest
from support.annotator_page import H, W, close, kinds, open_annotator, page_errors, wait_objects
from support.browser import canvas_point, make_images, wait_for

from nblabel import Dataset
from nblabel.core.palette import PALETTE, REGION_COLOR

pytestmark = pytest.mark.browser

FACE = {"kind": "face", "bbox": [300, 200, 700, 600], "score": 0.93, "method": "blur"}
PLATE = {"kind": "plate", "bbox": [1200, 700, 1600, 850], "score": 0.71, "method": "blur"}


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))


# The canvas draws with the colours Python sends (the widget's `constants`); the browser code
# has no copy, so these pixels can only come from nblabel.core.palette.
BLUE = _rgb(PALETTE[0])  # colour of the first class, #4e79a7
MAGENTA = _rgb(REGION_COLOR)  # colour of the regions layer, #ff00d4
assert (BLUE, MAGENTA) == ((0x4E, 0x79, 0xA7), (0xFF, 0x00, 0xD4))


@pytest.fixture(scope="module")
def folder(raccoon_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("layer-images")
    make_images(raccoon_dir, out, 2, size=(W, H))
    return out


def changed(a: list[int], b: list[int], tol: int = 30) -> float:
    """Share of pixels whose RGB differs by more than ``tol`` (summed) between two reads."""
    n = len(a) // 4
    diff = sum(
        1 for i in range(0, len(a), 4) if sum(abs(a[i + c] - b[i + c]) for c in range(3)) > tol
    )
    return diff / max(n, 1)


def distance(px: list[int], rgb) -> int:
    return sum(abs(px[c] - rgb[c]) for c in range(3))


def test_regions_layer_shows_hides_and_is_never_edited(lab, folder, db):
    setup = f"ds.update('img_000', deid_regions=[{FACE!r}, {PLATE!r}])\n"
    page, view = open_annotator(lab, folder, db, setup)
    root = page.locator("[data-testid=annotator]").last
    toggle = root.locator("[data-testid=show-regions]")
    summary = root.locator("[data-testid=regions-summary]")
    view.painted("img_000")
    assert toggle.is_checked() and toggle.is_enabled(), "on by default when the row has regions"
    assert summary.inner_text() == "regions: face 1, plate 1"

    inside, elsewhere = FACE["bbox"], [900, 100, 1100, 300]
    shown, shown_elsewhere = view.pixels(inside), view.pixels(elsewhere)
    # the outline is drawn in the region colour on the region's edge
    x1, px = FACE["bbox"][0], 1 / view.s
    edge = view.pixels([x1 - 2 * px, 400, x1 + 2 * px, 400 + px])
    nearest = min(distance(edge[i : i + 4], MAGENTA) for i in range(0, len(edge), 4))
    assert nearest < 60, edge

    toggle.click()
    wait_for(lambda: lab.eval("w.show_regions") is False, what="show_regions off in Python")
    view.next_frame()
    hidden = view.pixels(inside)
    assert changed(shown, hidden) > 0.1, "the hatching is gone"
    assert changed(shown_elsewhere, view.pixels(elsewhere)) == 0, "nothing else changed"

    toggle.click()
    wait_for(lambda: lab.eval("w.show_regions") is True, what="show_regions on again")
    view.next_frame()
    assert changed(shown, view.pixels(inside)) < 0.01

    # A drag inside a region draws a box: the layer is not an object and cannot be moved.
    view.drag((400, 300), (600, 500))
    recs = wait_objects(db, lambda r: len(r) == 1, what="the box drawn over the region")
    assert recs[0]["label"] == "raccoon" and close(recs[0]["bbox"], [400, 300, 600, 500])
    page.keyboard.press("Enter")  # submit, go to the next image
    wait_for(lambda: lab.eval("w.key") == "img_001", what="the next image")
    assert kinds(db)[-2:] == ["added", "submit"]
    row = Dataset.open(db).row("img_000")
    assert [r["kind"] for r in row["deid_regions"]] == ["face", "plate"]
    assert len(row["annotations"]) == 1, "regions are never written into annotations"

    # An image without regions: the checkbox is greyed out and says nothing is there.
    view.painted("img_001")
    wait_for(lambda: toggle.is_disabled(), what="the checkbox disabled")
    assert summary.inner_text() == "regions" and not toggle.is_checked()
    assert page_errors(lab) == []


def test_pose_and_face_points_with_scores(lab, folder, db):
    # A 17-point body prediction with per-point scores, two of them low, and a 5-point face.
    body = [[500 + 20 * (i % 5), 200 + 45 * i, 2] for i in range(17)]
    scores = [0.9] * 17
    low, high = 9, 10  # left_wrist (scored 0.1) and right_wrist (0.95)
    scores[low], scores[high], scores[3] = 0.1, 0.95, 0.15
    face = [[1300, 300, 2], [1500, 300, 2], [1400, 400, 2], [1320, 500, 2], [1480, 500, 2]]
    setup = (
        "ds.annotate('img_000', ["
        f"dict(label='raccoon', bbox=[480, 180, 600, 990], keypoints={body!r}, "
        f"keypoint_scores={scores!r}, score=0.8),"
        f"dict(label='raccoon', bbox=[1280, 280, 1520, 520], keypoints={face!r})],"
        " source='pose@1', status='review')\n"
    )
    page, view = open_annotator(lab, folder, db, setup)
    root = page.locator("[data-testid=annotator]").last
    selection = root.locator("[data-testid=selection]")
    view.painted("img_000")

    def centre(k):
        x, y = body[k][:2]
        return view.pixels([x, y, x + 0.1, y + 0.1])  # the one canvas pixel under the point

    # A confident point is drawn in the class colour; a low one dimmed, the photo through it.
    assert distance(centre(high), BLUE) < 40, centre(high)
    assert distance(centre(low), BLUE) > 40, centre(low)

    # Hovering a point shows its name next to it (drawn on the canvas, right of the point).
    fx, fy = face[0][:2]
    tip = [fx + 9 / view.s, fy - 20 / view.s, fx + 90 / view.s, fy - 6 / view.s]
    quiet = view.pixels(tip)
    page.mouse.move(*canvas_point(page, *view.at(fx, fy)))
    view.next_frame()
    assert changed(quiet, view.pixels(tip)) > 0.05, "a tooltip appears while hovering"
    page.mouse.move(*canvas_point(page, *view.at(fx, fy + 150)))
    view.next_frame()
    assert changed(quiet, view.pixels(tip)) == 0, "and goes away with the pointer"

    # Selecting a point names it from the object's own skeleton, with its score.
    view.click(*body[low][:2])
    wait_for(lambda: "left_wrist" in selection.inner_text(), what="the point's name")
    text = selection.inner_text()
    assert "17 points (coco17)" in text and "score 0.10" in text, text
    view.click(*face[2][:2])
    wait_for(lambda: "nose_tip" in selection.inner_text(), what="the face point's name")
    assert "5 points (face5)" in selection.inner_text()

    # Hiding below the threshold takes the low point away and leaves the confident one.
    before = centre(low)
    page.keyboard.press("h")
    wait_for(lambda: lab.eval("w.hide_below") is True, what="hide_below on")
    view.next_frame()
    assert distance(centre(low), before) > 30 and distance(centre(high), BLUE) < 40

    # Moving a point makes it the user's: its score is dropped, the others are kept.
    page.keyboard.press("h")
    wait_for(lambda: lab.eval("w.hide_below") is False, what="hide_below off")
    x, y = body[high][:2]
    view.drag((x, y), (x + 60, y + 20))
    recs = wait_objects(db, lambda r: r[0]["keypoints"][high][0] > x + 30, what="the moved point")
    assert recs[0]["keypoint_scores"][high] is None
    assert recs[0]["keypoint_scores"][low] == pytest.approx(0.1)
    assert recs[0]["source"] == "human" and recs[1]["keypoints"] == face
    assert page_errors(lab) == []


def test_keypoint_predictions_are_drawn_with_their_box(lab, folder, db):
    # A face from a detector: its box and 5 points (eyes, nose, mouth corners) well inside it.
    face = {
        "label": "raccoon",
        "bbox": [400, 200, 1000, 900],
        "keypoints": [[600, 450, 2], [800, 450, 2], [700, 550, 2], [620, 650, 2], [780, 650, 2]],
        "score": 0.9,
    }
    setup = f"ds.annotate('img_000', [{face!r}], source='yunet@1', status='review')\n"
    page, view = open_annotator(lab, folder, db, setup)
    view.painted("img_000")
    px = 1 / view.s
    left_edge = [400 - 2 * px, 300, 400 + 2 * px, 800]
    shown = view.pixels(left_edge)
    lab.run_python("w.threshold = 0.95\nw.hide_below = True")  # hides the whole object
    wait_for(lambda: lab.eval("w.hide_below") is True, what="hide below on")
    page.wait_for_timeout(300)
    view.next_frame()
    assert changed(shown, view.pixels(left_edge)) > 0.05, "the box edge was drawn"
