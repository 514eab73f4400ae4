"""Helpers for browser tests of the Annotator: open it on a Dataset, map image pixels to the
canvas, read what it wrote back from the SQLite journal, read canvas pixels.

The tests build the Dataset in the notebook's kernel and read it back in the test process with
``nblabel.Dataset.open(db)``, so a passing test means the label really reached the user's data.
"""

from __future__ import annotations

import nblabel as nbl

from .browser import CANVAS, drag, wait_for

W, H = 1920, 1080  # size of the images the tests make (make_images)
TOL = 2.0  # pixels of the original image


def open_annotator(lab, folder, db, setup: str = "", classes=("raccoon", "bird"), options=""):
    """Build a Dataset over ``folder`` in the kernel, run ``setup``, show ``w = Annotator``."""
    cells = [
        "import nblabel as nbl\n"
        f"ds = nbl.Dataset.from_folder({str(folder)!r}, db={str(db)!r}, classes={list(classes)!r})\n"
        + setup,
        f"w = nbl.Annotator(ds{options})\nw",
    ]
    page = lab.open_notebook(cells)
    return page, View(page)


class View:
    """Maps original-image pixels to canvas CSS pixels: the image fitted and centred."""

    def __init__(self, page, width: int = W, height: int = H):
        self.page = page
        canvas = page.locator(CANVAS).last
        canvas.evaluate("c => c.scrollIntoView({block: 'center'})")

        def settled():  # the canvas takes its size from the cell once laid out
            a = canvas.bounding_box()
            page.wait_for_timeout(100)
            b = canvas.bounding_box()
            return b if a == b and b["width"] > 300 else None

        box = wait_for(settled, what="the canvas to take its size")
        self.s = min(box["width"] / width, box["height"] / height)
        self.ox = (box["width"] - width * self.s) / 2
        self.oy = (box["height"] - height * self.s) / 2

    def at(self, x: float, y: float) -> tuple[float, float]:
        return self.ox + x * self.s, self.oy + y * self.s

    def click(self, x: float, y: float) -> None:
        box = self.page.locator(CANVAS).last.bounding_box()
        cx, cy = self.at(x, y)
        self.page.mouse.click(box["x"] + cx, box["y"] + cy)

    def drag(self, start, end) -> None:
        drag(self.page, self.at(*start), self.at(*end))

    def painted(self, key: str) -> None:
        """Wait until the canvas shows row ``key``'s picture and one more frame is drawn."""
        canvas = self.page.locator(CANVAS).last
        wait_for(lambda: canvas.get_attribute("data-painted-key") == key, what=f"{key} painted")
        self.next_frame()

    def next_frame(self) -> None:
        """Return after the page drew its next two animation frames (redraws are batched)."""
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )

    def pixels(self, box) -> list[int]:
        """RGBA bytes of the canvas inside ``box`` (original-image pixels), row by row."""
        x1, y1 = self.at(box[0], box[1])
        x2, y2 = self.at(box[2], box[3])
        return self.page.evaluate(
            """([sel, x, y, w, h]) => {
                 const c = [...document.querySelectorAll(sel)].pop();
                 const d = window.devicePixelRatio || 1;
                 const img = c.getContext('2d').getImageData(
                   Math.round(x * d), Math.round(y * d), Math.round(w * d), Math.round(h * d));
                 return Array.from(img.data); }""",
            [CANVAS, x1, y1, max(1, x2 - x1), max(1, y2 - y1)],
        )


def objects(db, key: str = "img_000") -> list[dict]:
    return nbl.Dataset.open(db).row(key)["annotations"]


def wait_objects(db, condition, key: str = "img_000", what: str = "", timeout=20.0) -> list:
    """Poll the journal until ``condition(records)`` holds; return the records."""

    def check():
        records = objects(db, key)
        return (records,) if condition(records) else None  # a 1-tuple: [] can be the answer

    return wait_for(check, timeout=timeout, what=what or f"the Dataset row {key}")[0]


def close(a, b, tol: float = TOL) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b))


def kinds(db) -> list[str]:
    return list(nbl.Dataset.open(db).events()["kind"])


def page_errors(lab) -> list[str]:
    """Errors the page logged: uncaught exceptions and console.error calls."""
    return [m for m in lab.console if m.startswith(("[pageerror]", "[error]"))]
