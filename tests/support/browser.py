"""A real JupyterLab server and a real Chromium driven by Playwright.

Browser tests render widgets exactly as a user sees them: a JupyterLab server started from this
interpreter, a notebook written to its root folder, opened in Debian's Chromium, every cell run
through JupyterLab's own "run all" command. Python-side state is then read back either through
the SQLite database the notebook writes (``nblabel.Dataset.open(db)`` in the test process) or by
running more code in the notebook's kernel with :meth:`Lab.run_python` / :meth:`Lab.eval`.

Fixtures:
    ``jupyter_server`` (session): the running server (:class:`LabServer`).
    ``chromium`` (session): a launched Playwright browser.
    ``lab`` (per test): a fresh browser context wrapped in :class:`Lab`; on failure it saves a
    screenshot, the JavaScript console and the server log tail into the test's ``tmp_path``.

Example:
    >>> def test_click(lab):  # doctest: +SKIP
    ...     page = lab.open_notebook(["import nblabel as nbl", "w = make_widget()", "w"])
    ...     page.locator("canvas.nbl-canvas").click(position={"x": 10, "y": 10})
    ...     lab.wait_for(lambda: lab.eval("w.clicks") == 1)
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("NBLABEL_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless Chromium on a container without a GPU, sandbox privileges or network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CANVAS = "canvas.nbl-canvas"
VIEWPORT = {"width": 1280, "height": 1000}

# JupyterLab user settings written into the server's private settings folder: no news or
# update prompts (they pop up toasts over the notebook), and no notebook windowing, so that
# every cell's output is in the DOM and laid out whether or not it is scrolled into view.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"disclaimed": True},
}


class KernelError(AssertionError):
    """Code run in the notebook kernel raised; the message carries the traceback."""


class HarnessError(RuntimeError):
    """The server or browser itself broke (e.g. JupyterLab exited); waiting cannot help."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy and return that value.

    Raises:
        AssertionError: after ``timeout`` seconds, naming ``what`` and the last value or error.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = condition()
            if last:
                return last
        except (KernelError, HarnessError):
            raise  # something failed for good: waiting longer cannot help
        except Exception as e:  # a condition may fail while state is still settling
            last = e
        if time.monotonic() > deadline:
            label = what or getattr(condition, "__name__", "condition")
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {label}; last: {last!r}"
            )
        time.sleep(interval)


class LabServer:
    """A JupyterLab server on 127.0.0.1 with a token, rooted in a temporary folder.

    The server and every kernel it starts get private config, runtime, settings and IPython
    folders, so the user's own Jupyter setup cannot change what the tests see, and kernels can
    import ``nblabel`` from ``src/`` whether or not the package is installed.
    """

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.runtime = base / "runtime"
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "server.log"
        self.proc: subprocess.Popen | None = None

    def _write_settings(self) -> Path:
        settings = self.base / "settings"
        for rel, value in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        return settings

    def start(self, timeout: float = 120.0) -> LabServer:
        for d in (self.root, self.runtime, self.base / "config", self.base / "ipython"):
            d.mkdir(parents=True, exist_ok=True)
        settings = self._write_settings()
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.base / "config"),
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            IPYTHONDIR=str(self.base / "ipython"),
            MPLBACKEND="Agg",
            PYTHONPATH=os.pathsep.join(
                p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
            ),
            # The kernel is a child of the server: it must find the same shared data.
            NBLABEL_SHARED=os.environ.get("NBLABEL_SHARED", str(ROOT.parent / "shared")),
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.base / 'workspaces'}",
            # window.jupyterapp lets tests run JupyterLab commands instead of hunting menus.
            "--LabApp.expose_app_in_browser=True",
            # Nothing may reach the internet: no news feed, no PyPI extension search.
            "--LabApp.news_url=",
            "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and CI images often run as root
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(self.root)
        )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"JupyterLab exited with code {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.api_url("status"), timeout=2) as r:
                    return r.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        try:
            wait_for(ready, timeout=timeout, interval=0.25, what="JupyterLab /api/status")
        except Exception:
            self.stop()
            raise
        return self

    def api_url(self, path: str) -> str:
        return f"{self.url}/api/{path}?token={self.token}"

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.api_url(path), method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def lab_url(self, notebook: str, workspace: str) -> str:
        # A workspace of its own per browser context: JupyterLab otherwise restores the tabs
        # (and restarts the kernels) of every notebook an earlier test opened.
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()


def notebook_json(cells: Iterable[str]) -> dict:
    """An nbformat-4 notebook dict with one code cell per source string."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


# JavaScript run in the page. `window.jupyterapp` exists because of expose_app_in_browser.
_JS_KERNEL_STATE = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.sessionContext || !w.content || !w.content.widgets) return null;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return {path: w.context.path, kernel: kernel ? kernel.id : null,
          status: kernel ? kernel.status : null, cells: w.content.widgets.length};
}"""

_JS_RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const w = app.shell.currentWidget;
  await w.sessionContext.ready;
  await app.commands.execute('notebook:run-all-cells');
}"""

# Each code cell's execution count and, if it raised, its error text.
_JS_CELLS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const outs = c.model.outputs.toJSON();
    const err = outs.find(o => o.output_type === 'error');
    return {count: c.model.executionCount,
            error: err ? err.ename + ': ' + err.evalue + '\\n' + err.traceback.join('\\n') : null};
  });
}"""


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


class Lab:
    """One browser context on the session's JupyterLab, plus a line into the open kernel."""

    def __init__(self, server: LabServer, browser, workdir: Path):
        self.server = server
        self.workdir = workdir
        self.context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        # Any alert()/confirm() a widget opens is recorded and dismissed, never left to block.
        self.dialogs: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.workspace = f"w{secrets.token_hex(4)}"
        self.kernel_id: str | None = None
        self._client = None
        self._notebooks: list[str] = []

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    # -- notebooks -----------------------------------------------------------------------
    def open_notebook(
        self,
        cells: Iterable[str],
        name: str | None = None,
        wait_for_selector: str | None = CANVAS,
        timeout: float = 120.0,
    ):
        """Write a notebook with ``cells``, open it in JupyterLab, run all cells, return the page.

        Waits until the kernel is idle, every cell has run, and (unless ``wait_for_selector``
        is None) the selector is visible. A cell that raised fails the test with its traceback.
        """
        name = name or f"nb_{secrets.token_hex(4)}.ipynb"
        path = self.server.root / name
        path.write_text(json.dumps(notebook_json(cells)))
        self._notebooks.append(name)
        page = self.page
        page.goto(self.server.lab_url(name, self.workspace), wait_until="domcontentloaded")

        def kernel_idle():
            self.dismiss_dialogs()
            state = page.evaluate(_JS_KERNEL_STATE)
            ok = state and state["path"] == name and state["kernel"] and state["status"] == "idle"
            return state if ok else None

        state = wait_for(kernel_idle, timeout=timeout, interval=0.25, what=f"kernel of {name}")
        self.kernel_id = state["kernel"]
        self._close_client()
        # Fold the file browser away so the widget gets the width a user would give it.
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        page.evaluate(_JS_RUN_ALL)

        def all_ran():
            self.dismiss_dialogs()
            cells_state = page.evaluate(_JS_CELLS)
            for i, c in enumerate(cells_state):
                if c["error"]:
                    raise KernelError(f"cell {i} of {name} raised:\n{_strip_ansi(c['error'])}")
            st = page.evaluate(_JS_KERNEL_STATE)
            return all(c["count"] for c in cells_state) and st and st["status"] == "idle"

        wait_for(all_ran, timeout=timeout, interval=0.2, what=f"all cells of {name} to run")
        if wait_for_selector:
            page.locator(wait_for_selector).last.wait_for(state="visible", timeout=timeout * 1000)
        return page

    def dismiss_dialogs(self) -> None:
        """Accept any JupyterLab start-up dialog (kernel choice, build notices)."""
        dialog = self.page.locator(".jp-Dialog")
        if dialog.count():
            button = dialog.locator("button.jp-mod-accept")
            if button.count():
                button.first.click()
            else:
                self.page.keyboard.press("Escape")

    # -- the kernel ----------------------------------------------------------------------
    def _kernel_client(self):
        if self._client is None:
            from jupyter_client import BlockingKernelClient

            if not self.kernel_id:
                raise RuntimeError("open a notebook first: there is no kernel to talk to")
            cf = self.server.runtime / f"kernel-{self.kernel_id}.json"
            client = BlockingKernelClient(connection_file=str(cf))
            client.load_connection_file()
            client.start_channels()
            client.wait_for_ready(timeout=30)
            self._client = client
        return self._client

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.stop_channels()
            self._client = None

    def run_python(self, code: str, timeout: float = 60.0) -> str:
        """Run ``code`` in the open notebook's kernel (same namespace) and return its stdout.

        Widget traits changed here reach the browser through the kernel's comm channel, as if
        a cell had changed them. Raises :class:`KernelError` with the traceback if it fails.
        """
        client = self._kernel_client()
        msg_id = client.execute(code, store_history=False, allow_stdin=False)
        out: list[str] = []
        error = None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"kernel did not finish within {timeout}s:\n{code}")
            try:
                msg = client.get_iopub_msg(timeout=remaining)
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind == "error":
                error = "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                break
        if error:
            raise KernelError(f"kernel raised while running:\n{code}\n{_strip_ansi(error)}")
        return "".join(out)

    def eval(self, expr: str) -> Any:
        """Evaluate ``expr`` in the kernel and return its value, round-tripped through JSON."""
        text = self.run_python(f"print(__import__('json').dumps({expr}, default=str))")
        return json.loads(text.strip().splitlines()[-1])

    def wait_for(self, condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
        return wait_for(condition, timeout=timeout, what=what)

    # -- teardown ------------------------------------------------------------------------
    def save_failure(self, dest: Path) -> list[Path]:
        """Write a screenshot, the JS console and the server log tail into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        saved = []
        try:
            shot = dest / "failure.png"
            self.page.screenshot(path=str(shot), full_page=True)
            saved.append(shot)
        except Exception as e:  # the page may have crashed; the logs still help
            self.console.append(f"[harness] screenshot failed: {e}")
        console = dest / "console.log"
        console.write_text("\n".join(self.console + [f"[dialog] {d}" for d in self.dialogs]))
        server = dest / "server.log"
        server.write_text(self.server.log_tail(200))
        return saved + [console, server]

    def close(self) -> None:
        self._close_client()
        # Shut down this test's kernels so idle kernels do not pile up on a 2-core machine.
        try:
            for s in self.server.api("GET", "sessions"):
                if (
                    s.get("path") in self._notebooks
                    or s.get("notebook", {}).get("path") in self._notebooks
                ):
                    self.server.api("DELETE", f"sessions/{s['id']}")
        except Exception:
            pass
        self.context.close()


def make_images(
    raccoon_dir: Path, dest: Path, n: int, size: tuple[int, int] = (1920, 1080), quality: int = 90
) -> list[dict]:
    """Write ``n`` raccoon photos resized to ``size`` (scaled to cover, centre-cropped).

    Large images make the display scaling visible: the widget sends a downscaled copy and the
    canvas shows it smaller again, while labels must stay in these original pixels.

    Returns:
        One dict per image, in file-name order (the Dataset's key order): ``key``, ``path``
        and ``boxes``, the Pascal VOC boxes of the source photo mapped into the new image.
    """
    import xml.etree.ElementTree as ET

    from PIL import Image

    sources = sorted((raccoon_dir / "images").glob("*.jpg"), key=lambda p: p.name)[:n]
    if len(sources) < n:
        raise FileNotFoundError(f"{raccoon_dir / 'images'} holds {len(sources)} JPEGs, need {n}")
    dest.mkdir(parents=True, exist_ok=True)
    W, H = size
    out = []
    for i, src in enumerate(sources):
        im = Image.open(src).convert("RGB")
        s = max(W / im.width, H / im.height)
        rw, rh = round(im.width * s), round(im.height * s)
        ox, oy = (rw - W) // 2, (rh - H) // 2
        im = im.resize((rw, rh), Image.Resampling.BILINEAR).crop((ox, oy, ox + W, oy + H))
        key = f"img_{i:03d}"
        path = dest / f"{key}.jpg"
        im.save(path, quality=quality)
        boxes = []
        xml = raccoon_dir / "annotations" / f"{src.stem}.xml"
        if xml.exists():
            for bb in ET.parse(xml).iter("bndbox"):
                x1, y1, x2, y2 = (float(bb.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax"))
                box = [
                    min(max(x1 * s - ox, 0), W),
                    min(max(y1 * s - oy, 0), H),
                    min(max(x2 * s - ox, 0), W),
                    min(max(y2 * s - oy, 0), H),
                ]
                if box[2] - box[0] > 8 and box[3] - box[1] > 8:
                    boxes.append([round(v, 1) for v in box])
        out.append({"key": key, "path": path, "boxes": boxes})
    return out


def canvas_point(page, x: float, y: float, selector: str = CANVAS) -> tuple[float, float]:
    """Page coordinates of the point ``(x, y)`` in the canvas's CSS pixels (last match)."""
    box = page.locator(selector).last.bounding_box()
    assert box, f"{selector} is not laid out"
    return box["x"] + x, box["y"] + y


def drag(page, start, end, steps: int = 8, selector: str = CANVAS) -> None:
    """Press at ``start``, move in ``steps`` to ``end`` and release (canvas CSS pixels)."""
    sx, sy = canvas_point(page, *start, selector=selector)
    ex, ey = canvas_point(page, *end, selector=selector)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=steps)
    page.mouse.up()


# -- pytest wiring -------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    session = getattr(item, "funcargs", {}).get("lab")
    # Save what the browser showed while the page is still open, and name the files in the
    # failure report itself.
    if rep.when == "call" and rep.failed and isinstance(session, Lab):
        tmp = item.funcargs.get("tmp_path") or Path(session.workdir)
        files = session.save_failure(Path(tmp) / "browser-failure")
        rep.sections.append(("browser artefacts", "\n".join(str(f) for f in files)))


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    """A JupyterLab server for the whole session; its log is in the session's tmp folder."""
    server = LabServer(tmp_path_factory.mktemp("jupyterlab")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, launched headless through Playwright (no `playwright install`)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Run scripts/install_browser.sh "
            "(apt-get install -y chromium) or set NBLABEL_CHROMIUM to a Chromium binary."
        )
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture()
def lab(jupyter_server, chromium, tmp_path):
    """A fresh browser context on the session's JupyterLab (see :class:`Lab`).

    On failure, ``tmp_path/browser-failure`` holds ``failure.png``, ``console.log`` and
    ``server.log``; the failure report lists them.
    """
    session = Lab(jupyter_server, chromium, tmp_path)
    yield session
    session.close()
