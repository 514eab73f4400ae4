"""De-identification: find faces and licence plates, then blur or mosaic them.

Only the pixels inside each region (the detection grown by ``margin``) change; everything
else, including every annotation, stays exactly as it was. Regions are returned as
record-like dicts (``label``/``kind`` ``"face"`` or ``"plate"``, ``bbox``, ``score``,
``method``) so a reviewer can show them as a layer over the image and check that nothing was
missed.

The strength is tied to the size of each detection, not to the image: a 40-pixel face and a
400-pixel face both end up with about the same (unrecognisable) amount of detail left.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from nblabel.core.protocols import DatasetLike
from nblabel.images import ImageError, load_rgb

TARGETS = ("face", "plate")
METHODS = ("blur", "mosaic")
SOURCE = "deidentify"

# Gaussian sigma as a share of the detection's longer side. At 1/6 a face keeps only blobs
# for the eye sockets and hair line; identity cues (eye shape, nose, mouth) are gone.
BLUR_SIGMA = 1 / 6
# Mosaic: at most this many cells across the detection (cells >= 1/8 of its width).
MOSAIC_CELLS = 8
# The mosaic's block edges are softened by this share of a cell: the cells stay visible, but
# the hard steps between them would otherwise be new high-frequency structure laid over the
# face (and make the result look sharper than the face it hides).
MOSAIC_SOFTEN = 0.15
# Blur runs on a copy shrunk so that sigma is this many pixels: the result is the same to the
# eye, and the cost no longer grows with the kernel (a 3000-pixel face would need a
# 1000-pixel kernel at full size).
_WORK_SIGMA = 4.0


# -- pixel operations ------------------------------------------------------------------------
def _blur_patch(patch: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    h, w = patch.shape[:2]
    f = min(1.0, _WORK_SIGMA / max(sigma, 1e-6))
    if f < 1.0:
        sw, sh = max(1, round(w * f)), max(1, round(h * f))
        small = cv2.resize(patch, (sw, sh), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), _WORK_SIGMA, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(patch, (0, 0), max(sigma, 0.5), borderType=cv2.BORDER_REFLECT)


def _mosaic_patch(patch: np.ndarray, cell: float) -> np.ndarray:
    import cv2

    h, w = patch.shape[:2]
    # floor: cells come out no smaller than asked for
    nx, ny = max(1, int(w // cell)), max(1, int(h // cell))
    small = cv2.resize(patch, (nx, ny), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    soft = cell * MOSAIC_SOFTEN
    return (
        cv2.GaussianBlur(big, (0, 0), soft, borderType=cv2.BORDER_REFLECT) if soft >= 0.5 else big
    )


def _grow(bbox, margin: float, w: int, h: int) -> tuple[int, int, int, int]:
    """Detection box grown by ``margin`` on every side, as whole pixels inside the image."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    return (
        max(0, math.floor(x1 - mx)),
        max(0, math.floor(y1 - my)),
        min(w, math.ceil(x2 + mx)),
        min(h, math.ceil(y2 + my)),
    )


def apply_regions(
    rgb: np.ndarray, regions: Iterable[dict], method: str = "blur", *, copy: bool = True
) -> np.ndarray:
    """Blur or mosaic ``regions`` of ``rgb``; ``copy=False`` works in place (saves memory).

    Each region needs ``bbox`` (the pixels to change, whole-pixel ``[x1, y1, x2, y2]``) and
    may carry ``detected_bbox`` (the object itself, which sets the strength).

    Example:
        >>> out = apply_regions(np.zeros((50, 50, 3), np.uint8), [{"bbox": [5, 5, 30, 30]}])
        >>> out.shape
        (50, 50, 3)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    # arrays decoded by Pillow are read-only views: those are copied even when copy=False
    out = rgb if not copy and rgb.flags.writeable else np.array(rgb, copy=True)
    h, w = out.shape[:2]
    for r in regions:
        x1, y1, x2, y2 = (int(round(float(v))) for v in r["bbox"])
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 <= x1 or y2 <= y1:
            continue
        dx1, dy1, dx2, dy2 = r.get("detected_bbox") or r["bbox"]
        size = max(dx2 - dx1, dy2 - dy1, 1.0)
        patch = out[y1:y2, x1:x2]
        if method == "blur":
            out[y1:y2, x1:x2] = _blur_patch(patch, size * BLUR_SIGMA)
        else:
            out[y1:y2, x1:x2] = _mosaic_patch(patch, max(1.0, size / MOSAIC_CELLS))
    return out


# -- detection -------------------------------------------------------------------------------
def _check_args(targets, method: str, margin: float) -> tuple[str, ...]:
    if isinstance(targets, str):
        targets = (targets,)
    targets = tuple(targets)
    bad = [t for t in targets if t not in TARGETS]
    if bad or not targets:
        raise ValueError(f"targets must be a non-empty selection of {TARGETS}, got {targets!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(margin, (int, float)) or not 0.0 <= margin <= 2.0:
        raise ValueError(f"margin must be a share of the box size between 0 and 2, got {margin!r}")
    return targets


def _face_detector(face_model: Any):
    from nblabel.models.faces import FaceDetector

    if face_model is None or isinstance(face_model, (str, os.PathLike)):
        return FaceDetector(face_model)
    if hasattr(face_model, "detect"):
        return face_model  # a FaceDetector (or look-alike) already configured
    raise TypeError(
        f"face_model must be a path to the YuNet ONNX file, a FaceDetector or None, "
        f"got {type(face_model).__name__}"
    )


def _plate_detector(plate_model: Any):
    from nblabel.models.plates import PlateDetector

    if isinstance(plate_model, PlateDetector):
        return plate_model
    return PlateDetector(plate_model)


def _detectors(targets, face_model, plate_model) -> dict[str, Any]:
    """Detectors for ``targets``, loaded now so a missing model fails before any image."""
    dets: dict[str, Any] = {}
    if "face" in targets:
        dets["face"] = _face_detector(face_model)
        if hasattr(dets["face"], "load"):
            dets["face"].load()
    if "plate" in targets:
        dets["plate"] = _plate_detector(plate_model)
        dets["plate"].load()
        if dets["plate"].method == "classical":
            warnings.warn(
                "licence plates are searched with the built-in classical detector, which "
                "misses small, blurred or angled plates (about a third of clear synthetic "
                "plates; see benchmarks/deidentify.py). Pass plate_model= a YOLO plate "
                "checkpoint for dependable results, or targets=('face',) to skip plates.",
                UserWarning,
                stacklevel=3,
            )
    return dets


def _source(kind: str, det: Any) -> str:
    if kind == "plate":
        return f"{SOURCE}/plate-{det.method}"
    return f"{SOURCE}/{getattr(det, 'version', type(det).__name__)}"


def find_regions(
    rgb: np.ndarray, detectors: dict[str, Any], method: str, margin: float
) -> list[dict]:
    """Detect every target in ``rgb`` and turn each detection into a region record."""
    h, w = rgb.shape[:2]
    regions = []
    for kind, det in detectors.items():
        source = _source(kind, det)
        for d in det.detect(rgb):
            x1, y1, x2, y2 = _grow(d["bbox"], margin, w, h)
            if x2 <= x1 or y2 <= y1:
                continue
            regions.append(
                {
                    "label": kind,
                    "bbox": [float(x1), float(y1), float(x2), float(y2)],
                    "points": None,
                    "keypoints": None,
                    "score": float(d["score"]),
                    "source": source,
                    "kind": kind,
                    "method": method,
                    "detected_bbox": [float(v) for v in d["bbox"]],
                }
            )
    return regions


def deidentify_image(
    image: str | os.PathLike | np.ndarray,
    targets: Iterable[str] | str = TARGETS,
    method: str = "blur",
    *,
    face_model: Any = None,
    plate_model: Any = None,
    margin: float = 0.15,
) -> tuple[np.ndarray, list[dict]]:
    """Blur or mosaic the faces and licence plates of one image.

    Args:
        image: a path or an RGB (or grayscale) array; it is not modified.
        targets: ``"face"``, ``"plate"`` or both.
        method: ``"blur"`` (Gaussian, sigma 1/6 of the object's size) or ``"mosaic"``
            (cells at least 1/8 of the object's size).
        face_model: YuNet ONNX path, a :class:`~nblabel.models.faces.FaceDetector`, or
            ``None`` (``$NBLABEL_YUNET``, the cache, then a download).
        plate_model: a YOLO plate checkpoint, a predictor, a
            :class:`~nblabel.models.plates.PlateDetector`, or ``None`` for the classical
            fallback.
        margin: each detection grows by this share of its width/height on every side.

    Returns:
        ``(rgb_out, regions)``: the de-identified ``HxWx3`` array and one record-like dict
        per changed region (``label``/``kind``, ``bbox`` of the changed pixels, ``score``,
        ``method``, ``detected_bbox``). Pixels outside the regions are untouched.

    Example:
        >>> yunet = "../shared/models/face_detection_yunet.onnx"
        >>> out, regions = deidentify_image("zidane.jpg", "face", face_model=yunet)
        >>> [r["kind"] for r in regions]
        ['face', 'face', 'face']
    """
    targets = _check_args(targets, method, margin)
    rgb = load_rgb(image)
    regions = find_regions(rgb, _detectors(targets, face_model, plate_model), method, margin)
    # load_rgb returns the caller's array itself when it is already RGB uint8
    return apply_regions(rgb, regions, method, copy=True), regions


# -- whole datasets --------------------------------------------------------------------------
_ISSUE_PREFIX = "deidentify:"
_LOSSLESS = {".png", ".bmp", ".tif", ".tiff"}
_JPEG = {".jpg", ".jpeg", ".jfif"}


def _safe_name(key: Any) -> str:
    """A file name for ``key``; keys with characters a file system may reject get a short
    hash so two keys never share a file."""
    import hashlib

    text = str(key)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "image"
    if safe != text:
        safe = f"{safe[:80]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return safe


def _out_suffix(src: Path, out_format: str | None) -> str:
    if out_format:
        fmt = out_format.lower().lstrip(".")
        if fmt not in ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"):
            raise ValueError(f"out_format must be png, jpeg, webp, bmp or tiff, got {out_format!r}")
        return "." + fmt
    suffix = src.suffix.lower()
    # palette and exotic formats would lose colours or fail to write: use PNG for them
    return suffix if suffix in _JPEG | _LOSSLESS | {".webp"} else ".png"


_PART = ".part"
# a temporary copy older than this was left by a run that was killed; newer ones may belong
# to a run still going
_STALE_PART_S = 600


def _part_name(dest: Path) -> Path:
    import uuid

    return dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:8]}{_PART}{dest.suffix.lower()}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, dest: Path) -> None:
    """Make a fully written temporary file the real one in one step (and only then)."""
    _fsync(tmp)  # on disk before its name is: a power cut leaves the old file or the new one
    os.replace(tmp, dest)


def _copy(src: Path, dest: Path) -> None:
    """An identical copy of ``src`` at ``dest``, never a truncated one under that name."""
    tmp = _part_name(dest)
    try:
        shutil.copyfile(src, tmp)
        _publish(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_stale_parts(folder: Path) -> None:
    now = time.time()
    for p in folder.glob(f".*{_PART}.*"):
        try:
            if now - p.stat().st_mtime > _STALE_PART_S:
                p.unlink()
        except OSError:
            pass  # gone already, or not ours to remove


def _disk_full(e: BaseException) -> bool:
    import sqlite3

    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(e, sqlite3.OperationalError) and "full" in str(e)


def _save(rgb: np.ndarray, dest: Path, quality: int) -> None:
    """Write through a temporary file, so a crash never leaves a half-written image where
    the dataset (or, with ``inplace=True``, the original) points."""
    from PIL import Image

    suffix = dest.suffix.lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".jfif": "JPEG", ".tif": "TIFF"}.get(
        suffix, suffix.lstrip(".").upper()
    )
    kwargs: dict[str, Any] = {}
    if fmt == "JPEG":
        kwargs = {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    elif fmt == "WEBP":
        kwargs = {"quality": quality}
    # a plain open() (not mkstemp) so the copy gets the user's usual file permissions
    tmp = _part_name(dest)
    try:
        Image.fromarray(rgb).save(tmp, format=fmt, **kwargs)
        _publish(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _stop_disk_full(ds, left: list, rows: list, where: Path, e: BaseException) -> None:
    """Report the images a full disk kept from being done; their rows are left as they were."""
    issue = (
        f"{_ISSUE_PREFIX} not done: no space left on the disk of {where.parent} ({e}); free "
        "some space and run deidentify again"
    )
    rows.extend({"key": k, "faces": 0, "plates": 0, "output": None, "issue": issue} for k in left)
    warnings.warn(
        f"nblabel: deidentify stopped: the disk is full; {len(left)} image(s) not done, their "
        "rows unchanged. Free some space and run it again.",
        stacklevel=3,
    )


def _clean_issues(old: Any) -> list[str]:
    """Issues of a row without those a previous de-identification run left."""
    if not isinstance(old, str) or not old:
        return []
    return [p for p in old.split("; ") if p and not p.startswith(_ISSUE_PREFIX)]


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def deidentify(
    ds,
    targets: Iterable[str] | str = TARGETS,
    method: str = "blur",
    face_model: Any = None,
    plate_model: Any = None,
    margin: float = 0.15,
    out_dir: str | os.PathLike | None = None,
    inplace: bool = False,
    progress: bool = True,
    *,
    keys: Iterable[Any] | None = None,
    out_format: str | None = None,
    quality: int = 95,
):
    """Blur or mosaic faces and licence plates in every image of a Dataset.

    De-identified copies go to ``out_dir`` and the Dataset is pointed at them
    (``image``), keeping the path of the source in ``original_image`` and the changed
    regions in ``deid_regions`` (record-like dicts, so the Annotator can draw them as a
    layer). ``annotations`` are never touched. Running it again starts from
    ``original_image``, so a second pass replaces the first instead of stacking on it.

    Images with nothing found are copied byte for byte (zero regions). Copies with regions
    are re-encoded in the source's format (JPEG at ``quality``; pass ``out_format="png"``
    for copies whose pixels outside the regions are bit-identical to the source) and carry
    no metadata. Unreadable images are not skipped silently: the row's ``issues`` says why
    and the summary has an ``issue`` for it.

    Every file is written under a temporary name and renamed into place once complete, so
    an interrupted run never leaves a truncated image where a row points. When the disk
    fills up the run stops (every later image would fail the same way): the images done
    so far are kept, the rest are unchanged and listed in the summary, and running it again
    after freeing space finishes the job.

    Args:
        ds: a :class:`nblabel.Dataset`.
        targets: ``"face"``, ``"plate"`` or both.
        method: ``"blur"`` or ``"mosaic"``.
        face_model: YuNet ONNX path or a FaceDetector (see :func:`deidentify_image`).
        plate_model: a YOLO plate checkpoint, a predictor, or ``None`` for the classical
            fallback.
        margin: each detection grows by this share of its size on every side.
        out_dir: folder for the copies; default ``<database name>_deid`` next to the
            dataset's database file.
        inplace: overwrite the original files instead of writing copies. Irreversible.
        progress: show a progress bar.
        keys: only these rows (default: all).
        out_format: ``"png"``, ``"jpeg"``, ... for the copies (default: the source's).
        quality: JPEG/WebP quality of re-encoded copies.

    Returns:
        A DataFrame with one row per image: ``key``, ``faces``, ``plates`` (regions
        found), ``output`` (path written, ``None`` on failure) and ``issue`` (``None``
        when fine).

    Example:
        >>> import nblabel as nbl
        >>> ds = nbl.Dataset.from_folder("photos/", db="labels.db")
        >>> yunet = "../shared/models/face_detection_yunet.onnx"
        >>> summary = nbl.deidentify(ds, "face", method="mosaic", face_model=yunet)
        >>> dict(zip(summary["key"], summary["faces"]))
        {'bus': 2, 'zidane': 3}
    """
    import pandas as pd
    from tqdm.auto import tqdm

    if not isinstance(ds, DatasetLike):
        raise TypeError(
            f"deidentify() takes an nblabel Dataset, got {type(ds).__name__}; "
            "use deidentify_image() for a single image or array"
        )
    targets = _check_args(targets, method, margin)
    if inplace and out_dir is not None:
        raise ValueError("pass either out_dir= (write copies) or inplace=True, not both")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality!r}")
    detectors = _detectors(targets, face_model, plate_model)
    if out_dir is None and not inplace:
        db = Path(ds.db_path)
        out_dir = db.parent / f"{db.stem}_deid"
    if not inplace:
        out_dir = Path(out_dir).expanduser()
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(out_dir)

    keys = list(ds.keys()) if keys is None else list(keys)
    rows = []
    for i, key in enumerate(tqdm(keys, desc="de-identifying", unit="image", disable=not progress)):
        row = ds.row(key)
        original = _str_or_none(row.get("original_image"))
        current = _str_or_none(row.get("image"))
        # start from the untouched original when an earlier run already made a copy
        src = Path(original if original and Path(original).is_file() else current or "")
        kept_issues = _clean_issues(row.get("issues"))
        dest = src if inplace else out_dir / (_safe_name(key) + _out_suffix(src, out_format))
        if not inplace and current and dest.resolve() == src.resolve():
            raise ValueError(
                f"out_dir {out_dir} would overwrite the original {src}; choose another "
                "folder, or pass inplace=True to overwrite originals on purpose"
            )
        try:
            if not current:
                raise ImageError(key, "the row has no image path")
            rgb = load_rgb(src)
            regions = find_regions(rgb, detectors, method, margin)
            if regions or (not inplace and dest.suffix.lower() != src.suffix.lower()):
                _save(apply_regions(rgb, regions, method, copy=False), dest, quality)
            elif not inplace:
                _copy(src, dest)  # nothing to hide: an identical copy
            del rgb
        except Exception as e:
            if _disk_full(e):
                _stop_disk_full(ds, keys[i:], rows, dest, e)
                break
            # One bad image (corrupt, too large for memory, a disk error) must not stop a
            # batch of thousands; it is reported in the row and in the summary instead.
            problem = e.problem if isinstance(e, ImageError) else f"{type(e).__name__}: {e}"
            issue = f"{_ISSUE_PREFIX} {src}: {problem}"
            ds.update(key, issues="; ".join([*kept_issues, issue]))
            rows.append({"key": key, "faces": 0, "plates": 0, "output": None, "issue": issue})
            continue
        try:
            ds.update(
                key,
                image=str(dest),
                original_image=None if inplace else str(src),
                deid_regions=regions,
                issues="; ".join(kept_issues) or None,
            )
        except Exception as e:  # the copy is written but the journal's disk is full
            if not _disk_full(e):
                raise
            _stop_disk_full(ds, keys[i:], rows, Path(ds.db_path), e)
            break
        rows.append(
            {
                "key": key,
                "faces": sum(r["kind"] == "face" for r in regions),
                "plates": sum(r["kind"] == "plate" for r in regions),
                "output": str(dest),
                "issue": None,
            }
        )
    summary = pd.DataFrame(rows, columns=["key", "faces", "plates", "output", "issue"])
    for col in ("output", "issue"):  # None, not NaN, for "nothing": like the Dataset's columns
        summary[col] = summary[col].astype(object).where(summary[col].notna(), None)
    summary.attrs["failed"] = int(summary["issue"].notna().sum())
    return summary
