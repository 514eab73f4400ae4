"""The fast JPEG/PNG header reader gives Pillow's size and orientation, or steps aside.

Every file here is written by Pillow in the variants cameras and tools produce (progressive,
grayscale, CMYK, every EXIF orientation, XMP, PNG text and EXIF chunks), plus the real images
in ``$NBLABEL_SHARED``; the answer of :func:`image_size` must be the one Pillow gives.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nblabel.headers import header_size
from nblabel.images import ImageError, image_size

SWAPS = {5, 6, 7, 8}


def pillow_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        w, h = im.size
        orientation = im.getexif().get(0x0112, 1)
    return (h, w) if orientation in SWAPS else (w, h)


def _image(mode: str, size=(37, 23)) -> Image.Image:
    rng = np.random.default_rng(0)
    channels = {"L": 1, "RGB": 3, "CMYK": 4, "RGBA": 4}[mode]
    data = rng.integers(0, 255, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(data.squeeze(), mode=mode if mode != "CMYK" else None).convert(mode)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "nblabel camera"  # a second tag, so the orientation is not alone
    return exif.tobytes()


VARIANTS = {
    "baseline": ("JPEG", "RGB", {}),
    "progressive": ("JPEG", "RGB", {"progressive": True}),
    "grayscale": ("JPEG", "L", {}),
    "cmyk": ("JPEG", "CMYK", {}),
    "png": ("PNG", "RGB", {}),
    "png-rgba": ("PNG", "RGBA", {}),
    "png-text": ("PNG", "RGB", {"pnginfo": "text"}),
    **{f"exif-{o}": ("JPEG", "RGB", {"exif": _exif(o)}) for o in range(1, 9)},
    "png-exif-6": ("PNG", "RGB", {"exif": _exif(6)}),
    "xmp-6": ("JPEG", "RGB", {"xmp": b'<x:xmpmeta><rdf:Description tiff:Orientation="6"/>'}),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_written_variants_read_as_pillow_reads_them(name, tmp_path):
    fmt, mode, options = VARIANTS[name]
    options = dict(options)
    if options.get("pnginfo") == "text":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", "made by a scanner")
        options["pnginfo"] = info
    path = tmp_path / f"{name}.{'jpg' if fmt == 'JPEG' else 'png'}"
    _image(mode).save(path, fmt, **options)
    assert image_size(path) == pillow_size(path)
    if name in ("exif-6", "exif-8"):
        assert image_size(path) == (23, 37)  # rotated by 90 degrees as displayed
    if name == "baseline":
        with open(path, "rb") as f:
            assert header_size(f) == (37, 23, 1)  # answered here, without Pillow


def test_every_real_image_reads_as_pillow_reads_it(shared_dir):
    paths = [
        p
        for p in sorted(shared_dir.rglob("*"))
        if p.suffix.lower() in {".jpg", ".jpeg", ".png"} and p.is_file()
    ]
    assert len(paths) > 300
    answered = 0
    for p in paths:
        with open(p, "rb") as f:
            answered += header_size(f) is not None
        assert image_size(p) == pillow_size(p), p
    assert answered > 0.9 * len(paths)  # the fast path is the common path


@pytest.mark.parametrize("cut", [3, 20, 100])
def test_a_truncated_header_is_still_an_image_error(cut, tmp_path):
    buf = io.BytesIO()
    _image("RGB").save(buf, "JPEG", exif=_exif(6))
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[:cut])
    with open(path, "rb") as f:
        assert header_size(f) is None  # left to Pillow ...
    with pytest.raises(ImageError, match="cut.jpg"):
        image_size(path)  # ... which says the file cannot be read


def test_a_header_claiming_billions_of_pixels_is_refused(tmp_path):
    buf = io.BytesIO()
    _image("RGB").save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR says 100,000 x 100,000
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="pixels"):
        image_size(path)
