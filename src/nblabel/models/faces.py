"""YuNet face detection (boxes + 5 landmarks) on images of any size with bounded memory.

YuNet runs through ``cv2.FaceDetectorYN`` and needs one small ONNX file. It is looked up in
this order: the ``model_path`` argument, the ``NBLABEL_YUNET`` environment variable, the user
cache (``$NBLABEL_CACHE`` or ``~/.cache/nblabel``), and finally downloaded once from the OpenCV
model zoo into that cache. Offline machines get an error that says which file to pass.

Large images are never handed to the network whole (its feature maps would need gigabytes):
they are searched twice, once downscaled (large faces) and once in full-resolution tiles
(small faces), and the two result sets are merged.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from nblabel.core.errors import NblabelError
from nblabel.core.geometry import box_containment, box_iou, greedy_suppress
from nblabel.core.skeletons import FACE5
from nblabel.images import load_rgb
from nblabel.models.weights import (
    YUNET_NAME,
    WeightsUnavailableError,
    cache_dir,
    resolve_weights,
    short_hash,
)
from nblabel.models.weights import YUNET_URL as YUNET_URL  # imported from here too

# Narrowest face (pixels) YuNet still finds reliably; measured on faces shrunk step by step.
_YUNET_MIN_FACE = 12.0

# YuNet's landmark order: the face5 skeleton's points.
LANDMARK_NAMES = FACE5.names


class FaceModelError(NblabelError, FileNotFoundError):
    """The YuNet model file is missing and could not be obtained."""


def resolve_yunet(model_path: str | os.PathLike | None = None) -> Path:
    """Find (or fetch) the YuNet ONNX file.

    Looks at ``model_path``, then ``$NBLABEL_YUNET``, then the folders
    :func:`nblabel.models.weights.resolve_weights` searches (``$NBLABEL_WEIGHTS_DIR``,
    :func:`cache_dir`), and downloads the official file from the
    OpenCV model zoo into the cache when none has it.

    Raises:
        FaceModelError: the file is missing and cannot be downloaded (e.g. offline); the
            message names the file and the ``face_model=`` argument.

    Example:
        >>> resolve_yunet("../shared/models/face_detection_yunet.onnx")
        PosixPath('../shared/models/face_detection_yunet.onnx')
    """

    hint = (
        f"Download {YUNET_URL} on a machine with internet access and pass its path as "
        f"face_model=... (or set NBLABEL_YUNET, or copy it to {cache_dir() / YUNET_NAME})."
    )
    if model_path is not None:
        p = Path(model_path).expanduser()
        if not p.is_file():
            raise FaceModelError(f"face model {p} not found. {hint}")
        return p
    env = os.environ.get("NBLABEL_YUNET")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise FaceModelError(f"NBLABEL_YUNET points to {p}, which does not exist. {hint}")
        return p
    try:
        return resolve_weights(YUNET_NAME)
    except WeightsUnavailableError:
        raise FaceModelError(
            f"face model {YUNET_NAME} is not on this machine and could not be downloaded "
            f"(offline, or NBLABEL_OFFLINE is set). {hint}"
        ) from None
    except FileNotFoundError as e:
        raise FaceModelError(f"face model {YUNET_NAME} not found ({e}). {hint}") from None


def _tile_starts(length: int, tile: int, step: int) -> list[int]:
    """Tile origins covering ``[0, length)``; the last tile is pushed back to the edge so all
    tiles share one size (the network is rebuilt whenever the input size changes)."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


class FaceDetector:
    """Face boxes with five landmarks (eyes, nose tip, mouth corners) from YuNet.

    Args:
        model_path: YuNet ONNX file; see :func:`resolve_yunet` for the fallbacks.
        score_threshold: minimum face confidence (0-1).
        nms_threshold: IoU above which overlapping faces are merged.
        top_k: most candidates kept before NMS.
        max_side: the network never sees more than ``max_side`` x ``max_side`` pixels at
            once: larger images are searched shrunk to this size, plus in tiles of it
            when small faces would otherwise be lost. This bounds memory and time.
        min_face: width in pixels of the smallest face to find in a large image; tiles are
            scaled so such a face is still visible to the network. Smaller values find
            smaller faces in huge images at more cost (about 1/min_face^2).
        tile_overlap: overlap between tiles, as a share of the tile size.

    Example:
        >>> det = FaceDetector("../shared/models/face_detection_yunet.onnx")
        >>> face = det.detect("zidane.jpg")[0]
        >>> [round(v) for v in face["bbox"]], round(face["score"], 2), len(face["landmarks"])
        ([917, 99, 1053, 273], 0.94, 5)
    """

    label = "face"

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
        max_side: int = 2048,
        min_face: float = 16.0,
        tile_overlap: float = 0.25,
    ):
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be between 0 and 1, got {score_threshold!r}")
        if not 0.0 <= nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be between 0 and 1, got {nms_threshold!r}")
        if int(max_side) < 64:
            raise ValueError(f"max_side must be at least 64 pixels, got {max_side!r}")
        if not min_face > 0:
            raise ValueError(f"min_face must be a positive number of pixels, got {min_face!r}")
        if not 0.0 <= tile_overlap < 0.9:
            raise ValueError(f"tile_overlap must be in [0, 0.9), got {tile_overlap!r}")
        self.model_path = model_path
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.top_k = int(top_k)
        self.max_side = int(max_side)
        self.min_face = float(min_face)
        self.tile_overlap = float(tile_overlap)
        self._nets: dict[tuple[int, int], Any] = {}

    @property
    def version(self) -> str:
        """Short id of the model file, written to each record's ``source``."""

        return f"yunet@{short_hash(self.load())}"

    def load(self) -> Path:
        """Resolve the model file now (downloading it if needed) and return its path."""
        if not hasattr(self, "model_path_"):
            self.model_path_ = resolve_yunet(self.model_path)
        return self.model_path_

    def _net(self, w: int, h: int):
        import cv2

        key = (w, h)
        net = self._nets.get(key)
        if net is None:
            if len(self._nets) >= 4:  # sizes vary per image; keep only a few networks alive
                self._nets.pop(next(iter(self._nets)))
            # OpenCV 5 logs a warning about DNN targets on every build; it means nothing
            # to a user, so its log level is raised for the duration of the call
            log = cv2.utils.logging
            level = log.getLogLevel()
            log.setLogLevel(log.LOG_LEVEL_ERROR)
            try:
                net = cv2.FaceDetectorYN.create(
                    str(self.load()),
                    "",
                    (w, h),
                    self.score_threshold,
                    self.nms_threshold,
                    self.top_k,
                )
            except cv2.error as e:
                raise FaceModelError(
                    f"{self.load()} could not be loaded as a YuNet model ({getattr(e, 'err', str(e)).strip()}). "
                    "Pass the ONNX "
                    f"file from {YUNET_URL} as face_model=."
                ) from None
            finally:
                log.setLogLevel(level)
            self._nets[key] = net
        return net

    def _run(self, rgb: np.ndarray, scale: float = 1.0, dx: int = 0, dy: int = 0) -> list[dict]:
        """YuNet on one RGB array; boxes mapped back by ``/ scale`` and the tile offset."""
        h, w = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        _, faces = self._net(w, h).detect(bgr)
        out = []
        for f in [] if faces is None else faces:
            x, y, fw, fh = (float(v) for v in f[:4])
            lm = [
                [float(f[4 + 2 * i]) / scale + dx, float(f[5 + 2 * i]) / scale + dy]
                for i in range(5)
            ]
            out.append(
                {
                    "bbox": [
                        x / scale + dx,
                        y / scale + dy,
                        (x + fw) / scale + dx,
                        (y + fh) / scale + dy,
                    ],
                    "score": float(f[14]),
                    "landmarks": lm,
                }
            )
        return out

    def detect(self, image: str | os.PathLike | np.ndarray) -> list[dict]:
        """Faces in ``image`` (path or RGB/grayscale array), best first.

        Returns:
            ``[{"bbox": [x1, y1, x2, y2], "score": float, "landmarks": [[x, y] * 5]}, ...]``
            in pixel coordinates of ``image``.
        """
        import cv2

        rgb = load_rgb(image)
        h, w = rgb.shape[:2]
        # coarse pass: the whole image, shrunk to max_side (large and medium faces)
        s0 = min(1.0, self.max_side / max(h, w))
        if s0 < 1.0:
            size = (max(1, round(w * s0)), max(1, round(h * s0)))
            found = self._run(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale=s0)
        else:
            found = self._run(rgb)
        # fine pass, only when the coarse one shrank min_face below what YuNet sees: tiles
        # at the scale that keeps min_face detectable. A face smaller than the overlap lies
        # wholly inside some tile; a larger one was big enough for the coarse pass.
        fine = min(1.0, _YUNET_MIN_FACE / self.min_face)
        if s0 < fine:
            tw = min(w, math.ceil(self.max_side / fine))
            th = min(h, math.ceil(self.max_side / fine))
            step_x = max(1, int(tw * (1 - self.tile_overlap)))
            step_y = max(1, int(th * (1 - self.tile_overlap)))
            for y0 in _tile_starts(h, th, step_y):
                for x0 in _tile_starts(w, tw, step_x):
                    tile = rgb[y0 : y0 + th, x0 : x0 + tw]
                    if fine < 1.0:
                        size = (max(1, round(tw * fine)), max(1, round(th * fine)))
                        tile = cv2.resize(tile, size, interpolation=cv2.INTER_AREA)
                    for f in self._run(tile, scale=tile.shape[1] / tw, dx=x0, dy=y0):
                        x1, y1, x2, y2 = f["bbox"]
                        # a face cut by an inner tile edge is seen whole in a neighbour
                        cut = (
                            (x1 <= x0 + 2 and x0 > 0)
                            or (y1 <= y0 + 2 and y0 > 0)
                            or (x2 >= x0 + tw - 2 and x0 + tw < w)
                            or (y2 >= y0 + th - 2 and y0 + th < h)
                        )
                        if not cut:
                            found.append(f)
        return self._merge(found, w, h)

    def _merge(self, found: list[dict], w: int, h: int) -> list[dict]:
        found.sort(key=lambda f: -f["score"])
        ranked: list[dict] = []
        for f in found:
            x1, y1, x2, y2 = f["bbox"]
            f["bbox"] = [
                min(max(x1, 0.0), w),
                min(max(y1, 0.0), h),
                min(max(x2, 0.0), w),
                min(max(y2, 0.0), h),
            ]
            if f["bbox"][2] > f["bbox"][0] and f["bbox"][3] > f["bbox"][1]:
                ranked.append(f)
        # The same face found by two passes (or two tiles) is kept once: a face overlapping a
        # better one, or lying mostly inside it, goes.
        boxes = [f["bbox"] for f in ranked]
        same = (box_iou(boxes, boxes) > self.nms_threshold) | (box_containment(boxes, boxes) > 0.7)
        return [ranked[i] for i in greedy_suppress(same)][: self.top_k]

    def predict(self, images) -> list[list[dict]]:
        """Predictor protocol: one list of ``face`` records (5 keypoints each) per image.

        Example:
            >>> FaceDetector().predict(["zidane.jpg"])[0][0]["label"]  # the model in $NBLABEL_WEIGHTS_DIR
            'face'
        """
        source = self.version
        out = []
        for image in images:
            out.append(
                [
                    {
                        "label": self.label,
                        "bbox": f["bbox"],
                        "points": None,
                        "keypoints": [[x, y, 2] for x, y in f["landmarks"]],
                        "score": f["score"],
                        "source": source,
                    }
                    for f in self.detect(image)
                ]
            )
        return out
