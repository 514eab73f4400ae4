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

import os
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

    def read_at(offset: int, n: int) -> bytes:
        f.seek(offset)
        return f.read(n)

    return _parse(_Window(read_at))


def file_header_size(path: str) -> tuple[int, int, int] | None:
    """:func:`header_size` of the file at ``path``, read with ``os.pread`` (no file object:
    at a million files the buffered-file machinery costs more than the parsing).

    Raises:
        OSError: the file cannot be opened.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        return _parse(_Window(lambda offset, n: os.pread(fd, n, offset)))
    finally:
        os.close(fd)


class _Window:
    """Bytes of a file by offset, read a block at a time (a header is a few hundred bytes,
    a camera's EXIF block up to 64 KB)."""

    BLOCK = 16384

    def __init__(self, read_at):
        self.read_at = read_at
        self.start = 0
        self.data = read_at(0, self.BLOCK)

    def get(self, offset: int, n: int) -> bytes:
        end = offset + n
        if offset < self.start or end > self.start + len(self.data):
            self.start = offset
            self.data = self.read_at(offset, max(n, self.BLOCK))
        return self.data[offset - self.start : end - self.start]


def _parse(w: _Window) -> tuple[int, int, int] | None:
    head = w.get(0, 8)
    if head == _PNG:
        return _png(w)
    if head[:2] == b"\xff\xd8":
        return _jpeg(w)
    return None


def _png(w: _Window) -> tuple[int, int, int] | None:
    ihdr = w.get(8, 25)  # length, type, 13 bytes of data, CRC
    if len(ihdr) != 25 or ihdr[4:8] != b"IHDR":
        return None
    width, height = struct.unpack(">II", ihdr[8:16])
    # the chunks up to the pixels: an EXIF or XMP block there could hold an orientation
    pos = 33
    while pos < _MAX_SCAN:
        chunk = w.get(pos, 8)
        if len(chunk) != 8:
            return None
        length, kind = struct.unpack(">I", chunk[:4])[0], chunk[4:]
        if kind == b"IDAT":
            return (width, height, 1) if width and height else None
        if kind in (b"eXIf", b"tEXt", b"zTXt", b"iTXt"):
            return None
        pos += 12 + length
    return None


def _jpeg(w: _Window) -> tuple[int, int, int] | None:
    orientation = None  # as the first EXIF block says; None: it has no orientation tag
    xmp = False
    pos = 2
    while pos < _MAX_SCAN:
        if w.get(pos, 1) != b"\xff":
            return None
        pos += 1
        marker = w.get(pos, 1)
        while marker == b"\xff":  # fill bytes before a marker
            pos += 1
            marker = w.get(pos, 1)
        if not marker:
            return None
        m = marker[0]
        pos += 1
        if m in _STANDALONE:
            continue
        if m in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        raw = w.get(pos, 2)
        if len(raw) != 2:
            return None
        length = struct.unpack(">H", raw)[0] - 2
        pos += 2
        if length < 0:
            return None
        if m in _SOF:
            data = w.get(pos, 5)
            if len(data) != 5:
                return None
            if orientation is None and xmp:
                return None  # Pillow would take the orientation from the XMP packet
            h, width = struct.unpack(">HH", data[1:5])
            return (width, h, orientation or 1) if width and h else None
        if m == 0xE1:
            segment = w.get(pos, length)
            if len(segment) != length:
                return None
            if segment.startswith(b"Exif\x00\x00") and orientation is None:
                found = _exif_orientation(segment[6:])
                if found is False:
                    return None  # an EXIF block this reader cannot walk: Pillow decides
                orientation = found
            elif segment.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
                xmp = True
        pos += length
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
