"""Tracks through files and back: MOT gt.txt, CVAT for video XML, COCO video, YOLO."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support.clips import crossing_clip, detections, face

import nblabel as nbl
from nblabel.formats.cvat_video import read_cvat_video
from nblabel.formats.mot import read_mot
from nblabel.tracks import annotate_frame, export_tracks, import_tracks, link_tracks


@pytest.fixture(scope="module")
def clip(raccoon_dir, shared_dir, tmp_path_factory):
    return crossing_clip(raccoon_dir, shared_dir, tmp_path_factory.mktemp("tracks"))


@pytest.fixture()
def tracked(clip, tmp_path):
    """Two linked raccoon tracks; on one, keyframes at 0 and 12 with the frames between
    interpolated, and a face's keypoints on every frame of it."""
    path, truth = clip
    ds = nbl.Dataset.from_video(
        path, every=1, db=tmp_path / "a.db", classes=["raccoon"], progress=False
    )
    keys = detections(ds, truth)
    link_tracks(ds)
    a = next(r["track"] for r in ds.row(keys[0])["annotations"] if r["bbox"][0] < 100)
    for t in (0, 12):
        rec = next(r for r in ds.row(keys[t])["annotations"] if r["track"] == a)
        pts = face(np.add(rec["bbox"][:2], 40))["keypoints"]
        others = [r for r in ds.row(keys[t])["annotations"] if r["track"] != a]
        annotate_frame(ds, keys[t], others + [dict(rec, keypoints=pts)])
    return ds, path


def _summary(ds):
    """``{(frame, track): (label, keyframe, [box and keypoint numbers])}``."""
    out = {}
    for _, row in ds.df.sort_values("frame").iterrows():
        for r in row["annotations"] or []:
            nums = list(r["bbox"]) + [v for p in r.get("keypoints") or [] for v in p]
            key = bool(r.get("keyframe") or r["source"] == "human")
            out[(int(row["frame"]), r["track"])] = (r["label"], key, nums)
    return out


def _same(a: dict, b: dict, boxes_only: bool = False) -> bool:
    """The same objects, numbers within the 0.01 px of a file with two decimals."""
    if a.keys() != b.keys():
        return False
    for k in a:
        (la, ka, na), (lb, kb, nb) = a[k], b[k]
        if boxes_only:
            na, nb, ka, kb = na[:4], nb[:4], True, True
        if la != lb or ka != kb or len(na) != len(nb) or not np.allclose(na, nb, atol=0.011):
            return False
    return True


def _fresh(path, tmp_path, name):
    return nbl.Dataset.from_video(path, every=1, db=tmp_path / f"{name}.db", progress=False)


@pytest.mark.parametrize("fmt,target", [("cvat", "v.xml"), ("coco", "v.json")])
def test_tracks_keyframes_and_points_round_trip(tracked, tmp_path, fmt, target):
    ds, path = tracked
    before = _summary(ds)
    assert sum(k for _, k, _ in before.values()) == 4  # two frames, two objects each

    written = export_tracks(ds, tmp_path / target, fmt)
    back = _fresh(path, tmp_path, fmt)
    got = import_tracks(back, written, fmt)

    assert got == {"frames": 30, "skipped": 0, "tracks": 2}
    assert _same(_summary(back), before)
    assert back.classes == ["raccoon"]
    assert back.df.loc[back.keys()[0], "status"] == "verified"
    assert (
        back.tracks()[["track", "n_frames"]].values == ds.tracks()[["track", "n_frames"]].values
    ).all()


def test_mot_gt_round_trip_keeps_ids_and_boxes(tracked, tmp_path):
    ds, path = tracked
    gt = export_tracks(ds, tmp_path / "mot", "mot")
    lines = gt.read_text().splitlines()
    assert len(lines) == 60 and (gt.parent / "labels.txt").read_text() == "raccoon\n"
    frame, tid, x, y, w, h, active, cls, vis = lines[0].split(",")
    assert frame == "1" and active == "1" and cls == "1"

    back = _fresh(path, tmp_path, "mot")
    assert import_tracks(back, tmp_path / "mot", "mot")["tracks"] == 2
    assert _same(_summary(back), _summary(ds), boxes_only=True)


def test_coco_video_file_is_valid_coco_with_videos_and_track_ids(tracked, tmp_path):
    from pycocotools.coco import COCO

    ds, _ = tracked
    out = export_tracks(ds, tmp_path / "v.json", "coco", video="crossing")
    coco = COCO(str(out))
    data = json.loads(out.read_text())
    assert data["videos"][0]["name"] == "crossing" and len(data["tracks"]) == 2
    assert sorted(im["frame_id"] for im in data["images"]) == list(range(30))
    ann = coco.loadAnns(coco.getAnnIds())[0]
    assert ann["track_id"] == ann["attributes"]["track_id"] == ann["instance_id"]
    assert "track" not in ann  # the COCO video name only


def test_yolo_export_keeps_track_ids_in_the_sidecar(tracked, tmp_path):
    ds, path = tracked
    out = export_tracks(ds, tmp_path / "yolo", "yolo")
    back = _fresh(path, tmp_path, "yolo")
    assert import_tracks(back, out, "yolo")["frames"] == 30
    assert _same(_summary(back), _summary(ds), boxes_only=True)


def test_reads_a_cvat_video_export(shared_dir):
    xml = shared_dir / "fixtures" / "datumaro" / "cvat_dataset" / "for_video" / "annotations.xml"
    with pytest.warns(UserWarning, match="skipped 1 polyline"):
        classes, frames = read_cvat_video(xml)
    assert classes == ["klhg", "z U k", "II"]
    assert sorted(frames) == [10]  # both tracks leave the picture on frame 13
    box, points = sorted(frames[10], key=lambda r: r["track"])
    assert box["label"] == "II" and box["bbox"] == [3.0, 4.0, 10.0, 5.0] and box["occluded"]
    assert points["label"] == "klhg" and len(points["keypoints"]) == 3 and points["keyframe"]


def test_bad_files_say_what_is_wrong(tmp_path):
    bad = tmp_path / "gt.txt"
    bad.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="line 1 is not '<frame>,<id>"):
        read_mot(bad)
    with pytest.raises(ValueError, match="no MOT gt.txt"):
        read_mot(tmp_path / "nothing")
    with pytest.raises(ValueError, match="unknown track format"):
        export_tracks(None, tmp_path, "mp4")
