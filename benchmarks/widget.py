"""How fast the Annotator moves to the next image, and how many bytes each image costs.

Runs a real JupyterLab server and headless Chromium (the browser-test harness), shows
``nbl.Annotator`` on 1920x1080 photos and presses "n" (next image) over and over. For each press
it times, inside the page, from the keydown to the moment the new photo is drawn on the canvas
(the first ``drawImage`` of a bitmap not drawn before). It also records the size of every image
buffer the widget sends.

The baseline, run the same way in the same notebook, is the obvious widget: on "n" it sends the
original JPEG file as it is and the browser decodes and draws it.

Usage:
    python benchmarks/widget.py [--images 50] [--pause 0.1]

``--pause`` is extra time between paint and the next press; in any case the next press waits
until the kernel is idle, i.e. until the Annotator has prefetched the following image (a
reviewer who spends at least that long, a fraction of a second, on an image). Needs /usr/bin/chromium (scripts/install_browser.sh) and the
raccoon data set (``NBLABEL_SHARED``, default ../shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the harness lives with the browser tests

from support.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    Lab,
    LabServer,
    make_images,
    wait_for,
)

TARGET_P95_MS = 150.0
TARGET_BYTES = 400 * 1024

# Installed before JupyterLab loads: timestamps for "n" key presses and for every drawImage of
# a bitmap onto one of the two canvases, with an id per bitmap object.
HOOK = """
(() => {
  const ids = new WeakMap(); let next = 1;
  const bench = window.__bench = { presses: [], paints: [] };
  window.addEventListener('keydown', (e) => {
    if (e.key === 'n') bench.presses.push(performance.now());
  }, true);
  const orig = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (img, ...rest) {
    const cls = this.canvas && this.canvas.className;
    if ((cls === 'nbl-canvas' || cls === 'bench-baseline') && typeof img === 'object') {
      if (!ids.has(img)) ids.set(img, next++);
      bench.paints.push({ cls, t: performance.now(), id: ids.get(img) });
    }
    return orig.call(this, img, ...rest);
  };
})();
"""

BASELINE = '''
import anywidget, traitlets
from pathlib import Path

class FullJpeg(anywidget.AnyWidget):
    """Sends the original file on every "n" and draws it fitted on a canvas."""
    _esm = """
    function render({ model, el }) {
      const root = document.createElement("div");
      root.tabIndex = 0; root.className = "bench-baseline-root";
      root.dataset.lmSuppressShortcuts = "true";
      const c = document.createElement("canvas");
      c.className = "bench-baseline"; c.width = 1090; c.height = 613;
      const g = c.getContext("2d");
      root.addEventListener("keydown", (e) => {
        if (e.key !== "n") return;
        e.preventDefault(); e.stopPropagation();
        model.set("index", model.get("index") + 1); model.save_changes();
      });
      const show = async () => {
        const dv = model.get("image");
        if (!dv || !dv.byteLength) return;
        const bmp = await createImageBitmap(new Blob([dv], { type: "image/jpeg" }));
        const s = Math.min(c.width / bmp.width, c.height / bmp.height);
        g.drawImage(bmp, 0, 0, bmp.width * s, bmp.height * s);
      };
      model.on("change:image", show); show();
      root.appendChild(c); el.appendChild(root);
      return () => model.off("change:image", show);
    }
    export default { render };
    """
    index = traitlets.Int(0).tag(sync=True)
    image = traitlets.Bytes(b"").tag(sync=True)

    def __init__(self, paths):
        super().__init__()
        self.paths = list(paths)
        self._load()

    @traitlets.observe("index")
    def _load(self, change=None):
        self.image = Path(self.paths[min(self.index, len(self.paths) - 1)]).read_bytes()

base = FullJpeg(ds.df["image"])
base
'''


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def wait_kernel_idle(page) -> None:
    """Wait until the kernel has finished all work (e.g. the Annotator's prefetch)."""
    wait_for(
        lambda: (
            page.evaluate(
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
            )
            == "idle"
        ),
        timeout=30,
        interval=0.01,
        what="kernel idle",
    )


def press_next(page, root_selector: str, cls: str) -> float:
    """Press "n" in the widget under ``root_selector``; ms from keydown to the new photo drawn."""
    page.locator(root_selector).last.evaluate("r => r.focus({preventScroll: true})")
    seen = page.evaluate(
        "cls => window.__bench.paints.filter(p => p.cls === cls).map(p => p.id)", cls
    )
    n_press = page.evaluate("() => window.__bench.presses.length")
    page.keyboard.press("n")

    def painted():
        return page.evaluate(
            """([cls, seen, n]) => {
              const b = window.__bench; const t0 = b.presses[n];
              if (t0 === undefined) return null;
              const p = b.paints.find(p => p.cls === cls && p.t >= t0 && !seen.includes(p.id));
              return p ? p.t - t0 : null; }""",
            [cls, seen, n_press],
        )

    return wait_for(painted, timeout=30, interval=0.01, what=f"{cls} paint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument(
        "--pause", type=float, default=0.1, help="extra seconds between paint and press"
    )
    args = parser.parse_args()
    shared = Path(os.environ.get("NBLABEL_SHARED", ROOT.parent / "shared"))
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: run scripts/install_browser.sh")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        items = make_images(shared / "datasets" / "raccoon", tmp / "images", args.images)
        originals = [p["path"].stat().st_size for p in items]
        server = LabServer(tmp / "lab").start()
        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            lab = Lab(server, browser, tmp)
            page = lab.page
            page.add_init_script(HOOK)
            wire = {"bytes": 0}
            page.on(
                "websocket",
                lambda ws: ws.on(
                    "framereceived",
                    lambda data: wire.__setitem__(
                        "bytes",
                        wire["bytes"] + len(data if isinstance(data, bytes) else data.encode()),
                    ),
                ),
            )
            page = lab.open_notebook(
                [
                    "import nblabel as nbl\n"
                    f"ds = nbl.Dataset.from_folder({str(tmp / 'images')!r}, "
                    f"db={str(tmp / 'labels.db')!r}, classes=['raccoon'])\n"
                    "sizes = []\n",
                    "w = nbl.Annotator(ds)\n"
                    "w.observe(lambda c: sizes.append(len(c['new'])), names=['image_a', 'image_b'])\n"
                    "w",
                    BASELINE,
                ],
                wait_for_selector="canvas.bench-baseline",
            )
            display_size = lab.eval("w.display_size")
            steps = len(items) - 1

            # Presses alternate between the two widgets so that whatever else the machine is
            # doing slows both alike. Before each press the kernel must be idle, so one widget's
            # background work (the Annotator's prefetch) never delays the other's turn; the
            # bytes each turn received are counted once it is over. Waiting goes through
            # Playwright (not time.sleep) so that websocket frame events are delivered.
            ours, base, ours_wire, base_wire = [], [], 0, 0
            for _ in range(steps):
                w0 = wire["bytes"]
                ours.append(press_next(page, "[data-testid=annotator]", "nbl-canvas"))
                page.wait_for_timeout(args.pause * 1000)
                wait_kernel_idle(page)
                w1 = wire["bytes"]
                base.append(press_next(page, ".bench-baseline-root", "bench-baseline"))
                page.wait_for_timeout(args.pause * 1000)
                wait_kernel_idle(page)
                ours_wire += w1 - w0
                base_wire += wire["bytes"] - w1
            ours_wire /= steps
            base_wire /= steps
            sent = lab.eval("sizes")
            lab.close()
        finally:
            browser.close()
            pw.stop()
            server.stop()

    per_image = statistics.mean(sent) if sent else float("nan")
    orig = statistics.mean(originals)
    rows = [
        ("nblabel Annotator", ours, per_image, ours_wire),
        ("baseline: original JPEG", base, orig, base_wire),
    ]
    print(
        f"{len(items)} images 1920x1080 JPEG, {steps} 'next' presses each, "
        f"kernel idle + {args.pause:.2f}s between paint and press; Annotator display_size={display_size}; "
        f"{len(sent)} image buffers sent"
    )
    print(
        f"{'':26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'1st ms':>8} "
        f"{'KB/image':>9} {'wire KB/step':>13}"
    )
    for name, lat, size, on_wire in rows:
        print(
            f"{name:26} {statistics.median(lat):8.1f} {percentile(lat, 0.95):8.1f} "
            f"{max(lat):8.1f} {lat[0]:8.1f} {size / 1024:9.1f} {on_wire / 1024:13.1f}"
        )
    print(
        f"ratio baseline/Annotator: p50 {statistics.median(base) / statistics.median(ours):.2f}x, "
        f"p95 {percentile(base, 0.95) / percentile(ours, 0.95):.2f}x, "
        f"bytes {orig / per_image:.2f}x"
    )
    p95 = percentile(ours, 0.95)
    print(
        f"targets: p95 <= {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'MISSED'}"
        f" ({p95:.0f}); <= {TARGET_BYTES // 1024} KB/image: "
        f"{'met' if per_image <= TARGET_BYTES else 'MISSED'} ({per_image / 1024:.0f} KB)"
    )


if __name__ == "__main__":
    main()
