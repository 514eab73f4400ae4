"""Width, height and EXIF orientation of JPEG and PNG files from their first bytes.

Indexing a folder reads only headers, and for the two formats that make up nearly every
labeling dataset the header is a few hundred bytes: reading them here is about ten times
faster than building a Pillow image object and its EXIF dictionary. Anything unusual (another
format, a marker this reader does not know, a truncated or odd header) returns ``None`` and the
caller asks Pillow, so the answer is Pillow's answer either way.

Example:
    >>> import io, struct
    >>> ihdr = struct.pack(">I4sII5BI", 13, b"IHDR", 640, 480, 8, 2, 0, 0, 0, 0)
    >>> idat = struct.pack(">I4s", 0, b"IDAT")
    >>> header_size(io.BytesIO(b"\\x89PNG\\r\\n\\x1a\\n" + ihdr + idat))
    (640, 480, 1)
"""

from __future__ import annotations

import struct
from typing import BinaryIO

_PNG = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic ...): every 0xC0-0xCF
# except DHT (C4), JPG (C8) and DAC (CC), which share the range but carry no frame size
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # markers with no length field
_ORIENTATION = 0x0112
_MAX_SCAN = 1 << 20  # a header further in than 1 MB is unusual: let Pillow judge the file


def header_size(f: BinaryIO) -> tuple[int, int, int] | None:
    """``(width, height, EXIF orientation)`` as stored (before rotation), or ``None``."""
    head = f.read(8)
    if head == _PNG:
        return _png(f)
    if head.startswith(b"\xff\xd8"):
        f.seek(2)
        return _jpeg(f)
    return None


def _png(f: BinaryIO) -> tuple[int, int, int] | None:
    chunk = f.read(8)
    if len(chunk) != 8 or chunk[4:] != b"IHDR":
        return None
    ihdr = f.read(17)  # 13 bytes of data and the CRC
    if len(ihdr) != 17:
        return None
    w, h = struct.unpack(">II", ihdr[:8])
    # the chunks up to the pixels: an EXIF or XMP block there could hold an orientation
    while f.tell() < _MAX_SCAN:
        chunk = f.read(8)
        if len(chunk) != 8:
            return None
        length, kind = struct.unpack(">I", chunk[:4])[0], chunk[4:]
        if kind == b"IDAT":
            break
        if kind in (b"eXIf", b"tEXt", b"zTXt", b"iTXt"):
            return None
        f.seek(length + 4, 1)
    else:
        return None
    return (w, h, 1) if w and h else None


def _jpeg(f: BinaryIO) -> tuple[int, int, int] | None:
    orientation = None  # as the first EXIF block says; None: it has no orientation tag
    xmp = False
    while f.tell() < _MAX_SCAN:
        b = f.read(1)
        if b != b"\xff":
            return None
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes before a marker
            marker = f.read(1)
        if not marker:
            return None
        m = marker[0]
        if m in _STANDALONE:
            continue
        if m in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        raw = f.read(2)
        if len(raw) != 2:
            return None
        length = struct.unpack(">H", raw)[0] - 2
        if length < 0:
            return None
        if m in _SOF:
            data = f.read(5)
            if len(data) != 5:
                return None
            if orientation is None and xmp:
                return None  # Pillow would take the orientation from the XMP packet
            h, w = struct.unpack(">HH", data[1:5])
            return (w, h, orientation or 1) if w and h else None
        if m == 0xE1:
            segment = f.read(length)
            if len(segment) != length:
                return None
            if segment.startswith(b"Exif\x00\x00") and orientation is None:
                found = _exif_orientation(segment[6:])
                if found is False:
                    return None  # an EXIF block this reader cannot walk: Pillow decides
                orientation = found
            elif segment.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
                xmp = True
        else:
            f.seek(length, 1)
    return None


def _exif_orientation(tiff: bytes):
    """The orientation tag of IFD0, ``None`` when it has none, ``False`` for a block this
    reader cannot walk."""
    if tiff[:4] == b"II*\x00":
        end = "<"
    elif tiff[:4] == b"MM\x00*":
        end = ">"
    else:
        return False
    try:
        (ifd,) = struct.unpack(end + "I", tiff[4:8])
        (count,) = struct.unpack(end + "H", tiff[ifd : ifd + 2])
        for i in range(count):
            at = ifd + 2 + 12 * i
            tag, kind, n = struct.unpack(end + "HHI", tiff[at : at + 8])
            if tag == _ORIENTATION:
                if kind != 3 or n != 1:  # SHORT, one value, as the standard says
                    return False
                (value,) = struct.unpack(end + "H", tiff[at + 8 : at + 10])
                return value
    except struct.error:
        return False
    return None
