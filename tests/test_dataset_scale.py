"""What makes a big Dataset cheap must not change what a Dataset holds.

Opening reads the journal row by row into columns, checks well-formed rows with a fast test,
shares repeated strings and decodes plain keys without the JSON parser; the DataFrame must be
the one the writes left in memory, and every row the fast test lets through must be exactly
what the full checks give.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import nblabel as nbl
from nblabel.columns import CHECKS, _well_formed, clean_row
from nblabel.journal import SCHEMA_VERSION, decode_key, encode_key

GOOD = {
    "image": "a.jpg",
    "width": 640,
    "height": 480,
    "annotations": [{"label": "cat", "bbox": [1.0, 2.0, 30.0, 40.0]}],
    "status": "verified",
    "confidence": 0.5,
    "source": "human",
    "seconds": 3,
    "edits": 2,
    "issues": None,
    "updated": 1.7e9,
}


def _fully_checked(row: dict) -> dict:
    out = dict(row)
    for col, (check, _) in CHECKS.items():
        out[col] = check(row[col])
    return out


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"seconds": 0.0, "confidence": None, "updated": None, "source": None},
        {"annotations": [], "status": "unlabeled", "confidence": 1},
        {"issues": "unreadable image", "width": 0, "height": 0},
        {"evidence": {"prediction": {"records": []}}, "split": "train"},
    ],
)
def test_rows_the_fast_test_passes_are_what_the_full_checks_give(change):
    row = {**GOOD, **change}
    assert _well_formed(row)
    cleaned, problems = clean_row("k", row)
    assert problems == []
    assert cleaned == _fully_checked(row)
    assert cleaned is not row  # a copy: the caller may change it


@pytest.mark.parametrize(
    "change",
    [
        {"width": -1},
        {"width": 6.5},
        {"height": True},
        {"status": "done"},
        {"status": ["verified"]},
        {"confidence": 1.5},
        {"seconds": math.inf},
        {"seconds": "3"},
        {"source": 7},
        {"image": None},
        {"annotations": [{"label": "cat"}]},
        {"annotations": "[]"},
    ],
)
def test_rows_with_a_bad_value_take_the_full_path_and_say_so(change):
    row = {**GOOD, **change}
    assert not _well_formed(row)
    _, problems = clean_row("k", row)
    assert len(problems) == 1 and next(iter(change)) in problems[0]


@pytest.mark.parametrize("col", ["confidence", "updated"])
def test_nan_in_an_optional_column_is_shown_as_missing(col):
    row = {**GOOD, col: math.nan}
    assert not _well_formed(row)  # the full path decides ...
    cleaned, problems = clean_row("k", row)
    assert cleaned[col] is None and problems == []  # ... that NaN means "none"


def test_a_row_missing_a_core_column_is_filled_in():
    row = {k: v for k, v in GOOD.items() if k != "edits"}
    assert not _well_formed(row)
    cleaned, problems = clean_row("k", row)
    assert cleaned["edits"] == 0 and problems == []


@pytest.mark.parametrize("key", ["a", "part/img 1", 'quote"d', "tab\there", "päth", "", 7, 3.5])
def test_keys_decode_to_what_was_encoded(key):
    decoded = decode_key(encode_key(key))
    assert decoded == key and type(decoded) is type(key)


def test_reopening_gives_the_dataframe_the_writes_left(folder, db):
    ds = nbl.Dataset.from_folder(folder(12), db=db, classes=["raccoon"])
    keys = ds.keys()
    ds.annotate(keys[0], [{"label": "raccoon", "bbox": [1, 2, 30, 40]}], seconds=2.5)
    ds.annotate(keys[1], [{"label": "raccoon", "bbox": [3, 4, 50, 60], "score": 0.7}], source="m@1")
    ds.update(keys[2], split="val")  # a user column only one row has
    ds.update(keys[3], issues="blurry")
    ds.annotate_many(
        [(keys[4], [], {"source": "m@1", "status": "review", "columns": {"evidence": {"n": 1}}})]
    )
    reopened = nbl.Dataset.open(db)
    # a user column of text comes back as pandas' string dtype, the core columns as they were
    pd.testing.assert_frame_equal(reopened.df, ds.df, check_dtype=False)
    core = list(CHECKS)
    assert list(reopened.df.dtypes[core]) == list(ds.df.dtypes[core])
    assert reopened.df.loc[keys[2], "split"] == "val"
    assert pd.isna(reopened.df.loc[keys[0], "split"])  # missing, as pandas shows it
    # one string object per distinct status: a million rows do not hold a million copies
    statuses = list(reopened.df["status"])
    assert statuses[5] is statuses[6] and statuses[5] == "unlabeled"


def test_counts_kept_by_writes_match_a_fresh_count(folder, db):
    ds = nbl.Dataset.from_folder(folder(20), db=db, classes=["raccoon"])
    other = nbl.Dataset.open(db)  # a second writer, as another kernel would be
    keys = ds.keys()
    assert ds.counts()["unlabeled"] == 20  # counted once here ...
    rec = [{"label": "raccoon", "bbox": [1, 2, 30, 40]}]
    ds.annotate(keys[0], rec)
    ds.annotate(keys[0], rec)  # the same status again: counted once
    ds.annotate_many([(k, rec, {"source": "m@1", "status": "review"}) for k in keys[1:6]])
    ds.annotate(keys[1], rec)  # review -> verified
    other.annotate(keys[7], rec, source="m@2", status="auto")
    ds.refresh()  # pulls the other writer's row
    ds.update(keys[8], issues="blurry")  # not a status change
    fresh = ds.df["status"].value_counts().to_dict()
    assert ds.counts() == {s: fresh.get(s, 0) for s in ds.counts()}  # ... then kept
    assert ds.counts()["verified"] == 2 and ds.counts()["review"] == 4


def test_headers_read_by_several_processes_come_back_in_order(raccoon_dir, tmp_path, monkeypatch):
    from nblabel import folders

    images = sorted((raccoon_dir / "images").glob("*.jpg"))[:20]
    broken = tmp_path / "gone.jpg"
    broken.symlink_to(tmp_path / "nothing.jpg")
    paths = [str(p) for p in images[:10]] + [str(broken), str(tmp_path / "missing.jpg")]
    paths += [str(p) for p in images[10:]]
    serial = folders.image_sizes(paths)
    monkeypatch.setattr(folders, "PARALLEL_FROM", 10)  # real worker processes, small chunks
    monkeypatch.setattr(folders, "_CHUNK", 7)
    assert folders.image_sizes(paths, workers=2, progress=False) == serial
    assert serial[10][2].startswith("broken link") and serial[11] == (0, 0, "file not found")
    assert all(w > 0 and h > 0 and p is None for w, h, p in serial[:10])


def test_a_folder_import_builds_the_frame_a_reopen_reads(folder, db):
    images = folder(6)
    (images / "broken.jpg").write_bytes(b"not a jpeg")
    (images / "sub").mkdir()
    (images / "sub" / "gone.jpg").symlink_to(images / "nothing.jpg")
    ds = nbl.Dataset.from_folder(images, db=db)  # built from the rows, not read back
    assert ds.df.loc["broken", "issues"] and ds.df.loc["sub/gone", "issues"].startswith("broken")
    pd.testing.assert_frame_equal(ds.df, nbl.Dataset.open(db).df)


def test_values_the_fast_parser_would_change_come_back_exactly(folder, db):
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    key = ds.keys()[0]
    big = 123456789012345678901234567890  # beyond 64 bits: a float in orjson
    ds.update(key, serial=big, checksum=2**64 - 1, ratio=1e300)
    # one past 64 bits, nested where a box keeps its attributes; and a long run of digits in
    # a text, which must read back as the same text
    ds.annotate(key, [{"label": "raccoon", "bbox": [1, 2, 3, 4], "attributes": {"id": 2**64}}])
    ds.update(ds.keys()[1], note="scan 12345678901234567890123")
    reopened = nbl.Dataset.open(db).df
    row = reopened.loc[key]
    assert row["serial"] == big and type(row["serial"]) is int
    assert row["checksum"] == 2**64 - 1 and row["ratio"] == 1e300
    assert row["annotations"][0]["attributes"]["id"] == 2**64
    assert reopened.loc[ds.keys()[1], "note"] == "scan 12345678901234567890123"


def test_writes_held_behind_the_frame_read_back_as_the_journal_has_them(folder, db):
    """Writes reach the DataFrame only when the table is read (in one pass per column): what
    a row, a path, the counts and the frame show must be what the journal holds."""
    ds = nbl.Dataset.from_folder(folder(90), db=db, classes=["raccoon"])
    keys = ds.keys()
    rec = [{"label": "raccoon", "bbox": [1, 2, 30, 40], "score": 0.8}]
    for i, key in enumerate(keys[:80]):  # more than one column's bulk threshold
        ds.annotate(key, rec, source="m@1", status="review" if i % 2 else "predicted")
        assert ds.row(key)["status"] == ("review" if i % 2 else "predicted")
    ds.annotate(keys[0], [], seconds=4.0)  # a person: confidence back to missing
    assert math.isnan(ds.row(keys[0])["confidence"]) and ds.row(keys[0])["seconds"] == 4.0
    ds.update(keys[1], image="elsewhere/raccoon.jpg")
    assert ds.path(keys[1]) == "elsewhere/raccoon.jpg"
    ds.update(keys[2], split=7)  # a new user column while writes are held back
    for key in keys[3:75]:
        ds.update(key, split=3)
    ds.update(keys[75], split="seven")  # ... whose type then changes
    assert ds.counts() == {
        s: n for s, n in ds.df["status"].value_counts().to_dict().items() if n
    } | {s: 0 for s in ds.counts() if s not in set(ds.df["status"])}
    frame = ds.df
    assert math.isnan(frame.loc[keys[0], "confidence"]) and frame.loc[keys[5], "confidence"] == 0.8
    assert frame.loc[keys[75], "split"] == "seven" and frame.loc[keys[4], "split"] == 3
    assert frame.loc[keys[79], "annotations"][0]["bbox"] == [1, 2, 30, 40]
    reopened = nbl.Dataset.open(db).df
    pd.testing.assert_frame_equal(reopened, frame, check_dtype=False)
    core = list(CHECKS)
    assert list(reopened.dtypes[core]) == list(frame.dtypes[core])


def test_two_writers_taking_turns_keep_growing_revisions(folder, db):
    """A writer takes the newest revision from the file only when another connection has
    committed since it last looked: turns taken between two kernels must still reach both."""
    first = nbl.Dataset.from_folder(folder(6), db=db, classes=["raccoon"])
    second = nbl.Dataset.open(db)
    keys = first.keys()
    rec = [{"label": "raccoon", "bbox": [1, 2, 30, 40]}]
    for i in range(12):
        writer, reader = (first, second) if i % 2 else (second, first)
        writer.annotate(keys[i % 6], rec, seconds=float(i + 1))
        assert reader.row(keys[i % 6])["seconds"] == writer.row(keys[i % 6])["seconds"]
    third = nbl.Dataset.open(db)
    pd.testing.assert_frame_equal(first.df, third.df)
    pd.testing.assert_frame_equal(second.df, third.df)


def test_text_number_keys_and_nested_nan_come_back_as_json_reads_them(folder, db):
    ds = nbl.Dataset.from_folder(folder(3), db=db)
    key = ds.keys()[0]
    ds.update(key, note="café ☕ \u2028", by_id={3: "three"}, scores=[0.5, math.nan])
    row = nbl.Dataset.open(db).df.loc[key]
    assert row["note"] == "café ☕ \u2028"
    assert row["by_id"] == {"3": "three"}  # JSON keys are text, as the standard encoder made
    assert row["scores"] == [0.5, None]  # NaN is JSON's null: "missing", as in float cells


def test_a_journal_whose_events_use_autoincrement_keeps_logging_in_order(folder, db):
    import sqlite3

    images = folder(3)
    ds = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    del ds
    conn = sqlite3.connect(db, isolation_level=None)  # the events table older journals have
    conn.executescript(
        "BEGIN; CREATE TABLE old_events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,"
        " key TEXT, kind TEXT NOT NULL, source TEXT, seconds REAL NOT NULL DEFAULT 0,"
        " n_objects INTEGER, status TEXT); INSERT INTO old_events"
        " SELECT id, ts, key, kind, source, seconds, n_objects, status FROM events;"
        " DROP TABLE events; ALTER TABLE old_events RENAME TO events; COMMIT;"
    )
    conn.close()
    ds = nbl.Dataset.open(db)
    for i, key in enumerate(ds.keys()):
        ds.annotate(key, [{"label": "raccoon", "bbox": [1, 2, 30 + i, 40]}], kind="added")
    added = ds.events().query("kind == 'added'")
    assert list(added["key"]) == ds.keys()
    fresh = nbl.Dataset.from_folder(images, db=db.with_name("new.db"))
    conn = sqlite3.connect(fresh.db_path)
    assert (
        "AUTOINCREMENT"
        not in conn.execute("SELECT sql FROM sqlite_master WHERE name='events'").fetchone()[0]
    )


def test_images_another_kernel_imports_reach_an_open_dataset(folder, db, raccoon_dir):
    """The rows an import adds carry no event of their own: the open dataset must still
    pull them, as it pulls the rows another writer changes."""
    images = folder(3)
    ds = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    other = nbl.Dataset.open(db)
    other.annotate(ds.keys()[0], [{"label": "raccoon", "bbox": [1, 2, 30, 40]}])
    extra = sorted((raccoon_dir / "images").glob("*.jpg"))[10:12]
    for p in extra:
        (images / p.name).symlink_to(p)
    again = nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])  # the other kernel
    assert len(again) == 5
    pulled = ds.refresh()
    assert len(pulled) == 3 and ds.keys()[0] in pulled
    assert len(ds) == 5 and ds.row(ds.keys()[0])["status"] == "verified"
    pd.testing.assert_frame_equal(ds.df, nbl.Dataset.open(db).df)


def test_a_journal_with_the_revision_index_of_older_versions_keeps_growing(folder, db):
    """Older journals kept an index on rows.rev and counted revisions per transaction, which
    may run ahead of the event ids revisions now are: an upgraded journal's next revision
    must still be above every old one, or a reader would never pull the new rows."""
    import sqlite3

    rec = [{"label": "raccoon", "bbox": [1, 2, 30, 40]}]
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    keys = ds.keys()
    ds.annotate(keys[0], rec)
    del ds
    conn = sqlite3.connect(db, isolation_level=None)  # as an older version left it
    conn.execute("UPDATE rows SET rev = 500 WHERE key = ?", (encode_key(keys[0]),))
    conn.execute("CREATE INDEX rows_rev ON rows(rev)")
    conn.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")
    conn.close()
    reader, writer = nbl.Dataset.open(db), nbl.Dataset.open(db)
    writer.annotate(keys[1], rec, seconds=2.0)
    assert keys[1] in reader.refresh() and reader.row(keys[1])["seconds"] == 2.0
    conn = sqlite3.connect(db)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    version = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    conn.close()
    assert "rows_rev" not in names and version == (str(SCHEMA_VERSION),)


def test_dropping_the_last_dataset_on_a_file_closes_its_files(folder, db):
    """A cell run again rebuilds its Dataset: the old one's connection (which Python's
    sqlite3 keeps in a reference cycle) must close with it, not at some later collection,
    or its files and locks pile up and slow the new one's commits."""
    import gc
    import os

    def open_files() -> int:
        fds = os.listdir("/proc/self/fd")
        return sum(1 for fd in fds if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(db)))

    gc.disable()  # only reference counting frees it, as between two collections
    try:
        ds = nbl.Dataset.from_folder(folder(2), db=db, classes=["raccoon"])
        ds.annotate(ds.keys()[0], [{"label": "raccoon", "bbox": [1, 2, 30, 40]}])
        assert open_files() >= 1
        del ds
        assert open_files() == 0
    finally:
        gc.enable()
    again = nbl.Dataset.open(db)  # and the write is in the file
    assert again.row(again.keys()[0])["status"] == "verified"
