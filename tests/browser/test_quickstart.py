"""The quickstart as a new user meets it: its cells run in a real JupyterLab, then the user
labels in the Annotator with mouse and keys, and the journal holds what they did.

With ``NBLABEL_SCREENSHOTS=<folder>`` each step leaves a screenshot there (for looking at
the product, not for comparing pixels).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from support.annotator_page import View, close
from support.browser import wait_for

import nblabel as nbl

pytestmark = pytest.mark.browser

QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def test_quickstart_then_label_in_the_annotator(lab, shared_dir, tmp_path):
    shots = os.environ.get("NBLABEL_SCREENSHOTS")

    def shot(name: str) -> None:
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"{name}.png"))

    nb = nbformat.read(QUICKSTART, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    page = lab.open_notebook(cells, timeout=300)
    db = Path(lab.eval("str(ds.db_path)"))
    first = lab.eval("annotator.key")
    size = lab.eval(
        "[int(ds.df.at[annotator.key, 'width']), int(ds.df.at[annotator.key, 'height'])]"
    )
    n_cells = page.locator(".jp-Cell").count()
    page.locator(".nbl-root").last.scroll_into_view_if_needed()
    view = View(page, *size)
    view.painted(str(first))
    shot("1-annotator")

    w, h = size
    box = [0.25 * w, 0.2 * h, 0.75 * w, 0.8 * h]
    view.drag(box[:2], box[2:])
    wait_for(lambda: len(nbl.Dataset.open(db).row(first)["annotations"]) == 1, what="the drawn box")
    shot("2-box-drawn")

    page.keyboard.press("Shift+Enter")  # a notebook habit: neither submits nor runs a cell
    page.keyboard.press("Enter")
    ds = wait_for(
        lambda: (d := nbl.Dataset.open(db)).row(first)["status"] == "verified" and d,
        what="the first image verified",
    )
    recs = ds.row(first)["annotations"]
    assert len(recs) == 1 and close(recs[0]["bbox"], box, tol=3), recs
    wait_for(lambda: lab.eval("annotator.key") != first, what="the next image")
    second = lab.eval("annotator.key")
    view.painted(str(second))  # the key below must reach the image now on screen
    shot("3-submitted")

    page.keyboard.press("Enter")  # the next image is empty: Enter only says how to verify it
    message = page.locator("[data-testid=message]").last
    wait_for(lambda: "Nothing here" in message.inner_text(), what="the empty-image hint")
    shot("4-empty-image-hint")
    page.keyboard.press("?")
    page.locator("[data-testid=help]").last.wait_for(state="visible")
    shot("5-help")
    page.keyboard.press("Escape")
    assert page.locator(".jp-Cell").count() == n_cells  # no key reached JupyterLab
    assert nbl.Dataset.open(db).row(second)["status"] == "unlabeled"
