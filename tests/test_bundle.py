"""The committed widget bundle (src/nblabel/static) is what js/ builds to.

The package imports without Node because the bundle is committed; this test rebuilds it with
the pinned esbuild from js/package-lock.json, in a copy of js/, and fails when a source change
was not rebuilt (``npm --prefix js run build``) and committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.node import JS, node_modules, run_npm

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "nblabel" / "static"
BUNDLE = ("annotator.js", "annotator.css")


@pytest.fixture(scope="module")
def installed() -> Path:
    """js/node_modules at the locked versions."""
    return node_modules()


def test_committed_bundle_matches_a_fresh_build(installed, tmp_path):
    # Same layout as the repository, so the build script's own --outdir is used unchanged.
    work = tmp_path / "js"
    shutil.copytree(JS, work, ignore=shutil.ignore_patterns("node_modules"))
    (work / "node_modules").symlink_to(installed, target_is_directory=True)
    run_npm(["run", "build"], work)
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
