"""Video frames: extract_frames and Dataset.from_video on a clip written from real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nblabel as nbl
from nblabel.images import load_rgb
from nblabel.video import VideoError, extract_frames, video_info

FPS = 10.0
SIZE = (160, 120)  # (width, height) of the clip
N_FRAMES = 23


@pytest.fixture(scope="module")
def clip(raccoon_dir, tmp_path_factory):
    """An mp4 whose frame i is raccoon image i (distinct content, so frames are identifiable)."""
    import cv2

    images = sorted((raccoon_dir / "images").glob("*.jpg"))[:N_FRAMES]
    frames = [cv2.resize(cv2.imread(str(p)), SIZE, interpolation=cv2.INTER_AREA) for p in images]
    path = tmp_path_factory.mktemp("video") / "walk.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    assert writer.isOpened(), "this OpenCV cannot write mp4v"
    for f in frames:
        writer.write(f)
    writer.release()
    rgb = [f[:, :, ::-1].astype(np.float32) for f in frames]
    return path, rgb


def _which(frame_rgb: np.ndarray, sources: list[np.ndarray]) -> int:
    """Index of the source image an extracted frame came from (smallest mean difference)."""
    diffs = [np.abs(frame_rgb.astype(np.float32) - s).mean() for s in sources]
    return int(np.argmin(diffs))


def test_extract_every_fifth_frame_with_times_and_sizes(clip, tmp_path):
    path, sources = clip
    frames = extract_frames(path, every=5, out_dir=tmp_path / "frames", progress=False)
    assert [f["frame"] for f in frames] == [0, 5, 10, 15, 20]
    assert [f["timestamp"] for f in frames] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    for f in frames:
        assert (f["width"], f["height"]) == SIZE
        rgb = load_rgb(f["image"])  # a real JPEG on disk
        assert rgb.shape == (SIZE[1], SIZE[0], 3)
        assert f["image"].endswith(f"walk_{f['frame']:06d}.jpg")
        # the file holds that very frame, not a neighbour
        assert _which(rgb, sources) == f["frame"]


def test_max_frames_and_default_folder(clip, tmp_path):
    import shutil

    path, _ = clip
    local = tmp_path / "clip.mp4"
    shutil.copy(path, local)
    frames = extract_frames(local, every=2, max_frames=3, progress=False)
    assert [f["frame"] for f in frames] == [0, 2, 4]
    assert all(Path(f["image"]).parent == tmp_path / "clip_frames" for f in frames)
    info = video_info(local)
    assert info["fps"] == pytest.approx(FPS)
    assert info["frames"] == N_FRAMES
    assert (info["width"], info["height"]) == SIZE


def test_bad_videos_give_clear_errors(tmp_path, clip):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(VideoError, match="nope.mp4: file not found"):
        extract_frames(missing, progress=False)
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video")
    with pytest.raises(VideoError, match="notes.mp4"):
        extract_frames(fake, out_dir=tmp_path / "f", progress=False)
    with pytest.raises(ValueError, match="every must be at least 1"):
        extract_frames(clip[0], every=0, progress=False)
    with pytest.raises(ValueError, match="max_frames must be a positive integer"):
        extract_frames(clip[0], max_frames=2.5, progress=False)


def test_dataset_from_video_has_frame_and_timestamp_columns(clip, tmp_path):
    path, sources = clip
    db = tmp_path / "walk.db"
    ds = nbl.Dataset.from_video(path, every=5, db=db)
    assert len(ds) == 5
    df = ds.df.sort_values("frame")
    assert df["frame"].tolist() == [0, 5, 10, 15, 20]
    assert df["timestamp"].tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert (df["status"] == "unlabeled").all()
    key = df.index[2]
    assert _which(ds.image(key), sources) == 10
    # the journal keeps the frame columns across a restart
    again = nbl.Dataset.open(db)
    assert again.df.loc[key, "frame"] == 10
    assert again.df.loc[key, "timestamp"] == pytest.approx(1.0)


def test_compose_clip_puts_each_crop_where_its_truth_says(raccoon_dir, tmp_path):
    import cv2

    from nblabel.video import compose_clip

    photo = load_rgb(sorted((raccoon_dir / "images").glob("*.jpg"))[0])
    bg = cv2.resize(photo, SIZE)
    sprite = np.full((30, 40, 3), (250, 20, 20), np.uint8)  # a red card on a real photo
    path_xy = np.array([[10, 20], [60, 30], [140, 50]])  # the last leaves the picture
    truth = compose_clip(tmp_path / "card.avi", bg, [sprite], [path_xy], fps=FPS)

    assert truth[1] == [(0, [60.0, 30.0, 100.0, 60.0])]
    assert truth[2] == [(0, [140.0, 50.0, 160.0, 80.0])]  # clipped to the 160 px width
    frames = extract_frames(tmp_path / "card.avi", every=1, out_dir=tmp_path / "f", progress=False)
    rgb = load_rgb(frames[1]["image"]).astype(float)
    inside = rgb[35:55, 65:95].mean((0, 1))
    assert inside[0] > 200 and inside[1] < 80  # the card is where the truth box is
    with pytest.raises(ValueError, match="1 sprites but 2 paths"):
        compose_clip(tmp_path / "x.avi", bg, [sprite], [path_xy, path_xy])
