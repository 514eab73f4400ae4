"""Checkpoints run beside the writes, not inside them: a write never waits for the copy of
the log into the database file, and the file still gets every write."""

from __future__ import annotations

import shutil

import nblabel as nbl
from nblabel import wal
from nblabel.journal import Journal, encode_key

REC = [{"label": "raccoon", "bbox": [1, 2, 30, 40]}]


def _rows_in_file_alone(db, tmp_path) -> dict:
    """The rows the database file holds without its log (what a checkpoint put there), with
    the changes its event log holds folded in, as any reader of the file sees them."""
    alone = tmp_path / "alone.db"
    shutil.copy(db, alone)
    journal = Journal(alone, create=False)
    try:
        return {encode_key(k): d for k, d, _ in journal.scan()}
    finally:
        journal.close()


def test_writes_reach_the_database_file_through_background_checkpoints(folder, db, tmp_path):
    ds = nbl.Dataset.from_folder(folder(5), db=db, classes=["raccoon"])
    assert ds._journal._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert wal.wait_idle(30)
    key = ds.keys()[0]
    for _ in range(wal.EVERY + 1):
        ds.annotate(key, REC, seconds=1.0)  # the journal asks once per EVERY commits
    assert wal.wait_idle(30)
    stored = _rows_in_file_alone(db, tmp_path)
    # the pass copies what was committed when it ran: the write that asked for it, and
    # perhaps the one after
    assert stored[f'"{key}"']["seconds"] >= wal.EVERY - 1
    assert nbl.Dataset.open(db).row(key)["edits"] == wal.EVERY + 1


def test_a_checkpoint_never_creates_a_journal_that_was_deleted(tmp_path):
    gone = tmp_path / "gone.db"
    wal.request(gone)
    assert wal.wait_idle(30)
    assert not gone.exists()


def test_the_log_starts_over_under_writes_that_never_pause(folder, db, monkeypatch):
    """A background pass always ends a few commits behind a tight loop of writes, and SQLite
    starts the log over only after a complete one: without the writer finishing it, the log
    grew by two pages a write for as long as the loop ran."""
    monkeypatch.setattr(wal, "RESTART_FRAMES", 64)
    ds = nbl.Dataset.from_folder(folder(5), db=db, classes=["raccoon"])
    keys = ds.keys()
    writes = 10 * wal.EVERY
    for i in range(writes):
        ds.annotate(keys[i % 5], REC, seconds=1.0)
    assert wal.wait_idle(30)
    pages = ds._journal._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    assert pages < writes / 2, f"the log holds {pages} pages after {writes} writes"
    assert sum(nbl.Dataset.open(db).df["edits"]) == writes
