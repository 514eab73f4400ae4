"""Keypoint skeletons and Kalman smoothing of keypoint tracks (arrays and video datasets)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nblabel as nbl
from nblabel.models.keypoints import (
    COCO17,
    FACE5,
    HAND21,
    Skeleton,
    get_skeleton,
    skeleton_for,
)
from nblabel.models.smoothing import smooth_dataset, smooth_keypoints

FPS = 30.0


# -- skeletons ------------------------------------------------------------------------------
def test_coco17_matches_the_coco_person_layout():
    assert len(COCO17) == 17 and len(COCO17.edges) == 19
    assert COCO17.names[0] == "nose" and COCO17.names[16] == "right_ankle"
    # COCO's own skeleton, 1-based as in instances files
    assert (16, 14) in {(a + 1, b + 1) for a, b in COCO17.edges}
    assert len(COCO17.flip_pairs) == 8
    for a, b in COCO17.flip_pairs:
        left, right = COCO17.names[a], COCO17.names[b]
        assert left.startswith("left_") and right == "right_" + left[5:]


def test_face5_is_in_yunet_landmark_order_and_hand21_is_a_tree():
    assert FACE5.names == (
        "right_eye",
        "left_eye",
        "nose_tip",
        "right_mouth_corner",
        "left_mouth_corner",
    )
    assert FACE5.flip_order() == [1, 0, 2, 4, 3]
    assert len(HAND21) == 21 and HAND21.names[0] == "wrist" and HAND21.names[4] == "thumb_tip"
    # every joint hangs off the wrist: 21 points, all reachable through the edges
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for a, b in HAND21.edges:
            for u, v in ((a, b), (b, a)):
                if u == i and v not in seen:
                    seen.add(v)
                    todo.append(v)
    assert seen == set(range(21))


def test_lookup_json_flip_and_widget_payload():
    from nblabel.widgets.codecs import skeleton_payload

    assert get_skeleton("body") is COCO17 and get_skeleton("face") is FACE5
    assert skeleton_for(21) is HAND21 and skeleton_for(3) is None
    with pytest.raises(ValueError, match="unknown skeleton 'tail'"):
        get_skeleton("tail")
    d = json.loads(json.dumps(FACE5.as_dict()))
    assert d["names"][2] == "nose_tip" and [0, 1] in d["edges"]
    payload = skeleton_payload(COCO17)  # what the Annotator sends to the browser
    assert payload["names"] == list(COCO17.names) and len(payload["edges"]) == 19
    for sk in (COCO17, FACE5, HAND21):
        layout = np.asarray(skeleton_payload(sk)["layout"])
        assert layout.shape == (len(sk), 2) and (layout >= 0).all() and (layout <= 1).all()
        assert len(np.unique(layout, axis=0)) == len(sk)  # no two points start stacked
    # a face seen from the front: the person's right eye is on the left of the picture
    assert FACE5.layout[0][0] < FACE5.layout[1][0]
    assert COCO17.layout[COCO17.index("right_wrist")][0] < 0.5

    kps = [[10.0 + i, 20.0, 2] for i in range(17)]
    flipped = COCO17.flip(kps, width=100)
    lw, rw = COCO17.index("left_wrist"), COCO17.index("right_wrist")
    assert flipped[rw] == [100 - kps[lw][0], 20.0, 2]  # the left wrist, mirrored, is now right
    assert COCO17.flip(flipped, width=100) == kps
    with pytest.raises(ValueError, match="edge"):
        Skeleton("bad", ("a", "b"), ((0, 2),))
    with pytest.raises(ValueError, match="has no keypoint 'tail'"):
        COCO17.index("tail")


# -- smoothing arrays -----------------------------------------------------------------------
def _truth(T: int = 120, K: int = 6, seed: int = 0) -> np.ndarray:
    """Smooth 2-D motions (sums of slow sines plus drift), shape (T, K, 2)."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None] / FPS
    out = np.zeros((T, K, 2))
    for k in range(K):
        for ax in range(2):
            amp, period, phase = rng.uniform(15, 40), rng.uniform(1.5, 4.0), rng.uniform(0, 6)
            out[:, k, ax] = 200 + amp * np.sin(2 * np.pi * t[:, 0] / period + phase)
            out[:, k, ax] += rng.uniform(-30, 30) * t[:, 0]
    return out


def _observe(truth: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    noisy = truth + np.random.default_rng(seed).normal(0, sigma, truth.shape)
    return np.concatenate([noisy, np.full(truth.shape[:2] + (1,), 2.0)], axis=2)


def _err(a: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.sqrt(((a[..., :2] - truth) ** 2).sum(-1))


def test_smoother_removes_jitter_without_false_alarms():
    truth = _truth()
    noisy = _observe(truth, sigma=3.0)
    smoothed, flags = smooth_keypoints(noisy, fps=FPS)
    assert smoothed.shape == noisy.shape and flags.shape == noisy.shape[:2]
    before, after = _err(noisy, truth).mean(), _err(smoothed, truth).mean()
    assert after <= 0.7 * before, (before, after)
    assert flags.sum() <= 2  # correct measurements are (almost) never called jumps
    np.testing.assert_array_equal(smoothed[:, :, 2], noisy[:, :, 2])
    # the backward (RTS) pass beats the causal filter alone
    causal, _ = smooth_keypoints(noisy, fps=FPS, smoother=False)
    assert after < _err(causal, truth).mean()


def test_straight_line_motion_is_left_alone():
    T = 40
    line = np.stack([50 + 4.0 * np.arange(T), 80 - 1.5 * np.arange(T)], -1)[:, None, :]
    tracks = np.concatenate([line, np.full((T, 1, 1), 0.9)], -1)
    smoothed, flags = smooth_keypoints(tracks, fps=FPS)
    assert np.abs(smoothed[:, :, :2] - line).max() < 0.05
    assert not flags.any()


def test_three_frame_gaps_are_filled_near_the_truth():
    truth = _truth(seed=3)
    tracks = _observe(truth, sigma=2.0, seed=4)
    tracks[50:53, 0, :2] = np.nan  # missing as NaN
    tracks[80:83, 1, 2] = 0  # missing as visibility 0 (coordinates are junk)
    tracks[80:83, 1, :2] = 0.0
    smoothed, flags = smooth_keypoints(tracks, fps=FPS, max_gap=5)
    assert _err(smoothed[50:53, 0], truth[50:53, 0]).max() < 6.0
    assert _err(smoothed[80:83, 1], truth[80:83, 1]).max() < 6.0
    np.testing.assert_array_equal(smoothed[50:53, 0, 2], 1.0)  # filled: labelled, not seen
    np.testing.assert_array_equal(smoothed[80:83, 1, 2], 1.0)
    assert not flags[45:90].any()


def test_long_gaps_and_track_ends_are_not_invented():
    truth = _truth(seed=5)
    tracks = _observe(truth, sigma=2.0)
    tracks[30:40, 2, 2] = 0  # 10 frames: longer than max_gap
    tracks[:4, 3, :2] = np.nan  # before the first measurement
    tracks[-3:, 3, :2] = np.nan  # after the last one
    smoothed, _ = smooth_keypoints(tracks, fps=FPS, max_gap=5)
    np.testing.assert_array_equal(smoothed[30:40, 2], tracks[30:40, 2])  # left as they came
    assert np.isnan(smoothed[:4, 3, :2]).all() and np.isnan(smoothed[-3:, 3, :2]).all()
    # both sides of the long gap are still smoothed
    assert (
        _err(smoothed[10:30, 2], truth[10:30, 2]).mean()
        < _err(tracks[10:30, 2], truth[10:30, 2]).mean()
    )


def test_a_one_frame_glitch_is_flagged_and_replaced():
    truth = _truth(seed=6)
    tracks = _observe(truth, sigma=2.0, seed=7)
    tracks[60, 2, :2] += [45.0, -30.0]
    smoothed, flags = smooth_keypoints(tracks, fps=FPS)
    assert flags[60, 2]
    assert flags.sum() == 1
    assert _err(smoothed[60, 2], truth[60, 2]) < 6.0  # the estimate, not the glitch


def test_crossing_hands_swap_is_flagged_and_not_blended():
    T = 90
    t = np.arange(T)
    left = np.stack([100 + 1.0 * t, 120 + 0.2 * t], -1)
    right = np.stack([300 - 1.0 * t, 110 + 0.1 * t], -1)
    truth = np.stack([left, right], 1)
    tracks = _observe(truth, sigma=1.5, seed=8)
    # from frame 50 on the detector gives each hand the other's position (identity swap)
    tracks[50:, [0, 1], :2] = tracks[50:, [1, 0], :2]
    smoothed, flags = smooth_keypoints(tracks, fps=FPS)
    assert flags[50, 0] and flags[50, 1]
    assert flags.sum() == 2
    # after the swap each track follows its new measurements; before it, the old ones
    swapped = truth[:, [1, 0]]
    assert _err(smoothed[52:, 0], swapped[52:, 0]).max() < 5.0
    assert _err(smoothed[40:50, 0], truth[40:50, 0]).max() < 5.0


def test_bad_input_is_rejected_with_the_shape():
    with pytest.raises(ValueError, match=r"shape \(frames, keypoints, 3\).*\(4, 5, 6\)"):
        smooth_keypoints(np.zeros((4, 5, 6)))
    with pytest.raises(ValueError, match="fps must be a positive number"):
        smooth_keypoints(np.zeros((4, 5, 3)), fps=0)
    with pytest.raises(ValueError, match="max_gap"):
        smooth_keypoints(np.zeros((4, 5, 3)), max_gap=-1)


# -- smoothing a video dataset --------------------------------------------------------------
@pytest.fixture()
def video_ds(raccoon_dir, tmp_path):
    """A 30-frame clip of real images as a Dataset (every frame kept)."""
    import cv2

    images = sorted((raccoon_dir / "images").glob("*.jpg"))[:6]
    size = (320, 240)
    path = tmp_path / "pets.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, size)
    for i in range(30):
        writer.write(cv2.resize(cv2.imread(str(images[i // 5])), size))
    writer.release()
    ds = nbl.Dataset.from_video(path, every=1, db=tmp_path / "pets.db")
    ds.add_classes(["raccoon"])
    return ds


def _record(points: np.ndarray, score: float) -> dict:
    x1, y1 = points.min(0) - 10
    x2, y2 = points.max(0) + 10
    return {
        "label": "raccoon",
        "bbox": [float(x1), float(y1), float(x2), float(y2)],
        "keypoints": [[float(x), float(y), 2] for x, y in points],
        "score": score,
        "source": "pose@1234abcd",
    }


def test_smooth_dataset_writes_back_tracks_fills_and_routes_jumps(video_ds):
    ds = video_ds
    keys = list(ds.df.sort_values("frame").index)
    T = len(keys)
    t = np.arange(T)[:, None]
    offsets = np.array([[0, 0], [12, -4], [24, 0], [8, 14], [16, 14]], float)
    # two animals walking apart, both jittered by the "detector"
    truth = [
        np.stack([60 + 2.0 * t[:, 0], 100 + 0.5 * t[:, 0]], -1)[:, None, :] + offsets,
        np.stack([200 + 1.0 * t[:, 0], 80 + 1.0 * t[:, 0]], -1)[:, None, :] + offsets,
    ]
    rng = np.random.default_rng(0)
    noisy = [tr + rng.normal(0, 2.5, tr.shape) for tr in truth]
    noisy[0][20, 3] += [40.0, 25.0]  # one glitching keypoint
    writes = []
    for i, key in enumerate(keys):
        recs = [_record(noisy[a][i], 0.9) for a in (0, 1) if not (a == 1 and i == 12)]
        writes.append((key, recs, {"source": "pose@1234abcd"}))
    ds.annotate_many(writes)  # frame 12 lacks the second animal
    human = keys[25]
    ds.annotate(human, [_record(truth[0][25], None), _record(truth[1][25], None)])
    before = ds.row(human)["annotations"]

    report = smooth_dataset(ds, fps=FPS)

    assert len(report) == T - 1  # every model-written row changed; the verified one did not
    assert set(report.loc[report.flagged > 0, "key"]) == {keys[20]}
    assert ds.df.loc[keys[20], "status"] == "review"
    assert ds.df.loc[keys[10], "status"] == "predicted"
    assert ds.df.loc[keys[10], "source"] == "pose@1234abcd+kalman"
    assert ds.row(human)["annotations"] == before and ds.df.loc[human, "status"] == "verified"

    err_before, err_after = [], []
    for i, key in enumerate(keys):
        if key == human:
            continue
        anns = ds.row(key)["annotations"]
        assert len(anns) == 2
        assert all(a["source"] == "pose@1234abcd+kalman" for a in anns)
        for a in anns:
            kp = np.asarray(a["keypoints"], float)[:, :2]
            which = int(np.argmin([np.abs(kp - tr[i]).mean() for tr in truth]))
            err_after.append(np.sqrt(((kp - truth[which][i]) ** 2).sum(-1)).mean())
            if not (which == 1 and i == 12):
                err_before.append(
                    np.sqrt(((noisy[which][i] - truth[which][i]) ** 2).sum(-1)).mean()
                )
    assert np.mean(err_after) <= 0.7 * np.mean(err_before)

    # the animal the detector missed in frame 12 is filled in from its track
    filled = [a for a in ds.row(keys[12])["annotations"] if a.get("interpolated")]
    assert len(filled) == 1
    kp = np.asarray(filled[0]["keypoints"], float)
    assert np.sqrt(((kp[:, :2] - truth[1][12]) ** 2).sum(-1)).max() < 6.0
    assert (kp[:, 2] == 1).all()

    # written through the journal: a reopened dataset has the smoothed labels
    again = nbl.Dataset.open(ds.db_path)
    assert again.df.loc[keys[20], "status"] == "review"
    assert again.row(keys[12])["annotations"] == ds.row(keys[12])["annotations"]
    assert "smooth" in set(again.events()["kind"])
