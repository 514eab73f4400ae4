"""The loop's status bar and the setup panel in a real JupyterLab and Chromium, as a newcomer
sees them: a failed retrain is said in the bar, as text, until a retrain succeeds; the bar is
never clipped while training; the panel's hints are read whole; an error goes away once the
setting it was about changes."""

from __future__ import annotations

import pytest
from support.browser import CANVAS, make_images, wait_for

pytestmark = pytest.mark.browser

# Every child of the bar shows its whole text inside the bar (no ellipsis, nothing past the
# right edge). Returns the offenders.
CLIPPED = """sel => {
  const bar = [...document.querySelectorAll(sel)].pop();
  const edge = bar.getBoundingClientRect().right + 1;
  return [...bar.children]
    .filter(el => el.offsetParent !== null)
    .filter(el => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > edge)
    .map(el => el.textContent);
}"""

# Width of an input's placeholder in its own font, and the room the input has for it.
PLACEHOLDER = """sel => {
  const el = [...document.querySelectorAll(sel + ' input')].pop();
  const cs = getComputedStyle(el);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
  const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  return {text: el.placeholder, width: ctx.measureText(el.placeholder).width, room};
}"""

LONG_EPOCH = "epoch 3/10 box loss 1.2345 cls loss 0.9876 dfl loss 1.1111 about 12 s left"

LEARNER = f"""
import threading
go = threading.Event()

class Learner:
    classes = ["raccoon"]
    version = "learner@0"
    fits = 0

    def predict(self, images):
        return [[] for _ in images]

    def fit(self, ds, keys=None, progress=None):
        self.fits += 1
        if self.fits == 1:
            raise RuntimeError("<b>CUDA</b> out of memory: tried to allocate 2.00 GiB")
        progress(0.3, {LONG_EPOCH!r})
        go.wait(120)
        self.version = f"learner@{{self.fits}}"
        return self
"""


def test_a_failed_retrain_shows_in_the_status_bar_until_one_succeeds(
    lab, raccoon_dir, tmp_path, db
):
    folder = tmp_path / "images"
    make_images(raccoon_dir, folder, 3, size=(640, 480))
    page = lab.open_notebook(
        [
            "import nblabel as nbl\nfrom nblabel.loop import AutoLabeler\n" + LEARNER,
            f"ds = nbl.Dataset.from_folder({str(folder)!r}, db={str(db)!r}, classes=['raccoon'])\n"
            "loop = AutoLabeler(ds, Learner(), retrain_every=1)\nview = loop.widget()\nview",
        ]
    )
    failure = page.locator(".nbl-loop-failure")
    assert not failure.is_visible()
    box = "[dict(label='raccoon', bbox=[10, 10, 200, 200])]"
    lab.run_python(f"ds.annotate(ds.keys()[0], {box}, kind='submit'); loop.wait(60)")
    failure.wait_for(state="visible", timeout=20_000)
    text = failure.inner_text()
    # the model's words are shown as characters, never as markup
    assert text == "retrain failed: RuntimeError: <b>CUDA</b> out of memory: tried to allocate " \
        "2.00 GiB (details below)"  # fmt: skip
    assert failure.locator("b").count() == 0
    bar = page.locator(".nbl-loop-bar")
    assert "idle" in bar.inner_text()
    assert page.evaluate(CLIPPED, ".nbl-loop-bar") == []

    # the next retrain trains: its long epoch line and the old failure are both read whole
    lab.run_python(f"ds.annotate(ds.keys()[1], {box}, kind='submit')")
    wait_for(lambda: LONG_EPOCH in bar.inner_text(), timeout=20, what="the epoch line")
    assert failure.is_visible()
    assert page.evaluate(CLIPPED, ".nbl-loop-bar") == []
    page.screenshot(path=str(tmp_path / "training.png"))

    lab.run_python("go.set(); loop.wait(60)")
    failure.wait_for(state="hidden", timeout=20_000)
    wait_for(lambda: "learner@2" in bar.inner_text(), timeout=20, what="the new version")
    assert page.locator(CANVAS).last.is_visible()


def test_the_setup_panel_reads_whole_and_drops_a_stale_error(lab, raccoon_dir, tmp_path, db):
    folder = tmp_path / "images"
    make_images(raccoon_dir, folder, 3, size=(640, 480))
    page = lab.open_notebook(
        [
            "import os\nimport nblabel as nbl\n"
            "os.environ['NBLABEL_OFFLINE'] = '1'\nos.environ.pop('NBLABEL_WEIGHTS_DIR', None)\n"
            f"ds = nbl.Dataset.from_folder({str(folder)!r}, db={str(db)!r}, "
            "classes=['raccoon', 'person'])",
            "panel = nbl.setup_panel(ds)\npanel",
        ],
        wait_for_selector=".nbl-setup-panel",
    )
    panel = page.locator(".nbl-setup-panel")
    note = panel.locator(".nbl-setup-classes-note")
    assert "not predicted by human: raccoon" in note.inner_text()
    assert lab.eval("[panel.category_input.value, list(panel.classes_input.value)]") == [
        "human",
        ["person"],
    ]
    page.screenshot(path=str(tmp_path / "general.png"))

    for category in ("human", "semantic segmentation", "human keypoints", "face points"):
        lab.run_python(f"panel.category_input.value = {category!r}")
        wanted = lab.eval("panel.weights_input.placeholder")
        wait_for(
            lambda w=wanted: page.evaluate(PLACEHOLDER, ".nbl-setup-weights")["text"] == w,
            timeout=10,
            what=f"the placeholder of {category}",
        )
        hint = page.evaluate(PLACEHOLDER, ".nbl-setup-weights")
        assert hint["width"] <= hint["room"], hint

    panel.get_by_text("Custom AI", exact=True).click()
    page.locator(".nbl-setup-base input").last.wait_for(state="visible")
    hint = page.evaluate(PLACEHOLDER, ".nbl-setup-base")
    assert hint["width"] <= hint["room"], hint

    # General AI with a checkpoint that cannot be had offline: a red error ...
    panel.get_by_text("General AI", exact=True).click()
    lab.run_python("panel.weights_input.value = 'yolo11x.pt'")
    panel.locator("button.nbl-setup-start").click()
    message = panel.locator(".nbl-setup-message")
    wait_for(lambda: "yolo11x.pt" in message.inner_text(), timeout=60, what="the error")
    assert message.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 1
    # ... that goes once the person switches AI
    panel.get_by_text("Custom AI", exact=True).click()
    wait_for(lambda: message.inner_text().strip() == "", timeout=10, what="the error to go")
    page.screenshot(path=str(tmp_path / "panel.png"))
