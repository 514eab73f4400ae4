"""Dataset: import, journaling, reopening, bad input. Real files, real SQLite."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import nblabel as nbl
from nblabel.images import ImageError, image_size, load_rgb
from nblabel.records import AnnotationError

BOX = {"label": "raccoon", "bbox": [10, 20, 110, 140]}


@pytest.fixture()
def small_folder(tmp_path, raccoon_dir) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ["raccoon-1.jpg", "raccoon-2.jpg", "raccoon-3.jpg"]:
        shutil.copy(raccoon_dir / "images" / name, folder / name)
    return folder


def test_from_folder_raccoon_has_one_row_per_image_with_header_sizes(raccoon_dir, db):
    ds = nbl.Dataset.from_folder(raccoon_dir / "images", db=db)
    assert len(ds) == 200
    assert set(ds.df["status"]) == {"unlabeled"}
    assert ds.df["issues"].isna().all()
    # header sizes agree with fully decoded pixels (3 of the images are grayscale)
    for key in ds.keys()[:15]:
        h, w = load_rgb(ds.path(key)).shape[:2]
        assert (ds.df.at[key, "width"], ds.df.at[key, "height"]) == (w, h)
    required = {
        "image",
        "width",
        "height",
        "annotations",
        "status",
        "confidence",
        "source",
        "seconds",
        "edits",
    }
    assert required <= set(ds.df.columns)


def test_from_voc_raccoon_counts(raccoon_dir, db):
    ds = nbl.Dataset.from_voc(raccoon_dir / "annotations", images=raccoon_dir / "images", db=db)
    assert len(ds) == 200
    assert ds.classes == ["raccoon"]
    assert sum(len(a) for a in ds.df["annotations"]) == 217
    assert len(ds.objects()) == 217
    assert (ds.df["status"] == "verified").all()


def test_annotate_is_journaled_and_open_rebuilds_the_same_frame(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    ds.annotate("raccoon-1", [BOX], seconds=4.5, kind="added")
    ds.annotate("raccoon-2", [dict(BOX, score=0.42)], source="yolo@abc", status="review")
    again = nbl.Dataset.open(db)
    pd.testing.assert_frame_equal(again.df, ds.df)
    assert again.classes == ["raccoon"]
    r1, r2 = again.row("raccoon-1"), again.row("raccoon-2")
    assert r1["status"] == "verified" and r1["edits"] == 1 and r1["seconds"] == 4.5
    assert r1["annotations"][0]["bbox"] == [10.0, 20.0, 110.0, 140.0]
    assert r2["status"] == "review" and r2["source"] == "yolo@abc"
    assert r2["confidence"] == pytest.approx(0.42)
    kinds = list(again.events()["kind"])
    assert kinds == ["import", "added", "predict"]


def test_human_seconds_and_edits_accumulate(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    ds.annotate("raccoon-1", [BOX], status="review", seconds=2.0, kind="added")
    ds.annotate("raccoon-1", [BOX], seconds=3.0, kind="submit")
    row = ds.row("raccoon-1")
    assert row["edits"] == 2 and row["seconds"] == 5.0 and row["status"] == "verified"


def test_annotate_rejects_bad_records_and_writes_nothing(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    with pytest.raises(AnnotationError, match="unknown class 'dog'"):
        ds.annotate("raccoon-1", [{"label": "dog", "bbox": [1, 1, 5, 5]}])
    with pytest.raises(AnnotationError, match="zero area"):
        ds.annotate("raccoon-1", [{"label": "raccoon", "bbox": [5000, 5000, 6000, 6000]}])
    with pytest.raises(KeyError, match="no image with key"):
        ds.annotate("nope", [BOX])
    # a batch with one bad write is all or nothing
    with pytest.raises(AnnotationError):
        ds.annotate_many(
            [("raccoon-1", [BOX], {}), ("raccoon-2", [{"label": "x", "bbox": [0, 0, 1, 1]}], {})]
        )
    reopened = nbl.Dataset.open(db)
    assert (reopened.df["status"] == "unlabeled").all()
    assert reopened.df["annotations"].map(len).sum() == 0


def test_boxes_partly_outside_are_clipped_to_the_image(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    w, h = ds.df.at["raccoon-1", "width"], ds.df.at["raccoon-1", "height"]
    ds.annotate("raccoon-1", [{"label": "raccoon", "bbox": [-20, -5, w + 50, h + 1]}])
    assert ds.row("raccoon-1")["annotations"][0]["bbox"] == [0.0, 0.0, float(w), float(h)]


def test_writes_that_returned_survive_sigkill(small_folder, db):
    nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    child = textwrap.dedent(
        f"""
        import sys, nblabel as nbl
        ds = nbl.Dataset.open({str(db)!r})
        i = 0
        while True:
            key = ds.keys()[i % 3]
            ds.annotate(key, [{{"label": "raccoon", "bbox": [1, 1, 2 + i, 3]}}], seconds=1.0)
            print(i, flush=True)   # printed only after annotate() returned
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    returned = -1
    start = time.time()
    while returned < 300 and time.time() - start < 60:
        line = proc.stdout.readline()
        if line.strip():
            returned = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert returned >= 300
    ds = nbl.Dataset.open(db)
    # every call that printed had returned; it must be there (maybe one more that had not printed)
    assert ds.df["edits"].sum() >= returned + 1
    widest = max(a[0]["bbox"][2] for a in ds.df["annotations"] if a)
    assert widest >= 2 + returned


def test_default_db_location_resumes_labels(small_folder, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NBLABEL_HOME", str(tmp_path / "home"))
    ds = nbl.Dataset.from_folder(small_folder, classes=["raccoon"])
    assert ds.db_path.is_relative_to(tmp_path / "home")
    assert "journaling to" in capsys.readouterr().out
    ds.annotate("raccoon-2", [BOX])
    shutil.copy(small_folder / "raccoon-1.jpg", small_folder / "new.jpg")
    again = nbl.Dataset.from_folder(small_folder)  # running the same cell again
    assert again.db_path == ds.db_path
    assert len(again) == 4
    assert again.row("raccoon-2")["status"] == "verified"
    assert "resumed 3" in capsys.readouterr().out


def test_folder_with_bad_and_odd_images(tmp_path, raccoon_dir, db):
    folder = tmp_path / "odd"
    folder.mkdir()
    src = Image.open(raccoon_dir / "images" / "raccoon-1.jpg")
    w, h = src.size
    src.convert("L").save(folder / "gray.png")
    rgba = src.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(folder / "rgba.png")
    Image.fromarray(np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20).save(
        folder / "deep.png"
    )
    exif = src.getexif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise: displayed size swaps
    src.save(folder / "rotated.jpg", exif=exif)
    data = (raccoon_dir / "images" / "raccoon-2.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "corrupt.jpg").write_bytes(b"this is not a jpeg")
    (folder / "notes.txt").write_text("not an image")

    ds = nbl.Dataset.from_folder(folder, db=db)
    assert sorted(ds.keys()) == ["corrupt", "deep", "gray", "rgba", "rotated", "truncated"]
    assert any("notes.txt" in line for line in ds.import_report)
    assert "not an image" in ds.df.at["corrupt", "issues"]
    assert (ds.df.at["rotated", "width"], ds.df.at["rotated", "height"]) == (h, w)
    assert ds.image("rotated").shape == (w, h, 3)
    for key in ("gray", "rgba", "deep"):
        img = ds.image(key)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert ds.image("deep").max() > 200  # 16-bit range scaled, not clipped to white or black
    # a truncated file has a valid header; decoding it fails with a message naming the file
    with pytest.raises(ImageError, match="truncated.jpg"):
        ds.image("truncated")


def test_from_dataframe_keeps_index_and_columns_and_flags_problems(raccoon_dir, db):
    img = str(raccoon_dir / "images" / "raccoon-1.jpg")
    df = pd.DataFrame(
        {"path": [img, img, "/nowhere/missing.jpg"], "split": ["train", "val", "train"]},
        index=[10, 20, 30],
    )
    ds = nbl.Dataset.from_dataframe(df, image_col="path", db=db)
    assert ds.keys() == [10, 20, 30]
    assert list(ds.df["split"]) == ["train", "val", "train"]
    assert ds.df.at[10, "issues"] is None
    assert "duplicate image" in ds.df.at[20, "issues"]
    assert "file not found" in ds.df.at[30, "issues"]
    assert nbl.Dataset.open(db).keys() == [10, 20, 30]  # int keys stay ints
    with pytest.raises(ValueError, match="index must be unique"):
        nbl.Dataset.from_dataframe(df.set_axis([1, 1, 2]), db=db.with_name("b.db"))
    with pytest.raises(KeyError, match="'file'"):
        nbl.Dataset.from_dataframe(df, image_col="file", db=db.with_name("c.db"))


def test_open_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such database"):
        nbl.Dataset.open(tmp_path / "absent.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(ValueError, match="not an nblabel database"):
        nbl.Dataset.open(junk)


def test_concurrent_writers_and_listeners(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    seen = []
    ds.on_change(seen.append)

    def work(key):
        for _ in range(50):
            ds.annotate(key, [dict(BOX, score=0.5)], source="m@1", status="review")

    threads = [threading.Thread(target=work, args=(k,)) for k in ds.keys()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 150
    ds.on_change(seen.append, remove=True)
    ds.annotate("raccoon-1", [BOX])
    assert len(seen) == 150
    assert len(nbl.Dataset.open(db).events()) == 1 + 151


def test_update_sets_columns_durably(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db)
    ds.update("raccoon-1", original_image="orig.jpg", frame=7)
    again = nbl.Dataset.open(db)
    assert again.df.at["raccoon-1", "original_image"] == "orig.jpg"
    assert again.df.at["raccoon-1", "frame"] == 7
    with pytest.raises(ValueError, match="annotate"):
        ds.update("raccoon-1", annotations=[])


def test_image_size_errors_name_the_file(tmp_path):
    with pytest.raises(ImageError, match="missing.png: file not found"):
        image_size(tmp_path / "missing.png")


def test_weak_listeners_go_away_with_their_owner(small_folder, db):
    import gc

    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])

    class Viewer:
        def __init__(self):
            self.seen = []

        def changed(self, key):
            self.seen.append(key)

    viewer = Viewer()
    ds.on_change(viewer.changed, weak=True)
    ds.annotate("raccoon-1", [BOX])
    assert viewer.seen == ["raccoon-1"]
    del viewer
    gc.collect()
    ds.annotate("raccoon-2", [BOX])  # a forgotten viewer is dropped, not called
    assert ds._listeners == []


def test_model_writes_with_skip_human_never_replace_a_person(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    ds.annotate("raccoon-1", [BOX])  # verified by a person
    ds.annotate("raccoon-2", [BOX], status="review", kind="moved")  # a person is part-way through
    pred = [dict(BOX, score=0.9)]
    opts = {"source": "m@2", "skip_human": True}
    written = ds.annotate_many([(k, pred, opts) for k in ("raccoon-1", "raccoon-2", "raccoon-3")])
    assert written == ["raccoon-3"]
    assert ds.row("raccoon-1")["source"] == "human" and ds.row("raccoon-2")["source"] == "human"
    assert ds.row("raccoon-3")["source"] == "m@2"


def test_a_write_sets_other_columns_in_the_same_step(small_folder, db):
    ds = nbl.Dataset.from_folder(small_folder, db=db, classes=["raccoon"])
    key = ds.keys()[0]
    box = [{"label": "raccoon", "bbox": [1, 1, 50, 50], "score": 0.9}]
    ds.annotate_many([(key, box, {"source": "m@1", "columns": {"evidence": {"why": "a"}}})])
    assert nbl.Dataset.open(db).row(key)["evidence"] == {"why": "a"}
    with pytest.raises(ValueError, match="may not set"):
        ds.annotate_many([(key, box, {"source": "m@1", "columns": {"status": "auto"}})])
    with pytest.raises(ValueError, match="must be a dict"):
        ds.annotate_many([(key, box, {"source": "m@1", "columns": ["evidence"]})])
    assert nbl.Dataset.open(db).row(key)["status"] == "predicted"
