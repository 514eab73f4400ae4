"""The setup panel in a real JupyterLab and Chromium: the form renders, Start opens the editor.

A 20-image dataset has its auto-label count fixed, so the count input must be disabled on
screen. Clicking Start (General AI on a tiny checkpoint given as weights) must end with the
Annotator's canvas under the panel while the predictions are in the Dataset's journal.
"""

from __future__ import annotations

import os

import pytest
from support.browser import CANVAS

import nblabel as nbl

pytestmark = pytest.mark.browser

N = 20


@pytest.fixture()
def folder(raccoon_dir, tmp_path):
    dest = tmp_path / "images"
    dest.mkdir()
    for src in sorted((raccoon_dir / "images").glob("*.jpg"))[:N]:
        os.symlink(src, dest / src.name)
    return dest


def test_panel_renders_and_start_opens_the_annotator(lab, folder, det_checkpoint, tmp_path):
    db = tmp_path / "labels.db"
    page = lab.open_notebook(
        [
            f"import nblabel as nbl\nds = nbl.Dataset.from_folder({str(folder)!r}, db={str(db)!r})",
            f"panel = nbl.setup_panel(ds, weights={str(det_checkpoint)!r})\npanel",
        ],
        wait_for_selector=".nbl-setup-panel",
    )
    panel = page.locator(".nbl-setup-panel")
    assert panel.get_by_text("General AI", exact=True).is_visible()
    assert panel.get_by_text("fixed: fewer than 100 images").is_visible()
    count = panel.locator(".nbl-setup-count input")
    assert count.is_disabled()  # fewer than 100 images: the count cannot be changed
    assert count.input_value() == str(N)
    assert page.locator(CANVAS).count() == 0

    panel.locator("button.nbl-setup-start").click()
    page.locator(CANVAS).last.wait_for(state="visible", timeout=150_000)
    lab.wait_for(lambda: not lab.eval("panel.running"), what="the panel's run to end")
    assert lab.eval("panel.error_traceback") is None
    assert lab.eval("type(panel.annotator).__name__") == "Annotator"
    message = panel.locator(".nbl-setup-message")
    assert f"Auto-labeled {N} of {N} images" in message.inner_text()

    # the predictions reached the journal, written by the model the panel built
    df = nbl.Dataset.open(db).df
    assert set(df["status"]) <= {"review", "auto"}
    assert set(df["source"]) == {lab.eval("panel.model.version")}
