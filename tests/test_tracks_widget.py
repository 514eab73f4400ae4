"""The Annotator on video frames: frame strip, keyframes from edits, propagate, flagged frames."""

from __future__ import annotations

import numpy as np
import pytest
from support.clips import DETECTOR, T, crossing_clip, detections

import nblabel as nbl
from nblabel.tracks import link_tracks


@pytest.fixture(scope="module")
def clip(raccoon_dir, shared_dir, tmp_path_factory):
    return crossing_clip(raccoon_dir, shared_dir, tmp_path_factory.mktemp("tracks"))


@pytest.fixture()
def ds(clip, tmp_path):
    path, _ = clip
    return nbl.Dataset.from_video(
        path, every=1, db=tmp_path / "clip.db", classes=["raccoon"], progress=False
    )


def _ask(w, action, kind=None, **fields):
    """One browser message (``model.send``), delivered the way the comm delivers it."""
    content = {"kind": action, "seq": int(w.ack) + 1, "index": w.index, **fields}
    if kind is not None:
        content["edit"] = kind  # an edit's gesture
    w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
    assert w.ack == content["seq"], w.message


def test_strip_lists_every_frame_and_still_images_have_none(ds, folder, tmp_path):
    w = nbl.Annotator(ds)
    assert [m["frame"] for m in w.strip] == list(range(T))
    assert {m["status"] for m in w.strip} == {"unlabeled"}
    still = nbl.Dataset.from_folder(folder(2), db=tmp_path / "still.db", classes=["raccoon"])
    assert nbl.Annotator(still).strip == []


def test_an_edit_is_a_keyframe_and_the_frames_between_follow(ds, clip):
    _, truth = clip
    w = nbl.Annotator(ds)
    box0, box20 = dict(truth[0])[0], dict(truth[20])[0]
    _ask(w, action="edit", kind="added", annotations=[{"label": "raccoon", "bbox": box0}])
    track = ds.row(w.key)["annotations"][0]["track"]
    _ask(w, action="goto", index=20)
    rec = {"label": "raccoon", "bbox": box20, "track": track}
    _ask(w, action="edit", kind="added", annotations=[rec])

    keys = list(ds.df.sort_values("frame").index)
    mid = ds.row(keys[10])["annotations"][0]
    assert mid["interpolated"] and mid["track"] == track
    assert np.abs(np.subtract(mid["bbox"], dict(truth[10])[0])).max() < 1.0
    assert ds.tracks().loc[0, "keyframes"] == [0, 20]
    assert w.strip[10]["objects"] == 1 and w.strip[10]["status"] == "predicted"


def test_propagate_next_flagged_and_frame_steps(ds, clip, folder, tmp_path):
    _, truth = clip
    keys = detections(ds, truth)
    link_tracks(ds)
    # the detector swaps its boxes on frame 17: the tracks jump there
    anns = ds.row(keys[17])["annotations"]
    a, b = anns[0]["track"], anns[1]["track"]
    swapped = [dict(anns[0], track=b), dict(anns[1], track=a)]
    ds.annotate(keys[17], swapped, source=DETECTOR)
    w = nbl.Annotator(ds, start=keys[3])

    _ask(w, action="next_flagged")
    assert w.key == keys[17] and "track jumped" in w.message

    _ask(w, action="step_frame", delta=-1)
    assert w.key == keys[16]
    _ask(w, action="propagate", n=3, track=a)
    for k in keys[17:20]:
        mine = [r for r in ds.row(k)["annotations"] if r["track"] == a]
        assert len(mine) == 1 and mine[0]["propagated"]
    assert "Copied track" in w.message and "3 frames" in w.message

    still = nbl.Dataset.from_folder(folder(2), db=tmp_path / "still.db", classes=["raccoon"])
    still = nbl.Annotator(still)
    with pytest.raises(ValueError, match="propagate needs video frames"):
        still.propagate(3)
