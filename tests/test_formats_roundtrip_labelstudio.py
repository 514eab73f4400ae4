"""Label Studio files through a Dataset and back: task ids and every annotation survive."""

from __future__ import annotations

import json

import pytest

import nblabel as nbl
from nblabel.formats import read_labelstudio

LS = "fixtures/label-studio-sdk"
FILES = [
    "test_export_coco/data.json",
    "test_export_yolo/data.json",
    "test_export_yolo/data_keypoints.json",
    "test_export_yolo/data_obb.json",
    "test_export_yolo/data_polygons.json",
]


def _entries(task: dict) -> list[tuple[str, object, int]]:
    """``(kind, id, number of regions)`` of a task's annotations and predictions, as parsed
    straight from the JSON (cancelled annotations are not labels)."""
    out = [
        ("annotation", a.get("id"), len(a.get("result") or []))
        for a in task.get("annotations") or []
        if not a.get("was_cancelled")
    ]
    return out + [("prediction", p.get("id"), len(p.get("result") or [])) for p in task.get("predictions") or []]  # fmt: skip


def _objects(records: list[dict]) -> list[tuple]:
    return sorted(
        (r["label"], *(round(v, 3) for v in r["bbox"]), round(r.get("rotation") or 0.0, 3))
        for r in records
    )


def _by_kind(item: dict) -> list[tuple]:
    """Every annotation of an item (the winner and the others) with its objects."""
    kept = [(o["kind"], o.get("id"), _objects(o["annotations"])) for o in item.get("labelstudio_others", [])]  # fmt: skip
    return sorted(kept + [("chosen", None, _objects(item["annotations"]))], key=repr)


@pytest.mark.parametrize("name", FILES)
def test_dataset_export_keeps_task_ids_and_every_annotation(shared_dir, tmp_path, name):
    src = shared_dir / LS / name
    tasks = json.loads(src.read_text())
    _, items = read_labelstudio(src)

    ds = nbl.Dataset.from_labelstudio(src, db=tmp_path / "ls.db")
    out = ds.to_labelstudio(tmp_path / "out.json")
    written = json.loads(out.read_text())

    assert [t["id"] for t in written] == [t["id"] for t in tasks]
    for task, back in zip(tasks, written):
        # as many annotations and predictions, each under its own id (the winning
        # annotation, written last, included)
        before, after = _entries(task), _entries(back)
        assert sorted(k for k, _, _ in after) == sorted(k for k, _, _ in before)
        assert {i for _, i, _ in after} == {i for _, i, _ in before}

    # read back, each task holds the same objects in the same annotations
    _, again = read_labelstudio(out)
    for first, second in zip(items, again):
        assert second["labelstudio_id"] == first["labelstudio_id"]
        assert _by_kind(second) == _by_kind(first)

    # and so after the journal is reopened
    reopened = nbl.Dataset.open(tmp_path / "ls.db")
    out2 = reopened.to_labelstudio(tmp_path / "out2.json")
    assert json.loads(out2.read_text()) == written


def test_rows_without_a_task_id_get_fresh_ones(shared_dir, tmp_path, folder):
    """A dataset that mixes imported tasks with images added later: the imported ids are
    kept (pandas widens such a column to floats; they are still written as ints) and the new
    images get ids that no imported task has."""
    src = shared_dir / LS / "test_export_yolo/data.json"
    ds = nbl.Dataset.from_labelstudio(src, db=tmp_path / "mix.db")
    imgs = folder(2)
    more = nbl.Dataset.from_folder(imgs, db=tmp_path / "mix.db")
    assert len(more.df) == 4
    more.annotate(more.df.index[-1], [{"label": ds.classes[0], "bbox": [1, 2, 30, 40]}])
    written = json.loads(more.to_labelstudio(tmp_path / "out.json").read_text())
    ids = [t["id"] for t in written]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 4
    assert ids[:2] == [1, 2]
    assert len(written[0]["annotations"]) == 2  # the other annotator's kept


CONVERTER_FILES = [
    ("data.json", "label_config.xml"),
    ("data_polygons.json", "label_config_polygons.xml"),
    ("data_obb.json", "label_config_obb.xml"),
    ("data_keypoints.json", "label_config_keypoints.xml"),
]


@pytest.mark.parametrize(("name", "config"), CONVERTER_FILES, ids=[n for n, _ in CONVERTER_FILES])
def test_label_studio_converter_reads_the_export_as_it_reads_the_source(
    shared_dir, tmp_path, name, config
):
    """Label Studio's own converter (the ``label-studio-converter`` test extra) turns our
    export into the same COCO objects as the file Label Studio exported: every annotation
    of every task, same classes, boxes within a pixel."""
    from label_studio_converter import Converter

    from nblabel.formats import label_config

    def coco(src, cfg, out):
        Converter(cfg, str(tmp_path), download_resources=False).convert_to_coco(
            str(src), str(out), is_dir=False
        )
        data = json.loads((out / "result.json").read_text())
        names = {c["id"]: c["name"] for c in data["categories"]}
        objects = sorted((names[a["category_id"]], *a["bbox"]) for a in data["annotations"])
        return len(data["images"]), objects

    src = shared_dir / LS / "test_export_yolo" / name
    ds = nbl.Dataset.from_labelstudio(src, db=tmp_path / "ls.db")
    ours = ds.to_labelstudio(tmp_path / "ours.json")
    images, expected = coco(src, str(src.parent / config), tmp_path / "a")
    got_images, got = coco(ours, label_config(ds.classes), tmp_path / "b")
    assert got_images == images and len(got) == len(expected) > 0
    for e, g in zip(expected, got):
        assert g[0] == e[0] and g[1:] == pytest.approx(e[1:], abs=1.0)
