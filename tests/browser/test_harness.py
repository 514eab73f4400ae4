"""The browser harness itself, proven on a minimal anywidget before any nblabel widget."""

from __future__ import annotations

import pytest
from support.browser import KernelError, canvas_point

pytestmark = pytest.mark.browser

# A canvas that counts clicks into a traitlet and paints itself in the colour Python sets.
CLICKER = '''
import anywidget, traitlets

class Clicker(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const c = document.createElement("canvas");
      c.className = "nbl-canvas"; c.width = 120; c.height = 80;
      const paint = () => {
        const g = c.getContext("2d");
        g.fillStyle = model.get("color"); g.fillRect(0, 0, c.width, c.height);
        c.dataset.paintedColor = model.get("color");
      };
      c.addEventListener("click", (e) => {
        const r = c.getBoundingClientRect();
        model.set("clicks", model.get("clicks") + 1);
        model.set("last", [Math.round(e.clientX - r.left), Math.round(e.clientY - r.top)]);
        model.save_changes();
      });
      model.on("change:color", paint);
      paint();
      el.appendChild(c);
      return () => model.off("change:color", paint);
    }
    export default { render };
    """
    clicks = traitlets.Int(0).tag(sync=True)
    last = traitlets.List([]).tag(sync=True)
    color = traitlets.Unicode("rgb(255, 0, 0)").tag(sync=True)

w = Clicker()
w
'''


def test_anywidget_round_trip(lab):
    page = lab.open_notebook([CLICKER])
    canvas = page.locator("canvas.nbl-canvas")
    assert canvas.count() == 1

    # Browser -> Python: two real clicks change the traitlets in the kernel.
    x, y = canvas_point(page, 30, 40)
    page.mouse.click(x, y)
    page.mouse.click(x + 50, y + 20)
    assert lab.wait_for(lambda: lab.eval("w.clicks") == 2, what="two clicks in Python")
    assert lab.eval("w.last") == [80, 60]

    # Python -> browser: a trait set from the kernel repaints the canvas.
    lab.run_python("w.color = 'rgb(0, 0, 255)'")
    lab.wait_for(lambda: canvas.get_attribute("data-painted-color") == "rgb(0, 0, 255)")
    pixel = page.evaluate(
        "() => Array.from(document.querySelector('canvas.nbl-canvas')"
        ".getContext('2d').getImageData(5, 5, 1, 1).data)"
    )
    assert pixel == [0, 0, 255, 255]

    # Errors in kernel code come back as readable failures, with the traceback.
    with pytest.raises(KernelError, match="ZeroDivisionError"):
        lab.run_python("1 / 0")


def test_cell_error_is_reported(lab):
    with pytest.raises(KernelError, match=r"(?s)cell 1 .*NameError: name 'undefined_name'"):
        lab.open_notebook(["x = 1", "undefined_name + x"], wait_for_selector=None)
