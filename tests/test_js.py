"""The widget's browser code (js/) type-checks and passes its own unit tests.

``npm run typecheck`` runs TypeScript over the JSDoc types of js/src (``tsc --noEmit`` with
``checkJs``, js/tsconfig.json); ``npm test`` runs Node's test runner over js/test (geometry,
hit testing and the keymap). Both come from js/package.json, so what runs here is what a
developer runs in js/.
"""

from __future__ import annotations

import re

import pytest
from support.node import JS, node_modules, run_npm


@pytest.fixture(scope="module")
def installed():
    """js/node_modules at the locked versions (TypeScript, esbuild)."""
    return node_modules()


def test_js_types_check(installed):
    run_npm(["run", "typecheck"], JS)


def test_js_unit_tests_pass(installed):
    out = run_npm(["test"], JS)
    # node --test ends with a count (TAP when not on a terminal): an empty suite is no pass
    passed = re.search(r"^# pass (\d+)$", out, re.M)
    assert passed and int(passed.group(1)) > 0, f"no JS unit test ran:\n{out}"
    assert re.search(r"^# fail 0$", out, re.M), out
