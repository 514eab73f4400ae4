"""Video to frames: keep every N-th frame as a JPEG file, with its index and time.

:meth:`nblabel.Dataset.from_video` calls :func:`extract_frames` and makes one row per kept
frame, with ``frame`` and ``timestamp`` columns next to the usual ones, so frames label,
export and smooth (see :mod:`nblabel.models.smoothing`) like any other images.
"""

from __future__ import annotations

import os
from pathlib import Path

from .core.errors import NblabelError


class VideoError(NblabelError, ValueError):
    """A video that cannot be read; the message names the file and what to do."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def extract_frames(
    path: str | os.PathLike,
    every: int = 5,
    out_dir: str | os.PathLike | None = None,
    max_frames: int | None = None,
    progress: bool = True,
    quality: int = 95,
) -> list[dict]:
    """Write every ``every``-th frame of a video as a JPEG file.

    Args:
        path: a video file OpenCV can decode (mp4, avi, mov, mkv ...).
        every: keep frames 0, every, 2*every, ... (1 keeps all of them).
        out_dir: folder for the frames (created if needed); default ``<video stem>_frames``
            next to the video. Files are named ``<stem>_<frame:06d>.jpg`` and overwritten
            when extracted again.
        max_frames: stop after this many kept frames (``None``: the whole video).
        progress: show a progress bar.
        quality: JPEG quality (1-100).

    Returns:
        One dict per kept frame: ``image`` (path of the JPEG), ``frame`` (index in the video,
        from 0), ``timestamp`` (seconds from the start), ``width``, ``height``.

    Raises:
        VideoError: the file is missing, not a video, or has no decodable frame.
        ValueError: ``every`` or ``max_frames`` is not a positive integer.

    Example:
        >>> frames = extract_frames("clip.mp4", every=10, out_dir="frames")
        >>> frames[1]  # doctest: +NORMALIZE_WHITESPACE
        {'image': 'frames/clip_000010.jpg', 'frame': 10, 'timestamp': 0.4, 'width': 640,
         'height': 360}
    """
    import cv2

    every = _positive_int(every, "every")
    if max_frames is not None:
        max_frames = _positive_int(max_frames, "max_frames")
    src = Path(path).expanduser()
    if not src.exists():
        raise VideoError(src, "file not found")
    if not src.is_file():
        raise VideoError(src, "not a file (give the path of a video file)")
    cap = cv2.VideoCapture(str(src))
    try:
        if not cap.isOpened():
            raise VideoError(
                src,
                "cannot open as a video: not a video file, or a codec this OpenCV build lacks "
                "(re-encode it to H.264 mp4 or MJPG avi, e.g. with ffmpeg)",
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        out = (
            Path(out_dir).expanduser()
            if out_dir is not None
            else src.with_name(f"{src.stem}_frames")
        )
        out.mkdir(parents=True, exist_ok=True)
        expected = (total + every - 1) // every if total > 0 else None
        if expected is not None and max_frames is not None:
            expected = min(expected, max_frames)
        bar = _progress_bar(expected, src.name) if progress else None

        frames: list[dict] = []
        index = 0
        params = [cv2.IMWRITE_JPEG_QUALITY, int(min(100, max(1, quality)))]
        while max_frames is None or len(frames) < max_frames:
            # grab() advances without decoding; only kept frames pay for retrieve().
            if not cap.grab():
                break
            if index % every == 0:
                ok, bgr = cap.retrieve()
                if not ok or bgr is None:
                    break
                if fps > 0:
                    timestamp = index / fps
                else:  # no frame rate in the header: trust the container's clock
                    timestamp = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
                target = out / f"{src.stem}_{index:06d}.jpg"
                if not cv2.imwrite(str(target), bgr, params):
                    raise OSError(f"could not write frame {index} to {target}")
                frames.append(
                    {
                        "image": str(target),
                        "frame": index,
                        "timestamp": round(timestamp, 6),
                        "width": int(bgr.shape[1]),
                        "height": int(bgr.shape[0]),
                    }
                )
                if bar is not None:
                    bar.update(1)
            index += 1
        if bar is not None:
            bar.close()
    finally:
        cap.release()
    if not frames:
        raise VideoError(src, "no frame could be decoded (empty or corrupt video)")
    return frames


def video_info(path: str | os.PathLike) -> dict:
    """Frame rate, frame count and size from the video header (no decoding).

    Example:
        >>> video_info("clip.mp4")
        {'fps': 25.0, 'frames': 250, 'width': 640, 'height': 360, 'duration': 10.0}
    """
    import cv2

    src = Path(path).expanduser()
    if not src.is_file():
        raise VideoError(src, "file not found")
    cap = cv2.VideoCapture(str(src))
    try:
        if not cap.isOpened():
            raise VideoError(src, "cannot open as a video")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        return {
            "fps": fps,
            "frames": n,
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
            "duration": n / fps if fps > 0 else None,
        }
    finally:
        cap.release()


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    return int(value)


def _progress_bar(total: int | None, name: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a dependency, but a bar is not worth failing over
        return None
    return tqdm(total=total, desc=f"frames of {name}", unit="frame", leave=False)


def compose_clip(
    path: str | os.PathLike,
    background,
    sprites,
    positions,
    *,
    fps: float = 10.0,
) -> list[list[tuple[int, list[float]]]]:
    """Write a video of image crops moving over a background along known paths.

    A clip with exact ground truth for checking trackers, interpolation and smoothing on
    real pictures: crop objects out of labelled images, give each a path, and compare what
    a model and a tracker make of the frames with the boxes returned here. Sprites later in
    the list are drawn over earlier ones, so crossing paths occlude as in a real scene.

    Args:
        path: the video file to write (``.mp4`` with the ``mp4v`` codec, ``.avi`` with MJPG).
        background: RGB ``uint8`` array ``(H, W, 3)``; its size is the clip's.
        sprites: RGB ``uint8`` arrays, one per object.
        positions: per sprite, an array ``(T, 2)`` of its top-left corner on each frame
            (pixels, may leave the picture; the box is clipped to it).
        fps: frame rate written in the header.

    Returns:
        Per frame, ``[(object index, [x1, y1, x2, y2]), ...]`` of the sprites in the picture.

    Example:
        >>> import numpy as np
        >>> bg = np.zeros((60, 80, 3), np.uint8); sprite = np.full((10, 10, 3), 255, np.uint8)
        >>> truth = compose_clip("/tmp/nblabel-compose-doctest.avi", bg, [sprite],
        ...                      [np.array([[0, 0], [5, 2]])])
        >>> truth[1]
        [(0, [5.0, 2.0, 15.0, 12.0])]
    """
    import cv2
    import numpy as np

    bg = np.asarray(background, np.uint8)
    H, W = bg.shape[:2]
    pos = [np.asarray(p, np.float64) for p in positions]
    if len(pos) != len(sprites):
        raise ValueError(f"{len(sprites)} sprites but {len(pos)} paths; give one path each")
    T = min(len(p) for p in pos)
    dst = Path(path).expanduser()
    fourcc = "MJPG" if dst.suffix.lower() == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*fourcc), float(fps), (W, H))
    if not writer.isOpened():
        raise VideoError(dst, f"this OpenCV cannot write {fourcc} video")
    truth = []
    try:
        for t in range(T):
            frame = bg.copy()
            boxes = []
            for i, (sprite, p) in enumerate(zip(sprites, pos)):
                h, w = sprite.shape[:2]
                x, y = int(round(p[t, 0])), int(round(p[t, 1]))
                x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
                if x2 <= x1 or y2 <= y1:
                    continue
                frame[y1:y2, x1:x2] = sprite[y1 - y : y2 - y, x1 - x : x2 - x]
                boxes.append((i, [float(x1), float(y1), float(x2), float(y2)]))
            writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
            truth.append(boxes)
    finally:
        writer.release()
    return truth
