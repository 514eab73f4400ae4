"""Exports are complete or absent: a SIGKILL at any point leaves the old export or the new one.

Each exporter runs in a child process that is killed at a random moment of its export; what
is then on disk is read back with nblabel's reader and must be exactly the earlier export,
exactly the new one, or (for a first export) nothing at all.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nblabel.formats import (
    FormatError,
    read_coco,
    read_cvat,
    read_labelme,
    read_labelstudio,
    read_voc,
    read_yolo,
    write_coco,
    write_cvat,
    write_labelme,
    write_labelstudio,
    write_voc,
    write_yolo,
)

WRITERS = {
    "coco": (write_coco, "instances.json"),
    "labelstudio": (write_labelstudio, "tasks.json"),
    "cvat": (write_cvat, "annotations.xml"),
    "yolo": (write_yolo, "yolo"),
    "voc": (write_voc, "voc"),
    "labelme": (write_labelme, "labelme"),
}
KILLS = 3


@pytest.fixture(scope="module")
def versions(raccoon_dir):
    """Two versions of a 600-image dataset that differ in every row and in their rows."""
    _, items = read_voc(raccoon_dir / "annotations", raccoon_dir / "images")
    old, new = [], []
    for copy in range(3):
        for it in items:
            row = {**it, "key": f"{it['key']}-{copy}", "status": "verified"}
            old.append(row)
            if copy < 2:  # the new export has fewer rows: files must go, not linger
                moved = [
                    {**r, "bbox": [r["bbox"][0] + 1, *r["bbox"][1:]]} for r in it["annotations"]
                ]
                new.append({**row, "annotations": moved})
    return old, new


def _summary(fmt: str, dst: Path, images: Path):
    """What the export at ``dst`` says, or None when nothing is there, or "broken"."""
    if not dst.exists():
        return None
    try:
        if fmt == "coco":
            _, items = read_coco(dst, allow_outside=True)
        elif fmt == "labelstudio":
            _, items = read_labelstudio(dst, images)
        elif fmt == "cvat":
            _, items = read_cvat(dst, images)
        elif fmt == "yolo":
            _, items = read_yolo(dst)
        elif fmt == "voc":
            _, items = read_voc(dst, images)
        else:
            _, items = read_labelme(dst, images)
    except (FormatError, FileNotFoundError, ValueError) as e:
        return f"broken: {e}"
    out = []
    for it in items:
        boxes = sorted(tuple(round(v) for v in r["bbox"]) for r in it["annotations"])
        out.append((Path(it["image"]).name, tuple(boxes)))
    return sorted(out)


def _kill_during(fmt: str, rows_file: Path, dst: Path, delay: float) -> bool:
    """Start the export in a child process, SIGKILL it ``delay`` s in; True if it was killed."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from nblabel.formats import write_{fmt} as write
        rows = json.load(open({str(rows_file)!r}))
        print("go", flush=True)
        write(rows, ["raccoon"], {str(dst)!r})
        print("done", flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "go", child.stderr.read()
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    return child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_a_killed_export_leaves_the_old_export_or_the_new_one(fmt, versions, raccoon_dir, tmp_path):
    writer, name = WRITERS[fmt]
    old, new = versions
    images = raccoon_dir / "images"
    rows_file = tmp_path / "new.json"
    rows_file.write_text(json.dumps(new))

    t = time.perf_counter()
    writer(new, ["raccoon"], tmp_path / "probe" / name)
    seconds = time.perf_counter() - t
    want_new = _summary(fmt, tmp_path / "probe" / name, images)
    rng = random.Random(f"{fmt}-kill")

    dst = tmp_path / "out" / name
    # a first export killed: nothing there, or all of it, and the next export is not blocked
    _kill_during(fmt, rows_file, dst, rng.uniform(0, seconds))
    assert _summary(fmt, dst, images) in (None, want_new)
    writer(old, ["raccoon"], dst)
    want_old = _summary(fmt, dst, images)
    assert want_old != want_new and len(want_old) == 600

    killed = 0
    for _ in range(KILLS):
        writer(old, ["raccoon"], dst)
        killed += _kill_during(fmt, rows_file, dst, rng.uniform(0, 1.2 * seconds))
        assert _summary(fmt, dst, images) in (want_old, want_new)
    if not killed:  # a busy machine let every child finish first: kill one at once
        writer(old, ["raccoon"], dst)
        killed += _kill_during(fmt, rows_file, dst, 0.0)
        assert _summary(fmt, dst, images) in (want_old, want_new)
    assert killed  # at least one child died before it finished

    # the next export completes and removes what the killed ones left beside it
    writer(new, ["raccoon"], dst)
    assert _summary(fmt, dst, images) == want_new
    assert [p.name for p in dst.parent.iterdir()] == [name]


def test_an_exception_during_an_export_leaves_the_old_one_and_no_leftovers(versions, tmp_path):
    old, _ = versions
    dst = tmp_path / "voc"
    write_voc(old[:5], ["raccoon"], dst)
    before = sorted(p.name for p in dst.iterdir())
    bad = [*old[:5], {**old[5], "image": os.devnull, "width": None}]
    with pytest.raises(ValueError, match="no image size"):
        write_voc(bad, ["raccoon"], dst)
    assert sorted(p.name for p in dst.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["voc"]


def test_files_someone_put_into_an_export_survive_a_re_export(versions, tmp_path):
    old, new = versions
    dst = tmp_path / "yolo"
    write_yolo(old[:10], ["raccoon"], dst)
    (dst / "runs").mkdir()
    (dst / "runs" / "notes.txt").write_text("mine")
    write_yolo(new[:4], ["raccoon"], dst)
    assert (dst / "runs" / "notes.txt").read_text() == "mine"
    assert len(list((dst / "labels").rglob("*.txt"))) == 4

    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "labels.db").write_text("not an export")
    with pytest.raises(ValueError, match="nblabel did not write"):
        write_voc(old[:2], ["raccoon"], foreign)
    assert [p.name for p in foreign.iterdir()] == ["labels.db"]
