"""Tracks in a video dataset, on a clip of real raccoon crops moving along known paths."""

from __future__ import annotations

import numpy as np
import pytest
from support.clips import DETECTOR, T, crossing_clip, detections, face, truth_tracks

import nblabel as nbl
from nblabel.images import load_rgb
from nblabel.tracks import (
    annotate_frame,
    boxes_by_frame,
    flag_points,
    id_switches,
    interpolate_tracks,
    link,
    link_tracks,
    merge_tracks,
    propagate,
)
from nblabel.video import compose_clip


@pytest.fixture(scope="module")
def clip(raccoon_dir, shared_dir, tmp_path_factory):
    return crossing_clip(raccoon_dir, shared_dir, tmp_path_factory.mktemp("tracks"))


@pytest.fixture()
def ds(clip, tmp_path):
    path, _ = clip
    return nbl.Dataset.from_video(
        path, every=1, db=tmp_path / "clip.db", classes=["raccoon"], progress=False
    )


def test_from_video_takes_classes(ds):
    assert ds.classes == ["raccoon"]
    assert ds.tracks().empty


def test_crossing_raccoons_keep_their_ids(ds, clip):
    _, truth = clip
    keys = detections(ds, truth, miss={(10, 0), (11, 0), (15, 1)})

    assert link_tracks(ds) == 2

    scores = id_switches(boxes_by_frame(ds), truth_tracks(truth))
    assert scores["switches"] == 0 and scores["fragments"] == 0
    assert scores["misses"] == 3 and scores["false_positives"] == 0
    table = ds.tracks()
    assert table["n_frames"].tolist() == [28, 29] or sorted(table["n_frames"]) == [28, 29]
    assert all(row["first"] == 0 and row["last"] == T - 1 for _, row in table.iterrows())
    # linking only adds the ids: the model's rows keep their status and source
    assert set(ds.df["status"]) == {"predicted"} and set(ds.df["source"]) == {DETECTOR}
    again = nbl.Dataset.open(ds.db_path)
    assert again.row(keys[5])["annotations"] == ds.row(keys[5])["annotations"]


def test_linker_keeps_ids_through_a_crossing_in_any_order():
    """Two boxes pass through each other; the constant-velocity prediction keeps them apart."""
    a = [{"label": "r", "bbox": [10 + 8 * t, 0, 90 + 8 * t, 80]} for t in range(20)]
    b = [{"label": "r", "bbox": [150 - 8 * t, 5, 230 - 8 * t, 85]} for t in range(20)]
    frames = [[a[t], b[t]] if t % 2 else [b[t], a[t]] for t in range(20)]
    ids = link(frames)
    order = [row if t % 2 else row[::-1] for t, row in enumerate(ids)]
    assert len({tuple(x) for x in order}) == 1  # a's id, b's id on every frame


def test_track_ids_must_be_integers(ds):
    key = ds.keys()[0]
    with pytest.raises(ValueError, match="'track' must be a non-negative integer id"):
        ds.annotate(key, [{"label": "raccoon", "bbox": [0, 0, 10, 10], "track": "a"}])
    assert ds.row(key)["annotations"] == []


def test_boxes_between_two_keyframes_are_linear_and_follow_a_moved_keyframe(ds, clip):
    _, truth = clip
    keys = list(ds.df.sort_values("frame").index)
    box = {t: dict(truth[t])[0] for t in range(T)}
    annotate_frame(ds, keys[0], [{"label": "raccoon", "bbox": box[0]}])
    out = annotate_frame(ds, keys[20], [{"label": "raccoon", "bbox": box[20], "track": 1}])
    assert out["interpolated"] == 19

    for t in range(1, 20):
        (rec,) = ds.row(keys[t])["annotations"]
        assert rec["interpolated"] is True and rec["track"] == 1
        assert np.abs(np.subtract(rec["bbox"], box[t])).max() < 1.0
        assert ds.df.loc[keys[t], "status"] == "predicted"
    assert ds.row(keys[25])["annotations"] == []  # no keyframe after 20: nothing invented
    table = ds.tracks()
    assert table.loc[0, "keyframes"] == [0, 20] and table.loc[0, "interpolated"] == 19

    # the person moves the frame-20 box 30 px right: its neighbours move with it
    moved = [box[20][0] + 30, box[20][1], box[20][2] + 30, box[20][3]]
    annotate_frame(ds, keys[20], [{"label": "raccoon", "bbox": moved, "track": 1}])
    (mid,) = ds.row(keys[10])["annotations"]
    assert abs(mid["bbox"][0] - (box[10][0] + 15)) < 1.0
    assert ds.df.loc[keys[20], "status"] == "verified"


def test_deleting_an_object_ends_its_track(ds, clip):
    _, truth = clip
    keys = detections(ds, truth)
    link_tracks(ds)
    b = next(a["track"] for a in ds.row(keys[20])["annotations"] if a["bbox"][0] < 100)
    keep = [a for a in ds.row(keys[20])["annotations"] if a["track"] != b]

    out = annotate_frame(ds, keys[20], keep)

    assert out["ended"] == [b]
    for t in range(21, T):
        assert [a["track"] for a in ds.row(keys[t])["annotations"]] == [keep[0]["track"]]
    assert b in [a["track"] for a in ds.row(keys[19])["annotations"]]


def test_propagate_copies_to_the_next_frames_and_spares_verified_ones(ds, clip):
    _, truth = clip
    keys = list(ds.df.sort_values("frame").index)
    annotate_frame(ds, keys[5], [{"label": "raccoon", "bbox": dict(truth[5])[0]}])
    ds.annotate(keys[7], [])  # a person said frame 7 is empty

    assert propagate(ds, keys[5], 3) == 2

    for t in (6, 8):
        (rec,) = ds.row(keys[t])["annotations"]
        assert (
            rec["propagated"] is True and rec["bbox"] == ds.row(keys[5])["annotations"][0]["bbox"]
        )
    assert ds.row(keys[7])["annotations"] == [] and ds.row(keys[9])["annotations"] == []
    with pytest.raises(ValueError, match="positive number of frames"):
        propagate(ds, keys[5], 0)


def test_keypoints_pass_through_keyframes_and_a_bad_point_is_named(ds):
    keys = list(ds.df.sort_values("frame").index)
    centers = np.stack([60 + 5.0 * np.arange(T), 100 + 2.0 * np.arange(T)], -1)
    rng = np.random.default_rng(3)
    writes = []
    for t, key in enumerate(keys):
        rec = dict(face(centers[t], 1.5, rng), score=0.9, source=DETECTOR, track=1)
        if t == 12:
            rec["keypoints"][2][:2] = [rec["keypoints"][2][0] + 25, rec["keypoints"][2][1] + 20]
        writes.append((key, [rec], {"source": DETECTOR}))
    ds.annotate_many(writes)

    flagged = flag_points(ds, threshold=8.0)

    assert flagged[["frame", "track", "point"]].values.tolist() == [[12, 1, "nose_tip"]]
    assert ds.df.loc[keys[12], "status"] == "review"
    assert ds.row(keys[12])["annotations"][0]["flagged_points"] == ["nose_tip"]
    assert (ds.df.drop(index=keys[12])["status"] == "predicted").all()

    # keyframes at 0 and 20: the path meets them exactly and stays near the truth between
    annotate_frame(ds, keys[0], [dict(face(centers[0]), track=1)])
    annotate_frame(ds, keys[20], [dict(face(centers[20]), track=1)])
    interpolate_tracks(ds, fps=10)
    err = []
    for t in range(1, 20):
        (rec,) = ds.row(keys[t])["annotations"]
        assert rec["interpolated"]
        truth = np.asarray(face(centers[t])["keypoints"])[:, :2]
        err.append(np.hypot(*(np.asarray(rec["keypoints"])[:, :2] - truth).T).max())
    assert max(err) < 4.0 and np.mean(err) < 2.0


def test_a_real_detector_s_people_keep_their_ids_through_an_occlusion(shared_dir, tmp_path):
    """Two people cut from ultralytics' bus.jpg cross (one hides the other for two frames);
    the COCO yolov5n detector labels every frame and the tracks are measured against the
    paths the clip was made with."""
    import os

    import cv2
    import ultralytics

    bus = load_rgb(os.path.join(os.path.dirname(ultralytics.__file__), "assets", "bus.jpg"))
    people = [bus[396:893, 55:213], bus[407:866, 218:344]]  # boxes yolov5n finds on bus.jpg
    sprites = [cv2.resize(p, None, fx=0.45, fy=0.45, interpolation=cv2.INTER_AREA) for p in people]
    bg = cv2.resize(
        load_rgb(shared_dir / "datasets" / "coco128" / "images" / "000000000009.jpg"), (640, 360)
    )  # a table of food: no person in it
    n = 40
    t = np.arange(n)
    paths = [np.stack([20 + 11 * t, 90 + 0.5 * t], -1), np.stack([560 - 11 * t, 100 + 0 * t], -1)]
    truth = compose_clip(tmp_path / "people.mp4", bg, sprites, paths, fps=10)
    ds = nbl.Dataset.from_video(
        tmp_path / "people.mp4", every=1, db=tmp_path / "p.db", classes=["person"], progress=False
    )
    ai = nbl.GeneralAI("human", classes=["person"], weights=shared_dir / "models" / "yolov5n.pt")
    keys = list(ds.df.sort_values("frame").index)
    preds = ai.predict([ds.path(k) for k in keys])
    ds.annotate_many([(k, p, {"source": ai.version}) for k, p in zip(keys, preds)])

    link_tracks(ds)

    scores = id_switches(boxes_by_frame(ds), truth_tracks(truth))
    assert scores["matches"] >= 0.95 * 2 * n  # the detector finds nearly every person
    assert scores["switches"] == 0 and scores["fragments"] == 0


def test_a_box_drawn_where_the_model_lost_the_object_continues_its_track(ds, clip):
    _, truth = clip
    keys = detections(ds, truth, miss={(t, 0) for t in range(8, 12)})
    link_tracks(ds)
    a = next(r["track"] for r in ds.row(keys[7])["annotations"] if r["bbox"][0] < 100)
    others = ds.row(keys[9])["annotations"]

    annotate_frame(ds, keys[9], others + [{"label": "raccoon", "bbox": dict(truth[9])[0]}])

    ids = [r["track"] for r in ds.row(keys[9])["annotations"]]
    assert a in ids and len(set(ids)) == 2


def test_merging_two_tracks_of_one_object_and_refusing_two_on_one_frame(ds, clip):
    _, truth = clip
    keys = detections(ds, truth)
    link_tracks(ds)
    a = next(r["track"] for r in ds.row(keys[0])["annotations"] if r["bbox"][0] < 100)
    b = next(r["track"] for r in ds.row(keys[0])["annotations"] if r["track"] != a)
    # split a's track in two as a detector losing it would
    writes = []
    for key in keys[15:]:
        anns = [dict(r, track=99) if r["track"] == a else r for r in ds.row(key)["annotations"]]
        writes.append((key, anns, {"source": DETECTOR}))
    ds.annotate_many(writes)
    assert len(ds.tracks()) == 3

    assert merge_tracks(ds, a, 99) == 15

    assert len(ds.tracks()) == 2 and ds.tracks().set_index("track").loc[a, "n_frames"] == T
    with pytest.raises(ValueError, match=f"tracks {a} and {b} are both on frame 0"):
        merge_tracks(ds, a, b)


def test_a_face_detector_s_points_on_a_moving_face_one_track_and_a_named_bad_point(
    shared_dir, yunet_path, tmp_path
):
    """zidane.jpg's grey-haired man moves on a curve; YuNet labels every frame. One track
    holds the face throughout, and a nose point pushed off on one frame is the one named."""
    import os

    import cv2
    import ultralytics

    z = load_rgb(os.path.join(os.path.dirname(ultralytics.__file__), "assets", "zidane.jpg"))
    sprite = np.ascontiguousarray(z[40:360, 820:1140])
    bg = cv2.resize(
        load_rgb(shared_dir / "datasets" / "coco128" / "images" / "000000000009.jpg"), (720, 400)
    )
    n = 30
    t = np.arange(n, dtype=float)
    path_xy = np.stack([40 + 6 * t + 20 * np.sin(t / 6), 20 + 15 * np.sin(t / 5)], -1)
    compose_clip(tmp_path / "face.mp4", bg, [sprite], [path_xy], fps=10)
    ds = nbl.Dataset.from_video(
        tmp_path / "face.mp4", every=1, db=tmp_path / "f.db", classes=["face"], progress=False
    )
    ai = nbl.GeneralAI("face points", weights=yunet_path)
    keys = list(ds.df.sort_values("frame").index)
    preds = ai.predict([ds.path(k) for k in keys])
    assert all(len(p) == 1 for p in preds)  # the face is found on every frame
    preds[15][0]["keypoints"][2][0] += 30  # the nose point jumps sideways on frame 15
    ds.annotate_many([(k, p, {"source": ai.version}) for k, p in zip(keys, preds)])

    assert link_tracks(ds) == 1
    assert ds.tracks().loc[0, "n_frames"] == n

    flagged = flag_points(ds, threshold=8.0, fps=10)
    assert (15, "nose_tip") in set(zip(flagged["frame"], flagged["point"]))
    assert len(flagged) <= 3  # the real jitter of the detector stays below the threshold
    assert ds.df.loc[keys[15], "status"] == "review"


def test_smoothing_stores_the_tracks_it_links_and_follows_given_ids(ds):
    from nblabel.models.smoothing import smooth_dataset

    keys = list(ds.df.sort_values("frame").index)
    rng = np.random.default_rng(5)
    centers = [np.stack([40 + 4.0 * np.arange(T), 60 + 0 * np.arange(T)], -1), None]
    centers[1] = centers[0] + [0, 100]
    writes = []
    for t, key in enumerate(keys):
        recs = [dict(face(c[t], 1.0, rng), score=0.9, source=DETECTOR) for c in centers]
        writes.append((key, recs, {"source": DETECTOR}))
    ds.annotate_many(writes)

    smooth_dataset(ds, fps=10)
    table = ds.tracks()
    assert len(table) == 2 and table["n_frames"].tolist() == [T, T]

    # a person says the second face is track 7 from frame 10 on: smoothing keeps that split
    writes = []
    for key in keys[10:]:
        anns = ds.row(key)["annotations"]
        top = min(range(2), key=lambda i: anns[i]["bbox"][1])
        anns[1 - top] = dict(anns[1 - top], track=7)
        writes.append((key, anns, {"source": DETECTOR}))
    ds.annotate_many(writes)
    smooth_dataset(ds, fps=10)
    assert sorted(ds.tracks()["n_frames"]) == [10, T - 10, T]
