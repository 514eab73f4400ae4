"""Masks and multi-part outlines, kept as the source wrote them.

A record's ``points`` is one outline, the one the widget draws and edits. What a format can
say beyond it rides along in two record keys, exactly as read:

- ``mask``: a COCO RLE, ``{"size": [h, w], "counts": "<compressed>", "outline": tag}``
  (``iscrowd`` regions, mask exports). ``points`` is its largest outline, for display;
- ``parts``: every part of a multi-part polygon, ``[[[x, y], ...], ...]``; ``points`` is
  the largest part.

``outline`` (a mask) and the largest part (``parts``) record which ``points`` they were read
with. A writer uses the mask or the parts only while ``points`` is still that outline: once
a person has redrawn the object, the drawing wins (:func:`exact_mask`, :func:`exact_parts`).
Boxes are never derived from either; a record keeps the box its source gave.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from . import limits

#: Pixels of a mask traced at full resolution for its display outline (see mask_outlines).
DISPLAY_PIXELS = 4_000_000


def decode_counts(s: str) -> list[int]:
    """Run lengths of COCO's compressed RLE string (pycocotools' ``rleFrString``).

    Each count is a run of 5-bit groups offset by 48 to be printable; bit 0x20 says another
    group follows, bit 0x10 of the last group is the sign. From the third count on, values
    are differences to the count two back.

    Example:
        >>> decode_counts(encode_counts([3, 5, 8, 0, 2]))
        [3, 5, 8, 0, 2]
    """
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise ValueError("RLE string ends inside a count")
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def encode_counts(counts: Sequence[int]) -> str:
    """COCO's compressed RLE string of ``counts`` (the inverse of :func:`decode_counts`)."""
    out = []
    for i, c in enumerate(counts):
        x = int(c) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            group = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not group & 0x10) or (x == -1 and group & 0x10))
            if more:
                group |= 0x20
            out.append(chr(group + 48))
    return "".join(out)


def rle_counts(rle: dict, where: str, width: int, height: int) -> tuple[list[int], int, int]:
    """Validated run lengths and size of a COCO RLE; ``ValueError`` saying what is wrong.

    The size must be the image's (when known) and within
    :data:`~nblabel.formats.limits.MAX_MASK_PIXELS`, checked before anything is decoded.
    """
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError("RLE segmentation needs 'size' [h, w] and 'counts'") from None
    if width and height and (w, h) != (width, height):
        raise ValueError(f"RLE size {w}x{h} is not the image's {width}x{height}")
    problem = limits.mask_problem(h, w)
    if problem:
        raise ValueError(problem)
    if isinstance(counts, str):
        counts = decode_counts(counts)
    elif isinstance(counts, list):
        counts = [int(c) for c in counts]
    else:
        raise ValueError("RLE 'counts' must be a string or a list of ints")
    if any(c < 0 for c in counts) or sum(counts) != h * w:
        raise ValueError(f"RLE counts cover {sum(counts)} pixels, not {h}x{w}")
    return counts, h, w


def rle_area(counts: Sequence[int]) -> int:
    """Foreground pixels of an RLE (runs alternate background, foreground, ...)."""
    return int(sum(counts[1::2]))


def rle_box(counts: Sequence[int], h: int) -> list[float] | None:
    """``[x1, y1, x2, y2]`` of the foreground, from the runs alone (column-major order)."""
    x1 = y1 = None
    x2 = y2 = 0
    pos = 0
    for i, c in enumerate(counts):
        if i % 2 and c:
            first, last = pos, pos + c - 1
            ca, cb = first // h, last // h
            x1 = ca if x1 is None else min(x1, ca)
            x2 = max(x2, cb + 1)
            if ca == cb:
                lo, hi = first % h, last % h
            else:  # the run wraps over a column: it covers every row
                lo, hi = 0, h - 1
            y1 = lo if y1 is None else min(y1, lo)
            y2 = max(y2, hi + 1)
        pos += c
    return None if x1 is None else [float(x1), float(y1), float(x2), float(y2)]


def rle_mask(counts: Sequence[int], h: int, w: int):
    """The ``h x w`` ``uint8`` mask of an RLE (one byte per pixel, vectorised)."""
    import numpy as np

    values = (np.arange(len(counts)) % 2).astype(np.uint8)
    flat = np.repeat(values, np.asarray(counts, dtype=np.int64))
    return flat.reshape((w, h)).T  # COCO stores column by column (a view: no second copy)


def mask_outlines(mask) -> list[list[list[float]]]:
    """Outer outlines of every part of a mask, largest first, along pixel *edges*.

    Tracing pixel centres (what ``cv2.findContours`` returns) loses half a pixel all round,
    so the mask is traced at twice its size: there a pixel's left and right halves are
    boundary pixels of their own, and halving their coordinates (rounding the right half
    up) puts the outline on the original pixels' borders.
    """
    import cv2
    import numpy as np

    if not mask.any():
        return []
    # An outline is for display: a mask above DISPLAY_PIXELS is traced every f-th pixel, so
    # the largest allowed mask costs tens of megabytes here, not four times its size.
    f = max(1, math.ceil(math.sqrt(mask.size / DISPLAY_PIXELS)))
    small = np.ascontiguousarray(mask[::f, ::f], dtype=np.uint8)
    big = np.kron(small, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted((c for c in contours if len(c) >= 3), key=cv2.contourArea, reverse=True)
    h, w = mask.shape
    return [
        [[float(min(w, (x + 1) // 2 * f)), float(min(h, (y + 1) // 2 * f))] for x, y in c[:, 0, :]]
        for c in contours
    ]


def mask_outline(mask) -> list[list[float]] | None:
    """The largest of :func:`mask_outlines`, or ``None`` for an empty mask."""
    outlines = mask_outlines(mask)
    return outlines[0] if outlines else None


def outline_tag(points) -> str:
    """Short fingerprint of an outline (3 decimals), to tell whether it was edited since."""
    text = ";".join(f"{float(p[0]):.3f},{float(p[1]):.3f}" for p in points or [])
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def exact_mask(rec: dict) -> dict | None:
    """The record's RLE ``{"size", "counts"}`` while its ``points`` are the mask's outline."""
    m = rec.get("mask")
    if not isinstance(m, dict) or "counts" not in m or "size" not in m:
        return None
    if rec.get("points") and m.get("outline") != outline_tag(rec["points"]):
        return None  # redrawn since the import: the drawing wins
    return {"size": [int(v) for v in m["size"]], "counts": m["counts"]}


def exact_parts(rec: dict) -> list | None:
    """All parts of a multi-part polygon while its ``points`` are still one of them."""
    parts = rec.get("parts")
    if not isinstance(parts, list) or len(parts) < 2 or not rec.get("points"):
        return None
    tag = outline_tag(rec["points"])
    if not any(outline_tag(p) == tag for p in parts):
        return None
    return parts


def one_outline(rec: dict) -> list[list[float]] | None:
    """The record's shape as one polygon, for formats with one outline per object.

    All parts of a multi-part polygon or of a mask, bridged (:func:`bridge_parts`), so the
    outline's envelope is the object's and not one part's; else ``points``.
    """
    parts = exact_parts(rec)
    if parts is None:
        mask = exact_mask(rec)
        if mask is not None:
            counts = decode_counts(mask["counts"])
            parts = mask_outlines(rle_mask(counts, *mask["size"]))
    if parts and len(parts) > 1:
        return bridge_parts(parts)
    return rec.get("points")


def bridge_parts(parts: Sequence[Sequence[Sequence[float]]]) -> list[list[float]]:
    """One outline through every part, joined by zero-width bridges (for one-polygon formats).

    Each part is entered and left at its vertex closest to the next part, so the filled
    outline covers the same pixels and its envelope is the union of the parts' envelopes
    (what ultralytics' ``convert_coco`` does for YOLO segment labels).
    """
    parts = [[list(map(float, p[:2])) for p in part] for part in parts if len(part) >= 3]
    if len(parts) < 2:
        return parts[0] if parts else []

    def nearest(a, b):
        best = None
        for i, p in enumerate(a):
            for j, q in enumerate(b):
                d = (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2
                if best is None or d < best[0]:
                    best = (d, i, j)
        return best[1], best[2]

    # out along the chain of parts, back the same way: a there-and-back path per bridge
    links = [nearest(parts[k], parts[k + 1]) for k in range(len(parts) - 1)]
    out: list[list[float]] = []

    def walk(k: int) -> None:
        part = parts[k]
        enter = links[k - 1][1] if k > 0 else 0
        leave = links[k][0] if k < len(parts) - 1 else None
        n = len(part)
        ring = part[enter:] + part[:enter]
        if leave is None:
            out.extend(ring + [part[enter]])
            return
        cut = (leave - enter) % n
        out.extend(ring[: cut + 1])
        walk(k + 1)
        out.extend(ring[cut:] + [part[enter]])

    walk(0)
    return out


def mask_counts(mask) -> list[int]:
    """COCO run lengths of a binary ``h x w`` mask (column by column, background first).

    Counted over blocks of columns, so a large mask needs no full-size temporary copies.
    """
    import numpy as np

    mask = np.asarray(mask)
    h, w = mask.shape
    step = max(1, DISPLAY_PIXELS // max(h, 1))
    counts: list[int] = []
    current, run = 0, 0  # the value being counted and its length so far
    for c0 in range(0, w, step):
        flat = (mask[:, c0 : c0 + step].T.reshape(-1) > 0).view(np.uint8)
        edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        starts = np.concatenate([[0], edges]).tolist()
        ends = [*edges.tolist(), flat.size]
        for a, b in zip(starts, ends):
            value = int(flat[a])
            if value == current:
                run += b - a
            else:
                counts.append(run)
                current, run = value, b - a
    counts.append(run)
    return counts


def mask_record(mask) -> dict | None:
    """``mask``, ``points`` and ``bbox`` of a record for a binary ``h x w`` mask."""
    h, w = mask.shape
    counts = mask_counts(mask)
    if not rle_area(counts):
        return None
    points = mask_outline(mask)
    out = {
        "mask": {"size": [h, w], "counts": encode_counts(counts), "outline": outline_tag(points)},
        "bbox": rle_box(counts, h),
    }
    if points and len(points) >= 3:
        out["points"] = points
    return out


# -- Label Studio brush masks ---------------------------------------------------------------------
# Label Studio stores a brush mask as its RGBA pixels (row by row, each channel 0 or 255),
# packed with thi.ng's rle-pack: a 32-bit value count, a 5-bit word size - 1, four 4-bit
# run-length field sizes - 1, then chunks of [1 bit repeat?][2 bits size index][run - 1]
# followed by one word (a repeat) or run words (literals).


class _Bits:
    def __init__(self, data: bytes):
        import numpy as np

        self.bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))
        self.pos = 0

    def read(self, n: int) -> int:
        if self.pos + n > self.bits.size:
            raise ValueError("brush RLE ends early")
        value = 0
        for b in self.bits[self.pos : self.pos + n].tolist():
            value = (value << 1) | b
        self.pos += n
        return value


def brush_mask(rle: Sequence[int], height: int, width: int):
    """The binary ``height x width`` mask of a Label Studio brush RLE; ``ValueError`` if bad.

    The size is checked against the image and the limits before anything is decoded.
    """
    import numpy as np

    problem = limits.mask_problem(height, width)
    if problem:
        raise ValueError(problem)
    if not all(isinstance(v, int) and 0 <= v < 256 for v in rle):
        raise ValueError("brush RLE must be a list of bytes (0..255)")
    bits = _Bits(bytes(rle))
    num = bits.read(32)
    if num != height * width * 4:
        raise ValueError(f"brush RLE holds {num} values, not 4 x {width}x{height}")
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    # only the alpha channel (every 4th value) is kept: value k = 4 p + 3 is pixel p's, so a
    # run of values [i, j) covers the pixels [i // 4, j // 4)
    alpha = np.zeros(height * width, dtype=np.uint8)
    i = 0
    while i < num:
        repeat = bits.read(1)
        j = min(num, i + 1 + bits.read(sizes[bits.read(2)]))
        if repeat:
            alpha[i // 4 : j // 4] = bits.read(word) > 0
        else:
            for k in range(i, j):
                value = bits.read(word)
                if k % 4 == 3:
                    alpha[k // 4] = value > 0
        i = j
    return alpha.reshape(height, width)


def brush_rle(mask) -> list[int]:
    """Label Studio's brush RLE of a binary mask (runs only; what Label Studio decodes)."""
    import numpy as np

    # the RGBA values repeat each pixel 4 times, so their runs are the pixels' runs x 4
    pixels = (np.asarray(mask) > 0).reshape(-1)
    sizes = (3, 6, 10, 16)
    out: list[str] = [format(pixels.size * 4, "032b"), format(8 - 1, "05b")]
    out += [format(s - 1, "04b") for s in sizes]
    edges = np.flatnonzero(pixels[1:] != pixels[:-1]) + 1
    bounds = (np.concatenate([[0], edges, [pixels.size]]) * 4).tolist()
    values = [255 if pixels[a // 4] else 0 for a in bounds[:-1]]
    for a, b, value in zip(bounds[:-1], bounds[1:], values):
        n = b - a
        while n:
            take = min(n, 1 << sizes[-1])
            index = next(k for k, s in enumerate(sizes) if take <= 1 << s)
            out.append("1" + format(index, "02b") + format(take - 1, f"0{sizes[index]}b"))
            out.append(format(value, "08b"))
            n -= take
    text = "".join(out)
    text += "0" * (-len(text) % 8)
    return [int(text[k : k + 8], 2) for k in range(0, len(text), 8)]
