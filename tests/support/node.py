"""Node.js for the tests of the widget's browser code in js/.

The package imports without Node (the bundle in src/nblabel/static is committed); the tests
that rebuild, type-check and unit-test js/ need npm and js/node_modules at the versions
js/package-lock.json pins.

Example:
    >>> from support.node import JS, run_npm  # doctest: +SKIP
    >>> run_npm(["run", "typecheck"], JS)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"


def npm() -> str:
    """The npm executable; fails the test with what to install when there is none."""
    found = shutil.which("npm")
    if found is None:
        pytest.fail(
            "npm not found: install Node.js 18+ (it builds and checks the widget code in js/)"
        )
    return found


def run_npm(args: list[str], cwd: Path, timeout: float = 300) -> str:
    """Run ``npm <args>`` in ``cwd``; fail the test with its output when it fails."""
    done = subprocess.run([npm(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        pytest.fail(f"npm {' '.join(args)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _stale(js: Path) -> list[str]:
    """The locked devDependencies missing from js/node_modules or at another version."""
    lock = json.loads((js / "package-lock.json").read_text())
    wanted = lock["packages"][""].get("devDependencies", {})
    out = []
    for name in wanted:
        installed = js / "node_modules" / name / "package.json"
        want = lock["packages"][f"node_modules/{name}"]["version"]
        if not installed.exists() or json.loads(installed.read_text())["version"] != want:
            out.append(f"{name}@{want}")
    return out


def node_modules() -> Path:
    """js/node_modules at the locked versions (``npm ci`` when a package is missing or stale)."""
    if _stale(JS):
        run_npm(["ci", "--no-audit", "--no-fund"], JS)
    return JS / "node_modules"
