"""The review grid in a real JupyterLab: a thumbnail click opens the image in the Annotator
and brings the Annotator, cells above, into view."""

from __future__ import annotations

import pytest
from support.annotator_page import H, W
from support.browser import CANVAS, make_images, wait_for

pytestmark = pytest.mark.browser

IN_VIEW = """sel => {
  const r = [...document.querySelectorAll(sel)].pop().getBoundingClientRect();
  return r.bottom > 0 && r.top < window.innerHeight;
}"""


def test_a_thumbnail_click_brings_the_annotator_into_view(lab, raccoon_dir, tmp_path, db):
    folder = tmp_path / "images"
    folder.mkdir()
    make_images(raccoon_dir, folder, 3, size=(W, H))
    cells = [
        "import nblabel as nbl\n"
        "from nblabel.widgets.review import ReviewGrid\n"
        f"ds = nbl.Dataset.from_folder({str(folder)!r}, db={str(db)!r}, classes=['raccoon'])\n"
        "for i, key in enumerate(ds.keys()):\n"
        "    box = dict(label='raccoon', bbox=[300, 200, 900, 800], score=0.3 + 0.2 * i)\n"
        "    ds.annotate(key, [box], source='model@v1', status='review')\n"
        "w = nbl.Annotator(ds)\nw",
        "print('\\n'.join(f'line {i}' for i in range(150)))",  # the grid is far below
        "grid = ReviewGrid(ds, annotator=w, page_size=3, columns=3, thumb=160)\ngrid",
    ]
    page = lab.open_notebook(cells)
    assert lab.eval("grid.keys_on_page") == ["img_000", "img_001", "img_002"]
    thumbs = page.locator(".jp-OutputArea-output canvas:not(.nbl-canvas)").last
    thumbs.scroll_into_view_if_needed()
    wait_for(lambda: not page.evaluate(IN_VIEW, CANVAS), what="the Annotator out of view")

    box = thumbs.bounding_box()
    # thumbnails are drawn at their own size, not stretched to the cell's width
    assert box["width"] == pytest.approx(thumbs.evaluate("c => c.width"), abs=1)
    cell = lab.eval("grid.cell_w")
    page.mouse.click(box["x"] + cell * 1.5, box["y"] + 40)  # the second thumbnail
    wait_for(lambda: lab.eval("w.key") == "img_001", what="img_001 opened in the Annotator")
    wait_for(lambda: page.evaluate(IN_VIEW, CANVAS), what="the Annotator scrolled into view")
    focused = page.evaluate("() => document.activeElement.dataset.testid")
    assert focused == "annotator"  # keys go to it at once
