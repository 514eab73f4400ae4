"""Datumaro, the engine behind CVAT's import, reads the VOC and COCO exports as they were meant.

A dataset of real COCO photos (several classes, a truncated and occluded object, a difficult
one, an image someone said has nothing in it, one nobody labeled) is exported with
``ds.to_voc`` and ``ds.to_coco``; Datumaro imports each export in its own environment
(``.venv-datumaro``: its pins clash with the project's, see ``scripts/setup.sh``) through
``tests/support/datumaro_probe.py``, and must see the same images, classes, boxes (within a
pixel) and flags, with no error or warning.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import nblabel as nbl
from nblabel.formats import read_yolo

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "support" / "datumaro_probe.py"
# scripts/setup.sh test puts Datumaro's environment beside the project's, as <venv>-datumaro
DATUMARO_VENV = Path(f"{os.environ.get('NBLABEL_VENV', ROOT / '.venv')}-datumaro")

LABELED = ["000000000009", "000000000025", "000000000030", "000000000036"]
NEGATIVE = "000000000250"  # COCO lists no objects in it
UNLABELED = "000000000508"  # nobody has looked at it: stays out of both exports
FLAGGED = ("000000000036", 0, {"truncated": 1, "occluded": 1})  # object, flags
DIFFICULT = ("000000000009", 2, {"difficult": 1})


def datumaro(fmt: str, path: Path) -> dict:
    """What Datumaro imports from ``path`` as format ``fmt`` (see datumaro_probe.py)."""
    python = DATUMARO_VENV / "bin" / "python"
    if not python.is_file():
        pytest.fail(
            f"{DATUMARO_VENV} not found: run `bash scripts/setup.sh test`, which installs "
            "Datumaro there (its pinned pandas and OpenCV clash with the project's .venv)"
        )
    done = subprocess.run(
        [str(python), str(PROBE), fmt, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def exported(shared_dir, tmp_path_factory):
    """The dataset's expected content and its VOC and COCO exports."""
    coco128 = shared_dir / "datasets" / "coco128"
    names, items = read_yolo(coco128)
    labels = {Path(it["image"]).stem: it["annotations"] for it in items}
    tmp = tmp_path_factory.mktemp("datumaro")
    # the COCO layout Datumaro and CVAT import: annotations/instances_<subset>.json beside
    # images/; copies, because Datumaro refuses an image whose real path leaves images/
    images = tmp / "project" / "images"
    images.mkdir(parents=True)
    for stem in [*LABELED, NEGATIVE, UNLABELED]:
        shutil.copy(coco128 / "images" / f"{stem}.jpg", images)
    used = {r["label"] for stem in LABELED for r in labels[stem]}
    classes = [c for c in names if c in used]
    ds = nbl.Dataset.from_folder(images, db=tmp / "labels.db", classes=classes)
    records = {
        stem: [{"label": r["label"], "bbox": r["bbox"]} for r in labels[stem]] for stem in LABELED
    }
    for stem, index, flags in (FLAGGED, DIFFICULT):
        records[stem][index]["attributes"] = flags
    records[NEGATIVE] = []
    for stem, recs in records.items():
        ds.annotate(stem, recs)
    assert len(ds.classes) >= 2 and ds.df.loc[UNLABELED, "status"] == "unlabeled"
    expected = {
        stem: {
            "width": int(ds.df.loc[stem, "width"]),
            "height": int(ds.df.loc[stem, "height"]),
            "annotations": ds.df.loc[stem, "annotations"],
        }
        for stem in records
    }
    voc = ds.to_voc(tmp / "voc")
    coco = ds.to_coco(tmp / "project" / "annotations" / "instances_default.json")
    return ds.classes, expected, voc, coco


def _objects(seen_item: dict) -> list[tuple]:
    """Datumaro's objects as (label, [x, y, w, h], attributes); COCO keeps no object order."""
    objs = [(a["label"], a["bbox"], a["attributes"]) for a in seen_item["annotations"]]
    assert all(a["type"] == "bbox" for a in seen_item["annotations"])
    return sorted(objs, key=lambda o: (o[0], round(o[1][0]), round(o[1][1])))


def _records(want: dict) -> list[tuple]:
    """The dataset's objects the same way, with their flags."""
    objs = []
    for rec in want["annotations"]:
        x1, y1, x2, y2 = rec["bbox"]
        flags = {k: v for k, v in (rec.get("attributes") or {}).items() if v}
        objs.append((rec["label"], [x1, y1, x2 - x1, y2 - y1], flags))
    return sorted(objs, key=lambda o: (o[0], round(o[1][0]), round(o[1][1])))


def _same_dataset(seen: dict, expected: dict) -> dict:
    """Assert Datumaro saw ``expected``; returns ``{key: [(Datumaro's, ours), ...]}``."""
    assert seen["errors"] == [] and seen["warnings"] == [], seen["errors"] + seen["warnings"]
    items = {it["id"]: it for it in seen["items"]}
    assert sorted(items) == sorted(expected)  # the unlabeled image is in neither export
    pairs = {}
    for key, want in expected.items():
        got = items[key]
        assert (got["width"], got["height"]) == (want["width"], want["height"]), key
        theirs, ours = _objects(got), _records(want)
        assert [o[0] for o in theirs] == [o[0] for o in ours], key
        for (_, box, _), (_, want_box, _) in zip(theirs, ours):
            assert box == pytest.approx(want_box, abs=1), key
        pairs[key] = list(zip(theirs, ours))
    assert items[NEGATIVE]["annotations"] == []  # "nothing here" arrives as an empty image
    return pairs


def test_datumaro_imports_the_voc_export(exported):
    classes, expected, voc, _ = exported
    seen = datumaro("voc", voc)
    assert seen["labels"] == ["background", *classes]  # labelmap.txt's order, VOC's background
    flagged = 0
    for key, pairs in _same_dataset(seen, expected).items():
        for (label, _, attrs), (_, _, flags) in pairs:
            got = {k for k in ("truncated", "occluded", "difficult") if attrs[k]}
            assert got == set(flags), (key, label)
            flagged += bool(flags)
    assert flagged == 2
    # the export holds annotations only: CVAT matches them to the task's images by name
    assert all(it["image"] == f"{it['id']}.jpg" for it in seen["items"])


def test_datumaro_imports_the_coco_export(exported):
    classes, expected, _, coco = exported
    for fmt, path in (("coco_instances", coco), ("coco", coco.parent.parent)):
        seen = datumaro(fmt, path)
        assert seen["labels"] == classes, fmt
        flagged = 0
        for key, pairs in _same_dataset(seen, expected).items():
            for (label, _, attrs), (_, _, flags) in pairs:
                # COCO has no flags: they travel in "attributes", which CVAT reads occluded from
                assert attrs == {**flags, "is_crowd": False}, (fmt, key, label)
                flagged += bool(flags)
        assert flagged == 2, fmt
        assert all(it["image_found"] for it in seen["items"]), fmt
