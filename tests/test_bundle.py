"""The committed widget bundle (src/nblabel/static) is what js/ builds to.

The package imports without Node because the bundle is committed; this test rebuilds it with
the pinned esbuild from js/package-lock.json, in a copy of js/, and fails when a source change
was not rebuilt (``npm --prefix js run build``) and committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js"
STATIC = ROOT / "src" / "nblabel" / "static"
BUNDLE = ("annotator.js", "annotator.css")


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm not found: install Node.js 18+ (it builds the widget bundle in js/)")
    return npm


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode:
        pytest.fail(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """js/node_modules at the locked versions (``npm ci`` when it is missing or stale)."""
    npm = _npm()
    lock = json.loads((JS / "package-lock.json").read_text())
    want = lock["packages"]["node_modules/esbuild"]["version"]
    installed = JS / "node_modules" / "esbuild" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != want:
        _run([npm, "ci", "--no-audit", "--no-fund"], JS)
    return JS / "node_modules"


def test_committed_bundle_matches_a_fresh_build(node_modules, tmp_path):
    # Same layout as the repository, so the build script's own --outdir is used unchanged.
    work = tmp_path / "js"
    work.mkdir()
    for src in JS.iterdir():
        if src.name != "node_modules" and src.is_file():
            shutil.copy2(src, work / src.name)
    (work / "node_modules").symlink_to(node_modules, target_is_directory=True)
    _run([_npm(), "run", "build"], work)
    built = tmp_path / "src" / "nblabel" / "static"
    for name in BUNDLE:
        fresh = (built / name).read_text()
        committed = (STATIC / name).read_text() if (STATIC / name).exists() else ""
        assert fresh == committed, (
            f"src/nblabel/static/{name} is stale: run `npm --prefix js run build` and commit it"
        )


def test_bundle_is_an_esm_module_with_render():
    text = (STATIC / "annotator.js").read_text()
    assert "export {" in text and "render" in text
    # anywidget loads it as a module from a string: it must not import anything at runtime
    assert "\nimport " not in text and "require(" not in text
    # user text is never parsed as HTML
    assert "innerHTML" not in text and "insertAdjacentHTML" not in text
