"""Label Studio exports through a Dataset and back: every annotation keeps who made it.

Label Studio stores per annotation its ``id``, the annotator (``completed_by``), when and
how long (``created_at``, ``updated_at``, ``lead_time``) and whether it is the task's
``ground_truth``. A round trip through nblabel writes each back, the winning annotation's
included, while its objects are the ones imported; objects a person changes in nblabel are
a new annotation without them.
"""

from __future__ import annotations

import json

import pytest
from test_formats_roundtrip_labelstudio import FILES, LS  # the SDK's fixture files

import nblabel as nbl

# What Label Studio says about an annotation that must survive the round trip
KEPT = ("id", "completed_by", "created_at", "updated_at", "lead_time", "ground_truth")


def _said(task: dict) -> list[dict]:
    """Each annotation that was not cancelled, as the file says it, parsed here on its own."""
    return [
        {k: a[k] for k in KEPT if a.get(k) is not None}
        for a in task.get("annotations") or []
        if not a.get("was_cancelled")
    ]


@pytest.mark.parametrize("name", FILES)
def test_every_annotation_keeps_its_id_annotator_and_times(shared_dir, tmp_path, name):
    src = shared_dir / LS / name
    tasks = json.loads(src.read_text())
    ds = nbl.Dataset.from_labelstudio(src, db=tmp_path / "ls.db")
    written = json.loads(ds.to_labelstudio(tmp_path / "out.json").read_text())

    expected = [_said(t) for t in tasks]
    got = [_said(t) for t in written]
    assert sum(map(len, expected)) > 0
    assert [len(e) for e in got] == [len(e) for e in expected]
    for before, after in zip(expected, got):
        # the same annotations, each with everything Label Studio said about it; the winner
        # (the latest) is written last, so compare them by id
        assert sorted(after, key=repr) == sorted(before, key=repr)
        assert all("id" in a for a in after)

    # and so after the journal is reopened
    again = nbl.Dataset.open(tmp_path / "ls.db").to_labelstudio(tmp_path / "out2.json")
    assert json.loads(again.read_text()) == written


def test_an_annotation_changed_in_nblabel_is_a_new_one(shared_dir, tmp_path):
    src = shared_dir / LS / "test_export_yolo/data.json"
    tasks = json.loads(src.read_text())
    ds = nbl.Dataset.from_labelstudio(src, db=tmp_path / "ls.db")
    key = ds.df.index[0]
    records = list(ds.df.loc[key, "annotations"])
    ds.annotate(key, records[:-1] or [{"label": ds.classes[0], "bbox": [1, 1, 20, 20]}])
    written = json.loads(ds.to_labelstudio(tmp_path / "out.json").read_text())

    first = written[0]["annotations"]
    ids_before = {a["id"] for a in tasks[0]["annotations"] if not a.get("was_cancelled")}
    # the annotations nobody touched keep their ids; the changed one is written without the
    # id, annotator and times of the one it replaced (Label Studio numbers it itself)
    assert {a["id"] for a in first[:-1]} < ids_before
    assert all(k not in first[-1] for k in KEPT)
    # the task's others still say when they were made only if every annotation does
    assert all("created_at" not in a for a in first)
    # untouched tasks keep everything
    assert _said(written[1]) and all("id" in a for a in _said(written[1]))
