"""ReviewGrid: queue order, paging, accept-all writes and click-to-open, on real images."""

from __future__ import annotations

import time

import pytest

import nblabel as nbl
from nblabel.loop.routing import review_order
from nblabel.widgets.review import ReviewGrid, review_queue

MODEL = "custom-detect-v1@0123abcd"


@pytest.fixture()
def ds(raccoon_dir, db):
    """14 raccoon images: 10 with model predictions in review/predicted/auto, 2 verified,
    2 unlabeled."""
    ds = nbl.Dataset.from_folder(raccoon_dir / "images", db=db, classes=["raccoon"])
    keys = ds.keys()[:14]
    # (status, score or None for "found nothing")
    plan = [
        ("review", 0.40), ("review", None), ("auto", 0.95), ("review", 0.15),
        ("predicted", 0.60), ("review", 0.40), ("auto", 0.91), ("predicted", 0.30),
        ("review", 0.70), ("predicted", 0.50),
    ]  # fmt: skip
    writes = []
    for key, (status, score) in zip(keys, plan):
        recs = []
        if score is not None:
            recs = [
                {"label": "raccoon", "bbox": [10, 12, 120, 140], "score": score, "source": MODEL}
            ]
        writes.append((key, recs, {"source": MODEL, "status": status}))
    ds.annotate_many(writes)
    for key in keys[10:12]:
        ds.annotate(key, [{"label": "raccoon", "bbox": [5, 5, 50, 50]}])
    return ds


def _status_conf(ds, key):
    row = ds.row(key)
    conf = row["confidence"]
    return row["status"], None if conf != conf else conf


def test_queue_is_review_first_least_confident_first(ds):
    grid = ReviewGrid(ds, page_size=12)
    order = [_status_conf(ds, k) for k in grid.queue]
    assert order == [
        ("review", None), ("review", 0.15), ("review", 0.40), ("review", 0.40),
        ("review", 0.70), ("predicted", 0.30), ("predicted", 0.50), ("predicted", 0.60),
        ("auto", 0.91), ("auto", 0.95),
    ]  # fmt: skip
    # ties keep dataset order, and the review part is the loop's own queue
    assert grid.queue[:5] == list(review_order(ds.df).index)
    # verified and unlabeled images are not queued
    assert not {ds.row(k)["status"] for k in grid.queue} & {"verified", "unlabeled"}
    assert review_queue(ds.df, order="dataset") == [
        k for k in ds.keys() if ds.row(k)["status"] in ("review", "predicted", "auto")
    ]


def test_paging_walks_the_queue_in_order(ds):
    grid = ReviewGrid(ds, page_size=4, columns=2, thumb=64)
    assert grid.n_pages == 3
    seen = []
    for page in range(3):
        assert grid.page == page
        seen += grid.keys_on_page
        grid.next_page()
    assert grid.page == 2  # stays on the last page
    assert seen == grid.queue and len(grid.keys_on_page) == 2
    grid.previous_page()
    assert grid.keys_on_page == grid.queue[4:8]
    grid.goto_page(-5)
    assert grid.page == 0
    assert grid.canvas.width == 2 * grid.cell_w and grid.canvas.height == 2 * grid.cell_h


def test_accept_all_shown_verifies_the_page_as_accepts(ds):
    grid = ReviewGrid(ds, page_size=4, columns=4, thumb=64)
    page = grid.keys_on_page
    before = {k: ds.row(k) for k in page}
    later = grid.queue[4:]
    n_events = len(ds.events())

    accepted = grid.accept_page()

    assert accepted == page
    for key in page:
        row = ds.row(key)
        assert row["status"] == "verified"
        assert row["edits"] == before[key]["edits"] + 1
        # same objects, now the person's own
        assert [r["bbox"] for r in row["annotations"]] == [
            r["bbox"] for r in before[key]["annotations"]
        ]
        assert all(r["score"] is None and r["source"] == "human" for r in row["annotations"])
    ev = ds.events().iloc[n_events:]
    assert list(ev["key"]) == page
    assert set(ev["kind"]) == {"accepted"} and set(ev["source"]) == {"human"}
    # the accepted images leave the queue: the page now shows the next ones
    assert grid.queue == later and grid.keys_on_page == later[:4]
    # an image found empty and accepted is verified with no objects
    empty = [k for k in page if not before[k]["annotations"]]
    assert empty and ds.row(empty[0])["annotations"] == []


def _cell_centre(grid, i):
    return ((i % grid.columns) + 0.5) * grid.cell_w, ((i // grid.columns) + 0.5) * grid.cell_h


def _click(grid, x, y):
    # the message the browser sends for a pointer press on the canvas
    grid.canvas._handle_frontend_event(None, {"event": "mouse_down", "x": x, "y": y}, [])


def test_click_opens_that_image_in_the_annotator(ds):
    ann = nbl.Annotator(ds)
    opened = []
    grid = ReviewGrid(ds, annotator=ann, page_size=4, columns=2, thumb=64)
    grid.on_open(opened.append)
    grid.next_page()
    target = grid.keys_on_page[3]  # bottom right
    assert ann.key != target

    _click(grid, *_cell_centre(grid, 3))

    assert ann.key == target and opened == [target] and grid.selected == target
    # a click right of the last column, or on an empty cell, opens nothing
    _click(grid, grid.cell_w * 2 + 1, 5)
    grid.next_page()  # the last page holds 2 thumbnails in 4 cells
    assert len(grid.keys_on_page) == 2
    _click(grid, *_cell_centre(grid, 3))
    assert opened == [target] and ann.key == target
    assert grid.errors.outputs == ()


def test_a_failing_callback_is_shown_under_the_grid(ds):
    grid = ReviewGrid(ds, page_size=4, thumb=64)

    def broken(key):
        raise RuntimeError("callback broke")

    grid.on_open(broken)
    _click(grid, *_cell_centre(grid, 0))
    text = "".join(o.get("text", "") for o in grid.errors.outputs)
    assert "callback broke" in text and grid.errors.layout.display is None


def test_objects_and_names_are_drawn_as_canvas_text(ds, monkeypatch):
    texts = []
    grid = ReviewGrid(ds, page_size=4, thumb=64)
    real = grid.canvas.fill_text
    monkeypatch.setattr(grid.canvas, "fill_text", lambda t, *a: (texts.append(t), real(t, *a)))
    grid.refresh()
    assert "raccoon 0.15" in texts and "raccoon 0.40" in texts
    assert any(t.startswith(f"{grid.keys_on_page[0]} · review") for t in texts)


def test_grid_follows_model_writes(ds):
    grid = ReviewGrid(ds, page_size=4, thumb=64)
    n = len(grid.queue)
    key = ds.keys()[13]  # unlabeled
    ds.annotate(key, [], source=MODEL, status="review")  # the loop found nothing there
    deadline = time.monotonic() + 5
    while key not in grid.queue and time.monotonic() < deadline:
        time.sleep(0.05)
    # nothing found is hardest: with the other empty result, ahead of every scored image
    assert len(grid.queue) == n + 1 and key in grid.queue[:2]


@pytest.mark.parametrize(
    "kwargs, match",
    [({"page_size": 0}, "page_size"), ({"order": "random"}, "order"),
     ({"statuses": ("reviewed",)}, "reviewed"), ({"thumb": 8}, "thumb")],
)  # fmt: skip
def test_bad_settings_are_refused(ds, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReviewGrid(ds, **kwargs)


def test_needs_a_dataset():
    with pytest.raises(TypeError, match="Dataset"):
        ReviewGrid([1, 2, 3])


def test_labeler_review_grid_opens_images_in_the_labelers_annotator(ds):
    class NothingFound:  # any object with predict() is a model; this one never finds anything
        classes = list(ds.classes)
        version = "empty@0"

        def predict(self, images):
            return [[] for _ in images]

    labeler = nbl.AutoLabeler(ds, NothingFound())
    assert labeler.annotator is None  # no widget built yet
    labeler.widget()
    grid = labeler.review_grid(page_size=4, columns=2, thumb=64)
    target = grid.keys_on_page[1]
    _click(grid, *_cell_centre(grid, 1))
    assert labeler.annotator.key == target
