"""Labelling a video: every frame by hand against keyframes, interpolation and review.

Two clips are made from real pictures moved along known, non-linear paths (so the truth of
every frame is exact and linear interpolation is not trivially right):

- **boxes**: two people cut from ultralytics' ``bus.jpg`` walk across a COCO photo in
  opposite directions, bobbing and changing speed, one hiding the other for a few frames;
- **keypoints**: the grey-haired man's face from ``zidane.jpg`` moves on a curve. Its truth
  is YuNet's five landmarks on the still, full-size crop, moved with the crop (a reference
  labelled once, so the error below is against that reference).

Strategies, with the seconds of :class:`nblabel.loop.report.EffortCosts` (box 7 s, a
correction or a placed point 3 s, looking at and submitting a frame 1 s):

- **by hand**: every object drawn on every frame (points placed one by one); error 0 by
  assumption;
- **model only**: the COCO ``yolov5n`` detector (YuNet for faces) on every frame, linked
  into tracks (:func:`nblabel.tracks.link_tracks`), nobody looks;
- **keyframes every K**: the model labels every frame and links tracks; a person corrects
  every K-th frame (redraws a box whose IoU with the truth is below 0.9, moves a point
  more than 2 px off), each correction a keyframe (:func:`nblabel.tracks.annotate_frame`)
  with the frames between interpolated (boxes linearly, keypoints through the Kalman/RTS
  smoother with the model's points in between). Then the frames flagged for review are
  looked at and corrected the same way, up to three rounds: for boxes, a frame where an
  interpolated box and the model's box of that track disagree (IoU below 0.6) or where the
  model has an object no track covers; for keypoints, :func:`nblabel.tracks.flag_points`.

Prints per strategy: human seconds, frames looked at, per-frame box IoU against the truth
(mean, 5th percentile) or keypoint error in pixels (mean, 95th percentile), and the tracks'
identity switches against the truth.

Measured with the defaults (60 frames; boxes: 108 true boxes):

- boxes: by hand 756 s; model only 0 s, IoU mean 0.879 (p5 0.577), 1 ID switch; keyframes
  every 5: 49 s (16 frames looked at), IoU 0.933 (p5 0.851), 0 switches; every 10: 37 s,
  IoU 0.903 (p5 0.848); every 20: 15 s, IoU 0.835 (p5 0.624).
- keypoints (``--point-threshold 6``): by hand 1320 s; model only 4.05 px mean (p95 8.73);
  keyframes every 5: 330 s, 1.15 px (p95 3.04); every 10: 232 s, 1.91 px (4.86); every
  20: 119 s, 2.64 px (5.55). Most of the model's error is a steady offset from the
  reference, which the smoother cannot see; the keyframes remove it.

Usage: python benchmarks/video.py [--frames 60] [--keyframes 5 10 20] [--point-threshold 6]
       [--skip-boxes]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import nblabel as nbl
from nblabel.images import load_rgb
from nblabel.loop.report import EffortCosts
from nblabel.records import iou
from nblabel.tracks import (
    INTERPOLATED,
    TRACK,
    annotate_frame,
    boxes_by_frame,
    flag_points,
    id_switches,
    link_tracks,
    merge_tracks,
    video_frames,
)
from nblabel.video import compose_clip

SHARED = Path(os.environ.get("NBLABEL_SHARED", Path(__file__).resolve().parents[2] / "shared"))
COSTS = EffortCosts()
GOOD_IOU = 0.9  # a box the person leaves alone
GOOD_PX = 2.0  # a point the person leaves alone
FLAG_IOU = 0.6  # interpolated box against the model's box of the same track
ROUNDS = 3


def _assets() -> Path:
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets"


def _background(size) -> np.ndarray:
    import cv2

    photo = load_rgb(SHARED / "datasets" / "coco128" / "images" / "000000000009.jpg")
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA)


def people_clip(folder: Path, n: int):
    """Two people crossing; returns (video path, truth per frame)."""
    import cv2

    bus = load_rgb(_assets() / "bus.jpg")
    people = [bus[396:893, 55:213], bus[407:866, 218:344]]
    sprites = [cv2.resize(p, None, fx=0.45, fy=0.45, interpolation=cv2.INTER_AREA) for p in people]
    t = np.arange(n, dtype=float)
    # walking speed changes and a bob of the head: linear interpolation is not exact
    x_a = 20 + 9 * t + 0.06 * t**2
    x_b = 560 - 11 * t + 25 * np.sin(t / 9)
    paths = [
        np.stack([x_a, 90 + 6 * np.sin(t / 3)], -1),
        np.stack([x_b, 100 + 4 * np.sin(t / 4 + 1)], -1),
    ]
    path = folder / "people.mp4"
    return path, compose_clip(path, _background((640, 360)), sprites, paths, fps=10)


def face_clip(folder: Path, n: int, face_model):
    """A face on a curve; returns (video path, truth keypoints per frame (n, 5, 2))."""
    z = load_rgb(_assets() / "zidane.jpg")
    sprite = np.ascontiguousarray(z[40:360, 820:1140])
    ref = face_model.predict([sprite])[0]
    if not ref:
        sys.exit("YuNet found no face on the zidane.jpg crop")
    ref_kp = np.asarray(ref[0]["keypoints"], float)[:, :2]
    t = np.arange(n, dtype=float)
    top_left = np.stack([40 + 4 * t + 30 * np.sin(t / 8), 20 + 20 * np.sin(t / 6)], -1)
    path = folder / "face.mp4"
    compose_clip(path, _background((720, 400)), [sprite], [top_left], fps=10)
    return path, ref_kp[None] + top_left[:, None, :]


def _truth_tracks(truth):
    return {t: [(i + 1, b) for i, b in boxes] for t, boxes in enumerate(truth)}


def _per_frame_iou(ds, truth) -> list[float]:
    out = []
    for key, frame in video_frames(ds):
        got = [a["bbox"] for a in ds.df.at[key, "annotations"] or []]
        for _, box in truth[frame]:
            out.append(max((iou(box, g) for g in got), default=0.0))
    return out


def _dataset(path, folder, name, classes):
    return nbl.Dataset.from_video(
        path, every=1, db=folder / f"{name}.db", classes=classes, progress=False, overwrite=True
    )


def _predict(ds, model, labels=None) -> dict:
    keys = [k for k, _ in video_frames(ds)]
    preds = model.predict([ds.path(k) for k in keys])
    if labels is not None:
        preds = [[p for p in recs if p["label"] in labels] for recs in preds]
    return dict(zip(keys, preds))


def _fix_boxes(ds, key, frame, truth, identity: dict) -> float:
    """The person corrects frame ``key`` towards the truth; returns the seconds spent.

    ``identity`` maps each true object to the track the person has seen it as: when the
    model split an object into two tracks, the person merges them (one correction)."""
    anns = [dict(a) for a in ds.df.at[key, "annotations"] or []]
    seconds = COSTS.accept
    match: dict[int, int | None] = {}
    # first the objects the person knows on this frame, by their track; then the others
    # take the box that overlaps them most
    for obj, box in truth[frame]:
        for i, a in enumerate(anns):
            if a.get(TRACK) == identity.get(obj) and iou(a["bbox"], box) > 0.3:
                match[obj] = i
    for obj, box in truth[frame]:
        if obj in match:
            continue
        free = [i for i in range(len(anns)) if i not in match.values()]
        best = max(free, key=lambda i: iou(anns[i]["bbox"], box), default=None)
        match[obj] = best if best is not None and iou(anns[best]["bbox"], box) > 0.3 else None
    out = []
    for obj, box in truth[frame]:
        i = match[obj]
        if i is not None and iou(anns[i]["bbox"], box) >= GOOD_IOU:
            out.append(anns[i])
        elif i is not None:
            out.append(dict(anns[i], bbox=list(box)))
            seconds += COSTS.correction
        else:
            out.append({"label": "person", "bbox": list(box)})
            seconds += COSTS.box
    # a false box is deleted with the frame's submit
    annotate_frame(ds, key, out, seconds=seconds)
    for (obj, _), rec in zip(truth[frame], ds.df.at[key, "annotations"] or []):
        tid = rec[TRACK]
        if identity.setdefault(obj, tid) != tid:
            try:
                merge_tracks(ds, identity[obj], tid)
                seconds += COSTS.correction
            except ValueError:  # both on one frame: the model's duplicate, left as it is
                pass
    return seconds


def _box_flags(ds, model_by_key) -> list:
    flagged = []
    for key, _ in video_frames(ds):
        if ds.df.at[key, "status"] == "verified":
            continue
        anns = ds.df.at[key, "annotations"] or []
        model = model_by_key.get(key, [])
        bad = False
        for a in anns:
            if not a.get(INTERPOLATED):
                continue
            mine = [m for m in model if iou(m["bbox"], a["bbox"]) > 0.3]
            if not mine or max(iou(m["bbox"], a["bbox"]) for m in mine) < FLAG_IOU:
                bad = True
        for m in model:
            if m.get("score", 0) >= 0.5 and all(iou(m["bbox"], a["bbox"]) < 0.3 for a in anns):
                bad = True  # the model sees someone no track covers
        if bad:
            flagged.append(key)
    return flagged


def boxes(folder: Path, n: int, ks) -> list[dict]:
    path, truth = people_clip(folder, n)
    total_boxes = sum(len(b) for b in truth)
    rows = [
        {
            "strategy": "by hand",
            "seconds": COSTS.box * total_boxes,
            "frames looked at": n,
            "IoU mean": 1.0,
            "IoU p5": 1.0,
            "ID switches": 0,
        }
    ]
    ai = nbl.GeneralAI("human", classes=["person"], weights=SHARED / "models" / "yolov5n.pt")
    base = _dataset(path, folder, "model", ["person"])
    predictions = _predict(base, ai)
    version = ai.version

    def fresh(name):
        ds = _dataset(path, folder, name, ["person"])
        ds.annotate_many([(k, p, {"source": version}) for k, p in predictions.items()])
        link_tracks(ds)
        return ds

    ds = fresh("model-only")
    ious = _per_frame_iou(ds, truth)
    sw = id_switches(boxes_by_frame(ds), _truth_tracks(truth))["switches"]
    rows.append(_row("model only", 0.0, 0, ious, sw))
    for k in ks:
        ds = fresh(f"k{k}")
        model_by_key = {
            key: [dict(a) for a in ds.df.at[key, "annotations"] or []] for key in ds.keys()
        }
        frames = video_frames(ds)
        seconds, looked, identity = 0.0, 0, {}
        for i, (key, frame) in enumerate(frames):
            if i % k == 0 or i == len(frames) - 1:
                seconds += _fix_boxes(ds, key, frame, truth, identity)
                looked += 1
        for _ in range(ROUNDS):
            flagged = _box_flags(ds, model_by_key)
            if not flagged:
                break
            frame_of = dict(frames)
            for key in flagged:
                seconds += _fix_boxes(ds, key, frame_of[key], truth, identity)
                looked += 1
        ious = _per_frame_iou(ds, truth)
        sw = id_switches(boxes_by_frame(ds), _truth_tracks(truth))["switches"]
        rows.append(_row(f"keyframes every {k}", seconds, looked, ious, sw))
    return rows


def _row(name, seconds, looked, ious, switches):
    return {
        "strategy": name,
        "seconds": seconds,
        "frames looked at": looked,
        "IoU mean": float(np.mean(ious)),
        "IoU p5": float(np.percentile(ious, 5)),
        "ID switches": switches,
    }


def _kp_error(ds, truth) -> list[float]:
    out = []
    for key, frame in video_frames(ds):
        anns = [a for a in ds.df.at[key, "annotations"] or [] if a.get("keypoints")]
        if not anns:
            out.extend([np.inf] * truth.shape[1])
            continue
        kp = np.asarray(anns[0]["keypoints"], float)[:, :2]
        out.extend(np.hypot(*(kp - truth[frame]).T).tolist())
    return out


def _fix_points(ds, key, frame, truth, names=None) -> float:
    """Move the points more than GOOD_PX off (only ``names`` when given) to the truth."""
    anns = [dict(a) for a in ds.df.at[key, "annotations"] or [] if a.get("keypoints")]
    seconds = COSTS.accept
    if not anns:
        x1, y1 = truth[frame].min(0) - 30
        x2, y2 = truth[frame].max(0) + 30
        rec = {"label": "face", "bbox": [x1, y1, x2, y2]}
        rec["keypoints"] = [[float(x), float(y), 2] for x, y in truth[frame]]
        annotate_frame(ds, key, [rec], seconds=COSTS.box + 5 * COSTS.correction)
        return COSTS.box + 5 * COSTS.correction + seconds
    rec = anns[0]
    kps = [list(p) for p in rec["keypoints"]]
    from nblabel.models.keypoints import get_skeleton

    order = get_skeleton("face").names
    for j, (x, y) in enumerate(truth[frame]):
        if names is not None and order[j] not in names:
            continue
        if np.hypot(kps[j][0] - x, kps[j][1] - y) > GOOD_PX:
            kps[j] = [float(x), float(y), 2]
            seconds += COSTS.correction
    rec = {k: v for k, v in rec.items() if k not in ("flagged_points",)}
    annotate_frame(ds, key, [dict(rec, keypoints=kps)], seconds=seconds)
    return seconds


def keypoints(folder: Path, n: int, ks, threshold: float) -> list[dict]:
    face_ai = nbl.GeneralAI("face points", weights=SHARED / "models" / "face_detection_yunet.onnx")
    path, truth = face_clip(folder, n, face_ai)
    rows = [
        {
            "strategy": "by hand",
            "seconds": n * (COSTS.box + 5 * COSTS.correction),
            "frames looked at": n,
            "error mean px": 0.0,
            "error p95 px": 0.0,
        }
    ]
    base = _dataset(path, folder, "faces", ["face"])
    predictions = _predict(base, face_ai)
    version = face_ai.version

    def fresh(name):
        ds = _dataset(path, folder, name, ["face"])
        ds.annotate_many([(k, p[:1], {"source": version}) for k, p in predictions.items()])
        link_tracks(ds)
        return ds

    ds = fresh("faces-model")
    err = _kp_error(ds, truth)
    rows.append(_kp_row("model only", 0.0, 0, err))
    for k in ks:
        ds = fresh(f"faces-k{k}")
        frames = video_frames(ds)
        frame_of = dict(frames)
        seconds, looked = 0.0, 0
        for i, (key, frame) in enumerate(frames):
            if i % k == 0 or i == len(frames) - 1:
                seconds += _fix_points(ds, key, frame, truth)
                looked += 1
        for _ in range(ROUNDS):
            flagged = flag_points(ds, threshold=threshold, fps=10)
            if flagged.empty:
                break
            for key, group in flagged.groupby("key"):
                seconds += _fix_points(ds, key, frame_of[key], truth, set(group["point"]))
                looked += 1
        rows.append(_kp_row(f"keyframes every {k}", seconds, looked, _kp_error(ds, truth)))
    return rows


def _kp_row(name, seconds, looked, err):
    err = np.asarray(err, float)
    return {
        "strategy": name,
        "seconds": seconds,
        "frames looked at": looked,
        "error mean px": float(np.mean(err)),
        "error p95 px": float(np.percentile(err, 95)),
    }


def main(argv=None) -> None:
    import pandas as pd

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--keyframes", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument(
        "--point-threshold",
        type=float,
        default=6.0,
        help="pixels between a model point and its smoothed track that flag the frame",
    )
    p.add_argument("--skip-boxes", action="store_true", help="only the keypoint clip")
    args = p.parse_args(argv)
    pd.set_option("display.width", 140)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{COSTS.describe()}; {args.frames} frames per clip\n")
        if not args.skip_boxes:
            print("boxes: two people from bus.jpg crossing (yolov5n + tracks)")
            print(
                pd.DataFrame(boxes(folder, args.frames, args.keyframes))
                .round(3)
                .to_string(index=False)
            )
        print("\nkeypoints: a face from zidane.jpg on a curve (YuNet 5 points + smoother)")
        print(
            pd.DataFrame(keypoints(folder, args.frames, args.keyframes, args.point_threshold))
            .round(3)
            .to_string(index=False)
        )


if __name__ == "__main__":
    main()
