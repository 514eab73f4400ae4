"""The Annotator and the review grid on big Datasets: per-write and per-gesture work stays flat.

A model writing row after row (the loop) notifies every open widget; a person presses keys and
turns pages meanwhile. None of that may scan the table. These tests check behaviour (the widgets
still point at the right keys after model writes and appended rows, the incremental review queue
is the queue built from scratch) and count work: no table-wide pandas or Dataset method is called
per write, and the Python lines run and C functions called per write and per gesture are about
the same at 200 rows as at 20,000. All on real raccoon photos and a real SQLite journal.
"""

from __future__ import annotations

import random
import sys
import time

import pandas as pd
import pytest

import nblabel as nbl
from nblabel.widgets import review as review_mod
from nblabel.widgets.annotator import Annotator
from nblabel.widgets.review import ReviewGrid, review_queue

MODEL = "custom-detect-v1@0123abcd"


def pred(score: float) -> dict:
    return {"label": "raccoon", "bbox": [10, 12, 120, 140], "score": score, "source": MODEL}


def model_write(ds, key, status: str, score: float = 0.5) -> None:
    """A write the way the loop makes it: model output that never replaces a person's work."""
    ds.annotate_many(
        [(key, [pred(score)], {"source": MODEL, "status": status, "skip_human": True})]
    )


@pytest.fixture(scope="module")
def photos(raccoon_dir) -> list[str]:
    files = sorted((raccoon_dir / "images").glob("*.jpg"), key=lambda p: int(p.stem[8:]))
    return [str(p) for p in files]


def frame(photos: list[str], n: int, start: int = 0) -> pd.DataFrame:
    """``n`` rows ``r<start>..``; the photos repeat when there are more rows than photos."""
    return pd.DataFrame(
        {"path": [photos[i % len(photos)] for i in range(start, start + n)]},
        index=[f"r{i}" for i in range(start, start + n)],
    )


def wait_for(check, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- behaviour ------------------------------------------------------------------------------
def test_model_writes_and_appended_rows_keep_the_annotator_on_its_keys(photos, db):
    ds = nbl.Dataset.from_dataframe(frame(photos, 8), db=db, classes=["raccoon"])
    ann = Annotator(ds, start="r3")
    assert (ann.key, ann.index) == ("r3", 3)

    model_write(ds, "r5", "review", 0.3)
    model_write(ds, "r1", "predicted", 0.8)
    model_write(ds, "r6", "auto", 0.95)
    model_write(ds, "r3", "predicted", 0.6)  # the image on screen
    assert (ann.key, ann.index) == ("r3", 3), "model writes do not move the widget"
    assert ann.annotations[0]["score"] == pytest.approx(0.6), "the new prediction is shown"
    assert ann.meta["status"] == "predicted"

    # another writer (a second kernel, a re-run import cell) adds rows to the same journal
    other = nbl.Dataset.from_dataframe(frame(photos, 3, start=8), db=db, classes=["raccoon"])
    model_write(other, "r9", "review", 0.2)  # not reported to this widget's Dataset
    model_write(ds, "r2", "predicted", 0.7)  # this write pulls in r8..r10 (and reports r2)
    assert ds.keys() == [f"r{i}" for i in range(11)]

    ann.show("r9")
    assert (ann.key, ann.index, ann.meta["n"]) == ("r9", 9, 11)
    assert ann.meta["status"] == "review"
    ann.next()
    assert ann.key == "r10"
    ann.next()
    assert ann.key == "r10" and "last image" in ann.message
    ann.previous()
    assert ann.key == "r9"
    ann.goto(0)
    found = []
    for _ in range(3):
        assert ann.next_with_status("review")
        found.append(ann.key)
    assert found == ["r5", "r9", "r5"], "in row order after the image on screen, wrapping"
    assert not ann.next_with_status("verified") and "No other image" in ann.message

    # a model write to a row the widget has not met yet: the write pulls the row in and
    # reports it in the same step
    nbl.Dataset.from_dataframe(frame(photos, 1, start=11), db=db, classes=["raccoon"])
    model_write(ds, "r11", "review", 0.45)
    assert ann.next_with_status("review") and ann.key == "r9"
    assert ann.next_with_status("review") and (ann.key, ann.index) == ("r11", 11)

    # submit moves on to the next image a person still has to see: r6 is auto-accepted
    ann.show("r5")
    ann.submit()
    assert ds.row("r5")["status"] == "verified"
    assert ann.key == "r7"
    wait_for(lambda: ann.counts == ds.counts(), "the status counts to match the Dataset")
    assert ann.counts["verified"] == 1 and ann.counts["auto"] == 1


def test_submit_on_the_last_image_goes_to_the_first_one_still_waiting(photos, db):
    ds = nbl.Dataset.from_dataframe(frame(photos, 6), db=db, classes=["raccoon"])
    for key in ("r0", "r1", "r2"):
        ds.annotate(key, [{"label": "raccoon", "bbox": [5, 5, 60, 60]}])
    model_write(ds, "r3", "auto", 0.99)
    model_write(ds, "r4", "predicted", 0.5)
    model_write(ds, "r2", "review", 0.3)  # skipped: a person verified it
    ann = Annotator(ds, start="r5")
    model_write(ds, "r1", "review", 0.1)  # skipped too
    ann.submit([{"label": "raccoon", "bbox": [1, 1, 40, 40]}])
    assert ann.key == "r4" and "still unchecked" in ann.message
    ann.submit()
    assert "every image is verified or auto-labeled" in ann.message
    assert (
        ann.counts
        == ds.counts()
        == {
            "unlabeled": 0,
            "predicted": 0,
            "review": 0,
            "auto": 1,
            "verified": 5,
        }
    )


@pytest.mark.parametrize("order", ["uncertainty", "dataset"])
def test_the_grid_keeps_the_queue_it_would_build_from_scratch(photos, db, order):
    ds = nbl.Dataset.from_dataframe(frame(photos, 60), db=db, classes=["raccoon"])
    grid = ReviewGrid(ds, page_size=7, thumb=32, order=order)
    assert grid.queue == []
    rng = random.Random(7)
    keys = ds.keys()
    for step in range(150):
        key = keys[rng.randrange(len(keys))]
        if step % 23 == 0:  # a person accepts it: it leaves the queue for good
            ds.annotate(key, [{"label": "raccoon", "bbox": [5, 5, 60, 60]}], kind="accepted")
        else:
            status = rng.choice(["review", "predicted", "auto", "review"])
            score = rng.choice([0.1, 0.5, 0.5, 0.93]) if step % 5 else None
            recs = [] if score is None else [pred(score)]
            opt = {"source": MODEL, "status": status, "skip_human": True}
            ds.annotate_many([(key, recs, opt)])
        if step % 10 == 0:
            assert grid.queue == review_queue(ds.df, grid.statuses, order)
    assert grid.queue == review_queue(ds.df, grid.statuses, order)
    assert len(grid.queue) > 20
    grid.goto_page(2)
    assert grid.keys_on_page == grid.queue[14:21]
    assert grid.n_pages == -(-len(grid.queue) // 7)
    accepted = grid.accept_page()
    assert accepted and all(ds.row(k)["status"] == "verified" for k in accepted)
    assert grid.queue == review_queue(ds.df, grid.statuses, order)
    assert grid.keys_on_page == grid.queue[14:21]
    grid.close()


def test_the_sorted_buckets_hold_what_a_sorted_list_holds():
    rng = random.Random(3)
    ours, truth = review_mod._SortedInts(), []
    for step in range(6000):  # enough to split and empty buckets many times
        if truth and rng.random() < 0.4:
            x = rng.choice(truth)
            truth.remove(x)
            assert ours.remove(x)
        else:
            x = rng.randrange(2000)
            truth.append(x)
            truth.sort()
            ours.add(x)
        if step % 500 == 0:
            assert list(ours) == truth and len(ours) == len(truth)
            a = rng.randrange(len(truth) + 1)
            assert ours.slice(a, a + 13) == truth[a : a + 13]
    assert not ours.remove(5000)
    assert list(ours) == truth


# -- counted work ---------------------------------------------------------------------------
class CountingList(list):
    """A list that counts the calls that walk it (``index``, ``in``, iteration, ``count``)."""

    walks = 0

    def index(self, *args):
        CountingList.walks += 1
        return super().index(*args)

    def __contains__(self, item):
        CountingList.walks += 1
        return super().__contains__(item)

    def __iter__(self):
        CountingList.walks += 1
        return super().__iter__()

    def count(self, item):
        CountingList.walks += 1
        return super().count(item)


TABLE_WIDE = {
    pd.Series: ("value_counts", "isin", "tolist", "to_list", "to_numpy", "__iter__",
                "sort_values", "map", "unique", "copy"),
    pd.Index: ("__iter__", "tolist", "to_list", "to_numpy", "isin"),
    pd.DataFrame: ("sort_values", "copy", "to_dict", "iterrows", "itertuples", "value_counts"),
    nbl.Dataset: ("keys", "counts", "objects"),
}  # fmt: skip


def spy_table_wide(monkeypatch, rows: int) -> dict:
    """Count calls of table-wide methods on objects with at least ``rows`` rows (the real
    methods still run)."""
    calls: dict[str, int] = {}

    def wrap(cls, name, real):
        def spy(self, *args, **kwargs):
            if len(self) >= rows:
                label = f"{cls.__name__}.{name}"
                calls[label] = calls.get(label, 0) + 1
            return real(self, *args, **kwargs)

        return spy

    for cls, names in TABLE_WIDE.items():
        for name in names:
            monkeypatch.setattr(cls, name, wrap(cls, name, getattr(cls, name)))
    return calls


def test_a_model_write_with_widgets_open_calls_no_table_wide_method(photos, db, monkeypatch):
    n = 300
    ds = nbl.Dataset.from_dataframe(frame(photos, n), db=db, classes=["raccoon"])
    keys = ds.keys()
    rng = random.Random(1)
    plan = [
        (keys[rng.randrange(n)], rng.choice(["review", "predicted", "auto"]), rng.random())
        for _ in range(40)
    ]
    calls = spy_table_wide(monkeypatch, rows=n)
    for key, status, score in plan[:20]:
        model_write(ds, key, status, score)
    alone = dict(calls)  # what the Dataset's own writes do

    ann = Annotator(ds, start=plan[25][0])  # one of the writes below hits the image on screen
    grid = ReviewGrid(ds, annotator=ann, page_size=8, thumb=32)
    for rows in (ann._rows, grid._rows):
        rows.keys = CountingList(rows.keys)
    CountingList.walks = 0
    calls.clear()
    for key, status, score in plan[20:]:
        model_write(ds, key, status, score)
    assert calls == alone, f"the widgets added table-wide calls to model writes: {calls}"
    assert CountingList.walks == 0, "a write searched or walked the list of keys"
    # and per gesture: next image, next image in review, a page of the grid
    calls.clear()
    for _ in range(3):
        ann.next()
        ann.next_with_status("review")
        grid.next_page()
    assert calls == {}, f"gestures made table-wide calls: {calls}"
    assert CountingList.walks == 0
    assert grid.queue == review_queue(ds.df, grid.statuses, grid.order)
    grid.close()
    ann.close()


class OpCounter:
    """Python lines run and C functions called on this thread between start() and stop()."""

    def __init__(self):
        self.ops = 0

    def _trace(self, frame, event, arg):
        self.ops += 1
        return self._trace

    def _profile(self, frame, event, arg):
        if event == "c_call":
            self.ops += 1

    def start(self, *_):
        sys.settrace(self._trace)
        sys.setprofile(self._profile)

    def stop(self, *_):
        sys.setprofile(None)
        sys.settrace(None)


def work_per_event(photos, db, n: int) -> tuple[float, float]:
    """(ops per model write in the widgets' listeners, ops per gesture) on ``n`` rows."""
    ds = nbl.Dataset.from_dataframe(frame(photos, n), db=db, classes=["raccoon"])
    keys = ds.keys()
    model_write(ds, keys[-2], "review", 0.3)  # the only review row: far from the start
    write_ops = OpCounter()
    ds.on_change(write_ops.start)
    ann = Annotator(ds, start=keys[0])
    grid = ReviewGrid(ds, annotator=ann, page_size=4, thumb=32)
    ds.on_change(write_ops.stop)
    plan = [(keys[1 + (i * 7919) % (n - 3)], ("predicted", "auto")[i % 2]) for i in range(30)]
    for key, status in plan:  # never the image on screen
        model_write(ds, key, status, 0.5)
    ds.on_change(write_ops.start, remove=True)
    ds.on_change(write_ops.stop, remove=True)
    gesture_ops = OpCounter()
    gesture_ops.start()
    ann.next_with_status("review")  # the far end of the table
    ann.previous()
    ann.next()
    ann.submit()
    ann.show(keys[n // 2])
    grid.next_page()
    gesture_ops.stop()
    grid.close()
    ann.close()
    return write_ops.ops / len(plan), gesture_ops.ops / 6


def test_work_per_write_and_per_gesture_does_not_grow_with_the_table(photos, tmp_path):
    small_write, small_gesture = work_per_event(photos, tmp_path / "small.db", 200)
    big_write, big_gesture = work_per_event(photos, tmp_path / "big.db", 20_000)
    assert small_write > 0 and small_gesture > 0
    assert big_write < 1.25 * small_write, (small_write, big_write)
    assert big_gesture < 1.25 * small_gesture, (small_gesture, big_gesture)
