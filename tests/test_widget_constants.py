"""The facts the Annotator's browser code draws with have one home, in Python.

The palette, the statuses, the drawing tools with their keys and the built-in skeletons are
defined in ``nblabel.core`` (the tools in ``nblabel.widgets.annotator``) and reach the
browser once, in the read-only ``constants`` trait; ``js/src`` declares none of them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import traitlets

import nblabel as nbl
from nblabel.core.palette import ERROR_COLOR, PALETTE, REGION_COLOR, STATUS_COLORS, UNKNOWN_COLOR
from nblabel.core.skeletons import SKELETONS
from nblabel.core.statuses import STATUSES
from nblabel.widgets.annotator import JUMP_TABLE, TOOL_TABLE, TOOLS, Annotator

JS_SRC = Path(__file__).resolve().parents[1] / "js" / "src"


@pytest.fixture()
def widget(raccoon_dir, db):
    df = pd.DataFrame({"path": [str(raccoon_dir / "images" / "raccoon-1.jpg")]}, index=["r1"])
    ds = nbl.Dataset.from_dataframe(df, db=db, classes=["raccoon"])
    return Annotator(ds)


def _js_sources() -> dict[str, str]:
    files = {p.name: p.read_text() for p in sorted(JS_SRC.glob("*.js"))}
    assert "state.js" in files and "keys.js" in files, f"no widget sources in {JS_SRC}"
    return files


def test_the_widget_sends_exactly_what_core_defines(widget):
    c = widget.constants
    assert set(c) == {
        "palette", "unknown_color", "region_color", "error_color", "statuses", "status_colors",
        "tools", "jumps", "skeletons",
    }  # fmt: skip
    assert c["palette"] == list(PALETTE)
    assert (c["unknown_color"], c["region_color"]) == (UNKNOWN_COLOR, REGION_COLOR)
    assert c["error_color"] == ERROR_COLOR
    assert c["statuses"] == list(STATUSES)
    assert {s: v["fill"] for s, v in c["status_colors"].items()} == STATUS_COLORS
    assert set(STATUS_COLORS) == set(STATUSES)
    assert c["tools"] == [list(t) for t in TOOL_TABLE]
    assert c["jumps"] == [list(j) for j in JUMP_TABLE]
    assert set(c["skeletons"]) == set(SKELETONS)
    for name, sk in SKELETONS.items():
        sent = c["skeletons"][name]
        assert sent["names"] == list(sk.names)
        assert sent["edges"] == [list(e) for e in sk.edges]
        assert sent["layout"] == [list(p) for p in sk.layout]
    assert widget.skeletons == c["skeletons"]


def test_constants_are_read_only_and_the_tools_match_the_tool_trait(widget):
    with pytest.raises(traitlets.TraitError, match="read-only"):
        widget.constants = {}
    assert tuple(widget.trait_metadata("tool", "values") or Annotator.tool.values) == TOOLS
    keys = [key for _, _, key in TOOL_TABLE]
    assert len(set(keys)) == len(keys) and all(len(k) == 1 for k in keys)


def test_the_js_sources_declare_none_of_them():
    colours = {c.lower() for c in (*PALETTE, UNKNOWN_COLOR, REGION_COLOR)}
    for name, text in _js_sources().items():
        found = {h.lower() for h in re.findall(r"#[0-9a-fA-F]{6}\b", text)} & colours
        assert not found, f"js/src/{name} spells colours Python defines: {sorted(found)}"
        assert not re.search(r"\b(PALETTE|REGION_COLOR|TOOLS|STATUSES)\s*=", text), (
            f"js/src/{name} declares a constant Python sends in `constants`"
        )
        # a tool's [name, label, key] row, a list of statuses or a skeleton's point names
        for tool, label, key in TOOL_TABLE:
            assert f'"{label}", "{key}"' not in text, f"js/src/{name} lists the {tool} tool"
        assert not re.search(r'"unlabeled",\s*"predicted"', text), f"{name} lists statuses"
        for sk in SKELETONS.values():
            assert f'"{sk.names[1]}"' not in text, f"js/src/{name} names {sk.name}'s points"
