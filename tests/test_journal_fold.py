"""A write of objects waits in the event log, durable, and reaches its row in the next fold:
every reader (another kernel, a reopen, an export, a copy of the file) sees it all the same,
in order, and nothing a person did is lost or overwritten on the way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import nblabel as nbl
from nblabel import journal as journal_module
from nblabel.journal import Journal, encode_key, loads, waiting_after

REC = [{"label": "raccoon", "bbox": [10, 20, 120, 140]}]


def _row_in_file(db, key) -> dict:
    """The row as the rows table holds it, read without nblabel (nothing folded)."""
    conn = sqlite3.connect(db)
    try:
        (data,) = conn.execute("SELECT data FROM rows WHERE key=?", (encode_key(key),)).fetchone()
    finally:
        conn.close()
    return loads(data)


def _waiting(db) -> bool:
    conn = sqlite3.connect(db)
    try:
        return waiting_after(conn)
    finally:
        conn.close()


@pytest.fixture()
def rows_only(monkeypatch):
    """The DataFrame a full read of the journal's rows gives (no saved frame)."""

    def read(db):
        with monkeypatch.context() as m:
            m.setattr(nbl.Dataset, "_from_saved_frame", classmethod(lambda cls, j: None))
            return nbl.Dataset.open(db).df

    return read


def test_a_write_waits_in_the_event_log_and_every_reader_sees_it(folder, db, rows_only):
    ds = nbl.Dataset.from_folder(folder(4), db=db, classes=["raccoon"])
    key = ds.keys()[1]
    ds.annotate(key, REC, seconds=3.0)
    # the write did not touch its row: it is in the event log, and durable there
    assert _row_in_file(db, key)["status"] == "unlabeled"
    assert _waiting(db)
    other = nbl.Dataset.open(db)
    assert other.row(key)["status"] == "verified" and other.row(key)["seconds"] == 3.0
    # the reader folded it: the rows table is complete for any program that reads it
    assert _row_in_file(db, key)["annotations"][0]["bbox"] == [10.0, 20.0, 120.0, 140.0]
    assert not _waiting(db)
    pd.testing.assert_frame_equal(other.df, ds.df)
    pd.testing.assert_frame_equal(rows_only(db), ds.df)


def test_many_writes_of_one_row_fold_in_order_with_its_newest_revision(folder, db):
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    a, b = ds.keys()[0], ds.keys()[2]
    for i in range(5):
        ds.annotate(a, [{"label": "raccoon", "bbox": [1, 2, 30 + i, 40]}], seconds=1.0)
    ds.annotate(b, REC, source="m@1", confidence=0.4)
    ds.annotate(a, [], seconds=0.5)  # the last write of a: no objects
    journal = Journal(db, create=False)
    assert journal.fold() == 7
    row = _row_in_file(db, a)
    assert row["annotations"] == [] and row["seconds"] == 5.5 and row["edits"] == 6
    assert _row_in_file(db, b)["source"] == "m@1"
    conn = sqlite3.connect(db)
    revs = dict(conn.execute("SELECT key, rev FROM rows"))
    newest = dict(
        conn.execute("SELECT key, MAX(id) FROM events WHERE key IS NOT NULL GROUP BY key")
    )
    conn.close()
    assert revs[encode_key(a)] == newest[encode_key(a)]
    assert revs[encode_key(b)] == newest[encode_key(b)]
    assert journal.fold() == 0  # nothing waits twice


def test_update_after_writes_that_wait_keeps_both(folder, db, rows_only):
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    key = ds.keys()[0]
    ds.annotate(key, REC, seconds=2.0)
    ds.update(key, split="val")  # rewrites the whole row: what waited goes in first
    ds.annotate(key, REC + REC, seconds=1.0)
    back = rows_only(db)
    assert back.at[key, "split"] == "val" and len(back.at[key, "annotations"]) == 2
    assert back.at[key, "seconds"] == 3.0 and back.at[key, "edits"] == 2
    pd.testing.assert_frame_equal(back, ds.df)


def test_a_model_write_never_goes_over_a_correction_waiting_in_the_log(folder, db):
    person = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    model = nbl.Dataset.open(db)
    key = person.keys()[0]
    person.annotate(key, REC, seconds=4.0)  # waits in the log, not in its row
    written = model.annotate_many(
        [(key, [dict(REC[0], score=0.3)], {"source": "m@1", "skip_human": True})]
    )
    assert written == []
    assert nbl.Dataset.open(db).row(key)["source"] == "human"


def test_writes_that_returned_survive_the_process_being_killed(folder, db, rows_only):
    images = folder(5)
    nbl.Dataset.from_folder(images, db=db, classes=["raccoon"])
    script = textwrap.dedent(
        f"""
        import os, signal, nblabel as nbl
        ds = nbl.Dataset.open({str(db)!r})
        for i, key in enumerate(ds.keys()):
            ds.annotate(key, [{{"label": "raccoon", "bbox": [1, 2, 30 + i, 40]}}], seconds=1.0)
        print("written", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == -signal.SIGKILL and "written" in run.stdout
    assert _waiting(db)  # killed before anything folded them
    back = rows_only(db)
    assert (back["status"] == "verified").all() and back["seconds"].sum() == 5.0
    assert [a[0]["bbox"][2] for a in back["annotations"]] == [30.0, 31.0, 32.0, 33.0, 34.0]


def test_a_long_run_of_writes_is_folded_in_the_background(folder, db, monkeypatch, rows_only):
    monkeypatch.setattr(journal_module, "FOLD_AT", 40)
    ds = nbl.Dataset.from_folder(folder(6), db=db, classes=["raccoon"])
    keys = ds.keys()
    for i in range(100):
        ds.annotate(keys[i % 6], [{"label": "raccoon", "bbox": [1, 2, 30 + i, 40]}])
    assert journal_module.wait_folded(db, 30)
    conn = sqlite3.connect(db)
    (folded,) = conn.execute("SELECT value FROM meta WHERE name='folded'").fetchone()
    conn.close()
    # at least the first 40 were folded without any reader asking; the rest wait at most
    assert int(folded) >= 40
    pd.testing.assert_frame_equal(rows_only(db), ds.df)


def test_a_copy_of_the_file_alone_holds_every_write(folder, db, tmp_path):
    """What a backup of the file gets: the changes are in the event log of the file, and the
    copy's first reader folds them."""
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    key = ds.keys()[2]
    ds.annotate(key, REC, seconds=1.5)
    ds._journal._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = tmp_path / "copy.db"
    copy.write_bytes(db.read_bytes())
    assert nbl.Dataset.open(copy).row(key)["seconds"] == 1.5


def test_a_row_that_is_not_a_record_takes_the_write_alone(folder, db):
    ds = nbl.Dataset.from_folder(folder(2), db=db, classes=["raccoon"])
    key = ds.keys()[0]
    del ds
    conn = sqlite3.connect(db)
    conn.execute("UPDATE rows SET data='[1, 2]' WHERE key=?", (encode_key(key),))
    conn.commit()
    conn.close()
    with pytest.warns(UserWarning, match="not a record"):
        ds = nbl.Dataset.open(db)
    ds.annotate(key, [], seconds=1.0)
    back = nbl.Dataset.open(db)  # the write made it a record again: the image stays unknown
    assert back.row(key)["status"] == "verified" and back.row(key)["seconds"] == 1.0
    assert back.row(ds.keys()[1])["width"] > 0


def test_an_older_nblabel_journal_opens_and_its_rows_are_complete(folder, db):
    """A journal from before the event log held changes has none waiting: its rows are read
    as they are, and its first write waits in the new column."""
    ds = nbl.Dataset.from_folder(folder(2), db=db, classes=["raccoon"])
    del ds
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("ALTER TABLE events DROP COLUMN changes")
    conn.close()
    ds = nbl.Dataset.open(db)
    assert not _waiting(db)
    ds.annotate(ds.keys()[1], REC)
    assert _waiting(db) and nbl.Dataset.open(db).row(ds.keys()[1])["status"] == "verified"
    assert os.path.exists(db)


def test_a_column_held_by_the_user_never_makes_a_write_build_on_old_values(folder, db):
    """A write reads its row's totals from the DataFrame's arrays. pandas moves a column to
    a new array when a cell is set while anything else shares it (copy on write): a column
    the user keeps must not leave the next write adding to the old one."""
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    key = ds.keys()[0]
    ds.annotate(key, REC, seconds=1.0)
    held = ds.df["seconds"]  # shares the column with the frame
    ds.annotate(key, REC, seconds=1.0)
    assert ds.df.at[key, "seconds"] == 2.0  # set in the frame: pandas copies the column
    ds.annotate(key, REC, seconds=1.0)
    assert ds.row(key)["seconds"] == 3.0 and ds.row(key)["edits"] == 3
    assert nbl.Dataset.open(db).row(key)["seconds"] == 3.0
    assert held[key] == 1.0  # and the user's copy is still what it was


def test_a_change_edited_by_hand_into_garbage_is_left_out_and_the_rest_folds(folder, db):
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    a, b = ds.keys()[0], ds.keys()[1]
    ds.annotate(a, REC, seconds=1.0)
    ds.annotate(b, REC, seconds=2.0)
    del ds
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE events SET changes='{not json' WHERE key=? AND changes IS NOT NULL",
        (encode_key(a),),
    )
    conn.commit()
    conn.close()
    back = nbl.Dataset.open(db)  # opens, and keeps every readable write
    assert back.row(b)["seconds"] == 2.0 and back.row(a)["status"] == "unlabeled"
    assert not _waiting(db)
