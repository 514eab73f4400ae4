"""A large journal reopens from the frame saved beside it, and gets exactly what reading its
rows would give: the rows written since, from this kernel or another, included; a frame of
another journal, of a copy of the file that went its own way, or a damaged one, never used.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import nblabel as nbl
from nblabel import dataset as dataset_module
from nblabel import frames
from nblabel.journal import Journal


@pytest.fixture(autouse=True)
def every_journal_keeps_a_frame(monkeypatch):
    monkeypatch.setattr(frames, "MIN_ROWS", 1)
    monkeypatch.setattr(frames, "CHUNK", 4)  # text columns in several pieces, as at scale


@pytest.fixture()
def rows_only(monkeypatch):
    """The DataFrame as the journal's rows give it, with no frame read or saved."""

    def read(db):
        with monkeypatch.context() as m:
            m.setattr(nbl.Dataset, "_from_saved_frame", classmethod(lambda cls, j: None))
            m.setattr(frames, "MIN_ROWS", 10**12)  # and none saved meanwhile
            return nbl.Dataset.open(db).df

    return read


def _opened_from_frame(db) -> nbl.Dataset:
    journal = Journal(db, create=False)
    ds = nbl.Dataset._from_saved_frame(journal)
    assert ds is not None, "the frame was not used"
    return ds


def test_a_folder_import_reopens_from_its_frame_as_its_rows_give_it(folder, db, rows_only):
    ds = nbl.Dataset.from_folder(folder(12), db=db, classes=["raccoon"])
    assert frames.path_for(db).exists()
    key = ds.keys()[3]
    ds.annotate(key, [{"label": "raccoon", "bbox": [10, 20, 120, 140]}], seconds=4.0)
    ds.update(ds.keys()[5], split="val")  # a column only one row has
    back = _opened_from_frame(db)
    pd.testing.assert_frame_equal(back.df, rows_only(db))
    assert back.df.loc[key, "status"] == "verified"
    # the reopened frame takes writes like any other (its arrays are its own)
    back.annotate(ds.keys()[0], [{"label": "raccoon", "bbox": [1, 2, 30, 40]}], seconds=2.5)
    assert back.df.loc[ds.keys()[0], "seconds"] == 2.5
    pd.testing.assert_frame_equal(back.df, rows_only(db))


def test_user_columns_of_every_kind_and_int_keys_come_back_with_their_types(
    raccoon_dir, db, rows_only
):
    images = sorted((raccoon_dir / "images").glob("*.jpg"))[:6]
    df = pd.DataFrame(
        {
            "path": [str(p) for p in images],
            "n": [1, 2, 3, 4, 5, 6],
            "weight": [0.5, float("nan"), 1.5, 2.0, 2.5, 3.0],
            "split": ["train", "val", "train", "train", None, "val"],
            "flag": [True, False, True, True, False, True],
            "meta": [{"a": 1}, [1, 2], "x", None, 7, {"deep": {"b": [None]}}],
            "big": [2**70, 1, 2, 3, 4, 5],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    nbl.Dataset.from_dataframe(df, db=db, classes=["raccoon"])
    back = _opened_from_frame(db)
    expected = rows_only(db)
    pd.testing.assert_frame_equal(back.df, expected)
    assert list(back.df.dtypes) == list(expected.dtypes)
    assert back.df.loc[15, "meta"] == {"deep": {"b": [None]}}
    assert back.df.loc[10, "big"] == 2**70


def test_writes_another_kernel_made_after_the_frame_are_in_the_reopened_frame(
    folder, db, rows_only
):
    ds = nbl.Dataset.from_folder(folder(8), db=db, classes=["raccoon"])
    key = ds.keys()[2]
    code = (
        "import nblabel as nbl, sys; ds = nbl.Dataset.open(sys.argv[1]); "
        f"ds.annotate({key!r}, [{{'label': 'raccoon', 'bbox': [5, 5, 50, 60]}}], seconds=3)"
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=True)
    back = _opened_from_frame(db)
    assert back.df.loc[key, "annotations"][0]["bbox"] == [5.0, 5.0, 50.0, 60.0]
    pd.testing.assert_frame_equal(back.df, rows_only(db))


def test_a_copy_of_the_file_that_went_its_own_way_does_not_take_the_others_frame(
    folder, db, tmp_path, monkeypatch, rows_only
):
    monkeypatch.setattr(frames, "STALE_SHARE", 0.0)  # each open after a write saves again
    ds = nbl.Dataset.from_folder(folder(6), db=db, classes=["raccoon"])
    key = ds.keys()[1]
    del ds
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    a = nbl.Dataset.open(db)
    a.annotate(key, [{"label": "raccoon", "bbox": [1, 1, 11, 11]}])
    b = nbl.Dataset.open(copy)
    b.annotate(key, [{"label": "raccoon", "bbox": [2, 2, 22, 22]}])
    nbl.Dataset.open(db)  # saves a's frame after its write: the same event id as b's write
    shutil.copy(frames.path_for(db), frames.path_for(copy))  # a's frame beside b's file
    reopened = nbl.Dataset.open(copy)
    assert reopened.df.loc[key, "annotations"][0]["bbox"] == [2.0, 2.0, 22.0, 22.0]
    pd.testing.assert_frame_equal(reopened.df, rows_only(copy))


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_a_damaged_frame_is_never_read_as_labels(folder, db, damage, rows_only):
    ds = nbl.Dataset.from_folder(folder(6), db=db, classes=["raccoon"])
    ds.annotate(ds.keys()[0], [{"label": "raccoon", "bbox": [1, 2, 30, 40]}])
    path = frames.path_for(db)
    raw = bytearray(path.read_bytes())
    if damage == "flip":  # one bit of one image's width: still a valid number
        (size,) = struct.unpack("<Q", raw[-8:])
        info = json.loads(bytes(raw[-8 - size : -8]))
        ((offset, length, _),) = next(c for c in info["columns"] if c["name"] == "width")["parts"]
        raw[offset + length - 8] ^= 0x01
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = bytearray(b"\x00" * len(raw))
    path.write_bytes(bytes(raw))
    assert nbl.Dataset._from_saved_frame(Journal(db, create=False)) is None
    pd.testing.assert_frame_equal(nbl.Dataset.open(db).df, rows_only(db))


def test_rows_an_import_added_after_the_frame_are_read(folder, db, raccoon_dir, rows_only):
    images = folder(4)
    nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    stale = frames.path_for(db).read_bytes()
    for p in sorted((raccoon_dir / "images").glob("*.jpg"))[50:55]:
        (images / p.name).symlink_to(p)
    more = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    assert len(more) == 9
    frames.path_for(db).write_bytes(stale)  # the frame from before the second import
    assert nbl.Dataset._from_saved_frame(Journal(db, create=False)) is None
    back = nbl.Dataset.open(db)
    assert len(back) == 9
    pd.testing.assert_frame_equal(back.df, rows_only(db))


def test_a_rebuilt_journal_does_not_open_with_the_old_frame(folder, db):
    nbl.Dataset.from_folder(folder(5, name="a"), db=db, classes=["raccoon"])
    old = frames.path_for(db).read_bytes()
    nbl.Dataset.from_folder(folder(3, name="b"), db=db, classes=["raccoon"], overwrite=True)
    frames.path_for(db).write_bytes(old)
    assert len(nbl.Dataset.open(db)) == 3


def test_a_journal_with_invalid_values_keeps_no_frame_and_warns_on_every_open(folder, db):
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    key = ds.keys()[0]
    del ds
    frames.path_for(db).unlink()
    j = Journal(db, create=False)
    data = j.read_row(key)
    with j.transaction():
        j.put_row(key, {**data, "width": "wide"}, {"kind": "edit", "key": key})
    del j
    for _ in range(2):
        with pytest.warns(UserWarning, match="invalid"):
            nbl.Dataset.open(db)
        assert not frames.path_for(db).exists()


def test_a_small_journal_keeps_no_frame(folder, db, monkeypatch):
    monkeypatch.setattr(frames, "MIN_ROWS", 50)
    nbl.Dataset.from_folder(folder(5), db=db, classes=["raccoon"])
    assert not frames.path_for(db).exists()


def test_a_frame_is_not_written_where_it_cannot_be_kept(tmp_path):
    df = pd.DataFrame({"t": pd.to_datetime(["2026-01-01"])}, index=pd.Index(["a"], name="key"))
    assert frames.save(tmp_path / "x-frame", df, {"journal_id": "j", "rev": 1}) is False
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    ok = pd.DataFrame({"n": np.arange(3)}, index=pd.Index(["a", "b", "c"], name="key"))
    assert frames.save(tmp_path / "missing" / "x-frame", ok, {"journal_id": "j"}) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frames.load(tmp_path / "nothing-frame", "j") is None


def test_the_frame_is_saved_again_once_many_rows_were_written_since(folder, db, monkeypatch):
    ds = nbl.Dataset.from_folder(folder(10), db=db, classes=["raccoon"])
    first = frames.load(frames.path_for(db), ds._journal.journal_id)[1]["rev"]
    for key in ds.keys()[:3]:
        ds.annotate(key, [{"label": "raccoon", "bbox": [1, 2, 30, 40]}])
    monkeypatch.setattr(frames, "STALE_SHARE", 0.5)  # 3 of 10 rows: not yet
    nbl.Dataset.open(db)
    assert frames.load(frames.path_for(db), ds._journal.journal_id)[1]["rev"] == first
    monkeypatch.setattr(frames, "STALE_SHARE", 0.2)
    nbl.Dataset.open(db)
    info = frames.load(frames.path_for(db), ds._journal.journal_id)[1]
    assert info["rev"] > first
    assert ds._journal.events_after(info["rev"]) == (0, False)


def test_a_save_killed_half_way_leaves_nothing_the_next_save_keeps(folder, db):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    left = db.parent / f".{frames.path_for(db).name}.{dead}.tmp"
    left.write_bytes(b"half a frame")
    ours = db.parent / f".{frames.path_for(db).name}.{os.getpid()}.tmp.keep"
    ours.write_bytes(b"not a temporary file of a save")
    nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    assert not left.exists()
    assert ours.exists()
    assert frames.path_for(db).exists()


def test_an_import_run_again_reads_only_new_headers_and_opens_from_the_frame(
    folder, db, raccoon_dir, monkeypatch, rows_only
):
    images = folder(6)
    first = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    first.annotate(first.keys()[0], [{"label": "raccoon", "bbox": [3, 4, 50, 60]}])
    asked: list[str] = []
    real = dataset_module.image_sizes

    def spy(paths):
        asked.extend(paths)
        return real(paths)

    monkeypatch.setattr(dataset_module, "image_sizes", spy)
    opened: list[bool] = []
    real_open = nbl.Dataset._from_saved_frame.__func__
    monkeypatch.setattr(
        nbl.Dataset,
        "_from_saved_frame",
        classmethod(lambda cls, j: opened.append(True) or real_open(cls, j)),
    )
    again = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    assert asked == []  # every header is in the journal already
    assert opened == [True]
    pd.testing.assert_frame_equal(again.df, rows_only(db))
    new = sorted((raccoon_dir / "images").glob("*.jpg"))[60]
    (images / new.name).symlink_to(new)
    more = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    assert asked == [str(images / new.name)]
    assert len(more) == 7 and more.row(new.stem)["width"] > 0
    assert more.row(first.keys()[0])["status"] == "verified"  # the label made before stays
    pd.testing.assert_frame_equal(more.df, rows_only(db))


def test_an_import_run_again_knows_a_row_sqlite_does_not_take_for_json(folder, db):
    images = folder(3)
    ds = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    key = ds.keys()[1]
    del ds
    conn = sqlite3.connect(db)
    (data,) = conn.execute("SELECT data FROM rows WHERE key=?", (f'"{key}"',)).fetchone()
    conn.execute(
        "UPDATE rows SET data=? WHERE key=?",
        (data.replace('"confidence":null', '"confidence":NaN'), f'"{key}"'),
    )
    conn.commit()
    conn.close()
    assert Journal(db, create=False).row_images()[1][1].endswith(".jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN is shown as missing, and said so
        again = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    assert len(again) == 3  # the row was not taken for a new image
