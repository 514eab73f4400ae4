"""The Annotator in a real JupyterLab and Chromium: gestures in, Dataset rows out.

Every test drives the widget the way a user does (mouse drags on the canvas, keys) and then
reads what the kernel wrote from the SQLite journal with ``nblabel.Dataset.open(db)`` in this
process, so a passing test means the label really reached the user's data.

The images are 1920x1080: the widget sends a smaller copy (display_size) and the canvas shows
it smaller again, so every coordinate check also checks the display scaling.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.annotator_page import H, View, W, close, kinds, objects, wait_objects
from support.annotator_page import open_annotator as _open
from support.browser import CANVAS, make_images, wait_for

import nblabel as nbl

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RACCOON = "raccoon"
BIRD = "bird"


@pytest.fixture(scope="module")
def images(raccoon_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("annotator-images")
    return folder, make_images(raccoon_dir, folder, 3, size=(W, H))


def open_annotator(lab, images, db, setup: str = "", classes=(RACCOON, BIRD), options: str = ""):
    """Show ``w = Annotator`` on a Dataset over the module's images (see support)."""
    return _open(lab, images[0], db, setup, classes, options)


def test_drawn_box_is_stored_in_original_pixels(lab, images, db):
    page, view = open_annotator(lab, images, db)
    meta = lab.eval("w.meta")
    assert meta["width"] == W and meta["scale"] < 1  # the browser got a downscaled copy
    assert view.s < 0.8  # and shows it smaller still

    view.drag((400, 300), (1000, 800))
    recs = wait_objects(db, lambda r: len(r) == 1, what="the drawn box")
    assert close(recs[0]["bbox"], [400, 300, 1000, 800]), recs[0]["bbox"]
    assert recs[0]["label"] == RACCOON
    assert recs[0]["source"] == "human" and recs[0]["score"] is None
    assert "added" in kinds(db)

    # A drag shorter than a few pixels is a click, not a box.
    view.drag((1500, 200), (1502, 201))
    page.wait_for_timeout(500)
    assert len(objects(db)) == 1


def test_move_resize_and_delete(lab, images, db):
    setup = f"ds.annotate('img_000', [dict(label={RACCOON!r}, bbox=[400, 300, 1000, 800])])\n"
    page, view = open_annotator(lab, images, db, setup)

    view.drag((700, 550), (800, 600))  # grab the middle: move
    recs = wait_objects(db, lambda r: r[0]["bbox"][0] > 450, what="the moved box")
    assert close(recs[0]["bbox"], [500, 350, 1100, 850]), recs[0]["bbox"]

    view.drag((1100, 850), (1200, 950))  # the bottom-right handle of the selected box
    recs = wait_objects(db, lambda r: r[0]["bbox"][2] > 1150, what="the resized box")
    assert close(recs[0]["bbox"], [500, 350, 1200, 950]), recs[0]["bbox"]

    page.keyboard.press("Delete")
    wait_objects(db, lambda r: r == [], what="the deleted box")
    assert kinds(db)[-3:] == ["moved", "resized", "deleted"]


def test_number_key_relabels_and_undo_redo(lab, images, db):
    setup = f"ds.annotate('img_000', [dict(label={RACCOON!r}, bbox=[400, 300, 1000, 800])])\n"
    page, view = open_annotator(lab, images, db, setup)

    view.click(700, 550)  # select
    page.keyboard.press("2")
    wait_objects(db, lambda r: r[0]["label"] == BIRD, what="label 2 (bird)")

    page.keyboard.press("Control+z")
    recs = wait_objects(db, lambda r: r[0]["label"] == RACCOON, what="undo")
    assert close(recs[0]["bbox"], [400, 300, 1000, 800])

    page.keyboard.press("Control+Shift+z")
    wait_objects(db, lambda r: r[0]["label"] == BIRD, what="redo")

    # ? toggles the shortcut help inside the cell.
    help_box = page.locator("[data-testid=help]")
    page.keyboard.press("?")
    help_box.wait_for(state="visible")
    assert "Undo" in help_box.inner_text()
    page.keyboard.press("?")
    help_box.wait_for(state="hidden")


def test_draw_polygon(lab, images, db):
    page, view = open_annotator(lab, images, db)
    page.locator("[data-testid=tool-polygon]").click()
    corners = [(300, 300), (900, 250), (1000, 700), (350, 800)]
    for x, y in corners:
        view.click(x, y)
    view.click(*corners[0])  # clicking the first vertex closes the outline

    recs = wait_objects(db, lambda r: len(r) == 1, what="the polygon")
    points = recs[0]["points"]
    assert len(points) == 4
    for got, want in zip(points, corners):
        assert close(got, want), (got, want)
    assert close(recs[0]["bbox"], [300, 250, 1000, 800])


def test_drag_a_keypoint(lab, images, db):
    page, view = open_annotator(lab, images, db, options=", tool='keypoints'")
    view.drag((500, 150), (1100, 950))  # a keypoint set laid out in the dragged box
    recs = wait_objects(db, lambda r: len(r) == 1 and r[0]["keypoints"], what="keypoints")
    before = recs[0]["keypoints"]
    assert len(before) >= 5 and all(k[2] == 2 for k in before)

    x0, y0 = before[0][:2]
    view.drag((x0, y0), (x0 + 150, y0 + 100))
    recs = wait_objects(
        db, lambda r: abs(r[0]["keypoints"][0][0] - x0) > 50, what="the dragged keypoint"
    )
    after = recs[0]["keypoints"]
    assert close(after[0], [x0 + 150, y0 + 100, 2]), after[0]
    assert after[1:] == before[1:]  # only that point moved
    assert kinds(db)[-1] == "moved"


def test_accept_and_reject_predictions(lab, images, db):
    _, items = images
    truth = items[0]["boxes"][0]
    setup = (
        "ds.annotate('img_000', ["
        f"dict(label={RACCOON!r}, bbox={truth!r}, score=0.91),"
        f"dict(label={RACCOON!r}, bbox=[1650, 40, 1880, 200], score=0.18)],"
        " source='model@v1', status='review')\n"
    )
    page, view = open_annotator(lab, images, db, setup)
    page.wait_for_timeout(500)  # let the photo decode and paint
    if os.environ.get("NBLABEL_UPDATE_SCREENSHOT") == "1":
        page.locator("[data-testid=annotator]").last.screenshot(
            path=str(ROOT / "docs/annotator.png")
        )

    view.click((truth[0] + truth[2]) / 2, (truth[1] + truth[3]) / 2)
    page.keyboard.press("a")
    recs = wait_objects(db, lambda r: r[0]["score"] is None, what="the accepted prediction")
    assert recs[0]["source"] == "human" and close(recs[0]["bbox"], truth)
    assert recs[1]["score"] == pytest.approx(0.18)  # the other prediction is untouched

    view.click(1765, 120)
    page.keyboard.press("x")
    recs = wait_objects(db, lambda r: len(r) == 1, what="the rejected prediction")
    assert recs[0]["source"] == "human"
    assert kinds(db)[-2:] == ["accepted", "rejected"]
    assert nbl.Dataset.open(db).row("img_000")["status"] == "review"  # until submitted


def test_submit_and_go_to_the_next_image(lab, images, db):
    page, view = open_annotator(lab, images, db)
    file_name = page.locator("[data-testid=file-name]").last
    assert file_name.inner_text() == "img_000.jpg"

    def pixels():
        return page.evaluate(
            """sel => { const c = [...document.querySelectorAll(sel)].pop();
                 const g = c.getContext('2d'); const out = [];
                 for (const [fx, fy] of [[.2, .3], [.5, .5], [.8, .7], [.3, .8]])
                   out.push(...g.getImageData(c.width * fx | 0, c.height * fy | 0, 1, 1).data);
                 return out; }""",
            CANVAS,
        )

    first = wait_for(lambda: (p := pixels()) and any(p[:3]) and p, what="the first photo")
    view.drag((200, 200), (600, 500))
    wait_objects(db, lambda r: len(r) == 1, what="the drawn box")
    page.keyboard.press("Enter")

    ds = wait_for(
        lambda: (d := nbl.Dataset.open(db)).row("img_000")["status"] == "verified" and d,
        what="img_000 verified",
    )
    assert close(ds.row("img_000")["annotations"][0]["bbox"], [200, 200, 600, 500])
    assert ds.row("img_001")["status"] == "unlabeled"
    wait_for(lambda: file_name.inner_text() == "img_001.jpg", what="the next file name")
    assert lab.eval("w.key") == "img_001"
    wait_for(lambda: pixels() != first, what="the next photo painted")

    # n / p step through the images.
    page.keyboard.press("n")
    wait_for(lambda: file_name.inner_text() == "img_002.jpg", what="n")
    page.keyboard.press("p")
    wait_for(lambda: file_name.inner_text() == "img_001.jpg", what="p")


def test_class_names_are_shown_as_text(lab, images, db):
    evil = "<img src=x onerror=alert(1)>"
    setup = f"ds.annotate('img_000', [dict(label={evil!r}, bbox=[400, 300, 1000, 800])])\n"
    page, view = open_annotator(lab, images, db, setup, classes=(evil, RACCOON))
    root = page.locator("[data-testid=annotator]").last

    options = root.locator("[data-testid=class-select] option").all_inner_texts()
    assert any(evil in o for o in options), options
    view.click(700, 550)
    selection = root.locator("[data-testid=selection]")
    wait_for(lambda: evil in selection.inner_text(), what="the selection line")
    page.wait_for_timeout(300)  # time for an injected <img> to fail and fire onerror
    assert root.locator("img").count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert lab.dialogs == []


def test_submit_leaves_out_hidden_predictions(lab, images, db):
    # A 0.91 prediction the user sees and a 0.18 one hidden by "hide below" (threshold 0.25):
    # submitting keeps what was on screen, and the hidden one never becomes a verified label.
    _, items = images
    truth = items[0]["boxes"][0]
    setup = (
        "ds.annotate('img_000', ["
        f"dict(label={RACCOON!r}, bbox={truth!r}, score=0.91),"
        f"dict(label={RACCOON!r}, bbox=[1650, 40, 1880, 200], score=0.18)],"
        " source='model@v1', status='review')\n"
    )
    page, view = open_annotator(lab, images, db, setup)
    view.click(1800, 1000)  # focus the widget (a click on empty image draws nothing)
    page.keyboard.press("h")
    wait_for(lambda: lab.eval("w.hide_below") is True, what="hide below on")
    page.keyboard.press("Enter")

    ds = wait_for(
        lambda: (d := nbl.Dataset.open(db)).row("img_000")["status"] == "verified" and d,
        what="img_000 verified",
    )
    recs = ds.row("img_000")["annotations"]
    assert len(recs) == 1, recs
    assert recs[0]["score"] == pytest.approx(0.91) and close(recs[0]["bbox"], truth)
    assert ds.events()["n_objects"].iloc[-1] == 1


def test_a_dragged_suggestion_is_kept_and_an_ignored_one_left_out(lab, images, db):
    # Two predictions under the 0.25 threshold are faint suggestions (hide below is off).
    # Dragging one into place makes it the user's label; Enter leaves the other one out.
    setup = (
        "ds.annotate('img_000', ["
        f"dict(label={RACCOON!r}, bbox=[300, 300, 700, 700], score=0.2),"
        f"dict(label={RACCOON!r}, bbox=[1650, 40, 1880, 200], score=0.18)],"
        " source='model@v1', status='review')\n"
    )
    page, view = open_annotator(lab, images, db, setup)
    assert lab.eval("w.hide_below") is False
    view.drag((500, 500), (560, 540))  # grab the faint box by its middle and move it
    recs = wait_objects(db, lambda r: r[0]["score"] is None, what="the taken suggestion")
    assert recs[0]["source"] == "human" and close(recs[0]["bbox"], [360, 340, 760, 740])
    page.keyboard.press("Enter")
    ds = wait_for(
        lambda: (d := nbl.Dataset.open(db)).row("img_000")["status"] == "verified" and d,
        what="img_000 verified",
    )
    recs = ds.row("img_000")["annotations"]
    assert len(recs) == 1 and recs[0]["score"] is None, recs
    assert close(recs[0]["bbox"], [360, 340, 760, 740])
    # the message comes after the write that made the row verified: waited for, not raced
    wait_for(
        lambda: "1 suggestion below 0.25 left out" in lab.eval("w.message"),
        what="the message naming the suggestion left out",
    )


def test_enter_on_an_empty_image_asks_and_shift_enter_never_submits(lab, images, db):
    page, view = open_annotator(lab, images, db)
    root = page.locator("[data-testid=annotator]").last
    message = root.locator("[data-testid=message]")
    view.click(1800, 1000)  # focus the widget; img_000 has no objects

    page.keyboard.press("Enter")  # a notebook habit: must not verify an empty image
    wait_for(lambda: "Nothing here" in message.inner_text(), what="the hint about 'e'")
    page.keyboard.press("Shift+Enter")  # runs a cell elsewhere; never submits here
    wait_for(lambda: "Shift+Enter" in message.inner_text(), what="the Shift+Enter hint")
    root.locator("[data-testid=submit]").click()  # the Submit button asks the same
    page.wait_for_timeout(500)
    ds = nbl.Dataset.open(db)
    assert ds.row("img_000")["status"] == "unlabeled"
    assert "submit" not in kinds(db)
    assert lab.eval("w.key") == "img_000"

    # With a box drawn, Shift+Enter still does not submit; Enter does.
    view.drag((200, 200), (600, 500))
    wait_objects(db, lambda r: len(r) == 1, what="the drawn box")
    page.keyboard.press("Shift+Enter")
    page.wait_for_timeout(500)
    assert nbl.Dataset.open(db).row("img_000")["status"] == "unlabeled"

    # "Nothing here" is a deliberate key of its own: e verifies img_001 with no objects.
    page.keyboard.press("Enter")
    wait_for(lambda: lab.eval("w.key") == "img_001", what="img_000 submitted")
    # the browser must show img_001 before e means it: a key pressed while the old image is
    # still on screen is about that image, which has a box, and is refused
    file_name = root.locator("[data-testid=file-name]")
    wait_for(lambda: file_name.inner_text() == "img_001.jpg", what="img_001 on screen")
    page.keyboard.press("e")
    ds = wait_for(
        lambda: (d := nbl.Dataset.open(db)).row("img_001")["status"] == "verified" and d,
        what="img_001 verified as empty",
    )
    assert ds.row("img_001")["annotations"] == []
    assert kinds(db)[-1] == "submit"
    wait_for(lambda: lab.eval("w.key") == "img_002", what="the next image")

    help_box = root.locator("[data-testid=help]")
    page.keyboard.press("?")
    help_box.wait_for(state="visible")
    text = help_box.inner_text()
    assert "Nothing here" in text and "Shift + Enter" in text


def test_undo_and_moving_on_refresh_the_class_and_selection_line(lab, images, db):
    setup = f"ds.annotate('img_000', [dict(label={RACCOON!r}, bbox=[400, 300, 1000, 800])])\n"
    page, view = open_annotator(lab, images, db, setup)
    root = page.locator("[data-testid=annotator]").last
    select = root.locator("[data-testid=class-select]")
    selection = root.locator("[data-testid=selection]")

    view.click(700, 550)
    wait_for(lambda: RACCOON in selection.inner_text(), what="the selection line")
    page.keyboard.press("2")
    wait_objects(db, lambda r: r[0]["label"] == BIRD, what="label 2 (bird)")
    wait_for(lambda: BIRD in selection.inner_text(), what="bird in the selection line")

    page.keyboard.press("Control+z")
    wait_objects(db, lambda r: r[0]["label"] == RACCOON, what="undo")
    wait_for(
        lambda: RACCOON in selection.inner_text() and BIRD not in selection.inner_text(),
        what=f"the selection line after undo; it shows {selection.inner_text()!r}",
    )
    wait_for(lambda: select.input_value() == RACCOON, what="the class dropdown after undo")
    page.keyboard.press("Control+Shift+z")
    wait_for(lambda: select.input_value() == BIRD, what="the class dropdown after redo")

    page.keyboard.press("n")  # img_001 has no objects: nothing is selected there
    wait_for(lambda: lab.eval("w.key") == "img_001", what="the next image")
    wait_for(lambda: selection.inner_text().strip() == "", what="an empty selection line")


def test_a_reordering_prediction_keeps_the_selection_on_the_same_object(lab, images, db):
    setup = (
        f"ds.annotate('img_000', [dict(label={RACCOON!r}, bbox=[100, 100, 500, 500], score=0.9),"
        f" dict(label={BIRD!r}, bbox=[1200, 300, 1700, 800], score=0.8)], source='m@1')\n"
    )
    page, view = open_annotator(lab, images, db, setup)
    selection = page.locator("[data-testid=annotator]").last.locator("[data-testid=selection]")
    view.click(1450, 550)  # the bird, second in the row
    wait_for(lambda: "prediction 0.80" in selection.inner_text(), what="the bird selected")
    # a model writes the objects again, the bird first now, with new scores
    lab.run_python(
        f"ds.annotate('img_000', [dict(label={BIRD!r}, bbox=[1205, 300, 1700, 805], score=0.7),"
        f" dict(label={RACCOON!r}, bbox=[100, 100, 500, 500], score=0.95)], source='m@2')"
    )
    wait_for(
        lambda: "prediction 0.70" in selection.inner_text(),
        what=f"the bird still selected; the line says {selection.inner_text()!r}",
    )
    assert BIRD in selection.inner_text() and "m@2" in selection.inner_text()


SCROLLER = """sel => {
  let n = [...document.querySelectorAll(sel)].pop();
  while (n && !(n.scrollHeight > n.clientHeight + 10
                && /(auto|scroll)/.test(getComputedStyle(n).overflowY))) n = n.parentElement;
  return n ? n.scrollTop : null;
}"""


def test_the_wheel_scrolls_the_notebook_and_ctrl_wheel_zooms(lab, images, db):
    folder, _ = images
    cells = [
        "import nblabel as nbl\n"
        f"ds = nbl.Dataset.from_folder({str(folder)!r}, db={str(db)!r}, classes=['raccoon'])\n"
        "w = nbl.Annotator(ds)\nw",
        "print('\\n'.join(f'line {i}' for i in range(120)))",  # something to scroll to
    ]
    page = lab.open_notebook(cells)
    view = View(page)
    canvas = page.locator(CANVAS).last
    zoom = lambda: float(canvas.get_attribute("data-zoom") or "nan")  # noqa: E731
    view.painted("img_000")
    assert zoom() == pytest.approx(1.0)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    top = page.evaluate(SCROLLER, CANVAS)

    page.mouse.wheel(0, 300)  # over the canvas, no modifier: the notebook scrolls
    wait_for(lambda: page.evaluate(SCROLLER, CANVAS) > top + 100, what="the notebook to scroll")
    view.next_frame()
    assert zoom() == pytest.approx(1.0)
    message = page.locator("[data-testid=message]").last
    assert "Ctrl" in message.inner_text()  # says how to zoom

    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    top = page.evaluate(SCROLLER, CANVAS)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)  # Ctrl + wheel zooms at the pointer, the notebook stays
    page.keyboard.up("Control")
    wait_for(lambda: zoom() > 1.2, what="Ctrl+wheel to zoom in")
    assert page.evaluate(SCROLLER, CANVAS) == top

    # after a click into the image the plain wheel zooms too, until the pointer leaves it
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("f")
    wait_for(lambda: zoom() == pytest.approx(1.0), what="f to fit")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    wait_for(lambda: zoom() > 1.2, what="the wheel to zoom after a click")
    assert page.evaluate(SCROLLER, CANVAS) == top


def test_the_help_close_button_stays_in_view_when_the_list_scrolls(lab, images, db):
    page, view = open_annotator(lab, images, db)
    root = page.locator("[data-testid=annotator]").last
    view.click(1800, 1000)
    page.keyboard.press("?")
    help_box = root.locator("[data-testid=help]")
    help_box.wait_for(state="visible")
    scrolled = help_box.evaluate("h => { h.scrollTop = h.scrollHeight; return h.scrollTop; }")
    assert scrolled > 0, "the list is longer than the box (else this test checks nothing)"
    view.next_frame()
    outer = help_box.bounding_box()
    close_box = root.locator("[data-testid=help-close]").bounding_box()
    assert close_box["y"] >= outer["y"] - 1, (close_box, outer)
    root.locator("[data-testid=help-close]").click()
    help_box.wait_for(state="hidden")
