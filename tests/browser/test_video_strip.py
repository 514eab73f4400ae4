"""The Annotator's frame strip in a real JupyterLab and Chromium, on a clip of real images.

A box drawn on frame 0 and propagated with the strip's button lands on the next frames in the
journal, with one track id; the strip's cells and the , / . keys move between frames. With
``NBLABEL_SCREENSHOTS=<folder>`` it leaves a screenshot of the widget there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.annotator_page import View, close
from support.browser import drag, wait_for
from support.clips import SIZE, T, crossing_clip

import nblabel as nbl
from nblabel.core.palette import STATUS_COLORS, ink_on
from nblabel.core.statuses import PREDICTED

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip(raccoon_dir, shared_dir, tmp_path_factory):
    return crossing_clip(raccoon_dir, shared_dir, tmp_path_factory.mktemp("strip"))


def _rgb(hex_colour: str) -> str:
    """``#rrggbb`` as the browser's computed style writes it."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _style(locator, prop: str) -> str:
    return locator.evaluate(f"e => getComputedStyle(e).{prop}")


def _frame_of(db, key) -> int:
    return int(nbl.Dataset.open(db).df.at[key, "frame"])


def test_strip_propagate_and_frame_keys(lab, clip, tmp_path):
    path, _ = clip
    db = tmp_path / "clip.db"
    cells = [
        "import nblabel as nbl\n"
        f"ds = nbl.Dataset.from_video({str(path)!r}, every=1, db={str(db)!r}, "
        "classes=['raccoon'], progress=False)",
        "w = nbl.Annotator(ds)\nw",
    ]
    page = lab.open_notebook(cells)
    view = View(page, *SIZE)
    strip = page.locator("[data-testid=frame-cell]")
    wait_for(lambda: strip.count() == T, what="one strip cell per frame")
    assert page.locator("[data-testid=video-bar]").is_visible()

    # draw on frame 0, propagate to the next 3 frames with the strip's button
    drag(page, view.at(40, 50), view.at(120, 150))
    wait_for(lambda: lab.eval("len(w.annotations)") == 1, what="the drawn box")
    page.locator("[data-testid=propagate-n]").fill("3")
    page.locator("[data-testid=propagate]").click()

    def propagated():
        d = nbl.Dataset.open(db)
        return d if len(d.row(sorted(d.keys())[3])["annotations"]) == 1 else None

    ds = wait_for(propagated, what="the propagated frames in the journal")
    keys = sorted(ds.keys(), key=lambda k: ds.df.at[k, "frame"])
    first = ds.row(keys[0])["annotations"][0]
    assert first["keyframe"] and close(first["bbox"], [40, 50, 120, 150])
    for k in keys[1:4]:
        (rec,) = ds.row(k)["annotations"]
        assert rec["propagated"] and rec["track"] == first["track"]
        assert rec["bbox"] == first["bbox"]
    assert ds.row(keys[4])["annotations"] == []
    wait_for(
        lambda: page.locator("[data-testid=frame-cell][data-status=predicted]").count() == 3,
        what="the strip showing the propagated frames",
    )
    # the colours are Python's (nblabel.core.palette), sent to the widget: a propagated cell,
    # and the badge of the image on screen with the text colour that reads on it
    cell = page.locator("[data-testid=frame-cell][data-status=predicted]").first
    assert _style(cell, "backgroundColor") == _rgb(STATUS_COLORS[PREDICTED])
    badge = page.locator("[data-testid=status]")
    shown = badge.get_attribute("data-status")
    assert _style(badge, "backgroundColor") == _rgb(STATUS_COLORS[shown])
    assert _style(badge, "color") == _rgb(ink_on(STATUS_COLORS[shown]))

    # a strip cell opens its frame; , and . step through frames
    strip.nth(10).click()
    wait_for(lambda: _frame_of(db, lab.eval("w.key")) == 10, what="frame 10 from the strip")
    page.keyboard.press(".")
    wait_for(lambda: _frame_of(db, lab.eval("w.key")) == 11, what="the next frame")
    page.keyboard.press(",")
    page.keyboard.press(",")
    wait_for(lambda: _frame_of(db, lab.eval("w.key")) == 9, what="two frames back")
    # the kernel answers `w.key` before the browser has drawn the update it sent: wait for it
    label = page.locator("[data-testid=frame-label]")
    wait_for(lambda: "frame 9" in label.inner_text(), what="the label of frame 9")
    assert "frame 9" in label.inner_text()
    shots = os.environ.get("NBLABEL_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.locator("[data-testid=annotator]").screenshot(path=str(Path(shots) / "video.png"))
