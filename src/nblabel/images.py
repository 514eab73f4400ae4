"""Reading images the same way everywhere: EXIF orientation applied, always RGB uint8.

Sizes come from file headers (Pillow opens lazily), so a 20,000-image folder is indexed
without decoding pixels. Every failure is an :class:`ImageError` that names the file.

A header can claim any size: a 150 KB PNG may decode to 144 million pixels (gigabytes of
memory). Images over :func:`max_pixels` are refused from the header, before any pixel is
decoded, so an import lists them as rows with an issue and nothing decodes them later.
"""

from __future__ import annotations

import difflib
import io
import os
import re
from pathlib import Path

import numpy as np

from .core.errors import NblabelError
from .headers import file_header_size

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jfif", ".pgm", ".ppm"}
)
MAX_PIXELS_ENV = "NBLABEL_MAX_PIXELS"
# 80 megapixels: a 50 Mpx camera photo passes; decoded as RGB that is 240 MB, and Pillow's own
# decompression-bomb warning starts a little above it (about 89 Mpx).
DEFAULT_MAX_PIXELS = 80_000_000
_EXIF_ORIENTATION = 0x0112
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees


class ImageError(NblabelError, ValueError):
    """An image that cannot be read; the message names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def max_pixels() -> int:
    """Largest image (width x height) nblabel decodes: ``$NBLABEL_MAX_PIXELS`` or 80 million.

    Example:
        >>> max_pixels() >= 1_000_000
        True
    """
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    try:
        return int(raw) if raw else DEFAULT_MAX_PIXELS
    except ValueError:
        raise ValueError(
            f"${MAX_PIXELS_ENV} must be a whole number of pixels, got {raw!r}"
        ) from None


def _check_pixels(p, w: int, h: int) -> None:
    limit = max_pixels()
    if w * h > limit:
        raise ImageError(
            p,
            f"image too large: its header says {w}x{h} = {w * h / 1e6:.0f} megapixels, over "
            f"the limit of {limit / 1e6:.0f} (set ${MAX_PIXELS_ENV} to allow more, or shrink "
            "the file)",
        )


def _bomb_claim(e: Exception) -> str:
    return f"image too large to decode safely ({e}); set ${MAX_PIXELS_ENV} and shrink the file"


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the file name has an image extension nblabel reads."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_key(text: str) -> list:
    """Sort key that puts ``img-2`` before ``img-10`` (file listings read like a person counts).

    Example:
        >>> sorted(["img-10", "img-2", "IMG-1"], key=natural_key)
        ['IMG-1', 'img-2', 'img-10']
    """
    return [int(t) if t.isdigit() else t.lower() for t in _DIGIT_RUNS.split(text)]


def image_folder(folder: str | os.PathLike) -> Path:
    """``folder`` as an existing folder (``~`` expanded), else an error that shows the
    absolute path it was looked for at and the working directory a relative one is read from.

    Raises:
        FileNotFoundError: nothing at that path (close names beside it are suggested).
        NotADirectoryError: a file, not a folder.

    Example:
        >>> image_folder(".").is_dir()
        True
    """
    root = Path(folder).expanduser()
    where = Path(os.path.abspath(root))
    if root.is_dir():
        return root
    cwd = os.getcwd()
    if where.exists() or where.is_symlink():
        raise NotADirectoryError(
            f"not a folder: {where} is a file (working directory: {cwd}); pass the folder "
            "that holds the images"
        )
    hint = ""
    parent = where.parent
    if parent.is_dir():
        try:
            names = [e.name for e in os.scandir(parent) if e.is_dir()]
        except OSError:
            names = []
        close = difflib.get_close_matches(where.name, names, n=3, cutoff=0.6)
        if close:
            hint = "; did you mean " + " or ".join(repr(str(parent / c)) for c in close) + "?"
    else:
        hint = f"; {parent} does not exist either"
    raise FileNotFoundError(f"no such folder: {where} (working directory: {cwd}){hint}")


def no_images_error(root: Path, recursive: bool, others: list, nested: int) -> ValueError:
    """The error for a folder without image files: which folder, which extensions were
    looked for, and what was there instead."""
    where = Path(os.path.abspath(root))
    exts = " ".join(sorted(IMAGE_EXTENSIONS))
    text = f"no images in {where}: looked for files ending in {exts}"
    if not recursive:
        text += " directly in it (recursive=False)"
    if nested:
        text += f"; {nested} image(s) are in subfolders: pass recursive=True"
    if others:
        names = ", ".join(o.name for o in others[:5]) + (" ..." if len(others) > 5 else "")
        text += f"; found {len(others)} other file(s): {names}"
    elif not nested:
        text += "; the folder has no files at all"
    return ValueError(text)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` as displayed, i.e. after EXIF rotation, read from the header only.

    Example:
        >>> image_size("photo.jpg")
        (650, 417)
    """
    from PIL import Image, UnidentifiedImageError

    try:
        found = file_header_size(os.fspath(path))
    except OSError:
        found = None  # missing, a folder, unreadable: Pillow's path below says which
    if found is not None:
        w, h, orientation = found
        _check_pixels(path, w, h)
        return (h, w) if orientation in _SWAPS_AXES else (w, h)
    p = Path(path)
    if not p.exists():
        raise ImageError(p, "file not found")
    if p.is_dir():
        raise ImageError(p, "a folder, not an image file")
    try:
        with Image.open(p) as im:
            w, h = im.size
            try:
                orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
            except Exception:  # a broken EXIF block must not hide a readable image
                orientation = 1
    # ImportError: once ultralytics is imported it wraps Image.open and, for a file Pillow
    # cannot identify, tries to load an optional HEIF plugin, which fails when not installed.
    except (UnidentifiedImageError, ImportError):
        raise ImageError(p, "not an image file (or an unsupported format)") from None
    except Image.DecompressionBombError as e:  # a header claiming billions of pixels
        raise ImageError(p, _bomb_claim(e)) from None
    except OSError as e:
        raise ImageError(p, f"unreadable image ({e})") from None
    except Exception as e:  # a malformed header can fail in any codec: one row, not the import
        raise ImageError(p, f"unreadable image ({type(e).__name__}: {e})") from None
    if w <= 0 or h <= 0:
        raise ImageError(p, f"image has no pixels ({w}x{h})")
    _check_pixels(p, w, h)
    return (h, w) if orientation in _SWAPS_AXES else (w, h)


def size_or_problem(path: str) -> tuple[int, int, str | None]:
    """``(width, height, None)``, or ``(0, 0, problem)`` for an image that cannot be read.

    Example:
        >>> size_or_problem("missing.jpg")
        (0, 0, 'file not found')
    """
    try:
        return (*image_size(path), None)
    except ImageError as e:
        if os.path.islink(path) and not os.path.exists(path):
            return 0, 0, f"broken link: points to {os.readlink(path)}, which cannot be read"
        return 0, 0, e.problem


def _to_uint8_rgb(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ImageError(what, f"expected an HxW, HxWx3 or HxWx4 array, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        a = arr.astype(np.float64)
        if np.issubdtype(arr.dtype, np.floating) and a.max(initial=0) <= 1.0:
            a = a * 255.0
        elif a.max(initial=0) > 255:
            # 16-bit (or wider) data: scale the full range rather than clipping to white
            a = a * (255.0 / (65535.0 if a.max() <= 65535 else a.max()))
        arr = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        # composite on white: transparent areas of cut-outs would otherwise turn black
        rgb = arr[:, :, :3].astype(np.float32)
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        arr = np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr)


def load_rgb(image: str | os.PathLike | np.ndarray) -> np.ndarray:
    """Decode ``image`` (a path or an array) into an ``HxWx3`` RGB ``uint8`` array.

    Grayscale, palette, RGBA, CMYK and 16-bit images are converted; EXIF orientation is
    applied so pixel coordinates match what a viewer shows.

    Example:
        >>> load_rgb(np.zeros((4, 5), np.uint16)).shape
        (4, 5, 3)
    """
    if isinstance(image, np.ndarray):
        return _to_uint8_rgb(image, "<array>")
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(image)
    if not p.exists():
        raise ImageError(p, "file not found")
    try:
        with Image.open(p) as im:
            _check_pixels(p, *im.size)  # from the header, before decoding a pixel
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(im)
            elif im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                arr = np.asarray(im.convert("RGBA"))
            else:
                arr = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, ImportError):  # ImportError: see image_size()
        raise ImageError(p, "not an image file (or an unsupported format)") from None
    except Image.DecompressionBombError as e:
        raise ImageError(p, _bomb_claim(e)) from None
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(p, f"corrupt or truncated image ({e})") from None
    return _to_uint8_rgb(arr, str(p))


def encode_image(rgb: np.ndarray, fmt: str = "jpeg", quality: int = 85) -> bytes:
    """Encode an RGB array as JPEG/PNG/WebP bytes (for binary transfer to the browser)."""
    from PIL import Image

    buf = io.BytesIO()
    fmt = fmt.lower()
    kwargs = {"quality": quality} if fmt in ("jpeg", "jpg", "webp") else {}
    Image.fromarray(rgb).save(buf, format="JPEG" if fmt == "jpg" else fmt.upper(), **kwargs)
    return buf.getvalue()


def fit_long_side(width: int, height: int, long_side: int) -> tuple[int, int, float]:
    """Display size for a long side limit: ``(w, h, scale)`` with ``scale <= 1``."""
    s = min(1.0, float(long_side) / max(width, height))
    return max(1, round(width * s)), max(1, round(height * s)), s
