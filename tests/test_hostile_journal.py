"""Many writers on one journal, and values that cannot brick it. Real SQLite, real processes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest

import nblabel as nbl
from nblabel.journal import JournalGoneError
from nblabel.records import AnnotationError

BOX = {"label": "raccoon", "bbox": [10, 20, 110, 140]}
N_ROWS = 40


@pytest.fixture()
def many(raccoon_dir, db) -> Path:
    """A journal of 40 raccoon images (keys r0 ... r39), built and closed."""
    images = sorted((raccoon_dir / "images").glob("*.jpg"))[:N_ROWS]
    df = pd.DataFrame({"path": [str(p) for p in images]}, index=[f"r{i}" for i in range(N_ROWS)])
    nbl.Dataset.from_dataframe(df, db=db, classes=["raccoon"])
    return db


def _spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs) -> None:
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def test_two_processes_writing_the_same_rows_keep_both_writes(many):
    # one kernel labels every image while the other writes a note on every image: before,
    # each write replaced the whole row from its own stale memory and erased the other's work
    labeler = _spawn(
        f"""
        import nblabel as nbl
        ds = nbl.Dataset.open({str(many)!r})
        for rnd in range(3):
            for k in ds.keys():
                ds.annotate(k, [{{"label": "raccoon", "bbox": [1, 1, 50 + rnd, 60]}}], seconds=1)
        """
    )
    noter = _spawn(
        f"""
        import nblabel as nbl
        ds = nbl.Dataset.open({str(many)!r})
        ds.add_classes(["dog"])
        for rnd in range(3):
            for k in ds.keys():
                ds.update(k, note=f"checked {{rnd}}")
        """
    )
    _finish([labeler, noter])
    df = nbl.Dataset.open(many).df
    assert (df["status"] == "verified").all()
    assert [a[0]["bbox"][2] for a in df["annotations"]] == [52.0] * N_ROWS
    assert (df["note"] == "checked 2").all()
    assert (df["edits"] == 3).all() and (df["seconds"] == 3.0).all()  # counted from the file
    assert nbl.Dataset.open(many).classes == ["raccoon", "dog"]


def test_model_output_from_another_process_never_replaces_a_person(many, tmp_path):
    # the check "has a person touched this row" is made against the file, inside the write:
    # the model's process read the rows before the person labelled them
    go = tmp_path / "go"
    model = _spawn(
        f"""
        import pathlib, time, nblabel as nbl
        ds = nbl.Dataset.open({str(many)!r})
        keys = list(ds.df.index)
        print("ready", flush=True)
        while not pathlib.Path({str(go)!r}).exists():
            time.sleep(0.01)
        pred = [{{"label": "raccoon", "bbox": [1, 1, 9, 9], "score": 0.9}}]
        ds.annotate_many([(k, pred, {{"source": "m@1", "skip_human": True}}) for k in keys])
        """
    )
    assert model.stdout.readline().strip() == "ready"
    person = nbl.Dataset.open(many)
    for k in person.keys()[::2]:
        person.annotate(k, [{"label": "raccoon", "bbox": [5, 5, 40, 40]}])
    go.touch()
    _finish([model])
    df = nbl.Dataset.open(many).df
    assert (df["source"].iloc[::2] == "human").all()
    assert all(a[0]["bbox"] == [5.0, 5.0, 40.0, 40.0] for a in df["annotations"].iloc[::2])
    assert (df["source"].iloc[1::2] == "m@1").all()


def test_a_dataset_rebuilt_while_the_old_one_autolabels_loses_no_correction(many):
    old = nbl.Dataset.open(many)  # the object an auto-labeler started earlier still holds
    new = nbl.Dataset.open(many)  # the cell that builds the Dataset, run again
    keys = new.keys()
    stop = threading.Event()
    pred = [{"label": "raccoon", "bbox": [1, 1, 9, 9], "score": 0.4}]

    def autolabel():
        while not stop.is_set():
            old.annotate_many(
                [(k, pred, {"source": "m@1", "status": "review", "skip_human": True}) for k in keys]
            )
            old.update(keys[0], evidence={"n": 1})

    t = threading.Thread(target=autolabel)
    t.start()
    try:
        for k in keys:
            new.annotate(k, [BOX], seconds=2.0)
    finally:
        stop.set()
        t.join()
    for ds in (old, new, nbl.Dataset.open(many)):
        df = ds.df
        assert (df["source"] == "human").all(), ds
        assert all(a[0]["bbox"] == [10.0, 20.0, 110.0, 140.0] for a in df["annotations"])
    assert old.df.at[keys[0], "evidence"] == {"n": 1}


def test_a_write_sees_what_another_dataset_object_changed(many):
    a, b = nbl.Dataset.open(many), nbl.Dataset.open(many)
    a.annotate("r1", [BOX], seconds=3.0)
    b.annotate("r1", [BOX], seconds=4.0)  # adds to a's time, not to its own stale zero
    assert a.df.at["r1", "seconds"] == 7.0 and a.df.at["r1", "edits"] == 2
    b.add_classes(["cat"])
    a.add_classes(["dog"])
    assert nbl.Dataset.open(many).classes == ["raccoon", "cat", "dog"]
    assert b.refresh() == [] and b.classes == ["raccoon", "cat", "dog"]


def test_a_deleted_journal_makes_the_next_write_fail_loudly(many):
    ds = nbl.Dataset.open(many)
    for suffix in ("", "-wal", "-shm"):
        Path(str(many) + suffix).unlink(missing_ok=True)
    with pytest.raises(JournalGoneError, match="deleted"):
        ds.annotate("r0", [BOX])
    with pytest.raises(JournalGoneError):
        ds.update("r0", note="x")


def test_a_journal_recreated_with_overwrite_makes_the_old_writer_fail(many, raccoon_dir):
    old = nbl.Dataset.open(many)
    images = sorted((raccoon_dir / "images").glob("*.jpg"))[:2]
    df = pd.DataFrame({"path": [str(p) for p in images]}, index=["r0", "r1"])
    new = nbl.Dataset.from_dataframe(df, db=many, overwrite=True, classes=["raccoon"])
    with pytest.raises(JournalGoneError, match="replaced"):
        old.annotate("r0", [BOX])
    new.annotate("r0", [BOX])
    assert nbl.Dataset.open(many).df.at["r0", "status"] == "verified"


def test_another_process_recreating_the_journal_is_detected(many):
    ds = nbl.Dataset.open(many)
    _finish(
        [
            _spawn(
                f"""
                import pandas as pd, nblabel as nbl
                df = pd.DataFrame({{"path": ["a.jpg"]}}, index=["x"])
                nbl.Dataset.from_dataframe(df, db={str(many)!r}, overwrite=True)
                """
            )
        ]
    )
    with pytest.raises(JournalGoneError):
        ds.annotate("r0", [BOX])


@pytest.mark.parametrize(
    "write, column",
    [
        (lambda ds: ds.annotate("r2", [BOX], confidence="high"), "confidence"),
        (lambda ds: ds.annotate("r2", [BOX], source="m@1", confidence=2.0), "confidence"),
        (lambda ds: ds.annotate("r2", [BOX], seconds=-5), "seconds"),
        (lambda ds: ds.update("r2", width=None), "width"),
        (lambda ds: ds.update("r2", height=-1), "height"),
        (lambda ds: ds.update("r2", seconds="x"), "seconds"),
        (lambda ds: ds.update("r2", edits=1.5), "edits"),
        (lambda ds: ds.update("r2", status="done"), "status"),
        (lambda ds: ds.update("r2", image=None), "image"),
    ],
)
def test_bad_values_are_refused_before_commit_naming_the_row(many, write, column):
    ds = nbl.Dataset.open(many)
    before = len(ds.events())
    with pytest.raises(ValueError, match=rf"row 'r2'.*{column}"):
        write(ds)
    again = nbl.Dataset.open(many)  # the journal still opens: nothing bad was committed
    assert len(again.events()) == before
    assert again.df.at["r2", "status"] == "unlabeled"
    assert ds.df.at["r2", "status"] == "unlabeled"


def test_scores_outside_zero_to_one_are_refused(many):
    ds = nbl.Dataset.open(many)
    with pytest.raises(AnnotationError, match="score"):
        ds.annotate("r2", [dict(BOX, score=5.0)], source="m@1")
    assert ds.df.at["r2", "annotations"] == []


def test_a_write_option_typo_writes_nothing(many):
    ds = nbl.Dataset.open(many)
    with pytest.raises(ValueError, match="'sourse'.*did you mean 'source'"):
        ds.annotate_many([("r3", [dict(BOX, score=0.5)], {"sourse": "m@1"})])
    assert nbl.Dataset.open(many).df.at["r3", "status"] == "unlabeled"


def test_a_journal_holding_bad_values_still_opens_and_names_the_rows(many):
    with sqlite3.connect(many) as conn:
        for key, patch in (("r4", '"width", null'), ("r5", '"seconds", "x"')):
            conn.execute(
                f"UPDATE rows SET data = json_set(data, '$.' || {patch}) WHERE key = ?",
                (f'"{key}"',),
            )
        conn.execute(
            """UPDATE rows SET data = json_set(data, '$.confidence', 'high') WHERE key = '"r6"'"""
        )
    with pytest.warns(UserWarning, match="r4"):
        ds = nbl.Dataset.open(many)
    df = ds.df
    assert df.at["r4", "width"] == 0 and "width=None" in df.at["r4", "issues"]
    assert df.at["r5", "seconds"] == 0.0 and "ds.update('r5', seconds=" in df.at["r5", "issues"]
    assert pd.isna(df.at["r6", "confidence"]) and "confidence" in df.at["r6", "issues"]
    assert any("r5" in line for line in ds.import_report)
    # writing the row again repairs it for good
    ds.update("r4", width=500)
    ds.annotate("r5", [BOX], seconds=2)
    again = nbl.Dataset.open(many)
    assert again.df.at["r4", "width"] == 500 and not again.df.at["r4", "issues"]
    assert again.df.at["r5", "seconds"] == 2.0


def test_a_user_column_changing_type_keeps_frame_and_journal_equal(many):
    ds = nbl.Dataset.open(many)
    ds.update("r0", frame=7)
    ds.update("r1", frame=8)
    ds.update("r1", frame="eight")
    assert ds.df.at["r1", "frame"] == "eight"
    assert nbl.Dataset.open(many).df.at["r1", "frame"] == "eight"
    assert ds.df.at["r0", "frame"] == 7
    with pytest.raises(ValueError, match="row 'r1': width='wide'"):
        ds.update("r1", width="wide")  # a core column keeps its type: refused, not half-written
    assert ds.df.at["r1", "width"] == nbl.Dataset.open(many).df.at["r1", "width"] > 0


def test_open_leaves_other_files_alone(tmp_path):
    other = tmp_path / "app.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    before = other.read_bytes()
    with pytest.raises(ValueError, match="not an nblabel database.*users"):
        nbl.Dataset.open(other)
    assert other.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("")
    with pytest.raises(ValueError, match="empty file"):
        nbl.Dataset.open(notes)
    assert notes.read_bytes() == b""
    with pytest.raises(ValueError, match="not an nblabel database"):
        nbl.Dataset.from_dataframe(
            pd.DataFrame({"path": ["a.jpg"]}), db=other
        )  # an import does not take over another program's database either
    assert other.read_bytes() == before


def test_a_read_only_folder_says_it_cannot_write(many, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    copy = ro / "labels.db"
    if os.geteuid() != 0:
        copy.write_bytes(many.read_bytes())
        ro.chmod(0o555)
        undo = ["chmod", "755", str(ro)]
    else:  # root writes through permissions; a read-only mount stops it too
        _run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(ro)])
        copy.write_bytes(many.read_bytes())
        _run(["mount", "-o", "remount,ro", str(ro)])
        undo = ["umount", str(ro)]
    try:
        with pytest.raises(PermissionError, match="cannot write"):
            nbl.Dataset.open(copy)
    finally:
        subprocess.run(undo, check=False)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)} failed (the tests need root): {done.stderr}"


def test_one_class_given_as_a_string_is_one_class(small_folder_db):
    folder, db = small_folder_db
    ds = nbl.Dataset.from_folder(folder, db=db, classes="raccoon")
    assert ds.classes == ["raccoon"]
    assert ds.add_classes("dog") == ["raccoon", "dog"]


@pytest.fixture()
def small_folder_db(folder, db):
    return folder(2), db


def test_a_journal_written_before_row_revisions_opens_and_takes_writes(tmp_path, raccoon_dir):
    old = tmp_path / "v1.db"
    image = str(sorted((raccoon_dir / "images").glob("*.jpg"))[0])
    row = json.dumps(
        {"image": image, "width": 650, "height": 417, "annotations": [], "status": "unlabeled"}
        | dict.fromkeys(("confidence", "source", "issues", "updated"))
        | {"seconds": 0.0, "edits": 0}
    )
    with sqlite3.connect(old) as conn:  # the schema of the first journal version
        conn.executescript(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE rows (pos INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL,"
            " data TEXT NOT NULL);"
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, key TEXT,"
            " kind TEXT NOT NULL, source TEXT, seconds REAL NOT NULL DEFAULT 0, n_objects INTEGER,"
            " status TEXT);"
            """INSERT INTO meta VALUES ('schema_version', '1'), ('classes', '["raccoon"]');"""
        )
        conn.execute("INSERT INTO rows(key, data) VALUES (?, ?)", ('"a"', row))
    conn.close()
    a, b = nbl.Dataset.open(old), nbl.Dataset.open(old)
    a.annotate("a", [BOX])
    b.update("a", note="seen")
    assert a.df.at["a", "note"] == "seen" and b.df.at["a", "status"] == "verified"


class _SlowDetector:
    """A predictor (the loop's protocol: ``predict`` plus ``classes`` and ``version``)."""

    classes = ["raccoon"]
    version = "slow@1"

    def predict(self, images):
        import time

        time.sleep(0.01 * len(images))
        return [[{"label": "raccoon", "bbox": [1, 1, 9, 9], "score": 0.5}] for _ in images]


def test_a_cell_rebuilding_the_dataset_during_auto_labeling_loses_no_correction(many, raccoon_dir):
    old = nbl.Dataset.open(many)
    labeler = nbl.AutoLabeler(old, _SlowDetector(), batch=4)
    t = threading.Thread(target=labeler.autolabel, kwargs={"progress": False})
    t.start()
    images = sorted((raccoon_dir / "images").glob("*.jpg"))[:N_ROWS]
    df = pd.DataFrame({"path": [str(p) for p in images]}, index=[f"r{i}" for i in range(N_ROWS)])
    new = nbl.Dataset.from_dataframe(df, db=many, classes=["raccoon"])  # the cell, run again
    corrected = new.keys()[::-2]  # from the end, where auto-labeling has not been yet
    for k in corrected:
        new.annotate(k, [BOX])
    t.join()
    for ds in (old, new, nbl.Dataset.open(many)):
        assert (ds.df.loc[corrected, "source"] == "human").all()
        assert all(
            a
            == [
                dict(
                    BOX,
                    bbox=[10.0, 20.0, 110.0, 140.0],
                    points=None,
                    keypoints=None,
                    score=None,
                    source="human",
                )
            ]
            for a in ds.df.loc[corrected, "annotations"]
        )
    assert (nbl.Dataset.open(many).df["status"] != "unlabeled").all()


_KERNEL = """
import sys
import nblabel as nbl
ds = nbl.Dataset.from_folder(sys.argv[1], db=sys.argv[2], classes=["raccoon"])
again = nbl.Dataset.open(sys.argv[2])  # a cell that reopens the file, e.g. to look at it
del again
print("ready", flush=True)
for line in sys.stdin:
    key = ds.keys()[int(line)]
    ds.annotate(key, [{"label": "raccoon", "bbox": [1, 2, 30, 40]}])
    print(key, flush=True)
"""


def test_writes_after_a_reopen_in_the_same_kernel_reach_other_processes(folder, db):
    """Reading a journal's first bytes with Python's own file calls dropped the locks the
    kernel's open journal held (POSIX locks go with any close of the file); the next
    connection to close, in another process, then took itself for the last one and deleted
    the log, and the kernel's writes went to a deleted file until it exited."""
    import subprocess
    import sys

    kernel = subprocess.Popen(
        [sys.executable, "-c", _KERNEL, str(folder(3)), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert kernel.stdout.readline().strip() == "ready"
        for i in range(2):
            nbl.Dataset.open(db)  # a reader in another process, dropped at once
            kernel.stdin.write(f"{i}\n")
            kernel.stdin.flush()
            key = kernel.stdout.readline().strip()
            assert nbl.Dataset.open(db).row(key)["status"] == "verified"
    finally:
        kernel.stdin.close()
        kernel.wait(30)
