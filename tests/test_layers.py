"""The layers of nblabel and one home for every fact.

Imports run one way: ``nblabel.core`` imports nothing else of nblabel, and no module imports
one of a layer above its own. The imports are read from the source (every ``import``, also
those inside functions, which run later but still tie the two modules together), so a lazy
import cannot hide a wrong direction. The shared facts (statuses, sources, edit kinds, tasks,
skeletons, the palette) are written once, in ``core``, and imported everywhere else.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import nblabel
from nblabel.core import edits, palette, skeletons, sources, statuses, tasks, tracking

SRC = Path(nblabel.__file__).resolve().parent

# Lowest first. A module belongs to the longest prefix that names it ("nblabel" itself names
# only the package's __init__, so a new module must be placed here).
LAYERS = (
    ("nblabel.core",),
    # records, images (their headers, folders of them), the journal, its WAL checkpoints and
    # saved frames, columns, video frames: plain data, no formats or models
    (
        "nblabel.records",
        "nblabel.images",
        "nblabel.headers",
        "nblabel.folders",
        "nblabel.journal",
        "nblabel.wal",
        "nblabel.frames",
        "nblabel.columns",
        "nblabel.video",
    ),
    ("nblabel.formats",),
    # models never import the Dataset: they take images and records (smooth_dataset takes a
    # dataset object, and only uses it)
    ("nblabel.models",),
    ("nblabel.tracks",),
    ("nblabel.dataset",),
    ("nblabel.loop",),
    ("nblabel.widgets",),
    # the package itself and its lazy-export helper: names from every layer
    ("nblabel", "nblabel._lazy"),
)

# Imports that go up a layer and are not fixed yet, each with why.
KNOWN_UPWARD = {
    # AutoLabeler.widget() and .review_grid() build their widgets; the fix is widget
    # constructors that take a labeler (LoopView(labeler), ReviewGrid.for_labeler(...)),
    # with the AutoLabeler methods left as thin calls into widgets.
    ("nblabel.loop.autolabeler", "nblabel.widgets.loop_view"),
    ("nblabel.loop.autolabeler", "nblabel.widgets.review"),
}

# Modules that import each other (one of the two imports inside a function), not fixed yet.
KNOWN_CYCLES: set[frozenset[str]] = set()

# Module constants equal to a core constant that are another fact, or not moved yet.
OTHER_FACTS = {
    # the General AI category named "human" (person boxes), not the source of a person's work
    ("nblabel.models.categories", "DEFAULT_CATEGORY"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The nblabel modules ``name`` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from . import limits` imports a module; `from .x import y` imports module x
            targets = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES]
            targets = targets or [mod]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:  # `import nblabel.formats.limits as x` and the like
                t = t.rpartition(".")[0]
            if t.startswith("nblabel") and t != name:
                found.add(t)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    best, level = -1, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            inside = name.startswith(p + ".") and p != "nblabel"
            if (name == p or inside) and len(p) > best:
                best, level = len(p), i
    assert level is not None, f"{name} is in no layer; add it to LAYERS in {__file__}"
    return level


def test_the_scan_sees_the_package():
    # a scan that reads nothing would pass every check below
    assert {"nblabel.core.statuses", "nblabel.dataset", "nblabel.widgets.codecs"} <= set(MODULES)
    assert "nblabel.core.skeletons" in GRAPH["nblabel.widgets.codecs"]
    assert "nblabel.formats.limits" in GRAPH["nblabel.formats._common"]  # `from . import limits`


def test_core_imports_nothing_of_nblabel_outside_core():
    bad = {
        (name, dep)
        for name, deps in GRAPH.items()
        if name.startswith("nblabel.core")
        for dep in deps
        if not dep.startswith("nblabel.core")
    }
    assert not bad, f"core must import only core: {sorted(bad)}"


def test_no_module_imports_a_higher_layer():
    upward = {
        (name, dep) for name, deps in GRAPH.items() for dep in deps if _layer(dep) > _layer(name)
    }
    new = sorted(upward - KNOWN_UPWARD)
    assert not new, (
        f"these imports go up a layer (move the fact they need down, e.g. into nblabel.core): {new}"
    )
    fixed = sorted(KNOWN_UPWARD - upward)
    assert not fixed, f"fixed, so take them out of KNOWN_UPWARD: {fixed}"


def _cycles() -> set[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                out.add(frozenset(group))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return out


def test_no_two_modules_import_each_other():
    # a cycle hidden behind an import inside a function still breaks whoever imports the
    # other module first at the wrong moment (weights <-> faces was one)
    cycles = _cycles()
    new = sorted(sorted(c) for c in cycles - KNOWN_CYCLES)
    assert not new, f"modules that import each other: {new}"
    assert not KNOWN_CYCLES - cycles, "a known cycle is gone: take it out of KNOWN_CYCLES"


# -- one home for every fact -----------------------------------------------------------------
def _python_files_containing(pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return sorted(
        name for name, path in MODULES.items() if rx.search(path.read_text(encoding="utf-8"))
    )


@pytest.mark.parametrize(
    "literal, home",
    [
        ('"left_shoulder"', "nblabel.core.skeletons"),  # the body skeleton's names
        ('"right_mouth_corner"', "nblabel.core.skeletons"),  # the face skeleton's names
        ('"index_finger"', "nblabel.core.skeletons"),  # the hand skeleton's names
        ('"#4e79a7"', "nblabel.core.palette"),  # the class colours
        ('"#ff00d4"', "nblabel.core.palette"),  # the region colour
    ],
)
def test_each_skeleton_and_the_palette_are_written_once(literal, home):
    assert _python_files_containing(re.escape(literal)) == [home]


def test_no_module_defines_a_core_constant_again():
    """No module-level constant outside core is a literal equal to a core constant."""
    facts = {}
    for mod in (edits, palette, skeletons, sources, statuses, tasks, tracking):
        for attr, value in vars(mod).items():
            if attr.isupper() and isinstance(value, (str, tuple)):
                facts.setdefault(repr(value), f"{mod.__name__}.{attr}")
    assert "('unlabeled', 'predicted', 'review', 'auto', 'verified')" in facts  # what is checked
    again, exempted = [], set()
    for name, path in MODULES.items():
        if name.startswith("nblabel.core"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
                continue
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue  # built from names: imported or derived
            if isinstance(value, list):
                value = tuple(value)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {(name, getattr(t, "id", None)) for t in targets}
            if repr(value) in facts and not names <= OTHER_FACTS:
                again.append(f"{name} line {node.lineno}: import {facts[repr(value)]} instead")
            elif repr(value) in facts:
                exempted |= names
    assert not again, again
    assert exempted == OTHER_FACTS, f"no longer written again: {OTHER_FACTS - exempted}"


def test_status_groups_are_the_statuses():
    assert set(statuses.DONE_STATUSES) < set(statuses.STATUSES)
    assert (statuses.UNLABELED, *statuses.MODEL_STATUSES) == statuses.OPEN_STATUSES
    assert set(statuses.STATUSES) - set(statuses.OPEN_STATUSES) == {statuses.VERIFIED}
    assert set(edits.CORRECTION_KINDS) | set(edits.DRAW_KINDS) < set(edits.EDIT_KINDS) | {
        edits.SUBMIT
    }


def test_each_task_has_its_standard_checkpoint():
    from nblabel.models.weights import TASK_WEIGHTS

    assert tuple(TASK_WEIGHTS) == tasks.TASKS


def test_old_homes_still_export_the_same_objects():
    # code that imported a fact from its old module gets the one definition
    pairs = [
        ("nblabel.dataset", "STATUSES", statuses.STATUSES),
        ("nblabel.dataset", "HUMAN", sources.HUMAN),
        ("nblabel.columns", "DONE_STATUSES", statuses.DONE_STATUSES),
        ("nblabel.tracks", "MODEL_STATUSES", statuses.OPEN_STATUSES),
        ("nblabel.loop.report", "CORRECTION_KINDS", edits.CORRECTION_KINDS),
        ("nblabel.loop.routing", "REVIEW", statuses.REVIEW),
        ("nblabel.models.keypoints", "COCO17", skeletons.COCO17),
        ("nblabel.models.faces", "LANDMARK_NAMES", skeletons.FACE5.names),
        ("nblabel.widgets.codecs", "PALETTE", palette.PALETTE),
        ("nblabel.formats._common", "COCO17_KEYPOINTS", skeletons.COCO17.names),
        ("nblabel.formats.yolo", "TASKS", tasks.TASKS),
    ]
    for module, attr, value in pairs:
        assert getattr(importlib.import_module(module), attr) is value, f"{module}.{attr}"


def test_the_skeleton_payload_is_the_same_in_every_form():
    from nblabel.formats._common import COCO17_SKELETON
    from nblabel.widgets.codecs import skeleton_payload

    body = skeleton_payload("coco17")
    as_dict = skeleton_payload({"name": "coco17", "names": list(skeletons.COCO17.names)})
    assert as_dict["layout"] == body["layout"] == skeleton_payload(None)["layout"]
    # a person facing the camera: their left eye is on the right of the picture
    left, right = (body["layout"][body["names"].index(n)][0] for n in ("left_eye", "right_eye"))
    assert left > 0.5 > right
    assert [list(e) for e in COCO17_SKELETON] == [[a + 1, b + 1] for a, b in body["edges"]]


JS_SRC = SRC.parents[1] / "js" / "src"


def _browser_sources() -> dict[str, str]:
    """Every file of the browser code, as written (js/src) and as shipped (static/)."""
    files = [*sorted(JS_SRC.glob("*.js")), *sorted(JS_SRC.glob("*.css"))]
    files += sorted((SRC / "static").glob("annotator.*"))
    assert len(files) >= 4, files  # the scan sees them
    return {
        str(f.relative_to(SRC.parents[1])): f.read_text(encoding="utf-8").lower() for f in files
    }


def test_the_browser_is_sent_the_colours_and_declares_none():
    from nblabel.widgets.annotator import JUMP_TABLE
    from nblabel.widgets.codecs import widget_constants

    # a copy of the colours in the browser code could drift from the saved snapshot (the
    # class colours) or from Python's statuses (the badge and the frame strip)
    colours = {
        *palette.PALETTE,
        *palette.STATUS_COLORS.values(),
        palette.REGION_COLOR,
        palette.UNKNOWN_COLOR,
        palette.ERROR_COLOR,
    }
    found = {(name, c) for name, text in _browser_sources().items() for c in colours if c in text}
    assert not found, f"the browser code declares Python's colours (send them instead): {found}"
    sent = widget_constants([], JUMP_TABLE)
    assert sent["palette"] == list(palette.PALETTE)
    assert (sent["region_color"], sent["unknown_color"]) == (
        palette.REGION_COLOR,
        palette.UNKNOWN_COLOR,
    )
    assert sent["error_color"] == palette.ERROR_COLOR
    assert {s: c["fill"] for s, c in sent["status_colors"].items()} == palette.STATUS_COLORS
    assert list(sent["status_colors"]) == list(statuses.STATUSES)  # every status has one
    assert sent["jumps"] == [list(j) for j in JUMP_TABLE]


def test_the_browser_names_no_status():
    # the browser is sent the statuses (counts, jumps, colours); a status typed in its code
    # would silently stop working when Python renames it. "auto" is left out: it is also a
    # drawing tool's name and a CSS keyword.
    names = [s for s in statuses.STATUSES if s != statuses.AUTO]
    quoted = re.compile("[\"'`](" + "|".join(names) + ")[\"'`]")
    found = {
        (name, m.group(0))
        for name, text in _browser_sources().items()
        for m in quoted.finditer(text)
    }
    assert not found, f"the browser code names a status (take it from constants): {found}"


def test_every_nblabel_error_is_still_its_builtin_error():
    from nblabel.core.errors import NblabelError
    from nblabel.formats import FormatError
    from nblabel.images import ImageError
    from nblabel.journal import JournalGoneError
    from nblabel.models.checkpoints import CheckpointError
    from nblabel.models.faces import FaceModelError
    from nblabel.models.weights import WeightsUnavailableError
    from nblabel.records import AnnotationError
    from nblabel.video import VideoError

    for cls, builtin in [
        (AnnotationError, ValueError),
        (ImageError, ValueError),
        (FormatError, ValueError),
        (VideoError, ValueError),
        (CheckpointError, ValueError),
        (FaceModelError, FileNotFoundError),
        (WeightsUnavailableError, RuntimeError),
        (JournalGoneError, RuntimeError),
    ]:
        assert issubclass(cls, NblabelError) and issubclass(cls, builtin), cls
    assert nblabel.NblabelError is NblabelError


def test_every_public_error_class_is_an_nblabel_error():
    from nblabel.core.errors import NblabelError

    found = []
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            named = isinstance(node, ast.ClassDef) and node.name.endswith("Error")
            if named and not node.name.startswith("_"):
                found.append((name, node.name))
    assert len(found) >= 8, found  # the scan sees them
    for module, cls in found:
        assert issubclass(getattr(importlib.import_module(module), cls), NblabelError), cls
