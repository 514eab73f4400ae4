"""The Annotator's Python side: messages arriving from the browser land in the Dataset.

Messages are delivered the way the kernel delivers them (a comm "custom" message handled by
``Widget._handle_msg``), on real raccoon images and a real SQLite journal.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import traitlets
from PIL import Image

import nblabel as nbl
from nblabel.models.keypoints import get_skeleton
from nblabel.widgets.annotator import Annotator
from nblabel.widgets.codecs import PALETTE, skeleton_for_record, skeleton_payload

BOX = {"label": "raccoon", "bbox": [50.0, 40.0, 300.0, 260.0], "points": None,
       "keypoints": None, "score": None, "source": "human"}  # fmt: skip


@pytest.fixture()
def ds(raccoon_dir, db):
    """Five real raccoon photos; the first one carries a model prediction."""
    names = ["raccoon-1", "raccoon-2", "raccoon-3", "raccoon-4", "raccoon-5"]
    df = pd.DataFrame({"path": [str(raccoon_dir / "images" / f"{n}.jpg") for n in names]},
                      index=names)  # fmt: skip
    ds = nbl.Dataset.from_dataframe(df, image_col="path", db=db, classes=["raccoon", "dog"])
    pred = dict(BOX, score=0.62, source="yolo@1")
    ds.annotate("raccoon-1", [pred], source="yolo@1")
    return ds


class Browser:
    """Sends messages to a widget through the same path the comm uses (``model.send``)."""

    def __init__(self, widget):
        self.w = widget
        self.seq = 0

    def send(self, kind, **fields):
        self.seq += 1
        content = {"kind": kind, "seq": self.seq, "index": self.w.meta["index"], **fields}
        if kind == "goto":
            content["index"] = fields["index"]
        self.deliver(content)
        assert self.w.ack == self.seq, "every message is acknowledged"
        return self.w

    def deliver(self, content):
        """One custom comm message, as ``model.send(content)`` in the browser sends it."""
        msg = {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        self.w._handle_msg(msg)

    def edit(self, kind, annotations):
        return self.send("edit", edit=kind, annotations=annotations)


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:2] == b"\xff\xd8", "a JPEG in a binary buffer, not base64 text"
    return Image.open(io.BytesIO(data)).size


def test_shows_first_image_downscaled_with_original_coordinates(ds):
    w = Annotator(ds, display_size=320)
    m = w.meta
    assert (m["index"], m["key"], m["file"], m["n"]) == (0, "raccoon-1", "raccoon-1.jpg", 5)
    assert (m["width"], m["height"]) == (650, 417)
    assert jpeg_size(w.image_a) == (320, round(417 * 320 / 650))
    assert m["scale"] == pytest.approx(320 / 650)
    assert w.annotations[0]["bbox"] == BOX["bbox"], "coordinates stay in original pixels"
    assert w.annotations[0]["score"] == pytest.approx(0.62)
    assert w.classes == ["raccoon", "dog"] and w.label == "raccoon"
    assert w.counts["predicted"] == 1 and w.counts["unlabeled"] == 4


def test_next_image_is_prefetched_and_shown_without_resending(ds):
    w = Annotator(ds, display_size=256)
    b = Browser(w)
    b.send("goto", index=0)  # a browser request also prefetches the next image
    assert w.slots == [0, 1] and jpeg_size(w.image_b)[0] == 256
    sent = []
    w.observe(lambda c: sent.append(c["name"]), names=["image_a", "image_b"])
    b.send("step", delta=1)
    assert w.meta["index"] == 1 and w.meta["slot"] == "b"
    assert sent == ["image_a"], "only the following image is sent; the shown one was there"
    assert w.slots == [2, 1]
    b.send("step", delta=-1)
    assert w.meta["index"] == 0 and w.meta["key"] == "raccoon-1"
    w.show("raccoon-4")  # from Python (a cell, the review grid): prefetched as well
    assert w.meta["index"] == 3 and sorted(w.slots) == [3, 4]


def test_each_gesture_is_journaled_with_kind_status_and_seconds(ds):
    w = Annotator(ds)
    b = Browser(w)
    time.sleep(0.05)
    moved = dict(BOX, bbox=[60.0, 50.0, 310.0, 270.0], score=None, source="human")
    b.edit("moved", [moved])
    row = ds.row("raccoon-1")
    assert row["annotations"][0]["bbox"] == moved["bbox"]
    assert row["annotations"][0]["source"] == "human"
    assert row["status"] == "predicted", "a gesture keeps the image's status; submit verifies"
    assert row["edits"] == 1 and row["seconds"] >= 0.05
    ev = ds.events().iloc[-1]
    assert (ev["kind"], ev["key"], ev["source"], ev["n_objects"]) == (
        "moved", "raccoon-1", "human", 1)  # fmt: skip
    assert w.annotations == ds.row("raccoon-1")["annotations"]


def test_every_edit_kind_is_accepted_and_logged(ds):
    w = Annotator(ds)
    b = Browser(w)
    human = dict(BOX, score=None, source="human")
    b.edit("accepted", [human])
    b.edit("relabelled", [dict(human, label="dog")])
    b.edit("resized", [dict(human, label="dog", bbox=[50.0, 40.0, 200.0, 200.0])])
    b.edit("added", [*w.annotations, dict(BOX, bbox=[400.0, 100.0, 500.0, 200.0])])
    b.edit("deleted", w.annotations[:1])
    b.edit("rejected", [])
    kinds = ds.events()["kind"].tolist()[-6:]
    assert kinds == ["accepted", "relabelled", "resized", "added", "deleted", "rejected"]
    assert ds.row("raccoon-1")["annotations"] == []
    b.edit("wiggled", [human])
    assert "Not saved" in w.message and ds.row("raccoon-1")["annotations"] == []


def test_polygon_and_keypoint_records_round_trip(ds):
    w = Annotator(ds, tool="keypoints")
    b = Browser(w)
    poly = {"label": "raccoon", "bbox": [10, 10, 110, 90], "points": [[10, 10], [110, 20], [60, 90]],
            "keypoints": None, "score": None, "source": "human"}  # fmt: skip
    names = w.skeleton["names"]
    kps = [[100 + 5 * i, 100 + 3 * i, 2 if i % 3 else 1] for i in range(len(names))]
    person = {"label": "dog", "bbox": [90, 90, 200, 170], "points": None, "keypoints": kps,
              "score": None, "source": "human"}  # fmt: skip
    b.edit("added", [poly, person])
    stored = ds.row("raccoon-1")["annotations"]
    assert stored[0]["points"] == [[10.0, 10.0], [110.0, 20.0], [60.0, 90.0]]
    assert [k[2] for k in stored[1]["keypoints"]] == [k[2] for k in kps]
    assert len(names) == 17 and names[0] == "nose"
    assert w.annotations == stored


def test_submit_verifies_moves_on_and_calls_back(ds):
    w = Annotator(ds)
    b = Browser(w)
    got = []
    w.on_submit(lambda key, records: got.append((key, len(records))))
    accepted = dict(BOX, score=None, source="human")
    b.send("submit", annotations=[accepted])
    assert ds.row("raccoon-1")["status"] == "verified"
    assert ds.events()["kind"].iloc[-1] == "submit"
    assert got == [("raccoon-1", 1)]
    assert w.meta["index"] == 1 and w.meta["key"] == "raccoon-2"
    assert w.counts["verified"] == 1


def test_a_malformed_edit_is_refused_and_the_canvas_reverts(ds):
    w = Annotator(ds)
    b = Browser(w)
    before = ds.row("raccoon-1")["annotations"]
    b.edit("added", [*before, dict(BOX, bbox=[700.0, 500.0, 800.0, 600.0])])  # off the image
    assert "Not saved" in w.message and "zero area" in w.message
    assert ds.row("raccoon-1")["annotations"] == before
    assert w.annotations == before
    b.edit("added", [dict(BOX, label="cat")])
    assert "unknown class 'cat'" in w.message
    assert w.errors == [], "a user mistake is a message, not a traceback"


def test_callback_errors_are_shown_under_the_widget_and_can_be_removed(ds):
    w = Annotator(ds)
    b = Browser(w)
    calls = []

    def broken(key, records, kind):
        calls.append(kind)
        raise RuntimeError("retrain queue is full")

    w.on_change(broken)
    b.edit("accepted", [dict(BOX, score=None, source="human")])
    assert calls == ["accepted"]
    assert len(w.errors) == 1 and "retrain queue is full" in w.errors[0]
    assert "Traceback" in w.errors[0]
    assert ds.row("raccoon-1")["annotations"][0]["score"] is None, "the edit itself is kept"
    w.on_change(broken, remove=True)
    b.edit("moved", [dict(BOX, bbox=[0.0, 0.0, 100.0, 100.0])])
    assert calls == ["accepted"] and len(w.errors) == 1
    b.send("clear_errors")
    assert w.errors == []
    with pytest.raises(TypeError, match="callable"):
        w.on_submit("not a function")


def test_undo_and_redo_go_through_the_dataset(ds):
    w = Annotator(ds)
    b = Browser(w)
    first = ds.row("raccoon-1")["annotations"]
    added = [*first, dict(BOX, bbox=[400.0, 100.0, 500.0, 200.0])]
    b.edit("added", added)
    moved = [first[0], dict(BOX, bbox=[410.0, 110.0, 510.0, 210.0])]
    b.edit("moved", moved)
    b.send("undo")
    assert ds.row("raccoon-1")["annotations"][1]["bbox"] == [400.0, 100.0, 500.0, 200.0]
    b.send("undo")
    assert ds.row("raccoon-1")["annotations"] == first
    assert w.annotations == first
    b.send("undo")
    assert w.message == "Nothing to undo."
    b.send("redo")
    assert len(ds.row("raccoon-1")["annotations"]) == 2
    b.send("redo")
    assert ds.row("raccoon-1")["annotations"][1]["bbox"] == [410.0, 110.0, 510.0, 210.0]
    assert ds.events()["kind"].tolist()[-6:] == [
        "added", "moved", "moved", "deleted", "added", "moved"]  # fmt: skip
    b.edit("deleted", [])
    b.send("redo")
    assert w.message == "Nothing to redo.", "a new edit clears the redo steps"


def test_background_predictions_appear_on_the_image_on_screen(ds):
    w = Annotator(ds)
    w.next()
    assert w.key == "raccoon-2" and w.annotations == []
    pred = dict(BOX, score=0.91, source="yolo@2")

    def model_thread():
        ds.annotate("raccoon-2", [pred], source="yolo@2")
        ds.annotate("raccoon-4", [pred], source="yolo@2")

    t = threading.Thread(target=model_thread)
    t.start()
    t.join()
    assert w.annotations[0]["score"] == pytest.approx(0.91)
    assert w.meta["status"] == "predicted" and w.key == "raccoon-2"
    deadline = time.monotonic() + 3
    while w.counts.get("predicted") != 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # counts are refreshed at most a few times a second
    assert w.counts["predicted"] == 3


def test_classes_from_a_model_show_up_unless_the_user_chose_them(ds):
    w = Annotator(ds)
    chosen = Annotator(ds, classes=["raccoon"])
    ds.add_classes(["bird"])
    ds.annotate("raccoon-2", [dict(BOX, label="bird", score=0.5)], source="m@1")
    assert w.classes == ["raccoon", "dog", "bird"]
    assert chosen.classes == ["raccoon"]


def test_next_unlabeled_and_next_review_wrap_around(ds):
    ds.annotate("raccoon-2", [BOX], source="human")  # verified
    ds.annotate("raccoon-4", [BOX], source="m@1", status="review")
    w = Annotator(ds)
    b = Browser(w)
    b.send("next_status", status="unlabeled")
    assert w.key == "raccoon-3"
    b.send("next_status", status="review")
    assert w.key == "raccoon-4"
    b.send("next_status", status="unlabeled")
    assert w.key == "raccoon-5"
    b.send("next_status", status="unlabeled")
    assert w.key == "raccoon-3", "wraps to the start"
    b.send("next_status", status="review")
    b.send("next_status", status="review")
    assert w.key == "raccoon-4" and "No other image" in w.message
    b.send("goto", index=99)
    assert w.key == "raccoon-5", "a jump past the end lands on the last image"
    b.send("step", delta=1)
    assert w.message == "This is the last image."
    w.show("raccoon-1")
    assert w.index == 0
    with pytest.raises(KeyError, match="no image with key 'nope'"):
        w.show("nope")
    with pytest.raises(IndexError):
        w.goto(5)


def test_auto_polygon_from_a_real_grabcut_outline(ds):
    w = Annotator(ds, tool="auto")
    b = Browser(w)
    w.next()  # raccoon-2: a raccoon filling much of the frame
    box = [10.0, 10.0, 600.0, 400.0]
    b.send("auto", box=box, label="raccoon")
    rec = ds.row(w.key)["annotations"][-1]
    assert rec["label"] == "raccoon" and rec["source"] == "human"
    assert len(rec["points"]) >= 3
    assert 0.0 <= rec["polygon_score"] <= 1.0
    assert all(box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1
               for x, y in rec["points"])  # fmt: skip
    assert ds.events()["kind"].iloc[-1] == "added"
    assert w.busy == ""


def test_a_doubtful_auto_polygon_sends_the_image_to_review(ds):
    seen = []

    def polygonizer(image, box):
        seen.append((image.shape, box))
        return [[box[0], box[1]], [box[2], box[1]], [box[0], box[3]]], 0.3

    w = Annotator(ds, polygonizer=polygonizer)
    b = Browser(w)
    b.send("auto", box=[5, 5, 50, 60], label="dog")
    assert seen == [((417, 650, 3), [5.0, 5.0, 50.0, 60.0])], "full-resolution RGB image"
    assert ds.row("raccoon-1")["status"] == "review"
    assert w.meta["status"] == "review" and "review" in w.message

    def failing(image, box):
        raise RuntimeError("no SAM weights")

    w.polygonizer = failing
    b.send("auto", box=[5, 5, 50, 60], label="dog")
    assert "no SAM weights" in w.errors[-1]


def test_saved_notebook_carries_a_picture_of_the_image_and_its_boxes(ds):
    ds.annotate("raccoon-1", [BOX], source="human")
    w = Annotator(ds)
    data, _ = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "raccoon-1" in data["text/plain"]
    im = Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).convert("RGB")
    assert im.size == (650, 417)
    # the top edge of the raccoon box is drawn in the first class colour
    want = np.array([int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5)])
    edge = np.asarray(im)[40, 100:250].astype(int)
    assert (np.abs(edge - want).sum(axis=1) < 30).mean() > 0.9


def test_an_unreadable_image_is_reported_and_navigation_goes_on(ds, raccoon_dir, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    df = pd.DataFrame({"path": [str(broken), str(raccoon_dir / "images" / "raccoon-7.jpg")]},
                      index=["broken", "ok"])  # fmt: skip
    ds2 = nbl.Dataset.from_dataframe(df, db=tmp_path / "b.db", classes=["raccoon"])
    w = Annotator(ds2)
    assert w.image_a == b"" and "broken.jpg" in w.meta["problem"]
    png = base64.b64decode(w._repr_mimebundle_()[0]["image/png"])
    assert png[:4] == b"\x89PNG"
    w.next()
    assert w.key == "ok" and w.meta["problem"] == ""


def test_a_replaced_image_file_is_sent_again(ds, raccoon_dir):
    w = Annotator(ds, display_size=200)
    old = w.image_a
    ds.update("raccoon-1", image=str(raccoon_dir / "images" / "raccoon-9.jpg"))
    assert w.meta["file"] == "raccoon-9.jpg"
    assert w.image_a != old and jpeg_size(w.image_a)[0] <= 200


def test_bad_arguments_get_clear_errors(ds, tmp_path):
    with pytest.raises(TypeError, match="needs an nblabel.Dataset"):
        Annotator(pd.DataFrame())
    with pytest.raises(ValueError, match="tool must be one of"):
        Annotator(ds, tool="lasso")
    with pytest.raises(traitlets.TraitError):
        Annotator(ds, threshold=1.5)
    with pytest.raises(traitlets.TraitError, match="4-number 'bbox'"):
        Annotator(ds).annotations = [{"label": "x", "bbox": [1, 2]}]
    df = pd.DataFrame({"path": [str(ds.path("raccoon-1"))]}, index=["only"])
    no_classes = nbl.Dataset.from_dataframe(df, db=tmp_path / "n.db")
    with pytest.raises(ValueError, match="no classes to label with"):
        Annotator(no_classes)
    w = Annotator(no_classes, classes="raccoon")
    assert no_classes.classes == ["raccoon"] and w.classes == ["raccoon"]


def test_skeletons():
    sk = skeleton_payload({"names": ["a", "b", "c"], "edges": [[0, 2]]})
    assert sk["edges"] == [[0, 2]] and len(sk["layout"]) == 3
    with pytest.raises(ValueError, match="outside 2 names"):
        skeleton_payload({"names": ["a", "b"], "edges": [[0, 5]]})
    with pytest.raises(ValueError, match="list of point names"):
        skeleton_payload({"edges": []})


def test_closing_the_widget_stops_listening_and_leaves_a_picture(ds):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    w = Annotator(ds)
    assert len(ds._listeners) == 1
    with capture_output() as cap:
        display(w)
        w.next()
        w.close()
    assert ds._listeners == []
    ds.annotate("raccoon-1", [BOX], source="human")  # no error from a closed widget
    shown, still = cap.outputs
    assert "application/vnd.jupyter.widget-view+json" in shown.data
    assert still.update and still.transient["display_id"] == shown.transient["display_id"]
    assert set(still.data) == {"image/png", "text/plain"}, "the live widget is replaced"
    assert "raccoon-2" in still.data["text/plain"], "the picture is of the last state"
    assert Image.open(io.BytesIO(base64.b64decode(still.data["image/png"]))).size == (800, 573)


def test_skeleton_names_and_layouts():
    body = skeleton_payload(None)
    assert body["name"] == "coco17" and body["names"][0] == "nose" and len(body["edges"]) == 19
    nose, ankle = body["layout"][0], body["layout"][body["names"].index("left_ankle")]
    assert nose[1] < 0.1 < 0.9 < ankle[1], "a new body starts laid out like a person"
    face = skeleton_payload("face")
    assert face["names"][2] == "nose_tip" and face["layout"][2] == [0.5, 0.58]
    hand = skeleton_payload(get_skeleton("hand21"))
    wrist, tip = hand["layout"][0], hand["layout"][hand["names"].index("middle_finger_tip")]
    assert len(hand["names"]) == 21 and tip[1] < wrist[1]
    with pytest.raises(ValueError, match="unknown skeleton 'tail'"):
        skeleton_payload("tail")


def test_each_keypoint_object_is_drawn_with_the_skeleton_of_its_size(ds):
    w = Annotator(ds)  # default skeleton: body
    assert {k: len(v["names"]) for k, v in w.skeletons.items()} == {
        "coco17": 17, "face5": 5, "hand21": 21}  # fmt: skip
    sks = [w.skeleton, *w.skeletons.values()]
    face = [[200, 100, 2], [300, 100, 2], [250, 150, 2], [210, 200, 2], [290, 200, 2]]
    assert skeleton_for_record({"keypoints": face}, sks)["name"] == "face5"
    assert skeleton_for_record({"keypoints": [[0, 0, 2]] * 17}, sks)["name"] == "coco17"
    assert skeleton_for_record({"keypoints": [[0, 0, 2]] * 21}, sks)["name"] == "hand21"
    assert skeleton_for_record({"keypoints": [[0, 0, 2]] * 4}, sks) is None
    # The still picture joins the mouth corners (a face edge the body skeleton lacks).
    rec = {"label": "raccoon", "bbox": [190, 90, 310, 210], "keypoints": face, "score": None}
    ds.annotate("raccoon-1", [rec])
    im = np.asarray(Image.open(io.BytesIO(w.snapshot())).convert("RGB")).astype(int)
    s = im.shape[1] / 650
    want = np.array([int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5)])
    mouth = im[round(200 * s), round(230 * s) : round(270 * s)]
    assert (np.abs(mouth - want).sum(axis=1) < 40).mean() > 0.8


def test_keypoint_scores_travel_with_the_record(ds):
    w = Annotator(ds, tool="keypoints")
    b = Browser(w)
    kps = [[100 + 10 * i, 120 + 5 * i, 2] for i in range(17)]
    scores = [round(0.05 * i, 2) for i in range(17)]
    pose = {"label": "raccoon", "bbox": [90, 110, 280, 210], "points": None, "keypoints": kps,
            "keypoint_scores": scores, "score": 0.8, "source": "pose@1"}  # fmt: skip
    ds.annotate("raccoon-1", [pose], source="pose@1")
    assert w.annotations[0]["keypoint_scores"] == scores, "the browser gets every point's score"
    # the browser drops the score of a point a person moved (see placedByHand in geometry.js)
    moved = dict(pose, keypoints=[[105, 125, 2], *kps[1:]], score=None, source="human",
                 keypoint_scores=[None, *scores[1:]])  # fmt: skip
    b.edit("moved", [moved])
    assert ds.row("raccoon-1")["annotations"][0]["keypoint_scores"] == [None, *scores[1:]]


def _assets() -> Path:
    """ultralytics' bundled sample photos, found without importing ultralytics (slow)."""
    import importlib.util

    return Path(importlib.util.find_spec("ultralytics").submodule_search_locations[0]) / "assets"


def test_deidentification_regions_are_a_read_only_layer(raccoon_dir, yunet_path, tmp_path):
    df = pd.DataFrame({"path": [str(_assets() / "zidane.jpg"),
                                str(raccoon_dir / "images" / "raccoon-1.jpg")]},
                      index=["zidane", "raccoon"])  # fmt: skip
    ds = nbl.Dataset.from_dataframe(df, db=tmp_path / "d.db", classes=["person"])
    w = Annotator(ds)
    assert w.regions == [] and w.show_regions
    person = dict(BOX, label="person", bbox=[100.0, 50.0, 600.0, 700.0])
    ds.annotate("zidane", [person])
    before = w.image_a
    nbl.deidentify(ds, targets="face", face_model=yunet_path, progress=False)

    stored = ds.row("zidane")["deid_regions"]
    assert len(stored) >= 2 and w.image_a != before, "the de-identified copy shows"
    assert [r["kind"] for r in w.regions] == ["face"] * len(stored)
    assert [r["bbox"] for r in w.regions] == [[float(v) for v in r["bbox"]] for r in stored]
    assert all(0 < r["score"] <= 1 for r in w.regions)

    # Edits never carry the regions into the annotations, nor change them.
    Browser(w).edit("moved", [dict(person, bbox=[110.0, 60.0, 610.0, 710.0])])
    assert [r["label"] for r in ds.row("zidane")["annotations"]] == ["person"]
    assert ds.row("zidane")["deid_regions"] == stored

    # The still picture shows them unless the layer is switched off.
    x1, y1, x2, y2 = stored[0]["bbox"]
    s = 800 / 1280

    def magenta_on_left_edge():
        im = np.asarray(Image.open(io.BytesIO(w.snapshot())).convert("RGB")).astype(int)
        col = im[round(y1 * s) + 3 : round(y2 * s) - 3, round(x1 * s)]
        return (np.abs(col - [255, 0, 212]).sum(axis=1) < 60).mean()

    assert magenta_on_left_edge() > 0.8
    w.show_regions = False
    assert magenta_on_left_edge() < 0.2

    # A row without regions, and unreadable entries, are shown as what they are.
    w.next()
    assert w.regions == []
    ds.update("raccoon", deid_regions=[{"kind": "plate", "bbox": [10, 10, 60, 30]},
                                       {"kind": "face", "bbox": [5, 5]}])  # fmt: skip
    assert [r["kind"] for r in w.regions] == ["plate"] and w.meta["regions_unreadable"] == 1


def test_submit_leaves_out_suggestions_below_the_threshold_unless_taken(ds):
    low = dict(BOX, bbox=[320.0, 40.0, 400.0, 120.0], score=0.2, source="yolo@1")
    other = dict(BOX, bbox=[450.0, 200.0, 600.0, 400.0], score=0.1, source="yolo@1")
    ds.annotate("raccoon-1", [dict(BOX, score=0.62, source="yolo@1"), low, other], source="yolo@1")
    w = Annotator(ds, threshold=0.3)
    assert len(w.shown(w.annotations)) == 3  # hide below is off: the suggestions are drawn
    assert [r["score"] for r in w.kept(w.annotations)] == [pytest.approx(0.62)]
    # the person drags one suggestion into place: it becomes theirs and is kept
    b = Browser(w)
    taken = dict(low, bbox=[318.0, 42.0, 405.0, 125.0], score=None, source="human")
    b.edit("moved", [w.annotations[0], taken, w.annotations[2]])
    w.submit()
    row = ds.row("raccoon-1")
    assert row["status"] == "verified"
    assert [r["bbox"] for r in row["annotations"]] == [BOX["bbox"], taken["bbox"]]
    assert [r["score"] for r in row["annotations"]] == [pytest.approx(0.62), None]
    assert "1 suggestion below 0.30 left out" in w.message
    # hidden suggestions are left out the same way
    ds.annotate("raccoon-2", [dict(low), dict(BOX, score=0.9, source="yolo@1")], source="yolo@1")
    w.goto(1)
    w.hide_below = True
    assert [r["score"] for r in w.shown(w.annotations)] == [pytest.approx(0.9)]
    w.submit()
    assert [r["score"] for r in ds.row("raccoon-2")["annotations"]] == [pytest.approx(0.9)]


def test_an_image_with_only_suggestions_is_not_submitted_empty_by_mistake(ds):
    ds.annotate("raccoon-2", [dict(BOX, score=0.1, source="yolo@1")], source="yolo@1")
    w = Annotator(ds, threshold=0.3)
    w.goto(1)
    b = Browser(w)
    b.send("submit", annotations=w.annotations)  # Enter: the faint box alone is no label
    assert ds.row("raccoon-2")["status"] == "predicted" and w.key == "raccoon-2"
    assert "Only 1 suggestion under 0.30" in w.message and "press a" in w.message
    b.edit("accepted", [dict(BOX, score=None, source="human")])  # a: take it
    b.send("submit", annotations=w.annotations)
    assert ds.row("raccoon-2")["status"] == "verified"
    assert ds.row("raccoon-2")["annotations"][0]["bbox"] == BOX["bbox"]


def test_an_empty_image_is_verified_only_as_nothing_here(ds):
    w = Annotator(ds)
    b = Browser(w)
    w.goto(1)  # raccoon-2: no objects
    b.send("submit", annotations=[])  # Enter
    assert ds.row("raccoon-2")["status"] == "unlabeled" and w.key == "raccoon-2"
    assert "press e (Nothing here)" in w.message
    b.send("submit", annotations=[BOX], empty=True)  # "Nothing here" with a box on screen
    assert ds.row("raccoon-2")["status"] == "unlabeled"
    assert "press Enter to submit them" in w.message
    b.send("submit", annotations=[], empty=True)  # e
    assert ds.row("raccoon-2")["status"] == "verified" and ds.row("raccoon-2")["annotations"] == []
    assert w.key == "raccoon-3"
    # predictions hidden below the threshold do not count as something on screen
    ds.annotate("raccoon-3", [dict(BOX, score=0.1, source="yolo@1")], source="yolo@1")
    w.hide_below = True
    b.send("submit", annotations=w.annotations)
    assert ds.row("raccoon-3")["status"] == "predicted"


def test_a_class_typo_is_caught_at_construction(ds):
    with pytest.raises(ValueError, match=r"did you mean 'raccoon'\?") as err:
        Annotator(ds, classes=["racoon"])
    assert "ds.add_classes(['racoon'])" in str(err.value)
    with pytest.raises(ValueError, match="did you mean 'dog'"):
        Annotator(ds, classes=["raccoon", "Dog"])
    assert ds.classes == ["raccoon", "dog"]  # nothing was added
    assert nbl.Dataset.open(ds.db_path).classes == ["raccoon", "dog"]
    # a new class far from the known ones is added; a close one, once added on purpose
    assert Annotator(ds, classes=["raccoon", "cat"]).classes == ["raccoon", "cat"]
    ds.add_classes(["dogs"])
    assert Annotator(ds, classes=["dogs"]).classes == ["dogs"]


def test_check_class_names():
    from nblabel.records import check_class_names

    assert check_class_names(("a", "bird"), []) == ["a", "bird"]
    assert check_class_names(["car"], ["cat"]) == ["car"]
    with pytest.raises(ValueError, match="did you mean 'person'"):
        check_class_names(["persn"], ["person", "car"])
    with pytest.raises(ValueError, match="non-empty strings"):
        check_class_names([""], ["person"])


def test_submit_goes_on_to_the_next_image_that_needs_a_person(ds):
    ds.annotate("raccoon-2", [BOX])  # verified
    ds.annotate("raccoon-3", [dict(BOX, score=0.9, source="m@1")], source="m@1", status="auto")
    w = Annotator(ds)
    w.submit([BOX])  # raccoon-1
    assert w.key == "raccoon-4"  # the verified and the auto-accepted image are skipped
    w.goto(1)
    assert w.key == "raccoon-2"  # stepping still shows every image


def test_submitting_the_last_image_goes_on_to_one_still_waiting(ds):
    ds.annotate("raccoon-3", [dict(BOX, score=0.4, source="yolo@1")], source="yolo@1",
                status="review")  # fmt: skip
    w = Annotator(ds)
    w.goto(-1)
    w.submit([BOX])
    assert ds.row("raccoon-5")["status"] == "verified"
    assert w.key == "raccoon-3"  # review first, then predicted, then unlabeled
    assert "raccoon-3" in w.message and "review" in w.message
    for key in ds.keys():
        ds.annotate(key, [BOX])
    w.goto(-1)
    w.submit([BOX])
    assert w.key == "raccoon-5" and "every image is verified" in w.message


def test_messages_are_checked_where_they_arrive_and_a_bad_one_writes_nothing(ds):
    w = Annotator(ds)
    b = Browser(w)
    human = dict(BOX, score=None, source="human")
    before = len(ds.events())
    bad = [
        ({"kind": "udno"}, "unknown message kind 'udno' (did you mean 'undo'?)"),
        ({"kind": "edit", "edit": "moved"}, "needs the field 'annotations'"),
        ({"kind": "edit", "edit": "moved", "annotations": "all"}, "must be a list"),
        ({"kind": "edit", "edit": "moved", "annotations": [human], "index": 7}, "outside 0..4"),
        ({"kind": "edit", "edti": "moved", "annotations": [human]}, "did you mean 'edit'?"),
        ({"kind": "step", "delta": "1"}, "'delta' must be an integer"),
        ({"kind": "auto", "box": [1, 2, 3]}, "a box [x1, y1, x2, y2]"),
        ({"kind": "submit", "annotations": [human], "empty": "yes"}, "true or false"),
    ]
    for content, said in bad:
        b.send(content.pop("kind"), **content)
        assert said in w.message and w.message.startswith("Not saved"), (content, w.message)
        assert w.errors == [], "a malformed message is said in the status line, no traceback"
    assert len(ds.events()) == before and ds.row("raccoon-1")["annotations"][0]["score"] == 0.62
    assert w.annotations == ds.row("raccoon-1")["annotations"], "the canvas is put back"
    # not a message at all, or without a seq: said too, and nothing acknowledged
    for content in (["edit"], {"kind": "undo"}):
        b.deliver(content)
        assert "Not saved" in w.message and w.ack == b.seq
    b.edit("moved", [human])  # a good one after the bad ones still lands
    assert ds.row("raccoon-1")["annotations"][0]["score"] is None


def test_two_quick_messages_are_two_writes(ds):
    # the state-trait protocol merged a second update sent while the first was in flight;
    # messages are delivered one by one, so both edits are journaled, in order
    w = Annotator(ds)
    b = Browser(w)
    human = dict(BOX, score=None, source="human")
    b.edit("accepted", [human])
    b.edit("relabelled", [dict(human, label="dog")])
    b.send("step", delta=1)
    b.send("step", delta=1)
    assert ds.events()["kind"].tolist()[-2:] == ["accepted", "relabelled"]
    assert w.meta["index"] == 2


def test_an_unknown_keyword_argument_raises_with_the_close_one(ds):
    with pytest.raises(TypeError, match=r"'thresold'.*did you mean 'threshold'\?"):
        Annotator(ds, thresold=0.9)
    with pytest.raises(TypeError, match="'colour'"):
        Annotator(ds, colour="red")


def test_trait_keyword_arguments_still_set_the_trait(ds):
    w = Annotator(ds, hide_below=True, show_regions=False)
    assert w.hide_below is True and w.show_regions is False


def test_each_object_keeps_its_id_through_edits_and_a_reordering_prediction(ds):
    w = Annotator(ds)
    b = Browser(w)
    one = dict(BOX, score=None, source="human")
    two = dict(BOX, label="dog", bbox=[400.0, 100.0, 600.0, 300.0], score=None, source="human")
    b.edit("added", [one, two])
    first, second = w.ids
    assert len(set(w.ids)) == 2 and all(len(i) == 8 for i in w.ids)
    b.edit("moved", [dict(one, bbox=[350.0, 200.0, 640.0, 410.0]), two])  # far: no overlap
    assert w.ids == [first, second], "a person's move keeps the object's id"
    # a model writes the objects again, reordered and slightly moved, with a new one
    pred = dict(score=0.9, source="yolo@2")
    new = [
        dict(two, bbox=[402.0, 101.0, 598.0, 305.0], **pred),
        dict(BOX, label="raccoon", bbox=[10.0, 10.0, 40.0, 40.0], **pred),
        dict(one, bbox=[352.0, 198.0, 640.0, 410.0], **pred),
    ]
    ds.annotate("raccoon-1", new, source="yolo@2")
    assert w.ids[0] == second and w.ids[2] == first
    assert w.ids[1] not in (first, second), "a new object gets a new id"
    b.edit("deleted", [w.annotations[0], w.annotations[2]])
    assert w.ids == [second, first]
    stored = ds.row("raccoon-1")["annotations"]
    assert all("id" not in r for r in stored), "ids are the widget's, not the journal's"
    w.next()
    w.previous()
    assert len(w.ids) == 2 and w.ids == [second, first], "the same image keeps its ids"
